"""The WooCommerce client keeps its connections alive: a real shop is HTTPS, and a new connection is
a TCP and TLS handshake (several round trips) before every call of a sync that makes thousands."""

from __future__ import annotations

from sandbox.seed import generate_catalog
from sandbox.woocommerce import WooCommerceEmulator
from tests.woo_helpers import make_adapter


def test_a_catalogue_read_reuses_its_connections() -> None:
    with WooCommerceEmulator() as woo:
        woo.seed(generate_catalog(300))
        adapter = make_adapter(woo)
        woo.server.reset_stats()
        adapter.read_catalog()
        adapter.read_stock_events(None)
        calls = woo.server.calls()
        assert calls >= 5
        assert woo.server.connections <= adapter.concurrency + 1 < calls
