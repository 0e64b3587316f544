"""Each change the demo makes, from the channel's acknowledgement to the moment every channel shows
what the model expects: that interval is its propagation time, measured by polling the channels."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from bridge.demo.model import Model, Shows, differences

__all__ = ["Change", "Tracker"]


@dataclass
class Change:
    number: int
    label: str
    """What was done, e.g. "web sale: 2 x SB-00001 (order 27)"."""
    sku: str
    acked_at: float
    """time.monotonic() when the channel acknowledged the action."""
    settled_after: float | None = None
    """Seconds from acknowledgement until every channel agreed; None while pending (or never)."""
    gave_up: bool = False
    last_differences: list[str] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        return self.settled_after is None and not self.gave_up


class Tracker:
    def __init__(self, model: Model) -> None:
        self.model = model
        self.changes: list[Change] = []

    def add(self, label: str, sku: str, acked_at: float) -> Change:
        change = Change(len(self.changes) + 1, label, sku, acked_at)
        self.changes.append(change)
        return change

    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.pending]

    def busy_skus(self) -> set[str]:
        return {c.sku for c in self.pending()}

    def observe(self, shows: dict[str, Shows], at: float) -> list[Change]:
        """Settle every pending change whose SKU now shows, everywhere, what the model expects (which
        includes any later change to the same SKU); returns the changes settled by this reading."""
        settled = []
        for change in self.pending():
            missing = differences(self.model.expected(change.sku), shows.get(change.sku, {}))
            change.last_differences = missing
            if not missing:
                change.settled_after = max(0.0, at - change.acked_at)
                settled.append(change)
        return settled

    def give_up(self, at: float, settle_seconds: float) -> list[Change]:
        """Pending changes older than the settle bound: reported as not propagated."""
        late = [c for c in self.pending() if at - c.acked_at > settle_seconds]
        for change in late:
            change.gave_up = True
        return late

    def settled(self) -> list[Change]:
        return [c for c in self.changes if c.settled_after is not None]

    def failed(self) -> list[Change]:
        return [c for c in self.changes if c.gave_up]

    def worst(self) -> Change | None:
        done = self.settled()
        return max(done, key=lambda c: c.settled_after or 0.0) if done else None

    def median_seconds(self) -> float | None:
        times = [c.settled_after for c in self.settled() if c.settled_after is not None]
        return statistics.median(times) if times else None
