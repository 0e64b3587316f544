"""Current stock effects in, ledger moves out: only the change of what a source does to stock is recorded.

WooCommerce keeps, per order line, how many units it holds reduced (``_reduced_stock``), and changes it
on payment, status changes and restocking refunds.  Reading that as moves (a sale per line, a cancel,
a return per refund line) gets every path but the simplest wrong: a refund that did not restock, a
cancel after a partial restock, an order moved back to ``pending``.  So the adapter reads each line's
*current* effect (:class:`~bridge.models.Effect`) and :func:`effect_changes` turns it into the move
that brings what the ledger already holds for that line to it.  Reading the line again adds nothing,
whatever state it is read in and whatever was read before.

Ids are deterministic from the ledger: the first reduction of a line keeps the id older versions gave
its sale (``<key>``), a later one is ``<key>:sale:<n>``; a give-back is ``<key>:cancel`` (then
``<key>:cancel:<n>``), which :func:`bridge.ledger.place` puts back where ``<key>`` was taken from.
``<n>`` is how many entries the line had, so every change of a line gets a new id.

A count that seeded the SKU already holds what the line did before it: the first time a line is
seen, :func:`baseline` says how much of its effect the initial count included, and a zero move
``<key>:counted:<amount>`` records that, so later reads compare with it.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from bridge.ledger import LedgerEntry
from bridge.models import Effect, StockEvent, StockEventKind

__all__ = ["baseline", "effect_changes", "recorded_effect"]

COUNTED = ":counted:"
"""Infix of the zero move that records how much of a line's effect an initial count included."""


def baseline(effect: Effect, read_at: datetime, seeded_at: datetime | None) -> int:
    """How much of ``effect`` a count taken at ``seeded_at`` already included (``read_at``: when the
    source was last modified, so its effect is the current one since then).

    Not modified since the count: all of it.  Paid before the count: the units taken at payment
    (what ``payment_complete`` reduces) less those refunds restocked, as if every restock came before
    the count (one after it is then not given back: under-promise).  Not visible, and taken as not
    having happened: a restore and a new reduction on both sides of the count (over-promise; this
    needs the order changed just before and after a SKU's first count).  Otherwise nothing.
    """
    if seeded_at is None:
        return 0
    if read_at <= seeded_at:
        return effect.amount
    if effect.taken_at is not None and effect.taken_at <= seeded_at:
        return -effect.taken
    return 0


def _mine(key: str, source_id: str) -> bool:
    return source_id == key or source_id.startswith(key + ":")


def recorded_effect(effect: Effect, entries: Iterable[LedgerEntry]) -> tuple[int, list[str]]:
    """What the ledger holds for ``effect.key`` (its moves, its counted baseline and the legacy ids),
    and the ids of the line's own entries."""
    total = 0
    own: list[str] = []
    legacy = set(effect.legacy)
    for e in entries:
        if _mine(effect.key, e.source_id):
            own.append(e.source_id)
            head, sep, counted = e.source_id.partition(COUNTED)
            total += int(counted) if sep and head == effect.key else e.delta
        elif e.source_id in legacy:
            total += e.delta
    return total, own


def effect_changes(
    readings: Iterable[StockEvent],
    recorded: Iterable[LedgerEntry],
    *,
    initial_at: Mapping[str, datetime],
    skus: Mapping[tuple[str, str], str],
) -> list[StockEvent]:
    """The moves that bring the ledger's effect of each read source to its current one.

    ``readings`` are events carrying an :class:`Effect` (others are ignored; the latest per key wins:
    two reads of the same order in one sync); ``recorded`` the ledger entries of their SKUs;
    ``initial_at`` when each SKU was seeded; ``skus`` the linked variants' canonical SKUs. A reading
    whose variant is not linked comes out as the plain move of its whole effect (under the line's
    first id, as a sale was read before), for :func:`bridge.ledger.resolve_events` to report.
    """
    latest: dict[str, StockEvent] = {}
    for ev in readings:
        if ev.effect is None:
            continue
        key = ev.effect.key
        if key not in latest or ev.occurred_at >= latest[key].occurred_at:
            latest[key] = ev
    entries = list(recorded)
    out: list[StockEvent] = []
    linked_skus = set(skus.values())
    for _key, ev in sorted(latest.items()):
        sku = skus.get((ev.channel, ev.variant_id or "")) or (ev.sku if ev.sku in linked_skus else None)
        if sku is None:
            if ev.delta:  # its variant is not linked: passed on as a plain move, to be reported
                out.append(ev.model_copy(update={"effect": None}))
            continue
        out.extend(_changes(ev, [e for e in entries if e.sku == sku], initial_at.get(sku)))
    return out


def _changes(ev: StockEvent, entries: list[LedgerEntry], seeded_at: datetime | None) -> list[StockEvent]:
    effect = ev.effect
    assert effect is not None
    have, own = recorded_effect(effect, entries)
    out: list[StockEvent] = []
    if not own and not any(e.source_id in effect.legacy for e in entries):
        have = baseline(effect, ev.occurred_at, seeded_at)
        if have:
            when = min(t for t in (effect.taken_at, ev.occurred_at) if t is not None)
            counted = f"{effect.key}{COUNTED}{have}"
            out.append(_move(ev, counted, 0, when, f": {have:+d} in the initial count"))
            own.append(out[-1].source_id)
    change = effect.amount - have
    if not change:
        return out
    n = len(own)
    if change < 0:
        source = effect.key if effect.key not in own else f"{effect.key}:sale:{n}"
        when = ev.occurred_at
        if not own and effect.taken_at is not None and (seeded_at is None or effect.taken_at > seeded_at):
            when = effect.taken_at  # a line's first reduction happened when it was paid
        out.append(_move(ev, source, change, when, f" took {-change}"))
    else:
        source = f"{effect.key}:cancel" if f"{effect.key}:cancel" not in own else f"{effect.key}:cancel:{n}"
        out.append(_move(ev, source, change, ev.occurred_at, f" gave back {change}"))
    return out


def _move(ev: StockEvent, source_id: str, delta: int, when: datetime, why: str) -> StockEvent:
    kind = StockEventKind.SALE if delta <= 0 else StockEventKind.CANCEL
    return ev.model_copy(
        update={
            "source_id": source_id,
            "kind": kind,
            "delta": delta,
            "occurred_at": when,
            "reason": ev.reason + why,
            "effect": None,
        }
    )
