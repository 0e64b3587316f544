"""The toy channel's registry entry, registered from the test suite (tests/conftest.py imports
this module): its ``[channels.toy]`` section, adapter, capabilities and emulator. No production
code names it; this file and its neighbours are all a new channel takes."""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic import Field

from adapters.base import ChannelAdapter
from bridge.registry import ChannelContext, ChannelEmulator, ChannelInit, ChannelSpec, InitSecret, register
from bridge.settings import ChannelSection, HttpUrl, Secret
from sandbox.seed import SeedProduct
from tests.toy.adapter import ToyAdapter
from tests.toy.emulator import ToyEmulator


class ToyChannel(ChannelSection):
    """``[channels.toy]``: the shop's URL, its API token and its webhook secret."""

    url: HttpUrl
    token: Secret
    webhook_secret: Secret
    max_attempts: int = Field(5, ge=1)


def _build(section: ToyChannel, context: ChannelContext) -> ChannelAdapter:
    return ToyAdapter(
        section.url,
        section.token.get(),
        section.webhook_secret.get(),
        max_attempts=section.max_attempts,
        currency=context.currency,
    )


def _seed(emulator: ChannelEmulator, products: Sequence[SeedProduct], locations: int) -> None:
    assert isinstance(emulator, ToyEmulator)
    emulator.seed(products)


def _sandbox_section(emulator: ChannelEmulator, port: int) -> dict[str, str]:
    info = emulator.connection_info()
    return {
        "url": json.dumps(info["url"]),
        "token": f"{{ value = {json.dumps(info['token'])} }}",
        "webhook_secret": f"{{ value = {json.dumps(info['webhook_secret'])} }}",
    }


CHANNEL: ChannelSpec[ToyChannel] = register(
    ChannelSpec(
        name="toy",
        title="Toy shop",
        section=ToyChannel,
        capabilities=ToyAdapter.capabilities,
        build=_build,
        emulator=ToyEmulator,
        seed=_seed,
        sandbox_section=_sandbox_section,
        init=ChannelInit(
            question="Connect a toy shop?",
            answers=(("url", "  toy shop URL", None),),
            secrets=(
                InitSecret("token", "  API token", "SHOPBRIDGE_TOY_TOKEN"),
                InitSecret("webhook_secret", "  webhook secret", "SHOPBRIDGE_TOY_WEBHOOK_SECRET"),
            ),
        ),
    )
)
