"""The demo's verdict: how many changes, how long the slowest took, whether every channel agrees,
and whether anything kept being written once everything agreed (an echo loop)."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.demo.model import Model, differences
from bridge.demo.observe import Reading
from bridge.demo.tracker import Tracker

__all__ = ["Verdict", "echoes", "verdict"]


@dataclass(frozen=True)
class Verdict:
    lines: list[str]
    ok: bool


def echoes(model: Model, before: Reading, after: Reading) -> list[str]:
    """What was written again between two readings taken while nobody acted, on the SKUs that
    already showed everywhere what they should (a late write to a SKU still behind is no echo)."""
    agreed = [sku for sku in model.truths if not differences(model.expected(sku), before.shows.get(sku, {}))]
    return [
        f"{sku}: {column} was written again ({stamp} -> {after.stamps[sku].get(column)})"
        for sku in agreed
        for column, stamp in before.stamps.get(sku, {}).items()
        if after.stamps.get(sku, {}).get(column) != stamp
    ]


def verdict(tracker: Tracker, final: Reading, written_again: list[str], quiet_seconds: float) -> Verdict:
    model: Model = tracker.model
    settled, failed = tracker.settled(), tracker.failed()
    head = f"Summary: {len(tracker.changes)} changes, {len(settled)} propagated to every channel"
    lines = [head + (f", {len(failed)} NOT propagated" if failed else "")]
    worst, median = tracker.worst(), tracker.median_seconds()
    if worst is not None and worst.settled_after is not None and median is not None:
        lines.append(
            f"Worst propagation: {worst.settled_after:.2f} s (#{worst.number} {worst.label}); "
            f"median {median:.2f} s"
        )
    for change in failed:
        lines.append(f"NOT propagated: #{change.number} {change.label}: {'; '.join(change.last_differences)}")
    apart = {sku: differences(model.expected(sku), final.shows.get(sku, {})) for sku in model.truths}
    for sku, diffs in apart.items():
        if diffs:
            lines.append(f"DISAGREE {sku}: {'; '.join(diffs)}")
    if not any(apart.values()):
        lines.append(
            f"Every channel agrees: {', '.join(model.stock_columns)} show the expected stock, and both "
            f"channels the owner's price, for all {len(model.truths)} SKUs."
        )
    lines += [f"ECHO {line}" for line in written_again]
    if not written_again:
        lines.append(f"No echo: nothing that agreed was written again in the {quiet_seconds:.0f} s after.")
    return Verdict(lines, ok=not failed and not any(apart.values()) and not written_again)
