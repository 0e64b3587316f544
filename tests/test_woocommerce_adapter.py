"""The WooCommerce adapter against the emulator over real loopback HTTP: what it reads (and with how
many calls), what it writes, how it survives rate limits and refusals, and how it checks webhooks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest
import requests
from webhook_receiver import Receiver
from woo_helpers import fixture, make_adapter, small_catalog

from adapters.base import (
    ArchiveProduct,
    AuthError,
    CreateProduct,
    PermanentError,
    SetStock,
    TransientError,
    UpdateVariant,
    WebhookRejected,
)
from adapters.woocommerce import WooCommerceAdapter
from bridge.models import ChannelProduct, ChannelVariant, Money, ProductStatus
from sandbox.seed import SeedProduct, SeedVariant, generate_catalog
from sandbox.woocommerce import WooCommerceEmulator


@pytest.fixture
def emulator() -> Iterator[WooCommerceEmulator]:
    with WooCommerceEmulator() as emu:
        yield emu


@pytest.fixture
def adapter(emulator: WooCommerceEmulator) -> WooCommerceAdapter:
    return make_adapter(emulator)


def flat(products: Any) -> dict[str | None, ChannelVariant]:
    return {v.sku: v for p in products for v in p.variants}


def minimum_calls(catalog: list[SeedProduct]) -> int:
    """What pagination allows: one call per 100 products plus one per 100 variations (/variations),
    plus the (empty) page of the trash (``status=trash``, which ``status=any`` leaves out)."""
    variations = sum(len(p.variants) for p in catalog if not p.is_simple)
    return math.ceil(len(catalog) / 100) + math.ceil(variations / 100) + 1


# -- reads -------------------------------------------------------------------------------------


def test_full_read_across_pages_exact_values_and_minimum_calls(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter
) -> None:
    catalog = generate_catalog(400)
    emulator.seed(catalog)
    assert len(catalog) > 200  # several pages
    emulator.server.reset_stats()
    page = adapter.read_catalog(None)
    assert page.calls == minimum_calls(catalog) == emulator.server.calls()
    variants = flat(page.items)
    expected = {v.sku: v for p in catalog for v in p.variants}
    assert set(variants) == set(expected)
    for sku, seed in expected.items():
        got = variants[sku]
        assert got.price == Money(amount=seed.price, currency="USD"), sku
        assert got.stock == seed.stock and got.manage_stock
        assert got.gtin == seed.gtin and got.options == seed.options
    kinds = {p.name: p.kind for p in page.items}
    assert kinds == {p.name: ("simple" if p.is_simple else "variable") for p in catalog}


def test_full_read_of_2000_products_call_count(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter
) -> None:
    catalog = generate_catalog(6000)[:2000]
    emulator.seed(catalog)
    emulator.server.reset_stats()
    started = time.perf_counter()
    page = adapter.read_catalog(None)
    elapsed = time.perf_counter() - started
    variable = sum(1 for p in catalog if not p.is_simple)
    assert len(page.items) == 2000
    assert page.calls == emulator.server.calls() == minimum_calls(catalog) == 20 + 24 + 1
    print(f"2,000 products ({variable} variable): {page.calls} HTTP calls in {elapsed:.1f}s")


def _uncounted(product: ChannelProduct) -> ChannelProduct:
    """``product`` without the moment of its counts (two reads of the same shop differ in it)."""
    variants = tuple(v.model_copy(update={"counted_at": None}) for v in product.variants)
    return product.model_copy(update={"variants": variants})


def pairs(after: ChannelProduct, before: ChannelProduct) -> list[tuple[ChannelVariant, ChannelVariant]]:
    return list(zip(after.variants, before.variants, strict=True))


def test_streamed_and_incremental_reads_of_everything_match_a_full_read(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter
) -> None:
    """The page-by-page full read and an incremental read of a whole new catalogue (what follows
    a mass write) hold trimmed items: they must still give exactly what the full read gives."""
    before_seed = adapter.read_catalog(None).cursor  # an empty shop
    emulator.advance(5)
    emulator.seed(small_catalog() + generate_catalog(250, prefix="ZZ"))
    full = adapter.read_catalog(None)
    pages = list(adapter.iter_catalog(None))
    since = list(adapter.iter_catalog(before_seed))

    def by_id(products: list[ChannelProduct]) -> dict[str, ChannelProduct]:
        return {p.channel_id: _uncounted(p) for p in products}

    assert len(pages) > 3 and all(page.cursor is None for page in pages[:-1])
    assert by_id([p for page in pages for p in page.items]) == by_id(full.items)
    assert len(since) > 1 and all(len(page.items) <= 100 for page in since)
    assert by_id([p for page in since for p in page.items]) == by_id(full.items)
    assert len(full.items) == len(small_catalog()) + len(generate_catalog(250, prefix="ZZ"))


def test_variations_left_unchanged_beside_changed_ones_are_fetched_in_bulk(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter
) -> None:
    """A price change on one variation of 40 products: their other variations come 100 a call
    from /variations?include=, not one call per product."""
    emulator.seed(generate_catalog(300))
    full = adapter.read_catalog(None)
    emulator.advance(5)
    quiet = adapter.read_catalog(full.cursor)  # a poll moves the window past the seeding
    emulator.advance(5)
    variable = [p for p in full.items if p.kind == "variable"][:40]
    price = Money(amount=Decimal("9.99"), currency="USD")
    ops = [
        UpdateVariant(
            key=f"k{n}", product_id=p.channel_id, variant_id=p.variants[0].channel_id, fields={"price": price}
        )
        for n, p in enumerate(variable)
    ]
    assert all(result.ok for result in adapter.apply(ops))
    emulator.server.reset_stats()
    changed = adapter.read_catalog(quiet.cursor)
    assert {p.channel_id for p in changed.items} == {p.channel_id for p in variable}
    for before in variable:
        after = next(p for p in changed.items if p.channel_id == before.channel_id)
        assert [v.channel_id for v in after.variants] == [v.channel_id for v in before.variants]
        assert after.variants[0].price == price
        assert _uncounted(after).variants[1:] == _uncounted(before).variants[1:]
        assert all(
            a.counted_at and b.counted_at and a.counted_at > b.counted_at for a, b in pairs(after, before)
        )
    routes = dict(emulator.server.stats)
    assert not any("products/" in route for route in routes), routes
    assert changed.calls <= 6, routes


def test_incremental_read_same_second_and_no_repeats(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter
) -> None:
    emulator.freeze_time()
    emulator.seed(small_catalog() + generate_catalog(30, prefix="ZZ"))
    first = adapter.read_catalog(None)
    # Still the same second as the cursor: a stock edit and a variation price change.
    emulator.manual_stock_edit("MUG-1", 2)
    tee = emulator.product_by_sku("TEE-M")
    emulator.server.reset_stats()
    adapter_update = adapter.apply(
        [
            UpdateVariant(
                key="k1",
                product_id=str(tee["parent_id"]),
                variant_id=str(tee["id"]),
                fields={"price": Money(amount=Decimal("21.00"), currency="USD")},
            )
        ]
    )
    assert adapter_update[0].ok and adapter_update[0].written == {"regular_price": "21.00"}
    second = adapter.read_catalog(first.cursor)
    variants = flat(second.items)
    assert {p.name for p in second.items} == {"Mug", "Tee"}
    assert variants["MUG-1"].stock == 2
    assert variants["TEE-M"].price == Money(amount=Decimal("21.00"), currency="USD")
    assert set(variants) == {"MUG-1", "TEE-S", "TEE-M", "TEE-L"}  # the whole variable product
    third = adapter.read_catalog(second.cursor)
    assert third.items == []
    emulator.advance(10)
    emulator.manual_stock_edit("ZZ-00002", 9)
    fourth = adapter.read_catalog(third.cursor)
    assert [v.sku for p in fourth.items for v in p.variants] == ["ZZ-00002"]
    assert adapter.read_catalog(fourth.cursor).items == []


def test_stock_levels_and_locations(emulator: WooCommerceEmulator, adapter: WooCommerceAdapter) -> None:
    emulator.seed(small_catalog())
    levels = {level.variant_id: level.quantity for level in adapter.read_stock_levels()}
    mug = emulator.product_by_sku("MUG-1")["id"]
    assert levels[str(mug)] == 7 and len(levels) == 4  # POS-1 does not manage stock
    assert [loc.channel_id for loc in adapter.list_locations()] == ["default"]
    assert "products" in adapter.check()


def test_orders_become_readings_of_each_lines_current_effect(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter
) -> None:
    emulator.seed(small_catalog())
    sale = emulator.simulate_sale([("MUG-1", 2), ("TEE-S", 1)])
    assert emulator.stock_of("MUG-1") == 5 and emulator.stock_of("TEE-S") == 2
    first = adapter.read_stock_events(None)
    assert [(e.delta, e.sku, e.effect and e.effect.amount) for e in first.items] == [
        (-2, "MUG-1", -2),
        (-1, "TEE-S", -1),
    ]
    line = sale["line_items"][0]["id"]
    assert first.items[0].source_id == f"woocommerce:order:{sale['id']}:line:{line}"
    assert first.items[0].effect and first.items[0].effect.taken == 2
    assert first.items[1].variant_id == str(emulator.product_by_sku("TEE-S")["id"])
    assert adapter.read_stock_events(first.cursor).items == []
    again = adapter.read_stock_events(None)
    assert [(e.source_id, e.delta) for e in again.items] == [(e.source_id, e.delta) for e in first.items]
    # cancel: stock restored in WooCommerce (_reduced_stock deleted), the lines now hold nothing
    emulator.advance(2)
    api = make_adapter(emulator)
    api._request("PUT", f"orders/{sale['id']}", data={"status": "cancelled"})
    assert emulator.stock_of("MUG-1") == 7
    cancelled = adapter.read_stock_events(first.cursor)
    assert [(e.source_id, e.delta) for e in cancelled.items] == [(e.source_id, 0) for e in first.items]
    # a refund with restock lowers what the line holds, one without does not; its line id is kept
    # so that an entry an older version recorded for it counts as part of the line's effect
    other = emulator.simulate_sale([("TEE-M", 2)], status="completed")
    emulator.advance(2)
    line_id = other["line_items"][0]["id"]
    for restock in (True, False):
        refund = api._request(
            "POST",
            f"orders/{other['id']}/refunds",
            data={
                "line_items": [{"id": line_id, "quantity": 1, "refund_total": "20.00"}],
                "api_restock": restock,
            },
        ).json()
        assert refund["line_items"][0]["meta_data"][0]["key"] == "_refunded_item_id"
    latest = [e for e in adapter.read_stock_events(cancelled.cursor).items if e.sku == "TEE-M"]
    assert [e.delta for e in latest] == [-1]
    assert latest[0].effect and len(latest[0].effect.legacy) == 2
    assert emulator.stock_of("TEE-M") == 4


def test_customers(emulator: WooCommerceEmulator, adapter: WooCommerceAdapter) -> None:
    emulator.add_customer("Ann@Example.com", "Ann", "Lee", phone="(415) 555-0123")
    page = adapter.read_customers(None)
    assert [(c.email, c.phone, c.given_name) for c in page.items] == [
        ("ann@example.com", "+14155550123", "Ann")
    ]
    assert adapter.read_customers(page.cursor).items == []
    emulator.advance(3)
    emulator.add_customer("bob@example.com", "Bob")
    assert [c.email for c in adapter.read_customers(page.cursor).items] == ["bob@example.com"]


# -- documented fixtures -----------------------------------------------------------------------


def test_documented_fixtures_parse_without_loss() -> None:
    adapter = WooCommerceAdapter("http://127.0.0.1:1", "ck", "cs", "secret")
    doc = fixture("product.retrieve.response.json")
    simple = adapter.to_product(doc)
    assert (simple.channel_id, simple.kind, simple.name, simple.status) == (
        "794",
        "simple",
        "Premium Quality",
        "active",
    )
    variant = simple.variants[0]
    assert variant.price == Money(amount=Decimal("21.99"), currency="USD")
    assert variant.sku is None and variant.manage_stock is False and variant.stock is None
    assert variant.version == "2017-03-23T20:01:14" and variant.modified_at is not None
    parent = fixture("product.create_variable.response.json")
    variation = fixture("product_variation.retrieve.response.json")
    product = adapter.to_product(parent, [variation])
    assert product.kind == "variable" and product.variants[0].channel_id == "732"
    assert product.variants[0].options == {"Color": "Black"}
    assert product.variants[0].price == Money(amount=Decimal("9.00"), currency="USD")
    # A variation drawing on its parent's pool shows the whole pool: that is the product's count,
    # not the variation's.
    parent_managed = adapter.to_product(
        parent | {"manage_stock": True, "stock_quantity": 4},
        [variation | {"manage_stock": "parent", "stock_quantity": 4}],
    )
    assert parent_managed.variants[0].stock_managed_by_parent and parent_managed.variants[0].stock is None
    assert parent_managed.pool_stock == 4
    customer = adapter.to_customer(fixture("customer.retrieve.response.json"))
    assert (customer.channel_id, customer.email, customer.given_name, customer.family_name) == (
        "25",
        "john.doe@example.com",
        "John",
        "Doe",
    )
    assert customer.phone == "+15555555555"  # the fixture's (555) 555-5555 in E.164
    order = fixture("order.retrieve.response.json")
    events = adapter.order_events(order)
    # A 2017 example (before WooCommerce 3.5 kept _reduced_stock): its lines carry meta_data without
    # it, which WooCommerce itself reads as nothing held (wc_increase_stock_levels restores nothing).
    assert [(e.source_id, e.delta, e.variant_id, e.sku) for e in events] == [
        ("woocommerce:order:727:line:315", 0, "93", None),
        ("woocommerce:order:727:line:316", 0, "23", "Bar3"),
    ]
    held = {**order["line_items"][0], "meta_data": [{"id": 1, "key": "_reduced_stock", "value": "2"}]}
    assert [e.delta for e in adapter.order_events({**order, "line_items": [held]})] == [-2]
    bare = [{k: v for k, v in li.items() if k != "meta_data"} for li in order["line_items"]]
    assert [e.delta for e in adapter.order_events({**order, "line_items": bare})] == [-2, -1]  # by status
    refunds = fixture("order_refund.list.response.json")
    line = {**order["line_items"][0], "id": 311}
    (reading,) = adapter.order_events({**order, "line_items": [line]}, refunds)
    assert reading.effect and reading.effect.legacy == ("woocommerce:refund:724:line:314",)


# -- writes ------------------------------------------------------------------------------------


def _simple(sku: str, price: str = "5.00", stock: int | None = 3) -> ChannelProduct:
    return ChannelProduct(
        channel="woocommerce",
        channel_id="",
        name=f"Item {sku}",
        variants=(
            ChannelVariant(
                channel_id="", sku=sku, price=Money(amount=Decimal(price), currency="USD"), stock=stock
            ),
        ),
    )


def test_batch_write_250_with_two_invalid(emulator: WooCommerceEmulator, adapter: WooCommerceAdapter) -> None:
    emulator.seed(small_catalog())
    ops = [CreateProduct(key=f"c{i}", product=_simple(f"NEW-{i:03d}")) for i in range(250)]
    ops[17] = CreateProduct(key="dup1", product=_simple("MUG-1"))
    ops[201] = CreateProduct(key="dup2", product=_simple("TEE-S"))
    emulator.server.reset_stats()
    results = adapter.apply(ops)
    assert emulator.server.calls() == 3  # 100 + 100 + 50
    assert [r.key for r in results] == [op.key for op in ops]
    failed = [r for r in results if not r.ok]
    assert [(r.key, r.code, r.error, r.retryable) for r in failed] == [
        ("dup1", "product_invalid_sku", "Invalid or duplicated SKU.", False),
        ("dup2", "product_invalid_sku", "Invalid or duplicated SKU.", False),
    ]
    assert failed[0].channel_id == str(emulator.product_by_sku("MUG-1")["id"])  # the SKU's holder
    ok = [r for r in results if r.ok]
    assert len(ok) == 248
    assert ok[0].ids == {"NEW-000": ok[0].channel_id} and ok[0].version
    assert ok[0].written["regular_price"] == "5.00" and ok[0].written["stock_quantity"] == 3
    assert emulator.stock_of("NEW-249") == 3


def test_create_variable_set_stock_and_archive(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter
) -> None:
    emulator.seed(
        [
            SeedProduct(
                "Cap",
                tuple(SeedVariant(f"CAP-{c}", Decimal(5), stock=None, options={"Colour": c}) for c in "RB"),
            )
        ]
    )
    variable = ChannelProduct(
        channel="woocommerce",
        channel_id="",
        kind="variable",
        name="Scarf",
        variants=tuple(
            ChannelVariant(
                channel_id="",
                sku=f"SCF-{c}",
                options={"Colour": c},
                price=Money(amount=Decimal("15"), currency="USD"),
                stock=4,
            )
            for c in ("Red", "Blue")
        ),
    )
    created = adapter.apply([CreateProduct(key="v", product=variable)])[0]
    assert created.ok and set(created.ids) == {"SCF-Red", "SCF-Blue"}
    assert emulator.product_by_sku("SCF-Red")["regular_price"] == "15.00"
    cap = emulator.product_by_sku("CAP-R")
    parent = str(cap["parent_id"])
    api = make_adapter(emulator)
    api._request("PUT", f"products/{parent}", data={"manage_stock": True, "stock_quantity": 10})
    scarf = emulator.product_by_sku("SCF-Blue")
    mug_like = adapter.apply([CreateProduct(key="s", product=_simple("LOOSE", stock=None))])[0]
    results = adapter.apply(
        [
            SetStock(key="a", product_id=parent, variant_id=parent, quantity=6),  # the pool, on the parent
            SetStock(key="b", product_id=str(scarf["parent_id"]), variant_id=str(scarf["id"]), quantity=1),
            SetStock(
                key="c",
                product_id=mug_like.channel_id or "",
                variant_id=mug_like.channel_id or "",
                quantity=8,
            ),
            ArchiveProduct(key="d", product_id=str(scarf["parent_id"])),
        ]
    )
    assert all(r.ok for r in results), results
    assert emulator.product_by_sku("CAP-B")["stock_quantity"] == 6  # both draw on the parent's pool
    assert emulator.product_by_sku("CAP-R")["manage_stock"] == "parent"
    # A SKU's count sent to a pooled variation is refused: written on the parent it would replace
    # its siblings' units too (the last such write would win).
    refused = adapter.apply([SetStock(key="e", product_id=parent, variant_id=str(cap["id"]), quantity=2)])[0]
    assert not refused.ok and refused.code == "stock_pooled" and not refused.retryable
    assert emulator.products[int(parent)]["stock_quantity"] == 6
    catalog = {p.channel_id: p for p in adapter.read_catalog(None).items}
    assert catalog[parent].pool_stock == 6
    assert {v.stock for v in catalog[parent].variants} == {None}
    assert emulator.stock_of("SCF-Blue") == 1 and emulator.stock_of("LOOSE") == 8
    assert results[2].written == {"manage_stock": True, "stock_quantity": 8}
    statuses = {p.name: p.status for p in adapter.read_catalog(None).items}
    assert statuses["Scarf"] == ProductStatus.ARCHIVED
    assert emulator.products[int(scarf["parent_id"])]["status"] == "private"


# -- errors and retries ------------------------------------------------------------------------


def test_429_with_retry_after_is_retried(emulator: WooCommerceEmulator, adapter: WooCommerceAdapter) -> None:
    emulator.seed(small_catalog())
    emulator.server.faults.add(kind="status", status=429, retry_after=0.2, path="/products$", times=2)
    started = time.monotonic()
    page = adapter.read_catalog(None)
    assert time.monotonic() - started >= 0.4  # honoured Retry-After twice
    assert len(page.items) == 3 and page.calls == 2 + 3  # two refusals; products, trash, variations


def test_5xx_exhausts_attempts_then_transient(emulator: WooCommerceEmulator) -> None:
    adapter = make_adapter(emulator, max_attempts=3)
    emulator.server.faults.add(kind="status", status=503, path="/products", times=None)
    with pytest.raises(TransientError) as info:
        adapter.read_catalog(None)
    assert info.value.status == 503 and adapter.calls == 3
    emulator.server.faults.clear()


def test_400_not_retried_and_401_is_auth_error(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter
) -> None:
    emulator.server.reset_stats()
    with pytest.raises(PermanentError) as info:
        adapter._request("GET", "products", params={"per_page": 101})
    assert info.value.code == "rest_invalid_param" and adapter.calls == 1 and emulator.server.calls() == 1
    wrong = WooCommerceAdapter(emulator.url, emulator.consumer_key, "cs_wrong", "x", backoff_base=0.01)
    with pytest.raises(AuthError) as auth:
        wrong.check()
    assert auth.value.status == 401 and "signature" in str(auth.value) and wrong.calls == 1


# -- webhooks ----------------------------------------------------------------------------------


def test_webhooks_registered_verified_and_rejected(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter
) -> None:
    emulator.seed(small_catalog())
    sink = Receiver().start()
    ids = adapter.register_webhooks(sink.url, ["product.updated", "order.created"])
    assert adapter.register_webhooks(sink.url, ["product.updated", "order.created"]) == ids  # idempotent
    assert len(emulator.webhooks) == 2
    sink.wait(2)
    pings = [adapter.verify_webhook(h, b, sink.url) for h, b in sink.deliveries[:2]]
    assert {p.resource for p in pings} == {"ping"} and {p.resource_id for p in pings} == set(ids)
    emulator.manual_stock_edit("TEE-S", 11)
    sink.wait(3)
    headers, body = sink.deliveries[2]
    event = adapter.verify_webhook(headers, body, sink.url)
    tee_s = emulator.product_by_sku("TEE-S")
    assert (event.resource, event.topic, event.resource_id) == (
        "product",
        "product.updated",
        str(tee_s["id"]),
    )
    assert event.payload["type"] == "variation" and event.event_id.startswith("woocommerce:")
    assert adapter.verify_webhook(headers, body, sink.url).event_id == event.event_id
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(headers, body.replace(b"11", b"99"), sink.url)
    with pytest.raises(WebhookRejected):
        make_adapter(emulator).__class__(emulator.url, "ck", "cs", "wrong-secret").verify_webhook(
            headers, body, sink.url
        )
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook({k: v for k, v in headers.items() if "signature" not in k}, body, sink.url)
    forged = json.dumps({"id": 1}).encode()
    good = base64.b64encode(
        hmac.new(emulator.webhook_secret.encode(), forged, hashlib.sha256).digest()
    ).decode()
    ok = adapter.verify_webhook(
        {"X-WC-Webhook-Signature": good, "X-WC-Webhook-Topic": "order.created"}, forged, ""
    )
    assert ok.resource == "order" and ok.resource_id == "1"
    sink.stop()


def test_incremental_read_of_many_changes_spanning_pages(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter
) -> None:
    emulator.freeze_time()
    catalog = generate_catalog(400)
    emulator.seed(catalog)
    cursor = adapter.read_catalog(None).cursor
    simple = [p.variants[0].sku for p in catalog if p.is_simple][:150]
    for n, sku in enumerate(simple):
        if n % 40 == 0:
            emulator.advance(1)
        emulator.manual_stock_edit(str(sku), 1000 + n)
    page = adapter.read_catalog(cursor)
    got = flat(page.items)
    assert set(got) == set(simple)
    assert all(got[sku].stock == 1000 + n for n, sku in enumerate(simple))
    assert adapter.read_catalog(page.cursor).items == []


def test_full_read_on_a_store_without_the_variations_endpoint(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter
) -> None:
    """WooCommerce before 10.3 answers 404 rest_no_route: variations are then read per product."""
    catalog = generate_catalog(40)
    emulator.seed(catalog)
    emulator.server.faults.add(kind="status", status=404, path=r"/wc/v3/variations$", times=None)
    emulator.server.reset_stats()
    page = adapter.read_catalog(None)
    variable = sum(1 for p in catalog if not p.is_simple)
    assert page.calls == 1 + 1 + 1 + variable  # products, trash, the refused /variations, one per product
    assert set(flat(page.items)) == {v.sku for p in catalog for v in p.variants}


def trash(emulator: WooCommerceEmulator, product_id: int) -> None:
    """What deleting a product in wp-admin, or over REST without ``force``, does: move it to the trash."""
    answer = requests.delete(
        f"{emulator.url}/wp-json/wc/v3/products/{product_id}",
        auth=(emulator.consumer_key, emulator.consumer_secret),
        timeout=10,
    )
    assert answer.status_code == 200 and answer.json()["status"] == "trash"


def test_trashed_products_come_back_archived(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter
) -> None:
    """A trashed product is left out of ``status=any``: reads also list ``status=trash``, and a trashed
    variable product (which lists no variations) comes with its trashed variations, all ARCHIVED,
    under the same ids, from an incremental read (trashing moves the date) and from a full read."""
    emulator.freeze_time()
    emulator.seed(small_catalog() + generate_catalog(30, prefix="ZZ"))
    first = adapter.read_catalog(None)
    before = {p.channel_id: p for p in first.items}
    emulator.advance(10)
    settled = adapter.read_catalog(first.cursor)
    emulator.advance(10)
    mug = emulator.product_by_sku("MUG-1")["id"]
    tee = emulator.product_by_sku("TEE-S")["parent_id"]
    trash(emulator, mug)
    trash(emulator, tee)
    emulator.advance(5)

    def check(products: list[ChannelProduct]) -> None:
        got = {p.channel_id: p for p in products}
        for pid in (str(mug), str(tee)):
            assert got[pid].status is ProductStatus.ARCHIVED, pid
            assert got[pid].kind == before[pid].kind
            assert [v.channel_id for v in got[pid].variants] == [v.channel_id for v in before[pid].variants]
            assert [v.sku for v in got[pid].variants] == [v.sku for v in before[pid].variants]
            assert all(v.status is ProductStatus.ARCHIVED for v in got[pid].variants)

    emulator.server.reset_stats()
    changed = adapter.read_catalog(settled.cursor)
    assert {p.channel_id for p in changed.items} == {str(mug), str(tee)}
    check(changed.items)
    # products since, trashed since, variations since, and the trashed product's own variations
    assert changed.calls == emulator.server.calls() == 4
    assert emulator.server.stats["GET GET products/<id>/variations"] == 1
    emulator.advance(10)
    assert adapter.read_catalog(changed.cursor).items == []

    emulator.server.reset_stats()
    full = adapter.read_catalog(None)
    assert len(full.items) == len(first.items)
    check(full.items)
    assert {p.channel_id for p in full.items if p.status is ProductStatus.ARCHIVED} == {str(mug), str(tee)}
    assert full.calls == emulator.server.calls() == 1 + 1 + 1 + 1  # products, trash, variations, Tee's


def test_a_full_read_asks_the_trash_for_variations_once(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter
) -> None:
    """Several trashed variable products: their variations come from ``/variations?status=trash``
    (100 a call), not one call per product."""
    catalog = generate_catalog(150)
    emulator.seed(catalog)
    variable = [p for p in adapter.read_catalog(None).items if p.kind == "variable"][:4]
    for product in variable:
        trash(emulator, int(product.channel_id))
    emulator.server.reset_stats()
    full = adapter.read_catalog(None)
    assert full.calls == emulator.server.calls() == minimum_calls(catalog) + 1
    assert not any("products/" in route for route in emulator.server.stats)
    got = {p.channel_id: p for p in full.items}
    for product in variable:
        archived = got[product.channel_id]
        assert archived.status is ProductStatus.ARCHIVED and archived.kind == "variable"
        assert [v.channel_id for v in archived.variants] == [v.channel_id for v in product.variants]
        assert all(v.status is ProductStatus.ARCHIVED for v in archived.variants)
    assert len(full.items) == len(catalog)


def test_a_quiet_shop_is_polled_with_one_call_per_collection(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter
) -> None:
    """The last burst of changes is not re-read on every poll: the cursor follows the shop's clock."""
    emulator.freeze_time()
    emulator.seed(generate_catalog(600))  # ~350 products and ~300 variations, all modified in one second
    first = adapter.read_catalog(None)
    emulator.advance(10)
    # The first poll re-reads the burst's second once (something may have changed later in it) ...
    settling = adapter.read_catalog(first.cursor)
    assert settling.items == []
    emulator.advance(10)
    emulator.server.reset_stats()
    # ... and from then on a quiet shop costs one empty page per collection.
    quiet = adapter.read_catalog(settling.cursor)
    assert quiet.items == []
    assert emulator.server.calls() == 3  # products since, trashed since, variations since
    emulator.advance(10)
    sku = generate_catalog(600)[0].variants[0].sku
    assert sku is not None
    emulator.manual_stock_edit(sku, 3)
    changed = adapter.read_catalog(quiet.cursor)
    assert [v.sku for p in changed.items for v in p.variants] == [sku]


# -- incremental reads after a mass write --------------------------------------------------------


def listing_calls(emulator: WooCommerceEmulator, route: str) -> int:
    """Calls counted on one listing route (the emulator names routes ``"GET <route>"``)."""
    return emulator.server.stats[f"GET GET {route}"]


def mass_write(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter, n: int, per_second: int, *, others: int = 0
) -> tuple[str, list[str], list[str]]:
    """A settled shop of ``others + n`` simple products, then the last ``n`` of them modified
    ``per_second`` a second (stock ``1000 + k`` for the k-th), then five quiet seconds. Returns the
    cursor from before the write, the written SKUs (in id order) and the untouched ones (lower ids)."""
    emulator.freeze_time()
    skus = [f"MW-{k:05d}" for k in range(n + others)]
    emulator.seed([SeedProduct(sku, (SeedVariant(sku, Decimal("5.00"), stock=1),)) for sku in skus])
    cursor = adapter.read_catalog(None).cursor
    emulator.advance(10)
    cursor = adapter.read_catalog(cursor).cursor  # the seed's second is now behind the cursor
    emulator.advance(10)
    written = skus[others:]
    for k, sku in enumerate(written):
        if k and k % per_second == 0:
            emulator.advance(1)
        emulator.manual_stock_edit(sku, 1000 + k)
    emulator.advance(5)
    assert cursor is not None
    return cursor, written, skus[:others]


def test_incremental_read_after_a_mass_write_costs_one_call_per_page(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter
) -> None:
    """1,000 products changed within two seconds: each comes back once, for about n/100 calls."""
    n = 1000
    cursor, written, _ = mass_write(emulator, adapter, n, per_second=500)
    emulator.server.reset_stats()
    page = adapter.read_catalog(cursor)
    got = [v.sku for p in page.items for v in p.variants]
    assert len(got) == n and set(got) == set(written)
    assert all(
        v.stock == 1000 + k for k, v in enumerate(sorted(flat(page.items).values(), key=lambda v: str(v.sku)))
    )
    products = listing_calls(emulator, "products")
    # 10 pages, one restart, the overlaps; and the (empty) page of the trash
    assert products <= math.ceil(n / 100) * 1.1 + 1 + 1, products
    assert emulator.server.calls() == page.calls == products + 1  # + the (empty) variations page
    assert adapter.read_catalog(page.cursor).items == []


def listed(emulator: WooCommerceEmulator, request: Any) -> tuple[list[str], int]:
    """The SKUs of the ``orderby=modified`` listing ``request`` was answered from, and its offset."""
    after = datetime.strptime(request.query["modified_after"][-1], "%Y-%m-%dT%H:%M:%S")
    excluded = {int(i) for q in request.query.get("exclude", []) for i in q.split(",")}
    window = sorted(
        (r for r in emulator.products.values() if r["modified"] > after and r["id"] not in excluded),
        key=lambda r: (r["modified"], r["id"]),
    )
    return [str(r["sku"]) for r in window], int(request.query["offset"][-1])


def moving_list(
    emulator: WooCommerceEmulator, written: list[str], others: list[str], last_read_at: tuple[int, ...]
) -> tuple[dict[str, int], list[tuple[dict[str, Any], int]], Callable[[Any], None]]:
    """The moving list of the reads during changes: the counts expected at the end, the product
    listings served (query, offset), and the hook that changes products between the pages: at the
    3rd page 12 read (more than the overlap absorbs), 3 unread and 4 outside the window; at the 6th
    1 read (absorbed by the overlap) and 1 outside; at each of ``last_read_at`` the last one read."""
    expected = {sku: 1000 + k for k, sku in enumerate(written)}
    served: list[tuple[dict[str, Any], int]] = []
    stock = iter(range(5000, 6000))

    def change(skus: list[str]) -> None:
        for sku in skus:
            expected[sku] = next(stock)
            emulator.manual_stock_edit(sku, expected[sku])

    def during_the_read(request: Any) -> None:
        if request.method != "GET" or not request.path.endswith("/wc/v3/products"):
            return
        window, start = listed(emulator, request)
        served.append((request.query, start))
        if len(served) == 3:
            change(window[:12] + window[start + 150 : start + 153] + others[:4])
        elif len(served) == 6:
            change(window[start + 10 : start + 11] + others[10:11])
        elif len(served) in last_read_at:
            change(window[start + 99 : start + 100])

    return expected, served, during_the_read


def test_changes_during_an_incremental_read_are_never_skipped(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter
) -> None:
    """Products change between the pages of a read: some already read (more than the overlap
    absorbs, later fewer), some not read yet, the last one read, and some from outside the window.
    Every product changed before the read and every one changed during it comes back, as it is now."""
    cursor, written, others = mass_write(emulator, adapter, 1000, per_second=80, others=40)
    expected, served, during_the_read = moving_list(emulator, written, others, last_read_at=(8,))
    emulator.after_request = during_the_read
    page = adapter.read_catalog(cursor)
    emulator.after_request = None
    got = flat(page.items)
    assert sorted(got) == sorted(expected)  # each once: products are listed once per read
    assert {sku: v.stock for sku, v in got.items()} == expected
    assert len(served) > 8 and all("page" not in q for q, _ in served)  # offsets only
    assert adapter.read_catalog(page.cursor).items == []


def test_products_changed_in_the_second_being_read_are_not_skipped(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter
) -> None:
    """The read runs in the second of the write it reads (the clock is frozen there). Between two
    pages an older product changes in that second (its lower id sorts it before the ones read)
    while a product already read is trashed: the page after looks exactly as expected, yet
    offsets would step over the changed product. The read must not; nor miss a product read in
    that second and changed again once the clock has moved on."""
    cursor, written, others = mass_write(emulator, adapter, 450, per_second=450, others=30)
    emulator.advance(-5)  # back into the second of the write
    expected = {sku: 1000 + k for k, sku in enumerate(written)}
    calls = 0

    def during_the_read(request: Any) -> None:
        nonlocal calls
        if request.method == "GET" and request.path.endswith("/wc/v3/products"):
            calls += 1
            if calls in (3, 5):
                emulator.products[emulator.sku_index[written[calls]]]["status"] = "trash"  # read already
                sku = others[calls]
                expected[sku] = 7000 + calls
                emulator.manual_stock_edit(sku, expected[sku])
            if calls == 6:
                emulator.advance(1)
                expected[written[0]] = 8000
                emulator.manual_stock_edit(written[0], 8000)

    emulator.after_request = during_the_read
    page = adapter.read_catalog(cursor)
    emulator.after_request = None
    assert {sku: v.stock for sku, v in flat(page.items).items()} == expected
    assert calls <= 10


@pytest.mark.parametrize("per_second", [60, 250])
def test_products_tied_in_any_order_are_never_skipped(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter, per_second: int
) -> None:
    """A real store may return products changed in the same second in a new order on every request
    (see the emulator). That costs calls (restarts, and ``exclude`` for a second of more than a
    page), never products."""
    emulator.shuffle_product_ties = random.Random(per_second)
    cursor, written, _ = mass_write(emulator, adapter, 600, per_second=per_second)
    emulator.server.reset_stats()
    page = adapter.read_catalog(cursor)
    got = [v.sku for p in page.items for v in p.variants]
    assert len(got) == 600 and set(got) == set(written)
    assert listing_calls(emulator, "products") <= 3 * 6 + 1  # + the (empty) page of the trash


def test_a_store_ignoring_exclude_fails_instead_of_looping(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    cursor, _, _ = mass_write(emulator, adapter, 250, per_second=250)
    emulator.advance(-5)  # read in the second of the write: it is read with exclude=
    monkeypatch.setattr(emulator, "_filter_ids", lambda request, items: items)
    with pytest.raises(PermanentError, match="exclude"):
        adapter.read_catalog(cursor)


def test_a_line_effect_is_its_reduced_stock_and_the_status_only_without_it() -> None:
    adapter = WooCommerceAdapter("http://127.0.0.1:1", "ck", "cs", "secret")
    order: dict[str, Any] = {
        "id": 5,
        "status": "processing",
        "date_created_gmt": "2026-05-01T10:00:00",
        "date_paid_gmt": "2026-05-01T10:00:00",
        "date_modified_gmt": "2026-05-01T11:00:00",
    }

    def line(meta: list[dict[str, Any]] | None) -> dict[str, Any]:
        base = {"id": 9, "product_id": 3, "variation_id": 0, "quantity": 4, "sku": "MUG-1"}
        return base if meta is None else {**base, "meta_data": meta}

    def held(meta: list[dict[str, Any]] | None, status: str = "processing") -> list[int]:
        events = adapter.order_events({**order, "status": status, "line_items": [line(meta)]})
        return [e.delta for e in events]

    restocked = [{"key": "_reduced_stock", "value": "1"}, {"key": "_restock_refunded_items", "value": "3"}]
    assert held(restocked) == [-1]
    (reading,) = adapter.order_events({**order, "line_items": [line(restocked)]})
    assert reading.effect and (reading.effect.taken, reading.effect.amount) == (1, -1)
    assert held([]) == [0]  # no _reduced_stock: WooCommerce holds nothing for the line
    assert held([{"key": "_reduced_stock", "value": "abc"}]) == [-4]  # unreadable: the status decides
    assert held(None) == [-4] and held(None, "failed") == [0] and held(None, "trash") == []


def test_each_count_is_dated_by_the_answer_that_carried_it(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter
) -> None:
    """A simple product's stock comes with the products listing, a variation's with the variations
    listing read after it: each is dated by the ``Date`` of its own answer, not the read's start."""
    emulator.seed(small_catalog())
    start = emulator.freeze_time().replace(tzinfo=UTC)
    listings = 0

    def later_pages(request: Any) -> None:
        nonlocal listings
        if request.method == "GET" and request.path.endswith("/wc/v3/products"):
            listings += 1
            if listings == 2:  # the trash listing, after the first page was sent
                emulator.advance(7)

    emulator.after_request = later_pages
    got = flat(adapter.read_catalog(None).items)
    emulator.after_request = None
    assert got["MUG-1"].counted_at == start  # the products page was served before the clock moved
    assert got["TEE-S"].counted_at == start + timedelta(seconds=7)


# -- offset pages asked for ahead (concurrency > 1) -----------------------------------------------


def variation_write(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter, n: int
) -> tuple[str, dict[str, int]]:
    """A settled shop of ``n / 10`` variable products of ten variations, then every variation's
    stock changed, 500 a second, and five quiet seconds. Returns the cursor from before the write
    and the stock each SKU now has."""
    emulator.freeze_time()
    catalog = [
        SeedProduct(
            f"Shirt {p}",
            tuple(
                SeedVariant(f"VW-{p:03d}-{v}", Decimal("5.00"), stock=1, options={"Size": str(v)})
                for v in range(10)
            ),
        )
        for p in range(n // 10)
    ]
    emulator.seed(catalog)
    cursor = adapter.read_catalog(None).cursor
    emulator.advance(10)
    cursor = adapter.read_catalog(cursor).cursor
    emulator.advance(10)
    stock: dict[str, int] = {}
    for k, sku in enumerate(str(v.sku) for p in catalog for v in p.variants):
        if k and k % 500 == 0:
            emulator.advance(1)
        stock[sku] = 1000 + k
        emulator.manual_stock_edit(sku, stock[sku])
    emulator.advance(5)
    assert cursor is not None
    return cursor, stock


def test_a_mass_change_of_variations_is_read_a_few_pages_at_a_time(emulator: WooCommerceEmulator) -> None:
    """1,000 variations changed, read with ``concurrency = 4``: the variations listing keeps three
    offset pages in flight (the emulator sees them at once), so the read takes about a third of
    the round trips of one page after the other; every variation comes back once, as it is now."""
    adapter = make_adapter(emulator, concurrency=4)
    cursor, stock = variation_write(emulator, adapter, 1000)
    emulator.server.reset_stats()
    emulator.server.faults.add(kind="latency", seconds=0.1, path=r"/wc/v3/variations$", times=None)
    page = adapter.read_catalog(cursor)
    got = [v for p in page.items for v in p.variants]
    assert len(got) == 1000 and {str(v.sku): v.stock for v in got} == stock
    assert emulator.server.peak_in_flight == 3
    pages = listing_calls(emulator, "variations")
    assert pages <= math.ceil(1000 / 95) + 2, pages  # the pages (overlapping by 5) and a restart
    # products since, the trash, the parents (include=): one call each
    others = emulator.server.calls() - pages
    assert others == 3
    # the variations listing: its first page alone, then three at a time (and a restart's page;
    # and one for a call sent just before another's answer came, which the shop may see after it)
    assert emulator.server.round_trips <= others + 1 + math.ceil((pages - 1) / 3) + 2, (
        emulator.server.round_trips
    )
    assert page.calls == emulator.server.calls()
    assert adapter.read_catalog(page.cursor).items == []


def test_changes_during_a_read_ahead_answered_out_of_order_are_never_skipped(
    emulator: WooCommerceEmulator,
) -> None:
    """The moving list of ``test_changes_during_an_incremental_read_are_never_skipped`` read with
    three offset pages in flight, each sent with a latency that makes the shop answer pages sent
    together out of their order: still every product changed before or during the read comes
    back, as it is now, and nothing is read after the read has ended."""
    adapter = make_adapter(emulator, concurrency=4)
    cursor, written, others = mass_write(emulator, adapter, 1000, per_second=80, others=40)
    expected, served, during_the_read = moving_list(emulator, written, others, last_read_at=(8, 11))
    # Each request takes the next rule: 0.3 s, none, 0.18 s, none, ... (long enough that the pages
    # sent together are in flight together on a loaded machine: 0.1 s was not, 1 run in 12).
    for n in range(200):
        seconds = (0.3, 0.0, 0.18, 0.0)[n % 4]
        emulator.server.faults.add(kind="latency", seconds=seconds, path=r"/wc/v3/products$", times=1)
    emulator.server.reset_stats()
    emulator.after_request = during_the_read
    page = adapter.read_catalog(cursor)
    emulator.after_request = None
    got = flat(page.items)
    assert sorted(got) == sorted(expected)
    assert {sku: v.stock for sku, v in got.items()} == expected
    assert emulator.server.peak_in_flight >= 3
    handled = [(query["modified_after"][-1], offset) for query, offset in served]
    out_of_order = [b for a, b in pairwise(handled) if a[0] == b[0] and b[1] < a[1]]
    assert out_of_order, handled  # pages sent together were answered in another order
    assert page.calls == emulator.server.calls()
    assert adapter.read_catalog(page.cursor).items == []


def test_counts_read_ahead_are_dated_by_the_answer_that_carried_them(emulator: WooCommerceEmulator) -> None:
    """Pages asked for together are answered in any order, the shop's clock moving 7 s between two
    answers: each product's count is dated by the answer of a page that listed it, never by a
    later one (which would claim a count newer than it is)."""
    adapter = make_adapter(emulator, concurrency=4)
    cursor, written, _ = mass_write(emulator, adapter, 1000, per_second=500)
    served: dict[str, set[datetime]] = {}
    handled: list[tuple[str, int]] = []
    for n in range(100):  # each request takes the next rule: 0.1 s, none, 0.06 s, none, ...
        seconds = (0.1, 0.0, 0.06, 0.0)[n % 4]
        emulator.server.faults.add(kind="latency", seconds=seconds, path=r"/wc/v3/products$", times=1)

    def dated(request: Any) -> None:
        if request.method == "GET" and request.path.endswith("/wc/v3/products"):
            emulator.advance(7)  # this answer's Date
            window, start = listed(emulator, request)
            handled.append((request.query["modified_after"][-1], start))
            for sku in window[start : start + 100]:
                served.setdefault(sku, set()).add(emulator.now().replace(tzinfo=UTC))

    emulator.after_request = dated
    page = adapter.read_catalog(cursor)
    emulator.after_request = None
    got = flat(page.items)
    assert sorted(got) == sorted(written)
    assert all(v.counted_at in served[sku] for sku, v in got.items() if sku is not None)
    # pages of one window answered out of their order
    assert any(a[0] == b[0] and b[1] < a[1] for a, b in pairwise(handled)), handled


# -- listings side by side, include= reads together (concurrency > 1) ------------------------------


def test_a_quiet_shop_is_polled_with_its_three_listings_at_once(emulator: WooCommerceEmulator) -> None:
    """With ``concurrency = 4`` the products, trash and variations listings are read side by side:
    a quiet shop's poll is three calls in one round trip, and the cursor still follows the shop's
    clock (the listings' threads tell the read when it started)."""
    adapter = make_adapter(emulator, concurrency=4)
    emulator.freeze_time()
    emulator.seed(generate_catalog(600))
    first = adapter.read_catalog(None)
    emulator.advance(10)
    settling = adapter.read_catalog(first.cursor)
    assert settling.items == []
    emulator.advance(10)
    emulator.server.faults.add(kind="latency", seconds=0.3, path=r"/wc/v3/", times=None)
    emulator.server.reset_stats()
    quiet = adapter.read_catalog(settling.cursor)
    assert quiet.items == []
    assert (emulator.server.calls(), emulator.server.peak_in_flight, emulator.server.round_trips) == (3, 3, 1)
    emulator.advance(10)
    emulator.server.reset_stats()
    assert adapter.read_catalog(quiet.cursor).items == []
    assert emulator.server.calls() == 3  # not the burst again: the cursor caught up
    sku = generate_catalog(600)[0].variants[0].sku
    assert sku is not None
    emulator.manual_stock_edit(sku, 3)
    emulator.advance(10)
    changed = adapter.read_catalog(quiet.cursor)
    assert [v.sku for p in changed.items for v in p.variants] == [sku]


def _one_variation_changed_in_each(
    emulator: WooCommerceEmulator, adapter: WooCommerceAdapter, name: str, *, products: int, variations: int
) -> str | None:
    """``products`` variable products of ``variations`` each, read to a settled cursor; then the
    second variation of each is counted anew (stock ``100 + n``): the cursor to read them from."""
    emulator.freeze_time()
    catalog = [
        SeedProduct(
            f"{name} {p}",
            tuple(
                SeedVariant(f"{name.upper()}-{p:03d}-{v}", Decimal("5.00"), stock=1, options={"Size": str(v)})
                for v in range(variations)
            ),
        )
        for p in range(products)
    ]
    emulator.seed(catalog)
    cursor = adapter.read_catalog(None).cursor
    emulator.advance(10)
    cursor = adapter.read_catalog(cursor).cursor
    emulator.advance(10)
    for p in range(products):
        emulator.manual_stock_edit(f"{name.upper()}-{p:03d}-1", 100 + p)
    emulator.advance(5)
    return cursor


def test_parents_and_siblings_of_changed_variations_are_asked_for_together(
    emulator: WooCommerceEmulator,
) -> None:
    """One variation changed in each of 400 products of three: the 400 parents (4 ``include=``
    calls) are asked for at once, then their 800 unchanged variations (8 calls) four at a time,
    never more than ``concurrency`` calls in flight; every product comes back whole, with the new
    count, each count dated by the answer that carried it."""
    adapter = make_adapter(emulator, concurrency=4)
    cursor = _one_variation_changed_in_each(emulator, adapter, "Cap", products=400, variations=3)
    emulator.server.faults.add(kind="latency", seconds=0.1, path=r"/wc/v3/", times=None)
    emulator.server.reset_stats()
    served: dict[str, datetime] = {}

    def dated(request: Any) -> None:
        if request.method == "GET" and request.query.get("include"):
            emulator.advance(3)  # each include= answer at its own time
            for pid in request.query["include"][-1].split(","):
                served[pid] = emulator.now().replace(tzinfo=UTC)

    emulator.after_request = dated
    page = adapter.read_catalog(cursor)
    emulator.after_request = None
    assert len(page.items) == 400 and all(len(p.variants) == 3 for p in page.items)
    stock = {str(v.sku): v.stock for p in page.items for v in p.variants}
    assert stock == {f"CAP-{p:03d}-{v}": 100 + p if v == 1 else 1 for p in range(400) for v in range(3)}
    for product in page.items:
        for variant in product.variants:
            if not str(variant.sku).endswith("-1"):  # read with include=
                assert variant.counted_at == served[variant.channel_id]
    assert emulator.server.stats["GET GET products"] == 2 + 4  # since, trashed since; the parents
    assert emulator.server.peak_in_flight == 4
    # the three listings side by side (the variations' 5 pages: 1 then 3 at a time, ~3 round trips),
    # the parents at once (1), their variations four at a time (2); slack as above (one after the
    # other, the 19 calls of the old read were 19 round trips)
    assert emulator.server.round_trips <= 3 + 1 + 2 + 3, emulator.server.round_trips


def test_parents_of_changed_variations_are_asked_for_while_the_variations_are_still_listed(
    emulator: WooCommerceEmulator,
) -> None:
    """One variation changed in each of 600 products: once the products and trash listings have
    ended, a full call of missing parents (100) goes out beside the variations listing, not after
    it; no more calls than before, and every product comes back whole with the new count."""
    adapter = make_adapter(emulator, concurrency=4)
    cursor = _one_variation_changed_in_each(emulator, adapter, "Mug", products=600, variations=2)
    emulator.server.faults.add(kind="latency", seconds=0.05, path=r"/wc/v3/", times=None)
    emulator.server.reset_stats()
    handled: list[str] = []

    def kind(request: Any) -> None:
        if (
            request.method == "GET"
            and request.path.endswith("/wc/v3/products")
            and request.query.get("include")
        ):
            handled.append("parents")
        elif request.method == "GET" and request.path.endswith("/wc/v3/variations"):
            handled.append("variations" if not request.query.get("include") else "siblings")

    emulator.after_request = kind
    page = adapter.read_catalog(cursor)
    emulator.after_request = None
    assert len(page.items) == 600 and all(len(p.variants) == 2 for p in page.items)
    stock = {str(v.sku): v.stock for p in page.items for v in p.variants}
    assert stock == {f"MUG-{p:03d}-{v}": 100 + p if v == 1 else 1 for p in range(600) for v in range(2)}
    last_listing = max(n for n, what in enumerate(handled) if what == "variations")
    assert "parents" in handled[:last_listing], handled  # one went out while the listing went on
    assert handled.count("parents") == 6  # 100 a call, as before
    assert emulator.server.peak_in_flight <= 4
    assert page.calls == emulator.server.calls()
    assert adapter.read_catalog(page.cursor).items == []


def test_whole_products_are_passed_on_while_the_variations_are_still_listed(
    emulator: WooCommerceEmulator,
) -> None:
    """Both variations of each of 600 products counted anew (12 pages of variations): a product
    whose parent and variations are all in is passed on before the variations' last page is even
    asked for, not once every listing has ended; no more calls than before, every product once
    whole with its new counts (a later page may pass one on again), and the cursor settles."""
    adapter = make_adapter(emulator, concurrency=4)
    cursor = _one_variation_changed_in_each(emulator, adapter, "Jug", products=600, variations=2)
    for p in range(600):  # product by product, as a mass change goes
        emulator.manual_stock_edit(f"JUG-{p:03d}-0", 200 + p)
        emulator.manual_stock_edit(f"JUG-{p:03d}-1", 300 + p)
    emulator.advance(5)
    # The listing slow, the parents' include= calls not: a product is whole once its parent is in.
    emulator.server.faults.add(kind="latency", seconds=0.2, path=r"/wc/v3/variations$", times=None)
    emulator.server.reset_stats()
    listing_calls: list[str] = []

    def count(request: Any) -> None:
        if request.method == "GET" and request.path.endswith("/wc/v3/variations"):
            if not request.query.get("include"):
                listing_calls.append(request.path)

    emulator.after_request = count
    pages, asked_before_first = [], None
    for page in adapter.iter_catalog(cursor):
        if page.items and asked_before_first is None:
            asked_before_first = len(listing_calls)
        pages.append(page)
    emulator.after_request = None
    assert asked_before_first is not None, "nothing passed on"
    assert asked_before_first < 12 <= len(listing_calls), asked_before_first
    read = {p.channel_id: p for page in pages for p in page.items}  # a later copy replaces one
    assert len(read) == 600 and all(len(p.variants) == 2 for p in read.values())
    stock = {str(v.sku): v.stock for p in read.values() for v in p.variants}
    assert stock == {f"JUG-{p:03d}-{v}": (200, 300)[v] + p for p in range(600) for v in range(2)}
    assert emulator.server.stats["GET GET products"] == 2 + 6  # since, trashed since; the parents
    assert sum(page.calls for page in pages) == emulator.server.calls()
    assert pages[-1].cursor is not None and adapter.read_catalog(pages[-1].cursor).items == []


@pytest.mark.parametrize("concurrency", [1, 4])
def test_an_incremental_read_of_a_store_without_the_variations_endpoint_reads_everything(
    emulator: WooCommerceEmulator, concurrency: int
) -> None:
    """WooCommerce before 10.3 answers 404 on ``/variations``: a variation's change cannot be seen,
    so an incremental read falls back to a full read (with the listings side by side too)."""
    adapter = make_adapter(emulator, concurrency=concurrency)
    emulator.freeze_time()
    catalog = generate_catalog(60)
    emulator.seed(catalog)
    cursor = adapter.read_catalog(None).cursor
    emulator.advance(10)
    emulator.server.faults.add(kind="status", status=404, path=r"/wc/v3/variations$", times=None)
    page = adapter.read_catalog(cursor)
    assert set(flat(page.items)) == {v.sku for p in catalog for v in p.variants}
    assert page.cursor is not None
