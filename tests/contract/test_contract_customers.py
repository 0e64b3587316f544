"""The customer contract: what the customer sync relies on from every channel whose adapter declares
customer capability, checked against that channel's emulator over loopback HTTP (once per
registered harness; a channel without the capability is skipped).

A full read equals the last one with the incremental read and the webhook hints on top; a quiet
re-read returns nothing; the purchase history streams every order naming a customer once; a
create whose answer was lost is not made twice; a malformed customer is
skipped and reported with channel, id and field; email and phone come back normalised.
"""

from __future__ import annotations

from decimal import Decimal
from typing import cast

import pytest

from adapters.base import ChannelAdapter, CreateCustomer, Page, TransientError, UpdateCustomer
from bridge.models import ChannelCustomer, ChannelOrder
from sandbox.seed import SeedProduct, SeedVariant
from tests.contract.harness import ChannelHarness, CustomerHarness, wait_until

MUG = SeedProduct("Customer Mug", (SeedVariant("CU-MUG", Decimal("9.50"), stock=10),))
DORA = ChannelCustomer(
    channel="bridge", channel_id="new", email="dora@shop.test", given_name="Dora", phone="+14155550199"
)


def customers_of(harness: ChannelHarness) -> tuple[CustomerHarness, ChannelAdapter]:
    adapter = harness.adapter()
    if not adapter.capabilities.customers:
        pytest.skip(f"{harness.name} declares no customer capability")
    return cast(CustomerHarness, harness), adapter


def shown(customers: list[ChannelCustomer]) -> set[tuple[str, str | None, str | None, str | None]]:
    return {(c.channel_id, c.email, c.phone, c.given_name) for c in customers if not c.deleted}


def hinted(harness: CustomerHarness, adapter: ChannelAdapter) -> list[str]:
    """The customer ids the webhooks received so far name (the daemon's hints)."""
    events = [adapter.verify_webhook(d.headers, d.body, d.url) for d in harness.customer_deliveries()]
    return sorted({e.resource_id for e in events if e.resource == "customer" and e.resource_id})


def test_a_full_customer_read_equals_the_last_one_with_the_incremental_read_on_top(
    harness: ChannelHarness,
) -> None:
    h, adapter = customers_of(harness)
    h.watch_customers()
    ann = h.add_customer("Ann@Shop.TEST", "Ann", "(415) 555-0101")
    h.add_customer("bob@shop.test", "Bob")
    first = adapter.read_customers(None)
    assert {(c.email, c.phone) for c in first.items} == {
        ("ann@shop.test", "+14155550101"),
        ("bob@shop.test", None),
    }
    seen = len(h.customer_deliveries())

    h.edit_customer(ann, "Annie")
    h.add_customer("cara@shop.test", "Cara")
    wait_until(lambda: len(h.customer_deliveries()) >= seen + 2, "the customer webhooks")
    incremental = adapter.read_customers(first.cursor)
    hints = adapter.read_customers_by_id(hinted(h, adapter))
    merged = {c.channel_id: c for c in first.items}
    merged.update({c.channel_id: c for c in [*incremental.items, *hints.items]})

    assert shown(list(merged.values())) == shown(list(adapter.read_customers(None).items))
    assert merged[ann].given_name == "Annie"
    assert adapter.read_customers(incremental.cursor).items == []  # a quiet re-read: nothing


@pytest.mark.parametrize("fault", ["apply_then_fail", "apply_then_reset"])
def test_a_customer_create_whose_answer_is_lost_is_not_made_twice(
    harness: ChannelHarness, fault: str
) -> None:
    h, adapter = customers_of(harness)
    h.faults.add(kind=fault, status=502, method="POST", path=h.customer_create_path, times=1)
    (result,) = adapter.apply([CreateCustomer(key="customer:p-1:" + h.name, customer=DORA)])
    assert result.ok and result.channel_id, result
    assert [c.channel_id for c in adapter.find_customers(email="DORA@shop.test")] == [result.channel_id]


def test_a_customer_create_in_doubt_sent_again_after_a_restart_is_not_made_twice(
    harness: ChannelHarness,
) -> None:
    h, _ = customers_of(harness)
    op = CreateCustomer(key="customer:p-2:" + h.name, customer=DORA)
    h.faults.add(kind="apply_then_reset", method="POST", path=h.customer_create_path, times=1)
    try:
        first = h.adapter(max_attempts=1).apply([op])  # the process dies in doubt
    except TransientError:
        first = []
    assert not any(r.ok or not r.retryable for r in first)
    (result,) = h.adapter().apply([op])
    assert result.ok, result
    assert [c.channel_id for c in h.adapter().find_customers(email=DORA.email)] == [result.channel_id]


def test_a_malformed_customer_is_skipped_and_reported_and_the_rest_read(harness: ChannelHarness) -> None:
    h, adapter = customers_of(harness)
    ann = h.add_customer("ann@shop.test", "Ann")
    h.add_customer("bob@shop.test", "Bob")
    field = h.corrupt_customer(ann)
    page = adapter.read_customers(None)
    assert [c.email for c in page.items] == ["bob@shop.test"]
    assert [(i.channel, i.kind, i.object_id, i.field) for i in page.issues] == [
        (h.name, "customer", ann, field)
    ]


def test_an_update_is_read_back_and_a_deletion_reads_as_a_tombstone(harness: ChannelHarness) -> None:
    h, adapter = customers_of(harness)
    ann = h.add_customer("ann@shop.test", "Ann")
    (before,) = adapter.read_customers_by_id([ann]).items
    fields = {"family_name": "Lee", "phone": "+14155550123"}
    (result,) = adapter.apply(
        [UpdateCustomer(key="u-1", customer_id=ann, fields=fields, version=before.version)]
    )
    assert result.ok, result
    (after,) = adapter.read_customers_by_id([ann]).items
    assert (after.given_name, after.family_name, after.phone) == ("Ann", "Lee", "+14155550123")
    h.delete_customer(ann)
    (gone,) = adapter.read_customers_by_id([ann]).items
    assert gone.deleted and gone.channel_id == ann and gone.email is None


def test_a_customers_orders_are_read_newest_first(harness: ChannelHarness) -> None:
    h, adapter = customers_of(harness)
    h.seed([MUG])
    ann = h.add_customer("ann@shop.test", "Ann")
    bob = h.add_customer("bob@shop.test", "Bob")
    h.sell_to(ann, "CU-MUG", 2)
    h.sell_to(bob, "CU-MUG", 1)
    h.sell_to(ann, "CU-MUG", 1)
    orders = adapter.read_customer_orders(ann).items
    assert [sum(i.quantity for i in o.items) for o in orders] == [1, 2]
    assert all(o.customer_id == ann and o.channel == h.name for o in orders)
    assert orders[0].placed_at >= orders[1].placed_at
    assert orders[1].total is not None and orders[1].total.amount == Decimal("19.00")


Cursors = tuple[str | None, str | None]


def history(adapter: ChannelAdapter, cursors: Cursors) -> tuple[list[ChannelOrder], Cursors]:
    """The purchase history a sync reads: the orders its customers read carries and the channel's
    order stream, each from its cursor; the next cursors."""
    read = Page.concat(adapter.iter_customers(cursors[0]))
    stream = Page.concat(adapter.iter_purchases(cursors[1]))
    return [*read.orders, *stream.items], (read.cursor, stream.cursor)


def test_the_purchase_history_streams_each_named_order_once_and_a_quiet_reread_nothing(
    harness: ChannelHarness,
) -> None:
    h, adapter = customers_of(harness)
    h.seed([MUG])
    ann = h.add_customer("ann@shop.test", "Ann")
    bob = h.add_customer("bob@shop.test", "Bob")
    h.sell_to(ann, "CU-MUG", 2)
    h.sell_to(bob, "CU-MUG", 1)
    orders, cursors = history(adapter, (None, None))
    assert sorted((o.customer_id, sum(i.quantity for i in o.items)) for o in orders) == sorted(
        [(ann, 2), (bob, 1)]
    )
    assert all(o.channel == h.name and o.total is not None for o in orders)
    h.sell_to(ann, "CU-MUG", 1)  # a regular's next sale: their profile does not change
    more, cursors = history(adapter, cursors)
    assert [(o.customer_id, sum(i.quantity for i in o.items)) for o in more] == [(ann, 1)]
    assert history(adapter, cursors)[0] == []
