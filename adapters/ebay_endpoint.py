"""eBay's rule for a notification destination's verification token, for ``config check``.

eBay validates an endpoint before it delivers there (``GET <endpoint>?challenge_code=C``, answered
by :meth:`adapters.ebay.EbayAdapter.answer_challenge` with ``hex(SHA-256(C + verificationToken +
endpoint))``); the token given with the destination must be 32 to 80 letters, digits, ``_`` or
``-`` (eBay's developer documentation), so one that breaks the rule is refused here, before eBay
refuses the destination.
"""

from __future__ import annotations

import re

from bridge.settings import Secret

__all__ = ["TOKEN_RULE", "token_problem"]

TOKEN_RULE = re.compile(r"^[A-Za-z0-9_-]{32,80}$")
"""What eBay accepts as a destination's verification token."""


def token_problem(token: Secret | None) -> str | None:
    """Why eBay would refuse the (resolved) verification token, or ``None``."""
    if token is None or TOKEN_RULE.match(token.get()):
        return None
    return (
        "channels.ebay.verification_token: eBay wants 32 to 80 letters, digits, '_' or '-' "
        f"(the secret has {len(token.get())} characters)"
    )
