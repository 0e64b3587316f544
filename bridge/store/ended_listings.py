"""The store's ended listings: per channel, the listings shopbridge ended at a sell-out (an account
that refuses a quantity of 0) and their relisting (``ended_listings``), plus what shopbridge
learned of the account (the ``<channel>.zero_quantity`` mark).

Part of :class:`bridge.store.Store` (a mixin: every SQL statement on this table is here);
:meth:`EndedListingTables.ended_listings` hands a channel its own view
(:class:`bridge.writes.EndedListings`). Rows are never deleted: a relisting closes the row.
"""

from __future__ import annotations

from bridge.store.base import StoreBase, utcnow
from bridge.store.cursors import CursorTables
from bridge.writes import EndedListing

__all__ = ["ChannelEndedListings", "EndedListingTables"]

REFUSED = "refused"


class EndedListingTables(StoreBase):
    """Per channel, the listings ended by us and not listed again yet, and their history."""

    def open_ended_listings(self, channel: str) -> dict[str, EndedListing]:
        """SKU -> the listing ``channel`` has ended and not relisted (the latest per SKU)."""
        rows = self.db.execute(
            "SELECT sku, offer_id, listing_id, ended_at FROM ended_listings "
            "WHERE channel = ? AND relisted_at IS NULL ORDER BY id",
            [channel],
        ).fetchall()
        return {str(sku): EndedListing(str(offer), lid and str(lid), str(at)) for sku, offer, lid, at in rows}

    def ended_listing_rows(self, channel: str) -> list[dict[str, str | None]]:
        """Every ended listing of ``channel``, oldest first (relisted ones included)."""
        cursor = self.db.execute(
            "SELECT sku, offer_id, listing_id, ended_at, relisted_at, relisted_listing_id "
            "FROM ended_listings WHERE channel = ? ORDER BY id",
            [channel],
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def record_listing_ended(self, channel: str, sku: str, offer_id: str, listing_id: str | None) -> None:
        """``sku``'s listing (``offer_id``) was ended; nothing new if it is recorded ended already."""
        with self.transaction() as db:
            open_row = db.execute(
                "SELECT 1 FROM ended_listings WHERE channel = ? AND sku = ? AND relisted_at IS NULL",
                [channel, sku],
            ).fetchone()
            if open_row is None:
                db.execute(
                    "INSERT INTO ended_listings (channel, sku, offer_id, listing_id, ended_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [channel, sku, offer_id, listing_id, utcnow()],
                )

    def record_listing_relisted(self, channel: str, sku: str, listing_id: str | None) -> None:
        """``sku`` is listed again (its new listing ``listing_id``): its ended row is closed."""
        with self.transaction() as db:
            db.execute(
                "UPDATE ended_listings SET relisted_at = ?, relisted_listing_id = ? "
                "WHERE channel = ? AND sku = ? AND relisted_at IS NULL",
                [utcnow(), listing_id, channel, sku],
            )

    def ended_listing_figures(self) -> dict[str, dict[str, int | bool]]:
        """Per channel with any: listings ended and not listed again yet, listings relisted, and
        whether the account was learned to refuse a quantity of 0 (what ``status`` shows)."""
        assert isinstance(self, CursorTables)  # both are parts of the one Store
        rows = self.db.execute(
            "SELECT channel, sum(relisted_at IS NULL), sum(relisted_at IS NOT NULL) FROM ended_listings "
            "GROUP BY channel"
        ).fetchall()
        figures: dict[str, dict[str, int | bool]] = {
            str(c): {"ended": int(e), "relisted": int(r)} for c, e, r in rows
        }
        for channel, learned in self.marks_ending("zero_quantity").items():
            if learned == REFUSED:
                figures.setdefault(channel, {"ended": 0, "relisted": 0})["refuses_zero"] = True
        for shown in figures.values():
            shown.setdefault("refuses_zero", False)
        return figures

    def ended_listings(self, channel: str) -> ChannelEndedListings:
        """``channel``'s own ended listings, as its adapter is handed them (the store's marks
        keep what was learned of the account)."""
        assert isinstance(self, CursorTables)  # both are parts of the one Store
        return ChannelEndedListings(self, self, channel)


class ChannelEndedListings:
    """One channel's ended listings (implements :class:`bridge.writes.EndedListings`)."""

    def __init__(self, tables: EndedListingTables, marks: CursorTables, channel: str) -> None:
        self._tables = tables
        self._marks = marks
        self.channel = channel

    def ended(self) -> dict[str, EndedListing]:
        return self._tables.open_ended_listings(self.channel)

    def end(self, sku: str, offer_id: str, listing_id: str | None) -> None:
        self._tables.record_listing_ended(self.channel, sku, offer_id, listing_id)

    def relist(self, sku: str, listing_id: str | None) -> None:
        self._tables.record_listing_relisted(self.channel, sku, listing_id)

    def refuses_zero(self) -> bool:
        return self._marks.get_mark(f"{self.channel}.zero_quantity") == REFUSED

    def learn_refuses_zero(self) -> None:
        self._marks.set_mark(f"{self.channel}.zero_quantity", REFUSED)
