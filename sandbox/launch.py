"""The built-in sandbox: both emulators on loopback with overlapping demo catalogues.

Used by ``shopbridge sandbox`` (try shopbridge before touching a real shop), ``shopbridge demo``,
the end-to-end tests and the benchmarks. The demo catalogues are built to show what a first sync
meets in real shops: most products on both channels under the same SKU, one matched only by its
GTIN (the till uses its own SKU), a few on one side only, and a SKU used twice in Square (Square
allows that; shopbridge reports it instead of guessing).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from bridge.initfile import write_private
from sandbox.seed import SeedProduct, SeedVariant, generate_catalog
from sandbox.square import SquareEmulator
from sandbox.woocommerce import WooCommerceEmulator

__all__ = ["DemoCatalogues", "Sandbox", "demo_catalogues"]


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


def demo_catalogues(variants: int = 24, *, overlap_extras: bool = True) -> DemoCatalogues:
    """Two catalogues holding about ``variants`` shared sellable units, plus the awkward cases.

    With ``overlap_extras`` False both channels hold exactly the same catalogue (benchmarks).
    """
    base = generate_catalog(variants)
    shared = [v.sku for p in base for v in p.variants if v.sku]
    if not overlap_extras:
        return DemoCatalogues(woocommerce=list(base), square=list(base), shared_skus=shared)
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
    )


class Sandbox:
    """Both emulators, started and seeded. Use as a context manager."""

    def __init__(self, *, products: int = 24, locations: int = 2, overlap_extras: bool = True) -> None:
        self.catalogues = demo_catalogues(products, overlap_extras=overlap_extras)
        self.woocommerce = WooCommerceEmulator()
        self.square = SquareEmulator()
        self.locations = locations

    def start(self) -> Sandbox:
        self.woocommerce.start()
        self.square.start()
        self.woocommerce.seed(self.catalogues.woocommerce)
        self.square.seed(self.catalogues.square, locations=self.locations)
        return self

    def stop(self) -> None:
        self.woocommerce.stop()
        self.square.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def connection_info(self) -> dict[str, Any]:
        return {"woocommerce": self.woocommerce.connection_info(), "square": self.square.connection_info()}

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
        wc = self.woocommerce.connection_info()
        sq = self.square.connection_info()
        tables: dict[str, dict[str, str]] = {  # table -> key -> TOML value
            "store": {"path": json.dumps(store_path)},
            "server": {"port": str(port)},
            "sync": {"system_of_record": '"woocommerce"'},
            "channels.woocommerce": {
                "url": json.dumps(wc["url"]),
                "consumer_key": f"{{ value = {json.dumps(wc['consumer_key'])} }}",
                "consumer_secret": f"{{ value = {json.dumps(wc['consumer_secret'])} }}",
                "webhook_secret": f"{{ value = {json.dumps(wc['webhook_secret'])} }}",
            },
            "channels.square": {
                "environment": '"custom"',
                "base_url": json.dumps(sq["base_url"]),
                "access_token": f"{{ value = {json.dumps(sq['access_token'])} }}",
                "signature_key": f"{{ value = {json.dumps(sq['signature_key'])} }}",
                "notification_url": json.dumps(f"http://127.0.0.1:{port}/webhooks/square"),
            },
        }
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
