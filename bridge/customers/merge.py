"""Field-level merge: per field, the most recent change wins; an empty value never wins.

Each channel record a person is linked to is a *source*. For every source we remember each field's
value and when that value last changed, by the channel's own clock (:class:`Observed`). A record
read again only moves a field's change time when the field's value is different from what we saw
before: a channel that was edited in its name does not thereby re-date its old phone, so an edit
of the phone on the other channel survives (concurrent edits of different fields both survive).

The merged value of a field is the non-empty observation with the latest change time; ties are
broken by the source's name and then the value, so the result does not depend on the order the
sources were read in.

Channels date changes at different precisions: WooCommerce to the whole second
(``date_modified_gmt``), Square to the millisecond. A WooCommerce edit at 12:00:00.700 reads as
12:00:00, before a Square change at 12:00:00.400 that it followed. Within one second holding a
whole-second time, the channels' clocks cannot order the changes, so the bridge's own can: each
value remembers when the bridge first saw it (``seen_at``), and there the value seen later wins
(a value first seen after the other was already known is the later change).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bridge.customers.fields import FIELDS

__all__ = ["Merged", "Observed", "Source", "merged", "observe"]

Source = tuple[str, str]
"""A channel's record: ``(channel, channel id)``."""


@dataclass(frozen=True)
class Observed:
    """A field's value on one source and when the channel last changed it."""

    value: Any
    changed_at: datetime
    seen_at: datetime | None = None
    """When the bridge first read this value (``None``: before the bridge kept it)."""


@dataclass(frozen=True)
class Merged:
    """A field's merged value and the source it came from."""

    value: Any
    source: Source
    changed_at: datetime
    seen_at: datetime | None = None


def observe(
    before: Mapping[str, Observed],
    values: Mapping[str, Any],
    changed_at: datetime,
    last_read: datetime | None = None,
    seen_at: datetime | None = None,
) -> dict[str, Observed]:
    """A source's fields after reading ``values`` from it at ``changed_at`` (the bridge reading it
    at ``seen_at``): a field keeps its change time when its value is what we saw before. A read
    older than the source's ``last_read`` (an out-of-order delivery or an overlapping page) is
    stale and changes nothing."""
    if last_read is not None and changed_at < last_read:
        return dict(before)
    after: dict[str, Observed] = {}
    for name in FIELDS:
        value, seen = values.get(name), before.get(name)
        if seen is not None and seen.value == value:
            after[name] = seen
        else:
            after[name] = Observed(value, changed_at, seen_at)
    return after


_Rank = tuple[datetime, datetime, datetime, Source, str]
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def _second(when: datetime) -> datetime:
    return when.replace(microsecond=0)


def _ranked(filled: list[tuple[Source, Observed]]) -> list[tuple[_Rank, Source, Observed]]:
    """Each observation's rank: its change time, except within a second that holds a whole-second
    time (a channel dating to the second) and another observation, where the bridge's first sight
    of the value orders them. The rank is per second, so the order is total (transitive)."""
    per_second: dict[datetime, int] = {}
    whole: set[datetime] = set()
    for _, seen in filled:
        per_second[_second(seen.changed_at)] = per_second.get(_second(seen.changed_at), 0) + 1
        if seen.changed_at.microsecond == 0:
            whole.add(_second(seen.changed_at))
    out: list[tuple[_Rank, Source, Observed]] = []
    for source, seen in filled:
        second = _second(seen.changed_at)
        by_sight = second in whole and per_second[second] > 1
        first = (seen.seen_at or _NEVER) if by_sight else seen.changed_at
        value = json.dumps(seen.value, sort_keys=True)
        out.append(((second, first, seen.changed_at, source, value), source, seen))
    return out


def merged(sources: Mapping[Source, Mapping[str, Observed]]) -> dict[str, Merged]:
    """The person's fields: per field the most recent non-empty value over every source (fields no
    source fills are absent)."""
    out: dict[str, Merged] = {}
    for name in FIELDS:
        filled = [(source, fields[name]) for source, fields in sources.items() if _filled(fields.get(name))]
        if filled:
            _, source, seen = max(_ranked(filled), key=lambda ranked: ranked[0])
            out[name] = Merged(seen.value, source, seen.changed_at, seen.seen_at)
    return out


def _filled(seen: Observed | None) -> bool:
    return seen is not None and seen.value not in (None, "", {})
