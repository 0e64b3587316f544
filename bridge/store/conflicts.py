"""The store's conflicts for a human (a non-owner edit, a stock pool held) and its audit trail of
what was pushed where.

Part of :class:`bridge.store.Store` (a mixin: every SQL statement on these tables is here).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from bridge.memory import ChunkRecord, Conflict
from bridge.storage import HeldPool
from bridge.store.base import StoreBase, utcnow

__all__ = ["ConflictTables"]


class ConflictTables(StoreBase):
    """Conflicts left for a human, held stock pools, and the audit trail."""

    def add_conflict(
        self, *, channel: str, entity: str, canonical_key: str, field: str, ours: str, theirs: str
    ) -> None:
        with self.transaction() as db:
            db.table("conflicts").insert(
                {
                    "channel": channel,
                    "entity": entity,
                    "canonical_key": canonical_key,
                    "field": field,
                    "ours": ours,
                    "theirs": theirs,
                    "detected_at": utcnow(),
                }
            )

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
        with self.transaction() as db:
            db.table("audit").insert(
                {
                    "at": utcnow(),
                    "channel": channel,
                    "action": action,
                    "key": key,
                    "detail": json.dumps(detail, default=str),
                }
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
