"""The purchase history at a first sync's scale (issue 13): read from each channel's order stream
in pages, not with a call per customer. Both emulators on loopback, the real adapters, the real
customers stage on a store file."""

from __future__ import annotations

import math
from pathlib import Path

from adapters.square import SquareAdapter
from adapters.woocommerce import WooCommerceAdapter
from bridge.config import CustomerSettings
from bridge.customer_sync import CustomerSync
from bridge.store import Store
from sandbox.launch import Sandbox
from tests.square_helpers import call
from tests.woo_helpers import woo_rest

PEOPLE = 250


def test_a_first_sync_reads_the_history_in_pages_not_a_call_per_customer(tmp_path: Path) -> None:
    with Sandbox(products=2, locations=2) as box:
        sku = box.catalogues.shared_skus[0]
        variation = box.square.variation_by_sku(sku)
        assert variation is not None
        (product,) = [p for p in woo_rest(box.woocommerce, "GET", "products") if p["sku"] == sku]
        woo_rest(box.woocommerce, "PUT", f"products/{product['id']}", {"stock_quantity": 10_000})
        shops = box.square.location_ids()
        till = [box.square.add_customer(f"till{n}@shop.test", f"T{n}") for n in range(PEOPLE)]
        web = [box.woocommerce.add_customer(f"web{n}@shop.test", f"W{n}") for n in range(PEOPLE)]
        for n in range(120):  # regulars at both shops, and sales nobody was named for
            box.square.simulate_sale(variation["id"], 1, location_id=shops[n % 2], customer_id=till[n])
        for _ in range(30):
            box.square.simulate_sale(variation["id"], 1)
        for n in range(120):
            box.woocommerce.simulate_sale([(sku, 1)], email=f"web{n}@shop.test", customer_id=web[n])
        for n in range(40):
            box.woocommerce.simulate_sale([(sku, 1)], email=f"guest{n}@shop.test")
        sq, wc = box.square.connection_info(), box.woocommerce.connection_info()
        adapters = {
            "square": SquareAdapter(
                sq["access_token"], base_url=sq["base_url"], location_ids=sq["location_ids"]
            ),
            "woocommerce": WooCommerceAdapter(
                wc["url"], wc["consumer_key"], wc["consumer_secret"], wc["webhook_secret"]
            ),
        }
        with Store(tmp_path / "shop.db") as store:
            report = CustomerSync(store, adapters, CustomerSettings()).run()
            # Square: its locations, then SearchOrders by updated_at, 1,000 orders a page per 10
            # locations; WooCommerce's orders come with the customers read (it pages them for guests).
            assert report.history_calls <= 1 + math.ceil(150 / 1000) * math.ceil(len(shops) / 10)
            assert report.read == PEOPLE + PEOPLE + 40
            assert report.orders == 120 + 120 + 40  # every order someone is named on, once
            regular, shopper, guest = (
                store.customers.find(who, [who], [])[0]
                for who in ("till1@shop.test", "web0@shop.test", "guest0@shop.test")
            )
            assert [(p["channel"], p["location"]) for p in store.customers.purchases(regular)] == [
                ("square", "Location 2")
            ]
            assert [p["channel"] for p in store.customers.purchases(shopper)] == ["woocommerce"]
            assert [p["location"] for p in store.customers.purchases(guest)] == ["web"]
            again = CustomerSync(store, adapters, CustomerSettings()).run()
            assert again.orders == 0 and again.history_calls <= 2  # a quiet re-read: nothing new


def test_an_erased_customers_orders_are_not_kept_again_when_the_history_is_read_again(tmp_path: Path) -> None:
    """An erasure on Square (``customer.deleted``: the event path reads the id again, a tombstone)
    removes the record's orders here; reading the whole history again (``sync --full``) must not
    bring them back, though Square still has the orders under that id."""
    with Sandbox(products=2, locations=1) as box:
        variation = box.square.variation_by_sku(box.catalogues.shared_skus[0])
        assert variation is not None
        ann = box.square.add_customer("ann@shop.test", "Ann")
        bob = box.square.add_customer("bob@shop.test", "Bob")
        box.square.simulate_sale(variation["id"], 1, customer_id=ann)
        box.square.simulate_sale(variation["id"], 1, customer_id=bob)
        sq = box.square.connection_info()
        adapters = {
            "square": SquareAdapter(
                sq["access_token"], base_url=sq["base_url"], location_ids=sq["location_ids"]
            )
        }
        with Store(tmp_path / "shop.db") as store:
            CustomerSync(store, adapters, CustomerSettings()).run()
            kept = "SELECT channel_customer_id FROM purchases ORDER BY 1"
            assert [r[0] for r in store.db.execute(kept)] == sorted([ann, bob])
            call(box.square, "DELETE", f"/v2/customers/{ann}")
            CustomerSync(store, adapters, CustomerSettings()).run_hinted({"square": [ann]})
            assert [r[0] for r in store.db.execute(kept)] == [bob]
            again = CustomerSync(store, adapters, CustomerSettings()).run(full=True)
            assert [r[0] for r in store.db.execute(kept)] == [bob]
            assert again.orders == 1  # bob's, read again
