"""SquareAdapter against the emulator over real loopback HTTP.

These are the behaviours the engine depends on: complete and minimal catalogue reads, stock writes
that are never applied twice, optimistic-concurrency recovery, webhook verification, and stock
events whose deltas match what happened to Square's count (sales, manual counts, our own echoes).
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import pytest
from square_helpers import (
    call,
    make_adapter,
    square_emulator,  # noqa: F401 - the emulator fixture
    wait_for,
)
from webhook_receiver import (
    Receiver,
    webhook_receiver,  # noqa: F401 - the receiver fixture
)

from adapters.base import (
    AdjustStock,
    ArchiveProduct,
    AuthError,
    CreateProduct,
    TransientError,
    UpdateProduct,
    UpdateVariant,
    WebhookRejected,
)
from adapters.square import SquareAdapter
from bridge.models import ChannelProduct, ChannelVariant, Money, ProductStatus, StockEventKind
from sandbox.seed import SeedProduct, SeedVariant, generate_catalog
from sandbox.square import SquareEmulator, fmt_ms


def small_catalog() -> list[SeedProduct]:
    return [
        SeedProduct("Mug", (SeedVariant("MUG-1", Decimal("9.50"), stock=10, gtin="0400000000017"),)),
        SeedProduct(
            "Tee",
            (
                SeedVariant("TEE-S", Decimal("20"), stock=5, options={"Size": "S"}),
                SeedVariant("TEE-M", Decimal("20"), stock=0, options={"Size": "M"}),
            ),
        ),
    ]


def test_full_and_incremental_catalogue_of_2500_variations(emulator: SquareEmulator) -> None:
    catalog = generate_catalog(2500)
    emulator.seed(catalog, locations=3)
    adapter = make_adapter(emulator)

    emulator.server.reset_stats()
    full = adapter.read_catalog()
    pages = -(-len(catalog) // 1000)
    assert full.calls == pages == emulator.server.calls("POST SearchCatalogObjects")
    by_name = {p.name: p for p in full.items}
    assert len(full.items) == len(catalog) and sum(len(p.variants) for p in full.items) == 2500
    for seed in catalog:
        product = by_name[seed.name]
        assert product.status == ProductStatus.ACTIVE
        assert product.kind == ("simple" if len(seed.variants) == 1 else "variable")
        assert [(v.sku, v.gtin, v.price, v.manage_stock) for v in product.variants] == [
            (s.sku, s.gtin, Money(amount=s.price, currency="USD"), True) for s in seed.variants
        ]

    # The same read a page at a time (how a full sync stages it), for the same calls and cursor.
    emulator.server.reset_stats()
    streamed = list(adapter.iter_catalog())
    assert [len(page.items) for page in streamed] == [1000] * (pages - 1) + [len(catalog) % 1000 or 1000, 0]
    assert [p for page in streamed for p in page.items] == full.items
    assert sum(page.calls for page in streamed) == pages == emulator.server.calls("POST SearchCatalogObjects")
    assert streamed[-1].cursor == full.cursor and all(page.cursor is None for page in streamed[:-1])

    # Stock for every variation at 3 locations: 7,500 counts at 1,000 a page.
    emulator.server.reset_stats()
    levels = adapter.read_stock_levels()
    count_calls = emulator.server.calls("POST BatchRetrieveInventoryCounts")
    assert len(levels) == 7500 and count_calls == 8
    expected = {v.sku: v.stock for p in catalog for v in p.variants}
    sku_of = {v.channel_id: v.sku for p in full.items for v in p.variants}
    assert all(level.quantity == expected[sku_of[level.variant_id]] for level in levels)
    print(
        f"\nfull read of 2,500 variations x 3 locations: {full.calls} catalogue + {count_calls} count calls"
    )

    # Incremental: exactly what changed since the cursor, in one call.
    renamed, repriced, deleted = full.items[0], full.items[1], full.items[2]
    results = adapter.apply(
        [
            UpdateProduct(key="rename", product_id=renamed.channel_id, fields={"name": "Renamed"}),
            UpdateVariant(
                key="price",
                product_id=repriced.channel_id,
                variant_id=repriced.variants[0].channel_id,
                fields={"price": Money(amount=Decimal("1.25"), currency="USD")},
            ),
        ]
    )
    assert all(r.ok for r in results), results
    call(emulator, "POST", "/v2/catalog/batch-delete", {"object_ids": [deleted.channel_id]})
    emulator.server.reset_stats()
    delta = adapter.read_catalog(full.cursor)
    assert delta.calls == 1 == emulator.server.calls()
    changed = {p.channel_id: p for p in delta.items}
    assert set(changed) == {renamed.channel_id, repriced.channel_id, deleted.channel_id}
    assert changed[renamed.channel_id].name == "Renamed"
    assert changed[repriced.channel_id].variants[0].price == Money(amount=Decimal("1.25"), currency="USD")
    assert changed[deleted.channel_id].status == ProductStatus.ARCHIVED
    assert all(v.status == ProductStatus.ARCHIVED for v in changed[deleted.channel_id].variants)
    assert changed[deleted.channel_id].variants  # the tombstoned variations come with it
    # Nothing more since then.
    again = adapter.read_catalog(delta.cursor)
    assert again.items == [] and again.calls == 1


def test_variation_only_change_pulls_in_its_item(emulator: SquareEmulator) -> None:
    skus = emulator.seed(small_catalog(), locations=1)
    adapter = make_adapter(emulator)
    cursor = adapter.read_catalog().cursor
    variation = emulator.variation_by_sku("TEE-M")
    assert variation is not None
    variation["item_variation_data"]["sku"] = "TEE-MED"
    call(
        emulator,
        "POST",
        "/v2/catalog/batch-upsert",
        {"idempotency_key": "v", "batches": [{"objects": [variation]}]},
    )
    page = adapter.read_catalog(cursor)
    assert page.calls == 2  # search + batch retrieve of the parent
    [product] = page.items
    assert product.name == "Tee" and {v.sku for v in product.variants} == {"TEE-S", "TEE-MED"}
    assert skus["TEE-M"] in {v.channel_id for v in product.variants}


def test_location_price_overrides_are_kept_aside(emulator: SquareEmulator) -> None:
    skus = emulator.seed(small_catalog(), locations=2)
    loc = emulator.location_ids()[1]
    variation = emulator.variation_by_sku("MUG-1")
    assert variation is not None
    variation["item_variation_data"]["location_overrides"] = [
        {"location_id": loc, "price_money": {"amount": 1100, "currency": "USD"}, "track_inventory": True}
    ]
    call(
        emulator,
        "POST",
        "/v2/catalog/batch-upsert",
        {"idempotency_key": "o", "batches": [{"objects": [variation]}]},
    )
    adapter = make_adapter(emulator)
    adapter.read_catalog()
    assert adapter.location_prices == {skus["MUG-1"]: {loc: Money(amount=Decimal("11.00"), currency="USD")}}


def test_stock_write_after_partial_apply_then_429_is_not_doubled(emulator: SquareEmulator) -> None:
    skus = emulator.seed(small_catalog(), locations=2)
    loc = emulator.location_ids()[0]
    adapter = make_adapter(emulator)
    emulator.server.faults.add(
        kind="apply_then_fail", status=429, path="changes/batch-create", retry_after=0.05
    )
    ops = [
        AdjustStock(key="outbox:1", variant_id=skus["MUG-1"], location_id=loc, delta=-3),
        AdjustStock(key="outbox:2", variant_id=skus["TEE-S"], location_id=loc, delta=4),
    ]
    started = time.monotonic()
    results = adapter.apply(ops)
    assert time.monotonic() - started >= 0.05  # Retry-After honoured
    assert [r.ok for r in results] == [True, True]
    assert [r.written for r in results] == [{"quantity": 7}, {"quantity": 9}]
    assert emulator.server.calls("POST BatchChangeInventory") == 2
    assert emulator.count(skus["MUG-1"], loc) == 7 and emulator.count(skus["TEE-S"], loc) == 9
    # The same operations again (e.g. re-sent by the outbox): same key, nothing applied twice.
    again = adapter.apply(ops)
    assert all(r.ok for r in again)
    assert emulator.count(skus["MUG-1"], loc) == 7 and emulator.count(skus["TEE-S"], loc) == 9


def test_stock_write_in_doubt_is_checked_before_resending(emulator: SquareEmulator) -> None:
    skus = emulator.seed(small_catalog(), locations=1)
    loc = emulator.location_ids()[0]
    adapter = make_adapter(emulator, max_attempts=2)
    emulator.server.faults.add(kind="apply_then_fail", status=429, path="changes/batch-create", times=2)
    first = AdjustStock(key="outbox:7", variant_id=skus["MUG-1"], location_id=loc, delta=-1)
    [doubt] = adapter.apply([first])
    assert not doubt.ok and doubt.retryable and doubt.code == "RATE_LIMITED"
    assert emulator.count(skus["MUG-1"], loc) == 9  # it did happen (once)
    # The outbox resends it with another op: a different batch key, but no double application.
    other = AdjustStock(key="outbox:8", variant_id=skus["TEE-S"], location_id=loc, delta=2)
    results = adapter.apply([first, other])
    assert [r.ok for r in results] == [True, True]
    assert emulator.count(skus["MUG-1"], loc) == 9 and emulator.count(skus["TEE-S"], loc) == 7


def test_variation_deleted_alone_comes_back_archived(emulator: SquareEmulator) -> None:
    skus = emulator.seed(small_catalog(), locations=1)
    adapter = make_adapter(emulator)
    cursor = adapter.read_catalog().cursor
    call(emulator, "POST", "/v2/catalog/batch-delete", {"object_ids": [skus["TEE-M"]]})
    [product] = adapter.read_catalog(cursor).items
    assert product.status == ProductStatus.ACTIVE and product.kind == "simple"
    assert {(v.sku, v.status) for v in product.variants} == {
        ("TEE-S", ProductStatus.ACTIVE),
        ("TEE-M", ProductStatus.ARCHIVED),
    }


def test_deleted_item_comes_back_archived_from_an_incremental_read(emulator: SquareEmulator) -> None:
    """Deleting an item deletes its variations too; the incremental search asks for deleted objects,
    so the tombstones come back as an ARCHIVED product whose variants are ARCHIVED, under the same
    ids, in the one search call. A full read (live objects only) no longer lists it."""
    skus = emulator.seed(small_catalog(), locations=1)
    adapter = make_adapter(emulator)
    first = adapter.read_catalog()
    tee = next(p for p in first.items if p.name == "Tee")
    deleted = call(emulator, "DELETE", f"/v2/catalog/object/{tee.channel_id}")
    assert set(deleted["deleted_object_ids"]) == {tee.channel_id, skus["TEE-S"], skus["TEE-M"]}
    emulator.server.reset_stats()
    page = adapter.read_catalog(first.cursor)
    assert page.calls == 1 == emulator.server.calls()
    [product] = page.items
    assert product.channel_id == tee.channel_id and product.status is ProductStatus.ARCHIVED
    assert [v.channel_id for v in product.variants] == [v.channel_id for v in tee.variants]
    assert {(v.sku, v.status) for v in product.variants} == {
        ("TEE-S", ProductStatus.ARCHIVED),
        ("TEE-M", ProductStatus.ARCHIVED),
    }
    assert adapter.read_catalog(page.cursor).items == []
    assert tee.channel_id not in {p.channel_id for p in adapter.read_catalog().items}


def test_stock_batch_isolates_a_bad_item(emulator: SquareEmulator) -> None:
    skus = emulator.seed(small_catalog(), locations=1)
    loc = emulator.location_ids()[0]
    adapter = make_adapter(emulator)
    results = adapter.apply(
        [
            AdjustStock(key="a", variant_id=skus["MUG-1"], location_id=loc, delta=1),
            AdjustStock(key="b", variant_id="NOSUCHVARIATION", location_id=loc, delta=1),
            AdjustStock(key="c", variant_id=skus["TEE-S"], location_id=loc, delta=0),
        ]
    )
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].code == "INVALID_VALUE" and not results[1].retryable
    assert emulator.count(skus["MUG-1"], loc) == 11


def test_version_mismatch_rereads_and_retries(
    emulator: SquareEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.seed(small_catalog(), locations=1)
    adapter = make_adapter(emulator)
    product = next(p for p in adapter.read_catalog().items if p.name == "Mug")
    original = adapter._retrieve
    interfere = {"times": 1}

    def racing_retrieve(ids: list[str], include_deleted: bool = True) -> tuple[list[dict[str, object]], int]:
        objects, calls = original(ids, include_deleted)
        if interfere["times"] > 0:  # someone edits the item between our read and our write
            interfere["times"] -= 1
            current = call(emulator, "POST", "/v2/catalog/batch-retrieve", {"object_ids": ids})["objects"][0]
            current["item_data"]["name"] = "Mug (Dashboard)"
            call(
                emulator,
                "POST",
                "/v2/catalog/batch-upsert",
                {"idempotency_key": uuid.uuid4().hex, "batches": [{"objects": [current]}]},
            )
        return objects, calls

    monkeypatch.setattr(adapter, "_retrieve", racing_retrieve)
    emulator.server.reset_stats()
    [result] = adapter.apply(
        [UpdateProduct(key="desc", product_id=product.channel_id, fields={"description": "Stoneware"})]
    )
    assert result.ok and result.version is not None
    upserts = [r for r in emulator.recorded or [] if r.operation_id == "BatchUpsertCatalogObjects"]
    assert [r.status for r in upserts][-3:] == [200, 400, 200]  # theirs, our stale one, our retry
    assert upserts[-2].body["errors"][0]["code"] == "VERSION_MISMATCH"
    [stored] = [p for p in adapter.read_catalog().items if p.channel_id == product.channel_id]
    assert stored.name == "Mug (Dashboard)" and stored.description == "Stoneware"  # nothing lost

    # A writer that always wins: surfaced per item after bounded retries.
    interfere["times"] = 99
    [lost] = adapter.apply([UpdateProduct(key="d2", product_id=product.channel_id, fields={"name": "X"})])
    assert not lost.ok and lost.code == "VERSION_MISMATCH"


def test_create_update_and_archive_products(emulator: SquareEmulator) -> None:
    emulator.add_locations(["Shop"])
    adapter = make_adapter(emulator)
    product = ChannelProduct(
        channel="square",
        channel_id="ignored",
        kind="variable",
        name="Scarf",
        variants=(
            ChannelVariant(
                channel_id="x",
                sku="SCARF-R",
                name="Red",
                price=Money(amount=Decimal("15"), currency="USD"),
                manage_stock=True,
            ),
            ChannelVariant(
                channel_id="y", sku="SCARF-B", gtin="0400000000024", name="Blue", manage_stock=True
            ),
        ),
    )
    [created] = adapter.apply([CreateProduct(key="create", product=product)])
    assert created.ok and set(created.ids) == {"SCARF-R", "SCARF-B"} and created.channel_id
    update, archive = adapter.apply(
        [
            UpdateVariant(
                key="u",
                product_id=created.channel_id,
                variant_id=created.ids["SCARF-B"],
                fields={"sku": "SCARF-BL", "price": Money(amount=Decimal("16.5"), currency="USD")},
            ),
            ArchiveProduct(key="arch", product_id=created.channel_id),
        ]
    )
    assert update.ok and archive.ok and update.channel_id == created.ids["SCARF-B"]
    [read] = adapter.read_catalog().items
    assert read.status == ProductStatus.ARCHIVED  # archived, never deleted
    assert {(v.sku, v.price.amount if v.price else None) for v in read.variants} == {
        ("SCARF-R", Decimal("15")),
        ("SCARF-BL", Decimal("16.5")),
    }
    missing = adapter.apply([ArchiveProduct(key="m", product_id="NOPE")])
    assert not missing[0].ok and missing[0].code == "NOT_FOUND"


def test_webhook_verification(emulator: SquareEmulator, receiver: Receiver) -> None:
    emulator.seed(small_catalog(), locations=1)
    emulator.subscribe(receiver.url)
    adapter = make_adapter(emulator, notification_url=receiver.url)
    items = call(emulator, "POST", "/v2/catalog/search", {"object_types": ["ITEM"]})["objects"]
    mug = next(o for o in items if o["item_data"]["name"] == "Mug")
    call(emulator, "POST", "/v2/catalog/batch-delete", {"object_ids": [mug["id"]]})
    emulator.simulate_sale(emulator.variation_by_sku("TEE-S")["id"], 1)  # type: ignore[index]
    wait_for(lambda: len(receiver.deliveries) >= 3)
    headers, body = receiver.deliveries[0]
    event = adapter.verify_webhook(headers, body, receiver.url)
    assert event.topic == "catalog.version.updated" and event.resource == "product"
    assert event.event_id == receiver.events()[0]["event_id"] and event.occurred_at is not None
    kinds = {adapter.verify_webhook(h, b, receiver.url).resource for h, b in receiver.deliveries}
    assert kinds == {"product", "inventory", "order"}
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(headers, body.replace(b"catalog", b"catalox"), receiver.url)  # tampered
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(headers, body, receiver.url + "/")  # wrong URL
    with pytest.raises(WebhookRejected):
        make_adapter(emulator, signature_key="wrong-key").verify_webhook(headers, body, receiver.url)
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook({}, body, receiver.url)  # no signature


def test_pos_sale_is_a_sale_event(emulator: SquareEmulator) -> None:
    skus = emulator.seed(small_catalog(), locations=2)
    loc = emulator.location_ids()[1]
    adapter = make_adapter(emulator)
    initial = adapter.read_stock_events()
    assert {e.delta for e in initial.items if e.variant_id == skus["MUG-1"]} == {10}  # seeded counts
    order = emulator.simulate_sale(skus["MUG-1"], 2, location_id=loc)
    page = adapter.read_stock_events(initial.cursor)
    [sale] = page.items
    assert sale.kind == StockEventKind.SALE and sale.delta == -2
    assert (sale.variant_id, sale.location_id) == (skus["MUG-1"], loc)
    assert sale.source_id.startswith("square:change:") and sale.channel == "square"
    assert page.calls == 1  # a plain sale needs no history
    [level] = [lv for lv in adapter.read_stock_levels([skus["MUG-1"]]) if lv.location_id == loc]
    assert level.quantity == 8
    assert order["line_items"][0]["catalog_object_id"] == skus["MUG-1"]
    assert adapter.read_stock_events(page.cursor).items == []


def test_manual_count_is_an_adjustment_with_the_difference(emulator: SquareEmulator) -> None:
    skus = emulator.seed(small_catalog(), locations=1)
    loc = emulator.location_ids()[0]
    adapter = make_adapter(emulator)
    cursor = adapter.read_stock_events().cursor
    # Our own write (+5) moves the count but is not reported back.
    assert adapter.apply([AdjustStock(key="sync:1", variant_id=skus["MUG-1"], location_id=loc, delta=5)])[
        0
    ].ok
    page = adapter.read_stock_events(cursor)
    assert page.items == []
    emulator.manual_count(skus["MUG-1"], 12, location_id=loc)
    page = adapter.read_stock_events(page.cursor)
    [count] = page.items
    assert count.kind == StockEventKind.ADJUSTMENT and count.delta == 12 - 15
    assert count.reason == f"square count at {loc}: 12 (-3)" and count.source_id.startswith("square:change:")
    # A sale made offline *before* that count, uploaded later, changes nothing: no event.
    late = fmt_ms(int((time.time() - 30) * 1000))
    call(
        emulator,
        "POST",
        "/v2/inventory/changes/batch-create",
        {
            "idempotency_key": uuid.uuid4().hex,
            "changes": [
                {
                    "type": "ADJUSTMENT",
                    "adjustment": {
                        "catalog_object_id": skus["MUG-1"],
                        "location_id": loc,
                        "from_state": "IN_STOCK",
                        "to_state": "SOLD",
                        "quantity": "2",
                        "occurred_at": late,
                    },
                }
            ],
        },
    )
    assert emulator.count(skus["MUG-1"], loc) == 12
    assert adapter.read_stock_events(page.cursor).items == []


def test_customers_full_and_incremental(emulator: SquareEmulator) -> None:
    emulator.add_locations(["Shop"])
    adapter = make_adapter(emulator)
    a = call(
        emulator,
        "POST",
        "/v2/customers",
        {"given_name": "Ann", "email_address": "Ann@Example.com", "phone_number": "(415) 555-0123"},
    )["customer"]
    call(emulator, "POST", "/v2/customers", {"given_name": "Ben", "email_address": "ben@example.com"})
    full = adapter.read_customers()
    assert [(c.given_name, c.email) for c in full.items] == [
        ("Ann", "ann@example.com"),
        ("Ben", "ben@example.com"),
    ]
    assert full.items[0].phone == "+14155550123" and full.items[0].version == "0"
    time.sleep(0.01)
    call(emulator, "PUT", f"/v2/customers/{a['id']}", {"family_name": "Lee", "version": 0})
    delta = adapter.read_customers(full.cursor)
    changed = {c.channel_id: (c.family_name, c.version) for c in delta.items}
    assert changed[a["id"]] == ("Lee", "1")
    # The start of the window is inclusive: at most the record at the old cursor comes back again.
    assert len(changed) <= 2 and delta.cursor is not None and delta.cursor > (full.cursor or "")


def test_error_mapping_and_bounded_retries(emulator: SquareEmulator) -> None:
    emulator.add_locations(["Shop", "Depot"])
    with pytest.raises(AuthError):
        SquareAdapter("bad-token", base_url=emulator.base_url).list_locations()
    adapter = make_adapter(emulator, max_attempts=3)
    assert adapter.check().startswith("2 location(s)")  # doctor prefixes the channel
    emulator.server.faults.add(kind="status", status=500, path="/v2/locations", times=None)
    emulator.server.reset_stats()
    before = adapter.calls
    with pytest.raises(TransientError) as info:
        adapter.list_locations()
    assert info.value.code == "INTERNAL_SERVER_ERROR" and info.value.status == 500
    assert adapter.calls - before == 3  # our attempts only: SDK retries are off
    emulator.server.faults.clear()
    emulator.server.faults.add(kind="reset", path="/v2/locations", times=1)
    assert len(adapter.list_locations()) == 2  # a connection reset is retried


def test_every_read_counts_the_attempts_a_5xx_made_it_retry(emulator: SquareEmulator) -> None:
    """``Page.calls`` is what a read cost (benchmarks, status): a refused attempt counts too."""
    skus = emulator.seed(small_catalog(), locations=1)
    call(emulator, "POST", "/v2/customers", {"given_name": "Ann"})
    adapter = make_adapter(emulator)
    start = adapter.read_catalog().cursor
    variation = emulator.variation_by_sku("TEE-M")
    assert variation is not None
    variation["item_variation_data"]["sku"] = "TEE-MED"  # the delta read then retrieves its item
    call(
        emulator,
        "POST",
        "/v2/catalog/batch-upsert",
        {"idempotency_key": "v", "batches": [{"objects": [variation]}]},
    )
    emulator.simulate_sale(skus["MUG-1"], 1)
    reads = {
        "catalog/search": lambda: adapter.read_catalog(start),
        "catalog/batch-retrieve": lambda: adapter.read_catalog(start),
        "inventory/changes/batch-retrieve": lambda: adapter.read_stock_events(),
        "customers/search": lambda: adapter.read_customers(),
    }
    for path, read in reads.items():
        calm = read()
        emulator.server.faults.add(kind="status", status=503, path=path, times=1)
        refused_once = read()
        assert refused_once.items == calm.items, path
        assert (path, refused_once.calls) == (path, calm.calls + 1)
