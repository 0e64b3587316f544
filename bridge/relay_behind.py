"""The writes of a sync's committed chunks sent while its next chunk is planned.

A large sync plans in chunks (:meth:`bridge.sync.StagedRead.chunks`), committing each with its
writes queued in the outbox; the relay used to start only once the last chunk was committed, so
the channels sat idle for the whole planning, and the planning waited for nothing. Under real API
latency (0.3 s a WooCommerce call) the writes are most of a sync and planning 10,000 variants
takes tens of seconds: both can go on at once.

:class:`RelayBehind` is a thread with a store connection of its own, sending the entries queued
after a given one (this sync's), woken each time the sync starts planning another chunk. It never
sends anything an earlier run queued (the sync's own relay does, as before) and never touches a
SKU being planned: chunks are products that link only among themselves, so the one being planned
has nothing in the outbox yet. The sync holds ``serial`` all along, so no other relay runs (the
daemon's event path waits), and its own relay after the planning sends whatever is left (each
send here is bounded by the last entry queued when it began). The customers stage, which runs
beside the whole sync, may queue writes meanwhile: they go with whichever relay comes next.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from adapters.base import ChannelAdapter
from bridge.metrics import Metrics
from bridge.progress import Progress, beside
from bridge.relay import Relay, RelayReport
from bridge.store import Store

__all__ = ["RelayBehind"]

log = logging.getLogger(__name__)


class RelayBehind:
    """Sends, on a thread of its own, the outbox entries queued after entry ``after_id``, each time
    :meth:`wake` is called, reporting beside ``progress`` (:func:`bridge.progress.beside`); use as a
    context manager (leaving waits for the round in flight, then :attr:`report` holds what it
    sent)."""

    def __init__(
        self,
        path: Path,
        adapters: Mapping[str, ChannelAdapter],
        progress: Progress,
        max_attempts: int,
        metrics: Metrics | None,
        after_id: int,
    ) -> None:
        self._path = path
        self._adapters = adapters
        self._progress = progress
        self._max_attempts = max_attempts
        self._metrics = metrics
        self._after_id = after_id
        self.report = RelayReport()
        self._woken = threading.Event()
        self._stopping = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="relay-behind", daemon=True)

    def wake(self) -> None:
        """Something was committed since the last call: send it (the thread starts at the first)."""
        if self._thread.ident is None:  # not started yet
            self._thread.start()
        self._woken.set()

    def __enter__(self) -> RelayBehind:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stopping = True
        self._woken.set()
        if self._thread.ident is not None:
            self._thread.join()
        if self._error is not None and error is None:
            raise self._error

    def _run(self) -> None:
        try:
            with Store(self._path) as store:
                # Its line on a terminal is made here, so a sync with nothing to send beside has none.
                progress = beside(self._progress)
                relay = Relay(store, self._adapters, progress, self._max_attempts, self._metrics)
                while True:
                    self._woken.wait()
                    self._woken.clear()
                    if self._stopping:
                        return  # what is left goes with the sync's own relay, on its thread
                    # Bounded by what is queued now: an entry queued later waits for the next wake.
                    bound = store.outbox_last_id()
                    self.report.merge(relay.send(after_id=self._after_id, through_id=bound))
        except BaseException as exc:  # noqa: BLE001 - handed to the sync's thread, raised there
            log.warning("writes beside the planning stopped", extra={"error": str(exc)})
            self._error = exc
