"""The store layer: every SQL statement shopbridge runs, behind one import.

* :mod:`bridge.store.sqlite`: the mapping store, one SQLite file that is shopbridge's memory and its
  durable queues (:class:`Store`): opening and migrating it, its figures, the engine's three calls.
  Its parts, one module each owning its tables' SQL, on :mod:`bridge.store.base`:
  :mod:`~bridge.store.ledger` (stock events, and those waiting to be placed),
  :mod:`~bridge.store.queues` (inbox, outbox), :mod:`~bridge.store.cursors` (read cursors, the
  engine's marks), :mod:`~bridge.store.baselines`, :mod:`~bridge.store.links`,
  :mod:`~bridge.store.catalogue` (last reads, the agreed catalogue), :mod:`~bridge.store.conflicts`
  (conflicts, held pools, audit).
* :mod:`bridge.store.migrations`: its schema, as forward-only migrations.
* :mod:`bridge.store.chunked`: one statement over any number of keys (``IN (...)`` in chunks).
* :mod:`bridge.store.staging`: the scratch file beside it that one full read is staged in and
  planned from chunk by chunk (:class:`Staging`).

Both files are SQLite, so both are here: the rest of shopbridge talks to them through methods,
never SQL (sync.py's last raw statements are being moved into Store methods). What the core may
ask of the store is :class:`bridge.storage.Storage`.
"""

from typing import TYPE_CHECKING

from bridge.store.sqlite import MIGRATIONS, SCHEMA_VERSION, OutboxEntry, SchemaTooNew, Store, utcnow
from bridge.store.staging import Staging

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "OutboxEntry",
    "SchemaTooNew",
    "Staging",
    "Store",
    "utcnow",
]

if TYPE_CHECKING:
    from bridge.storage import Storage

    def _implements_storage(store: Store) -> Storage:
        """mypy checks here that the SQLite store is a :class:`~bridge.storage.Storage`."""
        return store
