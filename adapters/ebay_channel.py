"""eBay as a registered channel (see :mod:`bridge.registry`): its ``[channels.ebay]`` section, how
its adapter is built, what ``config check`` says about it, and its emulator for the sandbox.

eBay is a single-pool channel like the web shop: it shows the sum of its source locations
(``[sync] source_locations.ebay``) minus its buffer (``[sync] buffers.ebay``), at most a SKU's
``max_listed_quantity``. It never owns the
catalogue and takes no new listings; prices are written only with ``sync_price = true``.
``init`` asks for the app's keys and shows the consent URL (consent needs a browser: the refresh
token it yields is then a secret like any other, never on the command line). The receiver answers
eBay's endpoint challenge with ``verification_token`` (its rule: :mod:`adapters.ebay_endpoint`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from adapters.base import ChannelAdapter
from adapters.ebay import EbayAdapter
from adapters.ebay_auth import consent_url
from adapters.ebay_endpoint import token_problem
from adapters.ebay_revisions import RevisionBudget
from adapters.ebay_settings import EbaySection, client_from
from bridge.registry import ChannelContext, ChannelEmulator, ChannelInit, ChannelSpec, InitSecret
from bridge.settings import Secret

if TYPE_CHECKING:
    from sandbox.ebay import EbayEmulator
    from sandbox.seed import SeedProduct

__all__ = ["CHANNEL", "EbayChannel"]


class EbayChannel(EbaySection):
    """``[channels.ebay]``: the connection (see :class:`adapters.ebay_settings.EbaySection`) and
    what shopbridge writes there."""

    sync_price: bool = Field(
        False, description="Write the catalogue's prices to the eBay offers (off: eBay keeps its own)"
    )
    revision_limit: int = Field(250, ge=1, description="Revisions eBay allows a listing a calendar day")
    revision_reserve: int = Field(
        25,
        ge=0,
        description="Revisions left today below which only changes to or from 0 or to low_stock go out",
    )
    low_stock: int = Field(2, ge=0, description="A quantity this low is always worth a revision")
    max_listed_quantity: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict,
        description='Per SKU, the most eBay lists of it, e.g. { "MUG-BLUE-12" = 5 } (list 5 of its 40)',
    )
    zero_quantity: Literal["auto", "end_listing", "out_of_stock"] = Field(
        "auto",
        description=(
            "A sell-out: 'auto' writes 0 and ends the listing if the account refuses 0 (25004, "
            "learned once), 'end_listing' always ends it, 'out_of_stock' always writes 0"
        ),
    )
    verification_token: Secret | None = Field(
        None,
        description="The token given to eBay with the notification endpoint (its challenge_code check)",
    )


def _build(section: EbayChannel, context: ChannelContext) -> ChannelAdapter:
    budget = RevisionBudget(
        limit=section.revision_limit, reserve=section.revision_reserve, low_stock=section.low_stock
    )
    token = section.verification_token.get() if section.verification_token else None
    return EbayAdapter(
        client_from(section),
        sync_price=section.sync_price,
        currency=context.currency,
        budget=budget,
        verification_token=token,
        listed_caps=section.max_listed_quantity,
        zero_quantity=section.zero_quantity,
    )


def _problems(section: EbayChannel, context: ChannelContext) -> list[str]:
    problems = []
    if section.environment != "custom" and section.base_url:
        problems.append("channels.ebay.base_url: only with environment = 'custom' (the local emulator)")
    if section.revision_reserve >= section.revision_limit:
        problems.append(
            f"channels.ebay.revision_reserve: {section.revision_reserve} is not below revision_limit "
            f"{section.revision_limit}: every change but those to or from 0 would be held back"
        )
    token = token_problem(section.verification_token)
    if token:
        problems.append(token)
    return problems


def _warnings(section: EbayChannel, context: ChannelContext) -> list[str]:
    warnings = []
    if section.ru_name is None and section.environment != "custom":
        warnings.append(
            "channels.ebay.ru_name is not set: when the refresh token expires (about every 18 months) "
            "the consent URL cannot be shown; set it to the app's RuName from eBay's developer portal"
        )
    if context.public_url and section.verification_token is None:
        warnings.append(
            "channels.ebay.verification_token is not set: eBay cannot validate <public_url>/webhooks/ebay "
            "as a notification endpoint, so orders are only learnt by polling"
        )
    return warnings


def _consent_guide(answers: Mapping[str, Any]) -> str | None:
    """What ``init`` shows before asking for the refresh token: where consent is given."""
    environment = str(answers.get("environment") or "production")
    if not answers.get("ru_name") or environment not in ("production", "sandbox"):
        return (
            "  The refresh token comes from consent in a browser: in eBay's developer portal, User "
            "Tokens, 'Get a Token from eBay via Your Application' (or set ru_name for the consent URL)."
        )
    url = consent_url(str(answers["client_id"]), str(answers["ru_name"]), environment=environment)
    return (
        "  Give consent once in a browser (sign in as the seller, agree):\n"
        f"    {url}\n"
        "  eBay then sends you to the app's accept URL; the developer portal's User Tokens page shows "
        "the refresh token. Store it as a secret (env, file or systemd credential), never on a command line."
    )


def _emulated(emulator: ChannelEmulator | None = None) -> EbayEmulator:
    """A new eBay emulator, or ``emulator`` as one (the sandbox is imported only when it runs)."""
    from sandbox.ebay import EbayEmulator

    if emulator is None:
        return EbayEmulator()
    assert isinstance(emulator, EbayEmulator)
    return emulator


def _seed(emulator: ChannelEmulator, products: Sequence[SeedProduct], locations: int) -> None:
    _emulated(emulator).seed(products)  # one eBay store: no locations of its own


def _sandbox_section(emulator: ChannelEmulator, port: int) -> dict[str, str]:
    """The section for a running emulator, with a refresh token as if the user had consented, and
    the verification token a notification destination added on the emulator is validated with."""
    ebay = _emulated(emulator)
    plain = {"environment": "custom", "base_url": ebay.base_url, "client_id": ebay.client_id}
    secrets = {
        "client_secret": ebay.client_secret,
        "refresh_token": ebay.issue_refresh_token(),
        "verification_token": ebay.verification_token,
    }
    section = {key: json.dumps(value) for key, value in plain.items()}
    return section | {key: f"{{ value = {json.dumps(value)} }}" for key, value in secrets.items()}


CHANNEL: ChannelSpec[EbayChannel] = ChannelSpec(
    name="ebay",
    title="eBay",
    section=EbayChannel,
    capabilities=EbayAdapter.capabilities,
    build=_build,
    problems=_problems,
    warnings=_warnings,
    init=ChannelInit(
        question="Connect eBay?",
        answers=(
            ("environment", "  environment (production/sandbox)", "production"),
            ("client_id", "  app client id (App ID, from eBay's developer portal)", None),
            ("ru_name", "  app RuName (redirect URL name, for the consent URL; empty: none)", ""),
        ),
        secrets=(
            InitSecret("client_secret", "  app client secret (Cert ID)", "SHOPBRIDGE_EBAY_CLIENT_SECRET"),
            InitSecret("refresh_token", "  refresh token (from consent)", "SHOPBRIDGE_EBAY_REFRESH_TOKEN"),
            InitSecret(
                "verification_token",
                "  notification verification token",
                "SHOPBRIDGE_EBAY_VERIFICATION_TOKEN",
                webhook=True,
            ),
        ),
        guide=_consent_guide,
    ),
    emulator=_emulated,
    seed=_seed,
    sandbox_section=_sandbox_section,
)
