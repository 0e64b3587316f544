"""The parents of changed variations, asked for while the variations are still being listed.

An incremental read lists the products, the trash and the variations modified since its cursor,
side by side. A variation's change does not touch its parent's date, so the parents of changed
variations are usually in neither product listing: each is fetched by id (``/products?include=``,
100 a call). Those calls used to wait for every listing to end. But once the products and the
trash listings have ended, a parent not spooled by then never will be: its ``include=`` call can
go out at once, on a slot the variations listing leaves free (it keeps ``concurrency - 1`` pages
in flight), instead of adding its round trips after the listing.

Only full calls are sent early (100 parents): the rest, and whatever this missed, is fetched after
the listings as before (:meth:`CatalogSpool.missing_parents` asks for every parent not spooled),
so the read asks for no more calls than it did. The answers are spooled on the reading thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

from adapters.spool import CatalogSpool
from adapters.woocommerce_since import Listed

__all__ = ["ParentsAhead"]


class ParentsAhead:
    """``include=`` reads of parents sent as soon as a full call of them is known to be missing.

    ``fetch`` reads one call's products (on a worker thread: it must take the adapter's slot for
    a call in flight); ``keep`` adds an answer to the spool (on the reading thread)."""

    def __init__(
        self,
        spool: CatalogSpool,
        fetch: Callable[[list[int]], Listed],
        keep: Callable[[Listed], None],
        *,
        per_call: int,
        workers: int,
    ) -> None:
        self._spool = spool
        self._fetch = fetch
        self._keep = keep
        self._per_call = per_call
        self._workers = workers
        self._open = False
        self._pending: list[int] = []
        self._asked: set[int] = set()
        self._sent: list[Future[Listed]] = []
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> ParentsAhead:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def open(self) -> None:
        """The product listings have ended: a parent not spooled now is missing for good."""
        self._open = True

    def consider(self, parents: Iterable[int]) -> None:
        """Parents of new variations just spooled: the missing ones are asked for, a full call at a
        time, once :meth:`open`; answers that came are spooled meanwhile."""
        self._spool_answered()
        if not self._open:
            return
        fresh = sorted({p for p in parents if p not in self._asked})
        for parent in self._spool.unspooled_products(fresh):
            self._asked.add(parent)
            self._pending.append(parent)
        while len(self._pending) >= self._per_call:
            batch, self._pending = self._pending[: self._per_call], self._pending[self._per_call :]
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="parents-ahead")
            self._sent.append(self._pool.submit(self._fetch, batch))

    def finish(self) -> None:
        """Every call sent has been answered and spooled (the parents left go the usual way)."""
        for future in self._sent:
            self._keep(future.result())
        self._sent.clear()

    def _spool_answered(self) -> None:
        waiting: list[Future[Listed]] = []
        for future in self._sent:
            if future.done():
                self._keep(future.result())
            else:
                waiting.append(future)
        self._sent = waiting
