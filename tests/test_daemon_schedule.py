"""The poll's schedule: a cycle every ``interval`` measured from one cycle's start to the next.

Measured from a cycle's end instead, a sale made just after a cycle read its channel waited that
cycle's length, then the whole interval, then the next cycle's read: beyond "one poll interval plus
200 ms" (issue 12) whenever cycles take more than a moment, which under a stream of sales they do.
A cycle that overruns the interval is followed by a short rest, never by another at once.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.daemon import Daemon
from bridge.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "shopbridge.db") as s:
        yield s


def starts_of_cycles(store: Store, *, cycle_seconds: float, interval: float, cycles: int) -> list[float]:
    starts: list[float] = []
    enough = threading.Event()

    def cycle() -> str:
        starts.append(time.monotonic())
        if len(starts) >= cycles:
            enough.set()
        time.sleep(cycle_seconds)
        return "0 changes"

    daemon = Daemon(store, cycle, interval=interval, debounce=0)
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    assert enough.wait(30), starts
    daemon.stop()
    thread.join(30)
    return starts


def test_cycles_start_an_interval_apart_however_long_each_takes(store: Store) -> None:
    # Cycles of 1 s every 1.5 s: start to start 1.5 s (from the end, it would be 2.5 s).
    starts = starts_of_cycles(store, cycle_seconds=1.0, interval=1.5, cycles=3)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert all(gap < 2.2 for gap in gaps), gaps


def test_a_cycle_longer_than_the_interval_is_followed_by_a_rest(store: Store) -> None:
    starts = starts_of_cycles(store, cycle_seconds=0.6, interval=0.5, cycles=3)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert all(gap >= 0.6 + 0.05 for gap in gaps), gaps
