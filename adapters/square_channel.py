"""Square as a registered channel (see :mod:`bridge.registry`): its config section, how its
adapter is built, the URL its webhooks are signed with, how ``init`` asks for it, and its emulator."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from adapters.base import ChannelAdapter
from adapters.square import SquareAdapter
from bridge.registry import ChannelContext, ChannelEmulator, ChannelInit, ChannelSpec, InitSecret
from bridge.settings import ChannelSection, HttpUrl, Secret

if TYPE_CHECKING:
    from bridge.config import Config
    from sandbox.seed import SeedProduct

__all__ = ["CHANNEL", "SquareChannel"]


class SquareChannel(ChannelSection):
    """``[channels.square]``: the environment, the access token and the webhook signature key."""

    environment: Literal["production", "sandbox", "custom"] = "production"
    base_url: HttpUrl | None = Field(
        None, description="Only with environment = 'custom' (the local emulator)"
    )
    access_token: Secret
    signature_key: Secret | None = None
    notification_url: HttpUrl | None = Field(
        None, description="The exact URL registered in Square's webhook subscription (signed with the body)"
    )
    location_ids: list[str] = Field(default_factory=list, description="Empty means every active location")
    timeout_seconds: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _base(self) -> SquareChannel:
        if self.environment == "custom" and not self.base_url:
            raise ValueError("environment = 'custom' needs base_url")
        return self

    def resolved_base_url(self) -> str:
        if self.base_url:
            return self.base_url
        return {
            "production": "https://connect.squareup.com",
            "sandbox": "https://connect.squareupsandbox.com",
        }[self.environment]


def _build(section: SquareChannel, context: ChannelContext) -> ChannelAdapter:
    return SquareAdapter(
        section.access_token.get(),
        base_url=section.resolved_base_url(),
        signature_key=section.signature_key.get() if section.signature_key else None,
        notification_url=section.notification_url,
        location_ids=section.location_ids or None,
        timeout=section.timeout_seconds,
    )


def _problems(section: SquareChannel, context: ChannelContext) -> list[str]:
    """Webhooks we would receive but could never verify: every such delivery would be refused."""
    if section.signature_key is None and (section.notification_url or context.public_url):
        return [
            "channels.square.signature_key: required when Square delivers webhooks ([server] public_url "
            "or notification_url is set): without it every delivery is refused (the key is on the "
            "subscription's page in Square's Developer Console)"
        ]
    return []


def _warnings(section: SquareChannel, context: ChannelContext) -> list[str]:
    public = context.public_url
    if section.notification_url and public:
        if not section.notification_url.startswith(public.rstrip("/") + "/"):
            return [
                f"channels.square.notification_url {section.notification_url!r} is not under [server] "
                f"public_url {public!r}: Square signs the URL it delivers to, so it must be exactly the "
                "receiver's public address (normally <public_url>/webhooks/square)"
            ]
    return []


def _init_derived(context: ChannelContext) -> Mapping[str, Any]:
    """Square signs the URL it delivers to: ``init`` writes the one under the public URL."""
    if not context.public_url:
        return {}
    return {"notification_url": context.public_url.rstrip("/") + "/webhooks/square"}


def _emulator() -> ChannelEmulator:
    from sandbox.square import SquareEmulator

    return SquareEmulator()


def _seed(emulator: ChannelEmulator, products: Sequence[SeedProduct], locations: int) -> None:
    from sandbox.square import SquareEmulator

    assert isinstance(emulator, SquareEmulator)
    emulator.seed(products, locations=locations)


def _sandbox_section(emulator: ChannelEmulator, port: int) -> dict[str, str]:
    info = emulator.connection_info()
    return {
        "environment": '"custom"',
        "base_url": json.dumps(info["base_url"]),
        "access_token": f"{{ value = {json.dumps(info['access_token'])} }}",
        "signature_key": f"{{ value = {json.dumps(info['signature_key'])} }}",
        "notification_url": json.dumps(f"http://127.0.0.1:{port}/webhooks/square"),
    }


def _register_webhooks(adapter: ChannelAdapter, url: str, config: Config) -> list[str]:
    """Square's subscription is made over its Webhook Subscriptions API; the key it answers is kept
    where the config reads it (it delivers to, and signs, ``notification_url`` when that is set)."""
    from adapters.square_webhook_setup import register_square

    assert isinstance(adapter, SquareAdapter)
    return register_square(config, adapter)


CHANNEL: ChannelSpec[SquareChannel] = ChannelSpec(
    name="square",
    title="Square",
    section=SquareChannel,
    capabilities=SquareAdapter.capabilities,
    build=_build,
    notification_url=lambda section: section.notification_url,
    register_webhooks=_register_webhooks,
    problems=_problems,
    warnings=_warnings,
    init=ChannelInit(
        question="Connect Square?",
        answers=(("environment", "  environment (production/sandbox)", "production"),),
        secrets=(
            InitSecret("access_token", "  access token", "SHOPBRIDGE_SQUARE_TOKEN", flag="token"),
            InitSecret(
                "signature_key",
                "  webhook signature key",
                "SHOPBRIDGE_SQUARE_SIGNATURE_KEY",
                webhook=True,
                needed_for_webhooks=True,  # a subscription's deliveries are signed with it
            ),
        ),
        derived=_init_derived,
    ),
    emulator=_emulator,
    seed=_seed,
    sandbox_section=_sandbox_section,
)
