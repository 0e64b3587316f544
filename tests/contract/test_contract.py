"""The channel contract: what the engine relies on from every channel's adapter, checked against
that channel's emulator over loopback HTTP. Each test runs once per registered harness
(tests/contract/registry.py), so a new channel gets all of them by providing a harness.

Only :class:`adapters.base.ChannelAdapter` is called here; what is channel-specific (how a sale
happens, which request to break) is the harness's business.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import pytest

from adapters.base import (
    AdjustStock,
    AuthError,
    ChannelAdapter,
    CreateProduct,
    Page,
    SetStock,
    TransientError,
    UpdateProduct,
    UpdateVariant,
    WebhookRejected,
    WriteOp,
)
from bridge.models import (
    ChannelProduct,
    ChannelVariant,
    Money,
    ProductStatus,
    StockEvent,
    StockEventKind,
)
from bridge.reconcile import catalogue_fields
from sandbox.seed import SeedProduct, SeedVariant
from tests.contract.harness import ChannelHarness

MUG = SeedProduct("Contract Mug", (SeedVariant("CT-MUG", Decimal("9.50"), stock=10),))
TEE = SeedProduct(
    "Contract Tee",
    tuple(
        SeedVariant(f"CT-TEE-{size}", Decimal("20.00"), stock=count, options={"Size": size})
        for size, count in (("S", 4), ("M", 6))
    ),
)
CAP = SeedProduct("Contract Cap", (SeedVariant("CT-CAP", Decimal("15.00"), stock=3),))
SCARF = SeedProduct(
    "Contract Scarf",
    tuple(
        SeedVariant(f"CT-SCARF-{colour}", Decimal("25.00"), stock=2, options={"Colour": colour})
        for colour in ("Red", "Blue")
    ),
)

LAMP = ChannelProduct(
    channel="contract",
    channel_id="new",
    kind="variable",
    name="Contract Lamp",
    variants=tuple(
        ChannelVariant(
            channel_id=f"new-{size}",
            sku=f"CT-LAMP-{size}",
            options={"Colour": size},
            price=Money(amount=Decimal("30.00"), currency="USD"),
            manage_stock=True,
        )
        for size in ("Red", "Blue")
    ),
)
BOWL = ChannelProduct(
    channel="contract",
    channel_id="new",
    name="Contract Bowl",
    variants=(
        ChannelVariant(channel_id="new", sku="CT-BOWL", price=Money(amount=Decimal("8.00"), currency="USD")),
    ),
)
CREATES = [
    CreateProduct(key="contract:create:lamp", product=LAMP),
    CreateProduct(key="contract:create:bowl", product=BOWL),
]
CREATED_SKUS = ["CT-BOWL", "CT-LAMP-Blue", "CT-LAMP-Red"]


# -- helpers ------------------------------------------------------------------------------------


def read_all(adapter: ChannelAdapter, cursor: str | None = None) -> Page[ChannelProduct]:
    """A catalogue read as the sync makes it (page by page), as one page."""
    return Page.concat(adapter.iter_catalog(cursor))


def holding(products: Iterable[ChannelProduct], sku: str) -> tuple[ChannelProduct, ChannelVariant]:
    """The product and variant carrying ``sku`` (exactly one)."""
    found = [(p, v) for p in products for v in p.variants if v.sku == sku]
    assert len(found) == 1, f"{sku} is held by {len(found)} variants"
    return found[0]


def skus(products: Iterable[ChannelProduct]) -> list[str]:
    return sorted(v.sku for p in products for v in p.variants if v.sku)


def comparable(products: Iterable[ChannelProduct]) -> dict[str, dict[str, Any]]:
    """Products by id, without what legitimately differs between two reads of the same state:
    ``counted_at`` is when the answer carrying a count was served, not part of the product."""
    out = {}
    for product in products:
        data = product.model_dump()
        for variant in data["variants"]:
            variant.pop("counted_at")
        data["variants"] = sorted(data["variants"], key=lambda v: v["channel_id"])
        out[product.channel_id] = data
    return out


def stock_write(
    adapter: ChannelAdapter, product_id: str, variant_id: str, location_id: str | None, now: int, wanted: int
) -> WriteOp:
    """The write that makes the count ``wanted``, in the channel's own stock mode."""
    key = f"contract:stock:{location_id}"
    if adapter.capabilities.stock_mode == "absolute":
        return SetStock(key=key, product_id=product_id, variant_id=variant_id, quantity=wanted)
    assert location_id is not None
    return AdjustStock(key=key, variant_id=variant_id, location_id=location_id, delta=wanted - now)


def assert_created_once(harness: ChannelHarness) -> None:
    """The channel holds each created SKU once, in one live product per create."""
    products = read_all(harness.adapter()).items
    live = [p for p in products if p.status == ProductStatus.ACTIVE]
    assert skus(live) == CREATED_SKUS
    assert sorted(p.name for p in live) == ["Contract Bowl", "Contract Lamp"]


def takes_creates(harness: ChannelHarness) -> ChannelAdapter:
    """The harness's adapter; the test is skipped for a channel taking no new products (eBay)."""
    adapter = harness.adapter()
    if not adapter.capabilities.creates_products:
        pytest.skip(f"{harness.name} takes no new products (creates_products is False)")
    return adapter


def sales_of(events: Sequence[StockEvent], variant_id: str) -> list[StockEvent]:
    return [e for e in events if e.variant_id == variant_id and e.kind == StockEventKind.SALE]


# -- a full read equals an incremental read of the same changes ---------------------------------


def test_a_full_read_equals_the_last_one_with_an_incremental_read_on_top(harness: ChannelHarness) -> None:
    harness.seed([MUG, TEE, SCARF])
    adapter = harness.adapter()
    before = read_all(adapter)
    assert before.cursor is not None and not before.issues
    mug, _ = holding(before.items, "CT-MUG")
    tee, tee_s = holding(before.items, "CT-TEE-S")

    harness.seed([CAP])  # after the cursor the owner adds a product and reprices a variant,
    harness.reprice("CT-SCARF-Blue", Decimal("18.00"))
    harness.sell("CT-SCARF-Red", 1)  # a customer buys another
    split = adapter.capabilities.fields  # and we write what the channel keeps (the engine's rule)
    ours: list[WriteOp] = []
    if split.on_product("name"):
        ours.append(
            UpdateProduct(
                key="contract:rename", product_id=mug.channel_id, fields={"name": "Contract Mug XL"}
            )
        )
    if split.holds("price") and not split.on_product("price"):
        ours.append(
            UpdateVariant(
                key="contract:price",
                product_id=tee.channel_id,
                variant_id=tee_s.channel_id,
                fields={"price": Money(amount=Decimal("22.00"), currency="USD")},
            )
        )
    written = adapter.apply(ours)
    assert [r.ok for r in written] == [True] * len(ours), written

    since = read_all(adapter, before.cursor)
    full = read_all(adapter)
    assert not since.issues and not full.issues
    # The incremental read carries every change...
    changed = {p.channel_id: p for p in since.items}
    if split.on_product("name"):
        assert changed[mug.channel_id].name == "Contract Mug XL"
    if split.holds("price"):
        assert holding(changed.values(), "CT-TEE-S")[1].price == Money(
            amount=Decimal("22.00"), currency="USD"
        )
    assert holding(changed.values(), "CT-SCARF-Blue")[1].price == Money(
        amount=Decimal("18.00"), currency="USD"
    )
    assert "CT-CAP" in skus(changed.values())
    # ...and laid over the last full read it is the new full read, nothing more, nothing less.
    merged = comparable(before.items) | comparable(since.items)
    assert merged == comparable(full.items)
    # Read again from its own cursor, nothing has changed.
    assert read_all(adapter, since.cursor).items == []


# -- each catalogue field is written where the channel declares it lives -------------------------

WRITTEN: dict[str, dict[str, Any]] = {
    "CT-MUG": {
        "name": "Contract Mug Renamed",
        "description": "Glazed by the contract.",
        "status": ProductStatus.ARCHIVED,
        "price": Money(amount=Decimal("11.25"), currency="USD"),
        "gtin": "5012345678900",
    },
    "CT-TEE-S": {
        "name": "Contract Tee Renamed",
        "description": "Printed by the contract.",
        "status": ProductStatus.ARCHIVED,
        "price": Money(amount=Decimal("21.00"), currency="USD"),
        "gtin": "4006381333931",
    },
}


def test_each_catalogue_field_is_written_where_the_channel_declares_it_and_read_back(
    harness: ChannelHarness,
) -> None:
    """The engine sends a field with ``UpdateProduct`` or ``UpdateVariant`` as the channel's
    capabilities declare (:class:`bridge.capabilities.FieldSplit`); the adapter must write it
    there, so that reading back shows it (on a simple product and on a variation)."""
    harness.seed([MUG, TEE])
    adapter = harness.adapter()
    split = adapter.capabilities.fields
    before = read_all(adapter)
    ops: list[WriteOp] = []
    for sku, values in WRITTEN.items():
        product, variant = holding(before.items, sku)
        on_product = {f: v for f, v in values.items() if split.on_product(f)}
        on_variant = {f: v for f, v in values.items() if split.holds(f) and not split.on_product(f)}
        ops.append(UpdateProduct(key=f"contract:p:{sku}", product_id=product.channel_id, fields=on_product))
        ops.append(
            UpdateVariant(
                key=f"contract:v:{sku}",
                product_id=product.channel_id,
                variant_id=variant.channel_id,
                fields=on_variant,
            )
        )
    results = adapter.apply(
        [op for op in ops if not isinstance(op, UpdateProduct | UpdateVariant) or op.fields]
    )
    assert all(r.ok for r in results), results

    since = read_all(adapter, before.cursor)
    for sku, values in WRITTEN.items():
        shown = catalogue_fields(*holding(since.items, sku))
        wanted = catalogue_fields(*holding(before.items, sku)) | {
            f: snapshot_value(f, v) for f, v in values.items() if split.holds(f)
        }
        assert shown == wanted, sku


def snapshot_value(field: str, value: Any) -> Any:
    """A written value as :func:`bridge.reconcile.catalogue_fields` shows it."""
    if isinstance(value, Money):
        return f"{format(value.amount.normalize(), 'f')} {value.currency}"
    return value.value if isinstance(value, ProductStatus) else value


# -- a deleted object comes back archived -------------------------------------------------------


def test_a_deleted_product_comes_back_archived(harness: ChannelHarness) -> None:
    harness.seed([MUG, TEE])
    adapter = harness.adapter()
    before = read_all(adapter)
    tee, _ = holding(before.items, "CT-TEE-S")

    harness.delete(tee.channel_id)

    since = read_all(adapter, before.cursor)
    [gone] = [p for p in since.items if p.channel_id == tee.channel_id]
    assert gone.status == ProductStatus.ARCHIVED
    assert {v.sku: v.status for v in gone.variants} == {
        "CT-TEE-S": ProductStatus.ARCHIVED,
        "CT-TEE-M": ProductStatus.ARCHIVED,
    }
    # A full read does not show it for sale either (archived, or not listed at all).
    again = [p for p in read_all(adapter).items if p.channel_id == tee.channel_id]
    assert all(p.status == ProductStatus.ARCHIVED for p in again)
    assert holding(read_all(adapter).items, "CT-MUG")[0].status == ProductStatus.ACTIVE


# -- 429 with Retry-After is honoured; 401 is an auth error -------------------------------------


def test_a_429_with_retry_after_is_waited_out_then_the_read_goes_on(
    harness: ChannelHarness, retry_waits: list[float]
) -> None:
    harness.seed([MUG])
    adapter = harness.adapter()
    calm = read_all(adapter)
    assert retry_waits == []

    harness.faults.add(kind="status", status=429, retry_after=7, path=harness.catalog_read_path, times=1)
    limited = read_all(adapter)

    assert skus(limited.items) == skus(calm.items) == ["CT-MUG"]
    assert len(retry_waits) == 1 and retry_waits[0] >= 7


def test_a_429_on_a_create_is_waited_out_and_the_product_made_once(
    harness: ChannelHarness, retry_waits: list[float]
) -> None:
    adapter = takes_creates(harness)
    harness.faults.add(kind="status", status=429, retry_after=7, method="POST", path=harness.create_path)
    results = adapter.apply(CREATES)
    assert [r.ok for r in results] == [True, True], results
    assert retry_waits and all(wait >= 7 for wait in retry_waits)
    assert_created_once(harness)


def test_a_read_counts_every_request_it_sent_retries_included(harness: ChannelHarness) -> None:
    """``Page.calls`` feeds the benchmarks and the status report: a rate-limited read cost more."""
    harness.seed([MUG])
    adapter = harness.adapter()
    calm = read_all(adapter)
    harness.faults.add(kind="status", status=429, retry_after=1, path=harness.catalog_read_path, times=1)
    limited = read_all(adapter)
    assert skus(limited.items) == ["CT-MUG"]
    assert limited.calls == calm.calls + 1  # the refused request, then the same read as before


def test_a_429_that_does_not_end_is_a_transient_error(
    harness: ChannelHarness, retry_waits: list[float]
) -> None:
    adapter = harness.adapter(max_attempts=3)
    harness.faults.add(kind="status", status=429, retry_after=2, path=harness.catalog_read_path, times=None)
    with pytest.raises(TransientError):
        read_all(adapter)
    assert len(retry_waits) == 2 and min(retry_waits) >= 2


def test_a_401_is_an_auth_error_and_is_not_retried(harness: ChannelHarness, retry_waits: list[float]) -> None:
    harness.seed([MUG])
    adapter = harness.adapter(valid_credentials=False)
    writes: list[WriteOp] = list(CREATES)
    if not adapter.capabilities.creates_products:  # a channel taking no products: a stock write
        good = harness.adapter()
        mug, variant = holding(read_all(good).items, "CT-MUG")
        level = good.read_stock_levels([variant.channel_id])[0]
        writes = [stock_write(adapter, mug.channel_id, variant.channel_id, level.location_id, 10, 9)]
    with pytest.raises(AuthError):
        adapter.check()
    with pytest.raises(AuthError):
        read_all(adapter)
    with pytest.raises(AuthError):
        adapter.read_stock_events()
    with pytest.raises(AuthError):  # nothing of it happened: the caller keeps it queued
        adapter.apply(writes)
    assert retry_waits == []
    assert skus(read_all(harness.adapter()).items) == ["CT-MUG"]


# -- a lost answer to a create does not duplicate -----------------------------------------------


@pytest.mark.parametrize("fault", ["apply_then_fail", "apply_then_reset"])
def test_a_create_whose_answer_is_lost_is_not_made_twice_by_the_retry(
    harness: ChannelHarness, fault: str
) -> None:
    adapter = takes_creates(harness)
    harness.faults.add(kind=fault, status=502, method="POST", path=harness.create_path, times=1)
    results = adapter.apply(CREATES)
    assert [r.ok for r in results] == [True, True], results
    assert sorted(sku for r in results for sku in r.ids) == CREATED_SKUS
    assert_created_once(harness)


@pytest.mark.parametrize("fault", ["apply_then_fail", "apply_then_reset"])
def test_a_create_in_doubt_sent_again_after_a_restart_is_not_made_twice(
    harness: ChannelHarness, fault: str
) -> None:
    takes_creates(harness)
    harness.faults.add(kind=fault, status=502, method="POST", path=harness.create_path, times=1)
    try:
        first = harness.adapter(max_attempts=1).apply(CREATES)  # the process dies in doubt
    except TransientError:
        first = []
    assert not any(r.ok or not r.retryable for r in first)  # in doubt: kept queued, not refused

    restarted = harness.adapter()
    restarted.mark_uncertain(op.key for op in CREATES)
    results = restarted.apply(CREATES)
    assert [r.ok for r in results] == [True, True], results
    assert_created_once(harness)


# -- a webhook is accepted when signed and refused when not -------------------------------------


def test_a_signed_webhook_is_accepted_and_an_unsigned_or_altered_one_refused(harness: ChannelHarness) -> None:
    delivery = harness.signed_delivery()
    adapter = harness.adapter()

    event = adapter.verify_webhook(delivery.headers, delivery.body, delivery.url)
    assert event.channel == harness.name and event.event_id

    unsigned = {k: v for k, v in delivery.headers.items() if "signature" not in k.lower()}
    assert len(unsigned) < len(delivery.headers)
    with pytest.raises(WebhookRejected):
        adapter.verify_webhook(unsigned, delivery.body, delivery.url)
    with pytest.raises(WebhookRejected):  # the same JSON, one byte more: the bytes are what is signed
        adapter.verify_webhook(delivery.headers, delivery.body + b" ", delivery.url)


# -- a malformed item is skipped and reported ---------------------------------------------------


def test_a_malformed_item_is_skipped_and_reported_and_the_rest_read(harness: ChannelHarness) -> None:
    harness.seed([MUG, TEE, CAP])
    field = harness.corrupt("CT-TEE-M")

    page = read_all(harness.adapter())

    assert skus(page.items) == ["CT-CAP", "CT-MUG"]  # the product holding it is skipped whole
    [issue] = page.issues
    assert issue.channel == harness.name and issue.field == field
    assert "CT-TEE-M" in issue.skus and issue.holds  # the sync holds its SKUs back: it is not gone
    assert issue.message


# -- stock --------------------------------------------------------------------------------------


def test_a_stock_write_is_read_back_as_written(harness: ChannelHarness) -> None:
    """Each location gets a count of its own, so a write landing at the wrong one shows."""
    harness.seed([MUG])
    adapter = harness.adapter()
    mug, variant = holding(read_all(adapter).items, "CT-MUG")
    levels = adapter.read_stock_levels([variant.channel_id])
    assert levels and all(lv.quantity == 10 for lv in levels)
    wanted = {lv.location_id: 17 + n for n, lv in enumerate(levels)}

    ops = [
        stock_write(adapter, mug.channel_id, variant.channel_id, location, 10, quantity)
        for location, quantity in wanted.items()
    ]
    results = adapter.apply(ops)
    assert all(r.ok for r in results), results

    after = harness.adapter().read_stock_levels([variant.channel_id])
    assert {lv.location_id: lv.quantity for lv in after} == wanted


def test_a_sale_is_read_exactly_once_across_two_reads_with_the_cursor(harness: ChannelHarness) -> None:
    harness.seed([MUG, CAP])
    adapter = harness.adapter()
    _, variant = holding(read_all(adapter).items, "CT-MUG")
    start = adapter.read_stock_events()
    assert sales_of(start.items, variant.channel_id) == []

    harness.sell("CT-MUG", 2)
    first = adapter.read_stock_events(start.cursor)
    second = adapter.read_stock_events(first.cursor)

    sales = sales_of([*first.items, *second.items], variant.channel_id)
    assert [(s.delta, s.channel) for s in sales] == [(-2, harness.name)]
    assert sales_of(first.items, variant.channel_id) == sales  # read as soon as it happened
