"""Catalogues to seed emulators with: explicit ones for tests, generated ones for the demo and benchmarks.

Every emulator accepts the same :class:`SeedProduct` list, so a test can give WooCommerce and Square
overlapping catalogues (same SKUs, GTIN-only matches, one-sided products) from one description.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["SeedProduct", "SeedVariant", "generate_catalog"]


@dataclass(frozen=True)
class SeedVariant:
    sku: str | None
    price: Decimal
    stock: int | None = 10
    gtin: str | None = None
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SeedProduct:
    """A product group; one variant with no options means a simple product."""

    name: str
    variants: tuple[SeedVariant, ...]
    description: str = ""

    @property
    def is_simple(self) -> bool:
        return len(self.variants) == 1 and not self.variants[0].options


_NOUNS = ["Mug", "Tee", "Tote", "Candle", "Notebook", "Poster", "Cap", "Scarf", "Soap", "Pin"]
_COLOURS = ["Red", "Blue", "Green", "Black"]
_SIZES = ["S", "M", "L"]


def generate_catalog(variants: int, *, seed: int = 7, prefix: str = "SB") -> list[SeedProduct]:
    """About ``variants`` sellable units: a mix of simple products and variable ones (3 or 4 variations).

    Deterministic for a given ``seed`` so that two emulators seeded alike hold the same SKUs.
    """
    rng = random.Random(seed)
    products: list[SeedProduct] = []
    made = 0
    index = 0
    while made < variants:
        index += 1
        noun = _NOUNS[index % len(_NOUNS)]
        price = Decimal(rng.randint(300, 5000)).scaleb(-2)
        remaining = variants - made
        if index % 3 == 0 and remaining >= 3:
            axis = _SIZES if index % 2 else _COLOURS
            axis_name = "Size" if index % 2 else "Colour"
            count = min(len(axis), remaining)
            group = tuple(
                SeedVariant(
                    sku=f"{prefix}-{index:05d}-{value[:3].upper()}",
                    price=price,
                    stock=rng.randint(0, 40),
                    gtin=f"{400000000000 + index * 10 + n:013d}",
                    options={axis_name: value},
                )
                for n, value in enumerate(axis[:count])
            )
            products.append(
                SeedProduct(name=f"{noun} {index}", variants=group, description=f"A {noun.lower()}.")
            )
            made += count
        else:
            variant = SeedVariant(
                sku=f"{prefix}-{index:05d}",
                price=price,
                stock=rng.randint(0, 40),
                gtin=f"{400000000000 + index * 10:013d}",
            )
            products.append(
                SeedProduct(name=f"{noun} {index}", variants=(variant,), description=f"A {noun.lower()}.")
            )
            made += 1
    return products
