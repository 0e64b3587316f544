"""WooCommerce's read cursor holds only its overlap window's keys while a long read goes (issue 13),
and the cursor it saves is the one it saved before pruning: a customers read of every account no
longer keeps a key per account until the end. Over loopback HTTP against the emulator, and on the
cursor itself for a read by id (dates not in order)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from woo_helpers import make_adapter

from adapters.woocommerce_cursor import PollCursor
from adapters.woocommerce_wire import DATE_FMT
from sandbox.woocommerce import WooCommerceEmulator

WINDOW = timedelta(seconds=2)
START = datetime(2026, 6, 1, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
def woo() -> Iterator[WooCommerceEmulator]:
    with WooCommerceEmulator() as emu:
        yield emu


def _key(n: int, when: datetime) -> tuple[str, str]:
    date = when.strftime(DATE_FMT)
    return f"c:{n}@{date}#{n:012x}", date


def test_a_read_by_id_holds_its_window_and_saves_the_same_cursor() -> None:
    """5,000 accounts changed a second apart, read in id order (dates shuffled, so ``newest`` jumps
    about); 100 a page. Pruning holds a few pages' keys, not 5,000, and dumps what not pruning does."""
    dates = [START + timedelta(seconds=s) for s in range(5000)]
    random.Random(13).shuffle(dates)
    loaded = PollCursor(newest=START - timedelta(seconds=1))
    loaded.record(*_key(99999, START - timedelta(seconds=2)))  # from the read before: in its window
    saved = loaded.dump(WINDOW)
    pruned, plain = PollCursor.load(saved, prunes=True), PollCursor.load(saved)
    held = []
    for page in range(50):
        for n in range(page * 100, page * 100 + 100):
            key, date = _key(n, dates[n])
            for cursor in (pruned, plain):
                assert cursor.is_new(key)
                cursor.record(key, date)
        pruned.prune(WINDOW)
        held.append(len(pruned.seen))
    assert len(plain.seen) == 5001
    assert max(held) < 400  # the window's few keys, the last page's 100, and the one loaded
    assert pruned.dump(WINDOW) == plain.dump(WINDOW)
    assert not pruned.is_new(_key(99999, START - timedelta(seconds=2))[0])  # loaded keys stay


def test_an_item_the_next_page_repeats_is_still_known() -> None:
    """An account deleted mid-read shifts the next offset page back by one: its first item is the last
    page's last, and pruning must not make it new again (reported twice)."""
    cursor = PollCursor(prunes=True)
    keys = [_key(n, START + timedelta(seconds=n * 10)) for n in range(200)]
    for key, date in keys[:100]:
        cursor.record(key, date)
    cursor.prune(WINDOW)
    assert not cursor.is_new(keys[99][0])  # the next page opens with the last one's last item
    for key, date in keys[100:]:
        cursor.record(key, date)
    cursor.prune(WINDOW)
    assert not cursor.is_new(keys[100][0])  # this page's first, 990 s before newest: kept a page more
    assert cursor.is_new(keys[99][0]) and len(cursor.seen) == 100  # two pages back: dropped


def test_a_full_customers_read_holds_the_window_not_every_account(woo: WooCommerceEmulator) -> None:
    """600 accounts registered a second apart (as a real shop's are, not a bulk seeding's): the
    accounts cursor of the read in progress holds a page or two of keys, the saved cursor the window's,
    and a second read reports nothing again."""
    woo.freeze_time(datetime(2026, 6, 1, 9, 0, 0))
    for n in range(600):
        woo.add_customer(f"web{n}@shop.test", f"W{n}")
        woo.advance(1)
    woo.unfreeze_time()
    adapter = make_adapter(woo)
    reader = adapter.iter_customers(None)
    held, read, cursor = [], 0, None
    for page in reader:
        read += len(page.items)
        if reader.gi_frame is not None:  # suspended inside the read: its cursor as it stands
            held.append(len(reader.gi_frame.f_locals["accounts"].seen))
        cursor = page.cursor
    assert read == 600
    assert max(held) <= 200, held  # was 600 at the end of the read
    again = adapter.read_customers(cursor)
    assert again.items == []
