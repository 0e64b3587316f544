"""One WooCommerce adapter read from two threads at once (the daemon's poll and its event path):
each read keeps the moment its own answers told it, whatever the other thread's answers said.

A read's ``read_until`` (how far its stock events are complete, in the shop's clock) is the
``Date`` of its first answer; a count's moment is the ``Date`` of the answer that carried it. Were
those shared, a read started on another thread would move them, and a count could be judged
against sales it does not hold."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import requests

from sandbox.woocommerce import WooCommerceEmulator
from tests.woo_helpers import make_adapter

MINE = 1_800_000_000.0
"""The shop's clock in the answers to the first thread's read."""
THEIRS = MINE + 100
"""... and in the answers to the read the other thread makes meanwhile."""


def test_a_read_on_another_thread_leaves_this_reads_moment_alone() -> None:
    with WooCommerceEmulator() as woo:
        adapter = make_adapter(woo)
        clock = [MINE]
        woo.server.clock = lambda: clock[0]
        other: dict[str, datetime | None] = {}
        interleaved = threading.Event()
        real = adapter._request

        def request(method: str, endpoint: str, **kwargs: Any) -> requests.Response:
            answer = real(method, endpoint, **kwargs)
            if endpoint == "orders" and not interleaved.is_set():
                # This thread's read has its first answer: the other thread reads, start to end.
                interleaved.set()
                clock[0] = THEIRS
                worker = threading.Thread(
                    target=lambda: other.update(until=adapter.read_stock_events(None).read_until)
                )
                worker.start()
                worker.join(timeout=30)
                clock[0] = MINE
            return answer

        adapter._request = request  # type: ignore[method-assign]

        mine = adapter.read_stock_events(None)

    assert other["until"] == datetime.fromtimestamp(THEIRS, UTC)
    assert mine.read_until == datetime.fromtimestamp(MINE, UTC)
