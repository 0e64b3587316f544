"""eBay's revision limit, budgeted: each listing may be revised 250 times a calendar day, and a
daemon pushing every till sale would spend that by mid-afternoon on a popular SKU.

Two things keep it in budget. Coalescing: the engine plans one absolute write per SKU per sync
whatever the number of sales behind it, and :func:`adapters.ebay_stock_writes.coalesce` sends one
entry per SKU per call (a burst of 30 till sales in one sync is one revision). Rationing: the writes
sent per SKU and day are counted in the store (:class:`bridge.writes.WriteCounts`), and once fewer
than ``reserve`` revisions are left of ``limit`` only the changes that matter go out: a quantity
going to 0 (overselling is what eBay penalises), coming back from 0, or at or below ``low_stock``.
The others are held back (code ``REVISION_BUDGET`` with ``held_until``, the next UTC midnight):
not sent, kept queued without using up an attempt, and not failures; logged with their SKUs. A held
write does not count as in flight (it never reached eBay), so the next sync still plans the SKU's
newer count (e.g. it selling out), and the queued writes of one SKU are coalesced to the last; they
go out on a later run once the budget allows.
At the limit nothing is sent (eBay would refuse it with 25002); when eBay refuses one for its limit
anyway (revisions made in Seller Hub count too) the count is raised to the limit so the rest of the
day is not spent asking.

A multi-variation listing (an inventory item group) is one listing: its SKUs' revisions are
counted together under the group's key, each SKU entry sent being one revision of it.

The calendar day is UTC's (eBay does not say which; the emulator counts in UTC too).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bridge.writes import WriteCounts

__all__ = ["MemoryCounts", "RevisionBudget", "day_of"]


def day_of(now: datetime) -> str:
    """The calendar day a revision counts against."""
    return now.astimezone(UTC).strftime("%Y-%m-%d")


@dataclass
class MemoryCounts:
    """Counts kept in memory (an adapter used without a store: tests, tools)."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)

    def of(self, day: str, skus: Sequence[str]) -> dict[str, int]:
        return {sku: self.counts[(day, sku)] for sku in skus if (day, sku) in self.counts}

    def add(self, day: str, counts: Mapping[str, int]) -> None:
        for sku, n in counts.items():
            self.counts[(day, sku)] = self.counts.get((day, sku), 0) + n

    def at_least(self, day: str, counts: Mapping[str, int]) -> None:
        for sku, n in counts.items():
            self.counts[(day, sku)] = max(self.counts.get((day, sku), 0), n)


@dataclass
class RevisionBudget:
    """The daily budget and the rule for what still goes out near it."""

    limit: int = 250
    reserve: int = 25
    low_stock: int = 2
    counts: WriteCounts = field(default_factory=MemoryCounts)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def today(self) -> str:
        return day_of(self.clock())

    def resets_at(self) -> str:
        """When today's counts stop applying (the next UTC midnight), ISO 8601."""
        now = self.clock().astimezone(UTC)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        return midnight.isoformat(timespec="seconds")

    def matters(self, quantity: int | None, shown: int | None) -> bool:
        """A change worth one of the last revisions of the day."""
        if quantity is None:
            return False  # a price alone waits for tomorrow
        return quantity == 0 or shown == 0 or quantity <= self.low_stock

    def split(
        self,
        wanted: Mapping[str, int | None],
        shown: Mapping[str, int],
        listing_of: Mapping[str, str] | None = None,
    ) -> tuple[str, list[str], dict[str, str]]:
        """``(day, SKUs to send, SKU -> why held back)`` for the quantities ``wanted``; the SKUs
        of one listing (``listing_of``: a grouped SKU -> its group) share its budget."""
        day = self.today()
        keys = {sku: (listing_of or {}).get(sku, sku) for sku in wanted}
        used = self.counts.of(day, sorted(set(keys.values())))
        going: Counter[str] = Counter()
        send: list[str] = []
        held: dict[str, str] = {}
        for sku, quantity in wanted.items():
            spent = used.get(keys[sku], 0) + going[keys[sku]]
            left = self.limit - spent
            if left <= 0:
                held[sku] = f"{sku}: {spent} of eBay's {self.limit} revisions a day used; sent tomorrow"
            elif left <= self.reserve and not self.matters(quantity, shown.get(sku)):
                held[sku] = (
                    f"{sku}: {spent} of eBay's {self.limit} revisions a day used; only changes to or "
                    f"from 0 or to {self.low_stock} or fewer go out until tomorrow (this one: "
                    f"{shown.get(sku, '?')} -> {quantity})"
                )
            else:
                send.append(sku)
                going[keys[sku]] += 1
        return day, send, held

    def sent(self, day: str, skus: Sequence[str], listing_of: Mapping[str, str] | None = None) -> None:
        """One revision per SKU sent, counted under its listing's key (a group's for its SKUs)."""
        self.counts.add(day, dict(Counter((listing_of or {}).get(sku, sku) for sku in skus)))

    def spent(self, day: str, skus: Sequence[str], listing_of: Mapping[str, str] | None = None) -> None:
        self.counts.at_least(day, {(listing_of or {}).get(sku, sku): self.limit for sku in skus})
