"""The plan: every change a sync would make, why, and with which idempotency key.

A plan is what ``shopbridge sync --dry-run`` shows and what the outbox stores.  Every change says
which channel, what it does, to which SKU, the value before and after, a human reason ("woocommerce
order 1042 sold 2") and the write operation to perform.  Its idempotency key is derived from the
business identity of the change (channel, action, target, target value, ledger position or the
channel's version), never from time: planning the same change twice yields the same key, so the
outbox and channels that take keys (Square) apply it once; a later, different change gets a new key.

The plan also carries the issues found on the way (ambiguous links, one-sided products) and the
result of the safety check: a plan marked unsafe is refused by the caller unless forced.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bridge.issues import ReadIssue
from bridge.models import content_hash
from bridge.projection import Projection
from bridge.writes import (
    AdjustStock,
    ArchiveProduct,
    CreateProduct,
    SetStock,
    UpdateProduct,
    UpdateVariant,
)

__all__ = ["Action", "Change", "Op", "Plan", "Safety", "SafetyFigures", "change_key"]

Action = Literal["create", "update", "archive", "set_stock", "adjust_stock", "conflict"]
Op = CreateProduct | UpdateProduct | UpdateVariant | ArchiveProduct | SetStock | AdjustStock

_ACTION_ORDER: dict[str, int] = {
    "create": 0,
    "update": 1,
    "archive": 2,
    "set_stock": 3,
    "adjust_stock": 4,
    "conflict": 5,
}


def change_key(channel: str, action: str, target: str, value: Any) -> str:
    """Deterministic idempotency key: a hash of channel, action, target id and target value/position."""
    return "sb-" + content_hash([channel, action, target, value])


@dataclass(frozen=True)
class Change:
    """One thing the sync would do on one channel.

    ``op`` is the write operation (None for a ``conflict``, which only reports); ``key`` its
    idempotency key (the op's ``key`` when there is an op).  ``fields`` are the field names touched;
    ``before``/``after`` the values (a dict of fields for catalogue changes, a count for stock).
    ``location`` is the canonical location of a stock change with locations.

    ``follows`` is the key of the ``create`` a change waits for: a write to an object that does not
    exist yet (a new Square variation's stock at each location), sent by the same sync once the
    create has given it an id. It has no ``op`` in this plan (the id is not known yet); the sync's
    next round plans and sends it for real.

    ``projection`` is, for a stock change, the number it writes with the parts it is made of
    (locations and their on-hand, buffer, floor): the reason says it in words, the JSON as fields.
    """

    channel: str
    action: Action
    sku: str | None
    reason: str
    key: str
    target_id: str | None = None
    location: str | None = None
    fields: tuple[str, ...] = ()
    before: Any = None
    after: Any = None
    op: Op | None = None
    follows: str | None = None
    projection: Projection | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (Decimal and datetimes as strings)."""
        out: dict[str, Any] = {
            "channel": self.channel,
            "action": self.action,
            "sku": self.sku,
            "reason": self.reason,
            "key": self.key,
            "target_id": self.target_id,
            "location": self.location,
            "fields": list(self.fields),
            "before": _jsonable(self.before),
            "after": _jsonable(self.after),
            "op": self.op.model_dump(mode="json") if self.op is not None else None,
            "follows": self.follows,
            "projection": self.projection.to_dict() if self.projection is not None else None,
        }
        return out

    def sort_key(self) -> tuple[str, int, str, str, str]:
        return (self.channel, _ACTION_ORDER[self.action], self.sku or "", self.location or "", self.key)


@dataclass(frozen=True)
class SafetyFigures:
    """What the safety limits are judged on. Plain counts, so that the figures of a plan made in
    chunks add up to those of the same plan made at once (see :meth:`__add__`)."""

    first_sync: bool = False
    skus: int = 0
    """SKUs (link groups) the plan looked at."""
    changed: int = 0
    """Of those, how many a write would change (plus products to create)."""
    stocked: int = 0
    """Channel stock counts above zero before the plan."""
    zeroed: int = 0
    """Of those, how many the plan would set to zero."""

    def __add__(self, other: SafetyFigures) -> SafetyFigures:
        return SafetyFigures(
            self.first_sync or other.first_sync,
            self.skus + other.skus,
            self.changed + other.changed,
            self.stocked + other.stocked,
            self.zeroed + other.zeroed,
        )


@dataclass(frozen=True)
class Safety:
    """Whether the plan is within the policy's limits; ``reasons`` explains each limit exceeded."""

    safe: bool = True
    reasons: tuple[str, ...] = ()
    figures: SafetyFigures = field(default_factory=SafetyFigures)

    @classmethod
    def judge(
        cls, figures: SafetyFigures, *, max_change_share: float, max_zeroed_share: float, min_items: int
    ) -> Safety:
        """The verdict on ``figures``: a first sync changing more than ``max_change_share`` of the
        SKUs, or any plan zeroing more than ``max_zeroed_share`` of the stocked counts, is unsafe
        (limits apply only above ``min_items``, so a tiny shop is never blocked)."""
        reasons: list[str] = []
        if figures.first_sync and figures.skus:
            share = figures.changed / figures.skus
            if share > max_change_share and figures.changed > min_items:
                reasons.append(
                    f"first sync would change {figures.changed} of {figures.skus} SKUs ({share:.0%}), "
                    f"more than max_change_share {max_change_share:.0%}"
                )
        if figures.stocked and figures.zeroed > min_items:
            share = figures.zeroed / figures.stocked
            if share > max_zeroed_share:
                reasons.append(
                    f"would set {figures.zeroed} of {figures.stocked} stocked items to zero ({share:.0%}), "
                    f"more than max_zeroed_share {max_zeroed_share:.0%}: check the ledger and counts"
                )
        return cls(not reasons, tuple(reasons), figures)


@dataclass(frozen=True)
class Plan:
    """The changes of one sync, sorted per channel, plus issues (warnings) and the safety verdict."""

    changes: tuple[Change, ...] = ()
    warnings: tuple[str, ...] = ()
    safety: Safety = field(default_factory=Safety)
    written_hashes: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """``(channel, sku)`` → content hash the channel holds once this plan's writes are applied: store
    as the link's last-written hash (echo suppression)."""
    agreed: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """SKU → the agreed catalogue fields after this plan (each field its owner's value): the store
    keeps them as the base the next plan tells an edit from an echo by."""
    skipped: tuple[ReadIssue, ...] = ()
    """Items a channel served that could not be read: skipped (each is also a warning)."""
    unresolved: tuple[Mapping[str, Any], ...] = ()
    """Stock events read that cannot be placed in the ledger yet (a sale of a variant not linked),
    each as :func:`bridge.unresolved.describe` says it: kept, and counted once they can be."""

    @classmethod
    def build(
        cls,
        changes: Iterable[Change],
        warnings: Iterable[str] = (),
        safety: Safety | None = None,
        *,
        written_hashes: Mapping[tuple[str, str], str] | None = None,
        agreed: Mapping[str, Mapping[str, Any]] | None = None,
        skipped: Iterable[ReadIssue] = (),
    ) -> Plan:
        """A plan with changes de-duplicated by key and sorted (channel, action, sku)."""
        unique = {c.key: c for c in changes}
        ordered = tuple(sorted(unique.values(), key=Change.sort_key))
        return cls(
            ordered,
            tuple(dict.fromkeys(warnings)),
            safety or Safety(),
            dict(written_hashes or {}),
            dict(agreed or {}),
            tuple({i.message: i for i in skipped}.values()),
        )

    @property
    def empty(self) -> bool:
        """True when nothing would be written or reported as a conflict."""
        return not self.changes

    @property
    def writes(self) -> list[Change]:
        """Every change that sends something: those with an op, and those that follow a create."""
        return [c for c in self.changes if c.op is not None or c.follows is not None]

    def ops(self, channel: str | None = None) -> list[Op]:
        """The write operations to perform (all channels, or one), in plan order."""
        return [c.op for c in self.changes if c.op is not None and (channel is None or c.channel == channel)]

    def by_channel(self) -> dict[str, list[Change]]:
        out: dict[str, list[Change]] = {}
        for c in self.changes:
            out.setdefault(c.channel, []).append(c)
        return out

    def to_json(self) -> dict[str, Any]:
        """One JSON object: ``changes`` (one entry per change), ``warnings``, ``safe`` and why not."""
        return {
            "changes": [c.to_dict() for c in self.changes],
            "warnings": list(self.warnings),
            "skipped": [i.to_dict() for i in self.skipped],
            "safe": self.safety.safe,
            "unsafe_reasons": list(self.safety.reasons),
            "unresolved": [dict(u) for u in self.unresolved],
        }

    def dumps(self) -> str:
        """:meth:`to_json` as a string."""
        return json.dumps(self.to_json(), indent=2, sort_keys=True)

    def render(self, *, forced: bool = False) -> str:
        """Text for ``--dry-run``: changes grouped per channel, then warnings and the safety verdict.

        ``forced``: the plan was applied under ``--force``, so an unsafe verdict says so instead of
        asking for ``--force`` (the limits it went past are still listed)."""
        lines: list[str] = []
        if self.empty:
            lines.append("In sync: nothing to change.")
        for channel, changes in self.by_channel().items():
            noun = "change" if len(changes) == 1 else "changes"
            lines.append(f"{channel}: {len(changes)} {noun}")
            for c in changes:
                lines.append(f"  {_describe(c)}")
        if self.warnings:
            lines.append("")
            lines.append(f"Warnings ({len(self.warnings)}):")
            lines.extend(f"  - {w}" for w in self.warnings)
        if self.unresolved:
            lines.append("")
            lines.append(f"Stock moves not in the ledger yet ({len(self.unresolved)}):")
            lines.extend(f"  - {u['summary']}" for u in self.unresolved)
        if not self.safety.safe:
            lines.append("")
            lines.append(
                "Safety limits exceeded, applied under --force:"
                if forced
                else "UNSAFE: this plan exceeds the safety limits (use --force to apply anyway):"
            )
            lines.extend(f"  - {r}" for r in self.safety.reasons)
        return "\n".join(lines)


def _describe(c: Change) -> str:
    where = f" @{c.location}" if c.location else ""
    what = c.sku or c.target_id or ""
    if c.action in ("set_stock", "adjust_stock"):
        delta = (
            f" ({c.after - c.before:+d})" if isinstance(c.before, int) and isinstance(c.after, int) else ""
        )
        value = f"{_short(c.before)} -> {_short(c.after)}{delta}"
    elif c.action in ("update", "conflict") and isinstance(c.before, dict) and isinstance(c.after, dict):
        value = ", ".join(f"{f}: {_short(c.before.get(f))} -> {_short(c.after.get(f))}" for f in c.fields)
    else:
        value = ""
    parts = [f"{c.action:<12} {what}{where}", value, f"[{c.reason}]" if c.reason else ""]
    return "  ".join(p for p in parts if p)


def _short(value: Any) -> str:
    text = "-" if value is None else str(_jsonable(value))
    return text if len(text) <= 40 else text[:37] + "..."


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)
