"""Square's inventory change log replayed: the change each event made to Square's count when it arrived.

Square's count is the last physical count plus the adjustments after it in ``occurred_at`` order, so
an event's ``delta`` is count-after minus count-before, the log of its (variation, location) replayed
(see :mod:`adapters.square_stock`). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from adapters.issues import ReadIssue
from adapters.square_values import JSON, later, parse_time, quantity, rfc3339_ms
from adapters.square_wire import change_issue
from bridge.models import StockEvent, StockEventKind

__all__ = [
    "OWN_REFERENCE_PREFIX",
    "Place",
    "by_place",
    "change_part",
    "history_needed",
    "just_after",
    "place",
    "readable",
    "replay",
    "square_count",
    "stock_event",
]

OWN_REFERENCE_PREFIX = "shopbridge:"
"""``reference_id`` prefix of the changes we write: replayed (they move the count), never emitted."""
CHANNEL = "square"
_RETURN_STATES = {"UNLINKED_RETURN", "SOLD", "RETURNED_BY_CUSTOMER"}


def change_part(change: JSON) -> JSON:
    part = (
        change.get("physical_count") if change.get("type") == "PHYSICAL_COUNT" else change.get("adjustment")
    )
    return part if isinstance(part, dict) else {}


def square_count(changes: Iterable[JSON]) -> Decimal:
    """Square's rule: the last IN_STOCK physical count (by ``occurred_at``) plus later adjustments."""
    ordered = sorted(
        changes,
        key=lambda c: (
            parse_time(change_part(c).get("occurred_at")) or datetime.min.replace(tzinfo=UTC),
            parse_time(change_part(c).get("created_at")) or datetime.min.replace(tzinfo=UTC),
        ),
    )
    qty = Decimal(0)
    for change in ordered:
        part = change_part(change)
        if change.get("type") == "PHYSICAL_COUNT":
            if part.get("state") == "IN_STOCK":
                qty = quantity(part.get("quantity"))
        elif change.get("type") == "ADJUSTMENT":
            if part.get("to_state") == "IN_STOCK":
                qty += quantity(part.get("quantity"))
            if part.get("from_state") == "IN_STOCK":
                qty -= quantity(part.get("quantity"))
    return qty


def readable(changes: Sequence[JSON], issues: list[ReadIssue]) -> list[JSON]:
    """The changes whose quantity can be read; each other one goes to ``issues``."""
    out: list[JSON] = []
    for change in changes:
        issue = change_issue(change, change_part(change))
        if issue is None:
            out.append(change)
        else:
            issues.append(issue)
    return out


def just_after(cursor: str) -> str:
    """``updated_before`` is exclusive: one millisecond after the cursor includes the cursor itself."""
    stamp = parse_time(cursor)
    if stamp is None:
        return cursor
    return rfc3339_ms(datetime.fromtimestamp(stamp.timestamp() + 0.001, tz=UTC))


def stock_event(change: JSON, part: JSON, delta: int) -> StockEvent:
    where = part.get("location_id")
    if change.get("type") == "PHYSICAL_COUNT":
        kind = StockEventKind.ADJUSTMENT
        reason = f"square count at {where}: {part.get('quantity')} ({delta:+d})"
    else:
        src, dst = part.get("from_state"), part.get("to_state")
        if src == "IN_STOCK" and dst == "SOLD":
            kind = StockEventKind.SALE
            reason = f"square sale at {where} sold {-delta}"
        elif dst == "IN_STOCK" and src in _RETURN_STATES:
            kind = StockEventKind.RETURN
            reason = f"square return at {where}: {delta:+d}"
        else:
            kind = StockEventKind.ADJUSTMENT
            reason = f"square adjustment {src}->{dst} at {where}: {delta:+d}"
    return StockEvent(
        source_id=f"square:change:{part.get('id')}",
        channel=CHANNEL,
        kind=kind,
        delta=delta,
        occurred_at=parse_time(part.get("occurred_at")) or datetime.now(tz=UTC),
        variant_id=str(part.get("catalog_object_id")),
        location_id=part.get("location_id"),
        reason=reason,
        order_id=str(part["transaction_id"]) if part.get("transaction_id") else None,
        received_at=parse_time(part.get("created_at")),
    )


Place = tuple[str, str]
"""``(variation id, location id)``: where a change moved stock, and one replay's scope."""


def place(change: JSON) -> Place:
    part = change_part(change)
    return str(part.get("catalog_object_id")), str(part.get("location_id"))


def by_place(changes: Iterable[JSON]) -> dict[Place, list[JSON]]:
    """``changes`` grouped by where they moved stock, in the order read."""
    grouped: dict[Place, list[JSON]] = {}
    for change in changes:
        grouped.setdefault(place(change), []).append(change)
    return grouped


def history_needed(new_by_place: Mapping[Place, Sequence[JSON]], cursor_time: datetime | None) -> set[Place]:
    """The places whose older changes can alter the new changes' deltas: those where a new change
    is a physical count, or an adjustment that occurred at or before the previous cursor. (Without
    a cursor everything was read.)"""
    need: set[Place] = set()
    if cursor_time is None:
        return need
    for key, changes in new_by_place.items():
        for change in changes:
            occurred = parse_time(change_part(change).get("occurred_at"))
            if change.get("type") == "PHYSICAL_COUNT" or (occurred is not None and occurred <= cursor_time):
                need.add(key)
                break
    return need


def replay(
    new_by_place: Mapping[Place, list[JSON]], history: Mapping[Place, Sequence[JSON]], cursor: str | None
) -> tuple[list[StockEvent], str | None]:
    """The events the new changes (``new_by_place``, sorted here in the order Square received
    them) make on top of the ``history`` ones, in time order, and the newest ``created_at`` read
    (else ``cursor``). Our own changes and those that move nothing are replayed, not returned."""
    events: list[StockEvent] = []
    newest = cursor
    for key, changes in new_by_place.items():
        received = list(history.get(key, []))
        changes.sort(
            key=lambda c: (
                change_part(c).get("created_at") or "",
                change_part(c).get("occurred_at") or "",
            )
        )
        count = square_count(received)
        for change in changes:
            part = change_part(change)
            # Recounted whole each time: a backdated count can land before earlier changes.
            received.append(change)
            before, count = count, square_count(received)
            delta = int(count - before)
            created = part.get("created_at")
            if created and later(str(created), newest):
                newest = str(created)
            if delta == 0 or str(part.get("reference_id") or "").startswith(OWN_REFERENCE_PREFIX):
                continue
            events.append(stock_event(change, part, delta))
    events.sort(key=lambda e: (e.occurred_at, e.source_id))
    return events, newest
