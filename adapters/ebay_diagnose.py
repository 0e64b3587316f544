"""What ``shopbridge doctor`` says about eBay: that the API answers with the configured keys, when
the access token it minted expires, and which scopes it was granted.

eBay's refresh grant answers no scope list: it mints a token for the scopes asked (the channel's
:data:`adapters.ebay_auth.SCOPES`) only if the user's consent covered them, and refuses with
``invalid_scope`` otherwise. So a renewal that succeeded proves those scopes granted, and one that
was refused is an :class:`adapters.base.AuthError` saying to consent again (``doctor`` prints it as
a failure). Nothing here prints a token: only its expiry.
"""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.diagnose import naming_url
from adapters.ebay_catalog import INVENTORY
from adapters.ebay_client import EbayClient

__all__ = ["describe", "short_scope"]

SCOPE_ROOT = "https://api.ebay.com/oauth/api_scope/"


def short_scope(scope: str) -> str:
    """``sell.inventory`` for ``https://api.ebay.com/oauth/api_scope/sell.inventory``."""
    return scope.removeprefix(SCOPE_ROOT)


def describe(client: EbayClient, now: datetime | None = None) -> str:
    """One line for ``doctor``: the inventory reached, the token's expiry and the scopes granted."""
    with naming_url(client.api_root):
        answer = client.request("GET", INVENTORY + "/inventory_item", params={"limit": 1})
    line = f"eBay ({client.api_root}): {answer.get('total', '?')} inventory items"
    expires_at = client.auth.expires_at
    if expires_at is not None:
        when = datetime.fromtimestamp(expires_at, UTC)
        left = when - (now or datetime.now(UTC))
        line += (
            f"; access token renewed, expires {when.strftime('%Y-%m-%dT%H:%M:%SZ')} "
            f"(in {max(0, int(left.total_seconds() // 60))} min; renewed before then from the refresh token)"
        )
    scopes = ", ".join(short_scope(s) for s in client.auth.scopes)
    return line + f"; scopes granted: {scopes}"
