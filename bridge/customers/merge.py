"""Field-level merge: per field, the most recent change wins; an empty value never wins.

Each channel record a person is linked to is a *source*. For every source we remember each field's
value and when that value last changed, by the channel's own clock (:class:`Observed`). A record
read again only moves a field's change time when the field's value is different from what we saw
before: a channel that was edited in its name does not thereby re-date its old phone, so an edit
of the phone on the other channel survives (concurrent edits of different fields both survive).

The merged value of a field is the non-empty observation with the latest change time; ties are
broken by the source's name and then the value, so the result does not depend on the order the
sources were read in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
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


@dataclass(frozen=True)
class Merged:
    """A field's merged value and the source it came from."""

    value: Any
    source: Source
    changed_at: datetime


def observe(
    before: Mapping[str, Observed],
    values: Mapping[str, Any],
    changed_at: datetime,
    last_read: datetime | None = None,
) -> dict[str, Observed]:
    """A source's fields after reading ``values`` from it at ``changed_at``: a field keeps its
    change time when its value is what we saw before. A read older than the source's ``last_read``
    (an out-of-order delivery or an overlapping page) is stale and changes nothing."""
    if last_read is not None and changed_at < last_read:
        return dict(before)
    after: dict[str, Observed] = {}
    for name in FIELDS:
        value, seen = values.get(name), before.get(name)
        if seen is not None and seen.value == value:
            after[name] = seen
        else:
            after[name] = Observed(value, changed_at)
    return after


def _rank(source: Source, seen: Observed) -> tuple[datetime, Source, str]:
    return (seen.changed_at, source, json.dumps(seen.value, sort_keys=True))


def merged(sources: Mapping[Source, Mapping[str, Observed]]) -> dict[str, Merged]:
    """The person's fields: per field the most recent non-empty value over every source (fields no
    source fills are absent)."""
    out: dict[str, Merged] = {}
    for name in FIELDS:
        filled = [(source, fields[name]) for source, fields in sources.items() if _filled(fields.get(name))]
        if filled:
            source, seen = max(filled, key=lambda pair: _rank(*pair))
            out[name] = Merged(seen.value, source, seen.changed_at)
    return out


def _filled(seen: Observed | None) -> bool:
    return seen is not None and seen.value not in (None, "", {})
