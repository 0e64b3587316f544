"""Room for an adapter's calls in flight at once, whatever sends them.

A channel's ``concurrency`` is how many calls shopbridge has in flight to it at once. The relay's
workers, a listing's pages asked for ahead and the customers stage may each send calls at the
same moment (a sync's customers stage runs while its catalogue is read and its writes sent): each
bounded on its own, together they went past it. The transport takes a slot around every HTTP
request, so the bound holds for all of them at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["Slots"]


class Slots:
    """At most ``limit()`` holders at once (a semaphore whose limit is read when a slot is asked
    for: an adapter's ``concurrency`` is set after it is built)."""

    def __init__(self, limit: Callable[[], int]) -> None:
        self._limit = limit
        self._busy = 0
        self._free = threading.Condition()

    @contextmanager
    def taken(self) -> Iterator[None]:
        with self._free:
            while self._busy >= max(1, self._limit()):
                self._free.wait()
            self._busy += 1
        try:
            yield
        finally:
            with self._free:
                self._busy -= 1
                self._free.notify()
