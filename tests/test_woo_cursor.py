"""WooCommerce's incremental cursor: an item is new when it differs from the last version read.

Dates have one-second resolution, so "seen in this window" is not the same as "what we last read":
an item can change and change back inside one second (our write, then our next write restoring an
earlier count). Reported as already seen, its count would come from a read that predates our
write (tests/test_stale_snapshot_count.py shows what that did to the stock).
"""

from __future__ import annotations

from datetime import timedelta

from adapters.woocommerce import _Cursor

SECOND = "2026-12-02T01:00:00"
OVERLAP = timedelta(seconds=2)


def test_an_item_changed_back_inside_one_second_is_new_again() -> None:
    cursor = _Cursor()
    cursor.record(f"p:7@{SECOND}#count-10", SECOND)  # a read sees 10
    cursor.record(f"p:7@{SECOND}#count-12", SECOND)  # our write: 12, same second
    assert cursor.is_new(f"p:7@{SECOND}#count-10")  # our next write put 10 back


def test_what_was_last_read_is_not_new_even_after_a_reload() -> None:
    cursor = _Cursor()
    cursor.record(f"p:7@{SECOND}#count-10", SECOND)
    cursor.record(f"p:7@{SECOND}#count-12", SECOND)
    cursor.record(f"p:8@{SECOND}#count-3", SECOND)
    reloaded = _Cursor.load(cursor.dump(OVERLAP))
    assert not reloaded.is_new(f"p:7@{SECOND}#count-12")
    assert not reloaded.is_new(f"p:8@{SECOND}#count-3")
    assert reloaded.is_new(f"p:7@{SECOND}#count-10")


def test_one_item_changing_leaves_the_others_read() -> None:
    cursor = _Cursor()
    cursor.record(f"v:1@{SECOND}#a", SECOND)
    cursor.record(f"v:2@{SECOND}#b", SECOND)
    cursor.record(f"v:1@{SECOND}#c", SECOND)
    assert not cursor.is_new(f"v:2@{SECOND}#b")
    assert cursor.is_new(f"v:1@{SECOND}#a")
