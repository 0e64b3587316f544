"""Channels read at once (bridge/side_by_side.py): every page arrives, an error stops the read,
and a reader never runs far ahead of the caller staging its pages."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from bridge.side_by_side import READ_AHEAD, interleaved


def _pages(name: str, n: int, seen: list[str] | None = None) -> Iterator[str]:
    for i in range(n):
        if seen is not None:
            seen.append(f"{name}{i}")
        yield f"{name}{i}"


def test_every_page_of_every_channel_arrives_in_its_own_order() -> None:
    got = list(interleaved({"a": lambda: _pages("a", 50), "b": lambda: _pages("b", 7)}))
    assert [item for name, item in got if name == "a"] == [f"a{i}" for i in range(50)]
    assert [item for name, item in got if name == "b"] == [f"b{i}" for i in range(7)]


def test_the_channels_are_read_at_the_same_time() -> None:
    """Each reader waits for the other to have started: read one after the other, they never would."""
    started = {"a": threading.Event(), "b": threading.Event()}

    def meeting(me: str, other: str) -> Iterator[str]:
        started[me].set()
        assert started[other].wait(5), f"{other} was not being read while {me} was"
        yield me

    got = dict(interleaved({"a": lambda: meeting("a", "b"), "b": lambda: meeting("b", "a")}))
    assert got == {"a": "a", "b": "b"}


def test_a_failing_channel_fails_the_read_and_stops_the_others() -> None:
    """A channel's error is the read's error (raised once the others stopped), not a hang waiting
    for an endless other channel."""

    class Down(Exception):
        pass

    def broken() -> Iterator[str]:
        yield "x0"
        raise Down("woocommerce: 503")

    closed = threading.Event()

    def endless() -> Iterator[str]:
        try:
            while True:
                yield "s"
        finally:
            closed.set()

    got: list[str] = []
    with pytest.raises(Down):
        for _, item in interleaved({"broken": broken, "endless": endless}):
            got.append(item)
    assert "x0" in got
    assert closed.is_set()


def test_a_caller_that_stops_early_closes_every_reader_on_its_thread() -> None:
    closed: list[str] = []

    def endless(name: str) -> Iterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.append(name)

    before = threading.active_count()
    reads = interleaved({"a": lambda: endless("a"), "b": lambda: endless("b")})
    for _, n in reads:
        if n > 20:
            break
    reads.close()
    assert sorted(closed) == ["a", "b"]
    assert threading.active_count() == before


def test_a_fast_channel_reads_at_most_a_few_pages_ahead_of_the_caller() -> None:
    """Memory stays flat: the pages waiting for the caller are bounded, however fast a channel is."""
    read: list[str] = []
    reads = interleaved({"fast": lambda: _pages("f", 1000, read), "other": lambda: _pages("o", 1)})
    taken = 0
    for name, _ in reads:
        taken += name == "fast"
        if taken == 10:
            break
    # Taken, queued (READ_AHEAD per channel), and the one each reader holds while waiting for room.
    assert len(read) <= taken + READ_AHEAD * 2 + 1
    reads.close()
