"""What each channel's customer adapter does that the contract cannot say for every channel:
Square's merges remapped and its version conflicts reported; WooCommerce guests read from orders,
their orders found by email, a duplicate email linked instead of created. Over loopback HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from square_helpers import call, make_adapter, running_emulator
from woo_helpers import make_adapter as make_woo_adapter
from woo_helpers import small_catalog

from adapters.base import CreateCustomer, UpdateCustomer
from adapters.square import SquareAdapter
from adapters.woocommerce import WooCommerceAdapter
from bridge.models import ChannelCustomer, CustomerAddress
from sandbox.square import SquareEmulator
from sandbox.woocommerce import WooCommerceEmulator


@pytest.fixture
def square() -> Iterator[SquareEmulator]:
    yield from running_emulator()


@pytest.fixture
def woo() -> Iterator[WooCommerceEmulator]:
    with WooCommerceEmulator() as emu:
        yield emu


def test_square_merge_reads_the_old_id_as_the_new_profile(square: SquareEmulator) -> None:
    adapter: SquareAdapter = make_adapter(square)
    old = call(square, "POST", "/v2/customers", {"given_name": "Ann", "email_address": "ann@shop.test"})
    other = call(square, "POST", "/v2/customers", {"family_name": "Lee", "phone_number": "+14155550123"})
    first = adapter.read_customers(None)
    new_id = square.merge_customers([old["customer"]["id"], other["customer"]["id"]])
    (merged,) = adapter.read_customers_by_id([old["customer"]["id"]]).items
    assert merged.channel_id == new_id and merged.merged_from == (old["customer"]["id"],)
    assert (merged.given_name, merged.family_name, merged.phone) == ("Ann", "Lee", "+14155550123")
    assert [c.channel_id for c in adapter.read_customers(first.cursor).items] == [new_id]


def test_square_stale_version_is_a_refusal_not_a_retry(square: SquareEmulator) -> None:
    adapter = make_adapter(square)
    created = call(square, "POST", "/v2/customers", {"given_name": "Ann"})["customer"]
    call(square, "PUT", f"/v2/customers/{created['id']}", {"note": "edited at the till", "version": 0})
    (result,) = adapter.apply(
        [UpdateCustomer(key="u", customer_id=created["id"], fields={"note": "ours"}, version="0")]
    )
    assert (result.ok, result.retryable, result.code) == (False, False, "VERSION_MISMATCH")
    assert call(square, "GET", f"/v2/customers/{created['id']}")["customer"]["note"] == "edited at the till"


def test_square_reads_address_birthday_and_opt_out(square: SquareEmulator) -> None:
    adapter = make_adapter(square)
    address = {"address_line_1": "1 Main St", "locality": "Leeds", "postal_code": "LS1 1AA", "country": "GB"}
    body = {"given_name": "Ann", "phone_number": "0113 496 0000", "address": address, "birthday": "07-24"}
    call(square, "POST", "/v2/customers", body)
    (ann,) = adapter.read_customers(None).items
    assert ann.phone == "+441134960000"  # the address country, not the default, places the number
    assert ann.address == CustomerAddress(line1="1 Main St", city="Leeds", postcode="LS1 1AA", country="GB")
    assert ann.birthday == "0000-07-24" and ann.email_unsubscribed is False


def test_woocommerce_guests_come_from_orders(woo: WooCommerceEmulator) -> None:
    woo.seed(small_catalog())
    adapter: WooCommerceAdapter = make_woo_adapter(woo)
    first = adapter.read_customers(None)
    assert first.items == []
    woo.simulate_sale([("MUG-1", 1)], email=" Gail@Shop.test", billing={"phone": "(415) 555-0142"})
    (gail,) = adapter.read_customers(first.cursor).items
    assert (gail.channel_id, gail.guest, gail.email, gail.phone) == (
        "guest:gail@shop.test",
        True,
        "gail@shop.test",
        "+14155550142",
    )
    (again,) = adapter.read_customers_by_id([gail.channel_id]).items
    assert again.email == "gail@shop.test" and not again.deleted
    (order,) = adapter.read_customer_orders(gail.channel_id).items
    assert order.customer_id == "guest:gail@shop.test" and order.location_id is None  # on the web


def test_woocommerce_account_orders_include_guest_orders_by_email(woo: WooCommerceEmulator) -> None:
    woo.seed(small_catalog())
    adapter = make_woo_adapter(woo)
    ann = woo.add_customer("ann@shop.test", "Ann")
    woo.simulate_sale([("MUG-1", 1)], email="ann@shop.test")  # before she had an account... as a guest
    woo.simulate_sale([("MUG-1", 2)], email="ann@shop.test", customer_id=ann)
    woo.simulate_sale([("MUG-1", 3)], email="joann@shop.test")  # ``search`` matches it; the email does not
    orders = adapter.read_customer_orders(str(ann), email="ann@shop.test").items
    assert sorted(int(sum(i.quantity for i in o.items)) for o in orders) == [1, 2]


def test_woocommerce_duplicate_email_links_the_existing_account(woo: WooCommerceEmulator) -> None:
    adapter = make_woo_adapter(woo)
    ann = woo.add_customer("ann@shop.test", "Ann")
    person = ChannelCustomer(channel="bridge", channel_id="new", email="ANN@shop.test", given_name="Annie")
    (result,) = adapter.apply([CreateCustomer(key="customer:p-9:woocommerce", customer=person)])
    assert (result.ok, result.code, result.channel_id) == (True, "EXISTING", str(ann))
    assert len(woo.customers) == 1 and woo.customers[ann]["first_name"] == "Ann"  # linked, not overwritten


def test_square_quiet_reads_cost_one_call_once_the_window_has_passed(square: SquareEmulator) -> None:
    """The overlap window trails Square's clock at the read, not the last change: a burst of changes
    (a bulk import) is paged through again only while it is inside the window."""
    adapter = make_adapter(square)
    adapter.customer_overlap = timedelta(seconds=1)
    for n in range(250):
        square.add_customer(f"c{n}@shop.test", f"C{n}")
    first = adapter.read_customers(None)
    assert (len(first.items), first.calls) == (250, 3)
    time.sleep(2.1)  # Square's Date header is to the second
    moved = adapter.read_customers(first.cursor)
    assert moved.items == []
    quiet = adapter.read_customers(moved.cursor)
    assert (quiet.items, quiet.calls) == ([], 1)
    square.add_customer("late@shop.test", "Late")
    assert [c.email for c in adapter.read_customers(quiet.cursor).items] == ["late@shop.test"]
