"""A sync's planned chunks recorded on a thread of their own while the next chunk is planned.

A large sync plans in chunks of products that link only among themselves
(:meth:`bridge.sync.StagedRead.chunks`) and records each in one transaction
(:meth:`bridge.store.Store.record_chunk`). Recording was done between two plannings, and much of
it is SQLite's own work, which releases the interpreter: at 10,000 variants the eleven chunks'
transactions were 0.3-0.8 s each, on the sync's critical path. :class:`CommitBehind` records them
in order on a thread with a store connection of its own, one chunk at a time, while the sync
plans the next: the next chunk's planning reads only its own SKUs, which no earlier chunk's
record touches.

At most one chunk waits to be recorded (memory stays one chunk more than before), and an error
recording it is raised on the sync's thread before another chunk is handed over, or when the
sync leaves. Each chunk is still one transaction, in the same order, the cursors in the last: a
``kill -9`` at any moment leaves what it left before, a prefix of the chunks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from bridge.memory import ChunkRecord
from bridge.store import Store

__all__ = ["CommitBehind"]

log = logging.getLogger(__name__)


class CommitBehind:
    """Records chunks in the order given, on one thread. Use as a context manager: leaving waits
    for the last record and raises its error, if any."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="commit-behind")
        self._store: Store | None = None
        self._pending: Future[int] | None = None
        self.queued = 0
        """Writes queued in the outbox by the chunks recorded so far."""

    def __enter__(self) -> CommitBehind:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            if error is None:
                self.wait()
            elif self._pending is not None:
                self._pending.exception()  # a valid chunk is recorded whole, as before
        finally:
            self._pool.submit(self._close).result()
            self._pool.shutdown(wait=True)

    def submit(self, record: ChunkRecord) -> None:
        """Record ``record`` once the chunk before it is recorded (its error raised here first)."""
        self.wait()
        self._pending = self._pool.submit(self._record, record)

    def then(self, call: Callable[[], None]) -> None:
        """Have ``call`` made on the recording thread once every chunk handed over so far is
        recorded (the relay beside woken to send their writes)."""
        self._pool.submit(call)

    def wait(self) -> None:
        """Until every chunk handed over is recorded; the error of one that was not, raised here."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self.queued += pending.result()

    def _record(self, record: ChunkRecord) -> int:
        if self._store is None:
            self._store = Store(self._path)  # opened on this thread, which alone uses it
        queued, kept = self._store.record_chunk(record)
        if kept:
            log.warning("stock moves kept out of the ledger (see status)", extra={"count": kept})
        return queued

    def _close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
