"""The store's conflicts for a human (a non-owner edit, a stock pool held) and its audit trail of
what was pushed where; the catalogue conflicts as ``shopbridge conflicts`` lists and settles them
(beside the customer ones, :mod:`bridge.store.customers`), and the values a human kept, which the
next sync's plan applies.

Part of :class:`bridge.store.Store` (a mixin: every SQL statement on these tables is here).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, TypedDict

from bridge.memory import ChunkRecord, Conflict
from bridge.storage import HeldPool
from bridge.store.base import StoreBase, utcnow
from bridge.store.chunked import KEYS, execute_in, rows_in

__all__ = ["CatalogueConflict", "ConflictTables"]


class CatalogueConflict(TypedDict):
    id: int
    channel: str
    entity: str
    canonical_key: str
    field: str
    ours: str
    theirs: str
    detected_at: str


class ConflictTables(StoreBase):
    """Conflicts left for a human, held stock pools, and the audit trail."""

    def add_conflict(
        self, *, channel: str, entity: str, canonical_key: str, field: str, ours: str, theirs: str
    ) -> None:
        what = {"channel": channel, "entity": entity, "canonical_key": canonical_key, "field": field}
        with self.transaction() as db:
            db.table("conflicts").insert({**what, "ours": ours, "theirs": theirs, "detected_at": utcnow()})

    def catalogue_conflicts(self) -> list[CatalogueConflict]:
        """The open catalogue conflicts (stock pools held are listed by ``status``)."""
        rows = self.db.execute(
            "SELECT id, channel, entity, canonical_key, field, ours, theirs, detected_at FROM conflicts "
            "WHERE resolved_at IS NULL AND entity != 'stock_pool' ORDER BY id"
        ).fetchall()
        names = ("id", "channel", "entity", "canonical_key", "field", "ours", "theirs", "detected_at")
        return [CatalogueConflict(**dict(zip(names, r, strict=True))) for r in rows]  # type: ignore[typeddict-item]

    def settle_catalogue_conflict(self, conflict_id: int, kept: Any, keep: str, now: str) -> bool:
        """Close an open catalogue conflict with the value a human ``kept`` (``keep`` as typed, for
        the audit): the next sync's plan writes it wherever the SKU shows another. False when
        there is no such open conflict."""
        with self.transaction() as db:
            changed = db.execute(
                "UPDATE conflicts SET resolved_at = ?, kept = ? WHERE id = ? AND resolved_at IS NULL "
                "AND entity != 'stock_pool'",
                [now, json.dumps(kept), conflict_id],
            ).rowcount
            if changed:
                self.audit("", "conflict_resolved", str(conflict_id), {"keep": keep})
        return bool(changed)

    def settled_catalogue(self, skus: Sequence[str]) -> dict[tuple[str, str], Any]:
        """``(sku, field)`` -> the value a human kept that no sync has applied yet."""
        sql = (
            "SELECT canonical_key, field, kept FROM conflicts WHERE kept IS NOT NULL AND applied_at IS NULL "
            f"AND canonical_key IN {KEYS} ORDER BY resolved_at"
        )
        return {(sku, field): json.loads(kept) for sku, field, kept in rows_in(self.db.conn, sql, skus)}

    def settled_skus(self) -> set[str]:
        """The SKUs of conflicts a human settled that no sync has applied yet (read again)."""
        rows = self.db.execute(
            "SELECT canonical_key FROM conflicts WHERE kept IS NOT NULL AND applied_at IS NULL"
        )
        return {row[0] for row in rows}

    def _applied_settlements(self, skus: Iterable[str], now: str) -> None:
        """The settlements of these SKUs are in a recorded plan now."""
        sql = (
            "UPDATE conflicts SET applied_at = ? WHERE kept IS NOT NULL AND applied_at IS NULL "
            f"AND canonical_key IN {KEYS}"
        )
        execute_in(self.db.conn, sql, skus, before=[now])

    def held_pools(self) -> list[HeldPool]:
        """Stock pools held for a human (see ``bridge.pools``): open ``stock_pool`` conflicts, with
        ``channel``, ``product_id``, ``skus``, ``expected``, ``shown`` and ``since``."""
        out: list[HeldPool] = []
        for r in self.db.query(
            "SELECT channel, canonical_key, ours, theirs, detected_at FROM conflicts "
            "WHERE entity = 'stock_pool' AND resolved_at IS NULL ORDER BY channel, canonical_key"
        ):
            ours = json.loads(r["ours"])
            out.append(
                HeldPool(
                    channel=r["channel"],
                    product_id=r["canonical_key"],
                    skus=ours["skus"],
                    expected=ours["expected"],
                    shown=json.loads(r["theirs"]),
                    since=r["detected_at"],
                )
            )
        return out

    def record_pool_holds(
        self, held: Iterable[tuple[str, str, list[str], int, int]], settled: Iterable[tuple[str, str]]
    ) -> None:
        """Keep a hold per ``(channel, product id, skus, expected, shown)``: the open one is updated
        while the difference is the same (sales move both numbers), replaced when it is another;
        the holds of the ``settled`` ``(channel, product id)`` are closed."""
        now = utcnow()
        close = (
            "UPDATE conflicts SET resolved_at = ? WHERE entity = 'stock_pool' AND resolved_at IS NULL "
            "AND channel = ? AND canonical_key = ?"
        )
        with self.transaction() as db:
            for channel, product_id in settled:
                db.execute(close, [now, channel, product_id])
            for channel, product_id, skus, expected, shown in held:
                ours = json.dumps({"expected": expected, "skus": skus})
                row = db.execute(
                    "SELECT id, ours, theirs FROM conflicts WHERE entity = 'stock_pool' "
                    "AND resolved_at IS NULL AND channel = ? AND canonical_key = ?",
                    [channel, product_id],
                ).fetchone()
                if (
                    row is not None
                    and json.loads(row[2]) - json.loads(row[1])["expected"] == shown - expected
                ):
                    db.execute(
                        "UPDATE conflicts SET ours = ?, theirs = ? WHERE id = ?",
                        [ours, json.dumps(shown), row[0]],
                    )
                    continue
                db.execute(close, [now, channel, product_id])
                self.add_conflict(
                    channel=channel,
                    entity="stock_pool",
                    canonical_key=product_id,
                    field="stock",
                    ours=ours,
                    theirs=json.dumps(shown),
                )

    def audit(self, channel: str, action: str, key: str, detail: dict[str, Any]) -> None:
        """One line of the audit trail (plain SQL: the relay writes one per write it settles)."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO audit (at, channel, action, key, detail) VALUES (?, ?, ?, ?, ?)",
                [utcnow(), channel, action, key, json.dumps(detail, default=str)],
            )

    def _record_pools(self, record: ChunkRecord) -> None:
        """Holds of pools judged different; those of pools that agree again, or of products read
        without a pool any more, are closed."""
        open_ = {(h["channel"], h["product_id"]) for h in self.held_pools()}
        self.record_pool_holds(record.pools_held, sorted((open_ & record.products_read) - record.pools_kept))

    def _record_conflict(self, conflict: Conflict) -> None:
        """A conflict, unless the same one (same field, same value on the channel) is open."""
        theirs = json.dumps(conflict.theirs, sort_keys=True, default=str)
        exists = self.db.execute(
            "SELECT 1 FROM conflicts WHERE channel = ? AND canonical_key = ? AND field = ? AND theirs = ? "
            "AND resolved_at IS NULL",
            [conflict.channel, conflict.sku, conflict.field, theirs],
        ).fetchone()
        if not exists:
            self.add_conflict(
                channel=conflict.channel,
                entity="variant",
                canonical_key=conflict.sku,
                field=conflict.field,
                ours=json.dumps(conflict.ours, sort_keys=True, default=str),
                theirs=theirs,
            )
