"""Shared pieces for the WooCommerce emulator and adapter tests: a running emulator, an adapter bound
to it with fast backoff, small seed catalogues, and the documented fixtures (vendored in tests/data).

Kept out of conftest.py (owned elsewhere) so the WooCommerce tests stay self-contained.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.woocommerce import WooCommerceAdapter
from sandbox.seed import SeedProduct, SeedVariant
from sandbox.woocommerce import WooCommerceEmulator

# Documented examples and bodies rebuilt from source (origin, version, licence: tests/data/README.md).
FIXTURES = Path(__file__).resolve().parent / "data" / "woocommerce"


def fixture(name: str) -> Any:
    """A vendored WooCommerce JSON example (``derived-from-source/...`` for those rebuilt from PHP)."""
    return json.loads((FIXTURES / name).read_text())


def small_catalog() -> list[SeedProduct]:
    """Two simple products and one variable product with three sizes."""
    return [
        SeedProduct("Mug", (SeedVariant("MUG-1", Decimal("12.50"), stock=7),)),
        SeedProduct(
            "Tee",
            tuple(
                SeedVariant(f"TEE-{s}", Decimal("20.00"), stock=n, options={"Size": s})
                for s, n in (("S", 3), ("M", 5), ("L", 0))
            ),
        ),
        SeedProduct("Poster", (SeedVariant("POS-1", Decimal("9.99"), stock=None),)),
    ]


def make_adapter(emu: WooCommerceEmulator, **kwargs: Any) -> WooCommerceAdapter:
    info = emu.connection_info()
    options: dict[str, Any] = {"backoff_base": 0.01, "backoff_max": 0.5, "timeout": 10.0}
    options.update(kwargs)
    return WooCommerceAdapter(
        info["url"], info["consumer_key"], info["consumer_secret"], info["webhook_secret"], **options
    )


def call(emu: WooCommerceEmulator, method: str, path: str, body: Any = None) -> Any:
    """A REST call to the emulator as wp-admin or another plugin makes it (``path`` below
    ``/wp-json/wc/v3/``); the JSON answer, which must not be an error."""
    import requests

    info = emu.connection_info()
    answer = requests.request(
        method,
        f"{info['url']}/wp-json/wc/v3/{path}",
        json=body,
        auth=(info["consumer_key"], info["consumer_secret"]),
        timeout=10,
    )
    assert answer.status_code < 400, answer.text
    return answer.json()
