"""The catalogue's open conflicts (the ``conflicts`` table), as ``shopbridge conflicts`` lists and
settles them beside the customer ones (:mod:`bridge.store.customers`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from bridge.store.sqlite import Store

__all__ = ["CatalogueConflict", "CatalogueConflicts"]


class CatalogueConflict(TypedDict):
    id: int
    channel: str
    entity: str
    canonical_key: str
    field: str
    ours: str
    theirs: str
    detected_at: str


class CatalogueConflicts:
    """The open catalogue conflicts of one open store (stock pools held are listed by ``status``)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def open(self) -> list[CatalogueConflict]:
        rows = self.store.db.execute(
            "SELECT id, channel, entity, canonical_key, field, ours, theirs, detected_at FROM conflicts "
            "WHERE resolved_at IS NULL AND entity != 'stock_pool' ORDER BY id"
        ).fetchall()
        return [
            CatalogueConflict(
                id=r[0],
                channel=r[1],
                entity=r[2],
                canonical_key=r[3],
                field=r[4],
                ours=r[5],
                theirs=r[6],
                detected_at=r[7],
            )
            for r in rows
        ]

    def resolve(self, conflict_id: int, keep: str, now: str) -> bool:
        """Settle one: closed, and what the human kept recorded in the audit. False when not open."""
        with self.store.transaction() as db:
            changed = db.execute(
                "UPDATE conflicts SET resolved_at = ? WHERE id = ? AND resolved_at IS NULL "
                "AND entity != 'stock_pool'",
                [now, conflict_id],
            ).rowcount
            if changed:
                self.store.audit("", "conflict_resolved", str(conflict_id), {"keep": keep})
        return bool(changed)
