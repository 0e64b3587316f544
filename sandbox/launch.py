"""The built-in sandbox: the channels' emulators on loopback with overlapping demo catalogues.

Used by ``shopbridge sandbox`` (try shopbridge before touching a real shop), ``shopbridge demo``,
the end-to-end tests and the benchmarks. The demo catalogues are built to show what a first sync
meets in real shops: most products on both channels under the same SKU, one matched only by its
GTIN (the till uses its own SKU), a few on one side only, and a SKU used twice in Square (Square
allows that; shopbridge reports it instead of guessing).

Each channel's emulator, how it is seeded and its config table come from the channel registry
(:mod:`bridge.registry`); by default the sandbox runs the web shop and the till (:data:`DEFAULT_CHANNELS`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from bridge import registry
from bridge.initfile import write_private
from bridge.registry import ChannelEmulator
from sandbox.seed import SeedProduct, SeedVariant, generate_catalog
from sandbox.square import SquareEmulator
from sandbox.woocommerce import WooCommerceEmulator

__all__ = ["DEFAULT_CHANNELS", "DemoCatalogues", "Sandbox", "demo_catalogues"]

DEFAULT_CHANNELS = ("woocommerce", "square")
"""What the sandbox runs unless told: the shop and the till. A marketplace (``ebay``) is added by
name (``Sandbox(channels=[..., "ebay"])``) until ``shopbridge sandbox`` and the demo take it."""


@dataclass(frozen=True)
class DemoCatalogues:
    woocommerce: list[SeedProduct]
    square: list[SeedProduct]
    shared_skus: list[str] = field(default_factory=list)
    gtin_pair: tuple[str, str] | None = None
    """(WooCommerce SKU, Square SKU) of the product matched by GTIN only."""
    woo_only: list[str] = field(default_factory=list)
    square_only: list[str] = field(default_factory=list)
    duplicated_sku: str | None = None
    base: list[SeedProduct] = field(default_factory=list)
    """The shared catalogue alone: what a channel without a demo catalogue of its own holds."""

    def for_channel(self, name: str) -> list[SeedProduct]:
        """The catalogue the sandbox seeds ``name`` with."""
        own = {"woocommerce": self.woocommerce, "square": self.square}
        return own.get(name, self.base)


def demo_catalogues(variants: int = 24, *, overlap_extras: bool = True) -> DemoCatalogues:
    """Two catalogues holding about ``variants`` shared sellable units, plus the awkward cases.

    With ``overlap_extras`` False both channels hold exactly the same catalogue (benchmarks).
    """
    base = generate_catalog(variants)
    shared = [v.sku for p in base for v in p.variants if v.sku]
    if not overlap_extras:
        return DemoCatalogues(woocommerce=list(base), square=list(base), shared_skus=shared, base=list(base))
    gtin_woo = SeedProduct(
        name="Enamel Pin Set",
        variants=(SeedVariant(sku="PIN-SET", price=Decimal("9.00"), stock=12, gtin="5012345678900"),),
    )
    gtin_square = replace(gtin_woo, variants=(replace(gtin_woo.variants[0], sku="POS-PINSET-01"),))
    woo_only = SeedProduct(
        name="Gift Card Sleeve",
        variants=(SeedVariant(sku="GIFT-SLEEVE", price=Decimal("2.50"), stock=30, gtin="5012345678917"),),
    )
    square_only = SeedProduct(
        name="Till Tote Bag",
        variants=(SeedVariant(sku="TILL-TOTE", price=Decimal("4.00"), stock=8),),
    )
    duplicate = [
        SeedProduct(
            name="Sticker A", variants=(SeedVariant(sku="STICKER", price=Decimal("1.00"), stock=50),)
        ),
        SeedProduct(
            name="Sticker B", variants=(SeedVariant(sku="STICKER", price=Decimal("1.50"), stock=40),)
        ),
    ]
    return DemoCatalogues(
        woocommerce=[*base, gtin_woo, woo_only],
        square=[*base, gtin_square, square_only, *duplicate],
        shared_skus=shared,
        gtin_pair=("PIN-SET", "POS-PINSET-01"),
        woo_only=["GIFT-SLEEVE"],
        square_only=["TILL-TOTE"],
        duplicated_sku="STICKER",
        base=list(base),
    )


class Sandbox:
    """The channels' emulators, started and seeded. Use as a context manager.

    ``channels`` names the registered channels to run (default: the built-in ones)."""

    def __init__(
        self,
        *,
        products: int = 24,
        locations: int = 2,
        overlap_extras: bool = True,
        channels: Sequence[str] | None = None,
    ) -> None:
        self.catalogues = demo_catalogues(products, overlap_extras=overlap_extras)
        self.specs = [registry.channel(name) for name in (channels or DEFAULT_CHANNELS)]
        self.emulators: dict[str, ChannelEmulator] = {spec.name: _emulator(spec) for spec in self.specs}
        self.locations = locations

    @property
    def woocommerce(self) -> WooCommerceEmulator:
        """The WooCommerce emulator (the demo and the tests drive it directly)."""
        return cast(WooCommerceEmulator, self.emulators["woocommerce"])

    @property
    def square(self) -> SquareEmulator:
        """The Square emulator (the demo and the tests drive it directly)."""
        return cast(SquareEmulator, self.emulators["square"])

    def start(self) -> Sandbox:
        for emulator in self.emulators.values():
            emulator.start()
        for spec in self.specs:
            if spec.seed is not None:
                spec.seed(self.emulators[spec.name], self.catalogues.for_channel(spec.name), self.locations)
        return self

    def stop(self) -> None:
        for emulator in self.emulators.values():
            emulator.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def connection_info(self) -> dict[str, Any]:
        return {name: emulator.connection_info() for name, emulator in self.emulators.items()}

    def config_text(
        self,
        store_path: str = "shopbridge.db",
        port: int = 8787,
        *,
        extra: Mapping[str, Mapping[str, str | int | float]] | None = None,
    ) -> str:
        """A ready shopbridge config for this sandbox (secrets inline: it is a sandbox).

        ``extra`` adds keys to a table, e.g. ``{"daemon": {"poll_interval_seconds": 10.0}}``.
        """
        tables: dict[str, dict[str, str]] = {  # table -> key -> TOML value
            "store": {"path": json.dumps(store_path)},
            "server": {"port": str(port)},
            "sync": {"system_of_record": '"woocommerce"'},
        }
        for spec in self.specs:
            if spec.sandbox_section is not None:
                tables[f"channels.{spec.name}"] = spec.sandbox_section(self.emulators[spec.name], port)
        for table, values in (extra or {}).items():
            tables.setdefault(table, {}).update({key: json.dumps(v) for key, v in values.items()})
        lines = [
            "# shopbridge configuration for the local sandbox (`shopbridge sandbox`). Secrets are inline",
            "# because these are throw-away sandbox keys; never do this with a real shop.",
        ]
        for table, values in tables.items():
            lines += [f"[{table}]", *(f"{key} = {value}" for key, value in values.items()), ""]
        return "\n".join(lines)

    def write_config(
        self,
        path: Path,
        store_path: str = "shopbridge.db",
        port: int = 8787,
        *,
        extra: Mapping[str, Mapping[str, str | int | float]] | None = None,
    ) -> None:
        write_private(path, self.config_text(store_path, port, extra=extra))


def _emulator(spec: registry.ChannelSpec[Any]) -> ChannelEmulator:
    if spec.emulator is None:
        raise ValueError(f"channel {spec.name!r} has no emulator to run in the sandbox")
    return spec.emulator()
