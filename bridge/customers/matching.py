"""Which person a channel's customer record belongs to.

In order: the record's own link (its channel id, or an id the channel retired into it, as a Square
merge does); then the persons whose email is the record's normalised email; then, only when the
email finds nobody, those whose phone is the record's E.164 phone and who hold no other email (a
family's shared home phone does not make two people with their own addresses one). Names never
match anyone: two people can share a name. Exactly one candidate links the record; several are a
conflict for a human (:class:`Ambiguous`), never a guess; none makes a new person.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field

from bridge.customers.merge import Source

__all__ = ["NEW", "Ambiguous", "Index", "Linked", "Match", "NoMatch", "match"]

NEW = "new"
"""What a human keeps when a record several persons could be is a person of its own."""


@dataclass(frozen=True)
class Linked:
    person: str
    by: str  # link | retired | email | phone | resolved


@dataclass(frozen=True)
class Ambiguous:
    candidates: tuple[str, ...]
    by: str  # email | phone


@dataclass(frozen=True)
class NoMatch:
    pass


Match = Linked | Ambiguous | NoMatch


@dataclass(frozen=True)
class Index:
    """What the matcher looks persons up by (each maps to person ids)."""

    sources: Mapping[Source, str]
    emails: Mapping[str, Set[str]]
    phones: Mapping[str, Set[str]]
    pinned: Mapping[Source, str]
    """Records a human assigned to a person (``conflicts resolve``)."""
    person_emails: Mapping[str, Set[str]] = field(default_factory=dict)
    """Each person's emails (a phone never links a record to a person with another email)."""


def match(
    source: Source, email: str | None, phone: str | None, retired: tuple[Source, ...], index: Index
) -> Match:
    """The person ``source`` belongs to, by the rules of this module."""
    if source in index.sources:
        return Linked(index.sources[source], "link")
    if source in index.pinned:
        kept = index.pinned[source]
        return NoMatch() if kept == NEW else Linked(kept, "resolved")
    by_retired = {index.sources[old] for old in retired if old in index.sources}
    if by_retired:
        # The channel itself says these records are one person: the persons they were are folded
        # into the first (their records move to it), no human needed.
        return Linked(min(by_retired, key=_order), "retired")
    found = set(index.emails.get(email, ())) if email else set()
    if found:
        return _one(found, "email")
    found = set(index.phones.get(phone, ())) if phone else set()
    if email:
        found = {p for p in found if not index.person_emails.get(p)}
    return _one(found, "phone") if found else NoMatch()


def _order(person_id: str) -> tuple[int, str]:
    return (int(person_id), "") if person_id.isdigit() else (1 << 62, person_id)


def _one(candidates: Set[str], by: str) -> Match:
    if len(candidates) == 1:
        return Linked(next(iter(candidates)), by)
    return Ambiguous(tuple(sorted(candidates)), by)
