"""The store's links: a canonical entity (its ``canonical_key``: a SKU, a product, a customer, a
location) to one channel's object, with the channel's version and the hash of what we last wrote
there (echo suppression); hand links replace what is in their way in one transaction.

Part of :class:`bridge.store.Store` (a mixin: every SQL statement on this table is here).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bridge.memory import NewLink
from bridge.storage import LinkRow
from bridge.store.base import utcnow
from bridge.store.baselines import BaselineTables
from bridge.store.chunked import KEYS, as_dicts, by_first, execute_in, in_chunks, rows_in

__all__ = ["LinkTables"]


class LinkTables(BaselineTables):
    """Links between canonical keys and channels' objects."""

    def upsert_links(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Create or update links (``entity``, ``canonical_key``, ``channel``, ``channel_id``, ...)."""
        now = utcnow()
        data = [{**r, "updated_at": now} for r in rows]
        if not data:
            return
        with self.transaction() as db:
            db.table("links").upsert_all(data, pk=("entity", "canonical_key", "channel"), batch_size=500)

    def upsert_variant_links(self, links: Iterable[NewLink]) -> None:
        """Create or update these variant links: the one translation of a :class:`NewLink` (what a
        read linked, or a create made) into a row of ``links``."""
        self.upsert_links(
            {
                "entity": "variant",
                "canonical_key": link.sku,
                "channel": link.channel,
                "channel_id": link.variant_id,
                "parent_id": link.product_id,
            }
            for link in links
        )

    def forget_written(self, keys: Iterable[tuple[str, str]]) -> None:
        """Drop the echo hash and channel version of these ``(sku, channel)`` variant links (they now point
        at another object than the one those described)."""
        sql = (
            "UPDATE links SET last_written_hash = NULL, channel_version = NULL "
            f"WHERE entity = 'variant' AND channel = ? AND canonical_key IN {KEYS}"
        )
        with self.transaction() as db:
            for channel, skus in by_first((channel, sku) for sku, channel in keys).items():
                execute_in(db.conn, sql, skus, before=[channel])

    def links(self, entity: str, channel: str | None = None) -> list[LinkRow]:
        if channel is None:
            return self._records("SELECT * FROM links WHERE entity = ?", [entity])
        return self._records("SELECT * FROM links WHERE entity = ? AND channel = ?", [entity, channel])

    def links_by_key(self, entity: str, canonical_keys: Iterable[str]) -> list[LinkRow]:
        """The links of these canonical entities, every channel."""
        sql = f"SELECT * FROM links WHERE entity = ? AND canonical_key IN {KEYS}"
        rows: list[Any] = as_dicts(in_chunks(self.db.conn, sql, canonical_keys, before=[entity]))
        return rows  # dicts by column name: the links table's columns are LinkRow's keys

    def links_of_groups(self, entity: str, members: Iterable[tuple[str, str]]) -> list[LinkRow]:
        """Every link of the canonical entities that any of ``members`` ``(channel, channel_id)``
        is linked to (their other channels' links included, even to variants gone since)."""
        sql = f"SELECT canonical_key FROM links WHERE channel = ? AND entity = ? AND channel_id IN {KEYS}"
        keys = [
            r[0]
            for channel, ids in by_first(members).items()
            for r in rows_in(self.db.conn, sql, ids, before=[channel, entity])
        ]
        return self.links_by_key(entity, keys)

    def delete_link(self, entity: str, canonical_key: str, channel: str) -> bool:
        """Forget a link (``shopbridge unlink``): the channel's product itself is untouched."""
        with self.transaction() as db:
            cursor = db.execute(
                "DELETE FROM links WHERE entity = ? AND canonical_key = ? AND channel = ?",
                [entity, canonical_key, channel],
            )
            return bool(cursor.rowcount)

    def variant_links_in_way(self, sku: str, channel: str, channel_id: str) -> list[LinkRow]:
        """The links a hand link of ``sku`` to ``channel``'s variant ``channel_id`` would replace:
        ``sku``'s link on ``channel`` to another variant, and that variant's link to another SKU."""
        return self._records(
            "SELECT * FROM links WHERE entity = 'variant' AND channel = ? "
            "AND ((canonical_key = ? AND channel_id != ?) OR (channel_id = ? AND canonical_key != ?)) "
            "ORDER BY canonical_key",
            [channel, sku, channel_id, channel_id, sku],
        )

    def link_variant_by_hand(
        self, sku: str, channel: str, channel_id: str, parent_id: str | None
    ) -> list[LinkRow]:
        """Link ``sku`` to ``channel``'s variant ``channel_id`` (``shopbridge link``), replacing the
        links in its way (:meth:`variant_links_in_way`), which are returned; all in one transaction.

        The link starts afresh (no version or written hash of another variant), and the stock last
        written on ``channel`` for each SKU whose variant there changes is forgotten: it was another
        variant's count, and the new one's would be taken for a manual change."""
        with self.transaction() as db:
            displaced = self.variant_links_in_way(sku, channel, channel_id)
            db.execute(
                "DELETE FROM links WHERE entity = 'variant' AND channel = ? "
                "AND (canonical_key = ? OR channel_id = ?)",
                [channel, sku, channel_id],
            )
            db.table("links").insert(
                {
                    "entity": "variant",
                    "canonical_key": sku,
                    "channel": channel,
                    "channel_id": channel_id,
                    "parent_id": parent_id,
                    "updated_at": utcnow(),
                }
            )
            self.forget_baselines(channel, [sku, *(r["canonical_key"] for r in displaced)])
        return displaced

    def _record_links(self, links: Sequence[NewLink]) -> None:
        """The links not recorded yet, and those that followed their SKU to another object (what
        we wrote to the old one is moot)."""
        known = {
            (r["canonical_key"], r["channel"]): r["channel_id"]
            for r in self.links_by_key("variant", list(dict.fromkeys(link.sku for link in links)))
        }
        new_or_moved = [link for link in links if known.get((link.sku, link.channel)) != link.variant_id]
        self.upsert_variant_links(new_or_moved)
        self.forget_written(
            (link.sku, link.channel)
            for link in links
            if known.get((link.sku, link.channel), link.variant_id) != link.variant_id
        )
