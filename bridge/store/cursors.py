"""The store's cursors and marks: how far each channel's streams were read (``cursors``, one row
per channel and stream), and the engine's own moments (``marks``: last planned, first sync done,
dry run shown), apart so that no reader of cursors has to skip them.

Part of :class:`bridge.store.Store` (a mixin: every SQL statement on these tables is here).
"""

from __future__ import annotations

from bridge.store.base import StoreBase, utcnow

__all__ = ["CursorTables"]


class CursorTables(StoreBase):
    """Channels' read cursors and the engine's marks."""

    def get_cursor(self, channel: str, stream: str) -> str | None:
        row = self.db.execute(
            "SELECT value FROM cursors WHERE channel = ? AND stream = ?", [channel, stream]
        ).fetchone()
        return None if row is None else row[0]

    def set_cursor(self, channel: str, stream: str, value: str | None) -> None:
        now = utcnow()
        with self.transaction() as db:
            db.table("cursors").upsert(
                {
                    "channel": channel,
                    "stream": stream,
                    "value": value,
                    "updated_at": now,
                    "last_success_at": now,
                },
                pk=("channel", "stream"),
            )

    def forget_catalog_cursors(self) -> None:
        """Drop every channel's catalogue cursor, so that the next sync reads the catalogues in full
        (after a link changed by hand, which an incremental read would not revisit). The stock-event
        cursors are kept (no event is read twice)."""
        with self.transaction() as db:
            db.execute("DELETE FROM cursors WHERE stream = 'catalog'")

    def get_mark(self, name: str) -> str | None:
        """The engine's mark ``name`` (a moment, as text), or None if never set."""
        row = self.db.execute("SELECT value FROM marks WHERE name = ?", [name]).fetchone()
        return None if row is None else row[0]

    def marks_ending(self, suffix: str) -> dict[str, str]:
        """Every mark named ``<prefix>.<suffix>`` (one per channel), by its prefix."""
        rows = self.db.execute("SELECT name, value FROM marks WHERE name LIKE ?", [f"%.{suffix}"]).fetchall()
        return {str(name)[: -len(suffix) - 1]: str(value) for name, value in rows}

    def set_mark(self, name: str, value: str) -> None:
        with self.transaction() as db:
            db.table("marks").upsert({"name": name, "value": value, "updated_at": utcnow()}, pk="name")
