"""One chunk of customer records read from the channels, against what the store remembers.

:func:`decide` links each record to its person (:mod:`bridge.customers.matching`), folds its
fields into the person (:mod:`bridge.customers.merge`), and says what the store should keep: the
persons changed (new ones under a provisional ``new:<n>`` id the store replaces), the records that
match several persons (conflicts for a human, not merged), and the records a channel erased.

A Square merge retires ids into a new profile: the profile's ``merged_from`` ids are moved onto
its link as retired ids (a later read of an old id finds the same person: remapped, never
duplicated), and the deletion of a retired id is the merge, not an erasure. Any other deletion is
an erasure: that channel's record and everything we kept from it are forgotten. With
``archive_on_erasure`` (``[customers] propagate_deletions``) the person's other records are
archived too: kept, but never written to again (nothing is ever deleted on a channel).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bridge.customers.fields import changed_at, field_values, opted_out
from bridge.customers.matching import Ambiguous, Index, Linked, match
from bridge.customers.merge import Observed, Source, merged, observe
from bridge.models import ChannelCustomer

__all__ = ["CustomerConflict", "CustomerOutcome", "Person", "SourceState", "decide"]


@dataclass(frozen=True)
class SourceState:
    """One channel record of a person: its version, its fields as last read, the ids retired into it."""

    fields: Mapping[str, Observed]
    version: str | None = None
    guest: bool = False
    opted_out: bool = False
    retired: tuple[str, ...] = ()
    modified_at: datetime | None = None
    """The channel's modification time of the record as last read (an older read is stale)."""


@dataclass(frozen=True)
class Person:
    person_id: str
    sources: Mapping[Source, SourceState]
    archived: bool = False
    """A channel deleted one of its records and deletions propagate: no write is planned for it."""

    @property
    def opted_out(self) -> bool:
        """Any channel's opt-out stands for the person (consent is never granted by the sync)."""
        return any(state.opted_out for state in self.sources.values())

    def merged(self) -> dict[str, object]:
        return {name: m.value for name, m in merged(self.fields()).items()}

    def fields(self) -> dict[Source, Mapping[str, Observed]]:
        return {source: state.fields for source, state in self.sources.items()}


@dataclass(frozen=True)
class CustomerConflict:
    """A record several persons could be: kept for a human (``shopbridge conflicts resolve``)."""

    source: Source
    candidates: tuple[str, ...]
    by: str
    record: ChannelCustomer


@dataclass
class CustomerOutcome:
    persons: dict[str, Person] = field(default_factory=dict)
    conflicts: list[CustomerConflict] = field(default_factory=list)
    erased: list[tuple[str, Source]] = field(default_factory=list)  # (person id, source)
    archived: list[str] = field(default_factory=list)  # persons archived by an erasure
    linked_by: dict[Source, str] = field(default_factory=dict)  # how each record was linked


def decide(
    records: Iterable[ChannelCustomer],
    remembered: Mapping[str, Person],
    *,
    pinned: Mapping[Source, str],
    default_country: str,
    archive_on_erasure: bool = False,
    read_at: datetime | None = None,
) -> CustomerOutcome:
    """What the ``records`` change, given the persons the store ``remembered`` for them (every
    person whose link, email or phone any record carries) and the records a human ``pinned``.
    ``read_at``: the bridge's time of the read (data, not a clock here), the order of values a
    channel dated only to the second (:mod:`bridge.customers.merge`)."""
    book = _Book(dict(remembered), pinned, default_country, archive_on_erasure, read_at)
    for record in records:
        book.read(record)
    return book.outcome


@dataclass
class _Book:
    persons: dict[str, Person]
    pinned: Mapping[Source, str]
    default_country: str
    archive_on_erasure: bool = False
    read_at: datetime | None = None
    outcome: CustomerOutcome = field(default_factory=CustomerOutcome)

    def index(self) -> Index:
        sources: dict[Source, str] = {}
        emails: dict[str, set[str]] = {}
        phones: dict[str, set[str]] = {}
        for person in self.persons.values():
            for (channel, channel_id), state in person.sources.items():
                sources[(channel, channel_id)] = person.person_id
                sources.update({(channel, old): person.person_id for old in state.retired})
                for name, table in (("email", emails), ("phone", phones)):
                    seen = state.fields.get(name)
                    if seen is not None and seen.value:
                        table.setdefault(seen.value, set()).add(person.person_id)
        person_emails: dict[str, set[str]] = {}
        for email, persons in emails.items():
            for person_id in persons:
                person_emails.setdefault(person_id, set()).add(email)
        return Index(sources, emails, phones, self.pinned, person_emails)

    def read(self, record: ChannelCustomer) -> None:
        source = (record.channel, record.channel_id)
        if record.deleted:
            self._erase(source)
            return
        values = field_values(record, self.default_country)
        retired = tuple((record.channel, old) for old in record.merged_from)
        found = match(source, values["email"], values["phone"], retired, self.index())
        if isinstance(found, Ambiguous):
            self.outcome.conflicts.append(CustomerConflict(source, found.candidates, found.by, record))
            return
        if isinstance(found, Linked):
            person_id = found.person
            self.outcome.linked_by[source] = found.by
        else:
            person_id = f"new:{sum(1 for p in self.persons if p.startswith('new:'))}"
            self.outcome.linked_by[source] = "new"
        self._fold(person_id, source, record, values, retired)

    def _fold(
        self,
        person_id: str,
        source: Source,
        record: ChannelCustomer,
        values: Mapping[str, object],
        retired: tuple[Source, ...],
    ) -> None:
        person = self.persons.get(person_id, Person(person_id, {}))
        sources = dict(person.sources)
        before = sources.get(source)
        when = changed_at(record)
        last = before.modified_at if before else None
        if last is not None and when < last:
            return  # a stale read (overlapping page, late delivery): what we hold is newer
        old_ids = set(before.retired if before else ())
        for old in retired:
            old_ids |= self._detach(old, into=person_id, sources=sources)
        state = SourceState(
            fields=observe(before.fields if before else {}, values, when, last, self.read_at),
            modified_at=when,
            version=record.version,
            guest=record.guest,
            opted_out=opted_out(record),
            retired=tuple(sorted(old_ids)),
        )
        sources[source] = state
        self._keep(Person(person_id, sources, person.archived))

    def _detach(self, old: Source, *, into: str, sources: dict[Source, SourceState]) -> set[str]:
        """Take the retired record ``old`` (and what was retired into it) off whichever person had
        it; that person's other records join ``into`` (the channel says they are one person)."""
        moved = {old[1]}
        if old in sources:
            moved |= set(sources.pop(old).retired)
            return moved
        for person in list(self.persons.values()):
            if person.person_id != into and old in person.sources:
                rest = dict(person.sources)
                moved |= set(rest.pop(old).retired)
                sources.update(rest)
                self._keep(Person(person.person_id, {}))
        return moved

    def _erase(self, source: Source) -> None:
        for person in list(self.persons.values()):
            if source in person.sources:
                rest = dict(person.sources)
                del rest[source]
                archive = person.archived or (self.archive_on_erasure and bool(rest))
                self._keep(Person(person.person_id, rest, archive))
                self.outcome.erased.append((person.person_id, source))
                if archive and not person.archived:
                    self.outcome.archived.append(person.person_id)
                return

    def _keep(self, person: Person) -> None:
        self.persons[person.person_id] = person
        self.outcome.persons[person.person_id] = person
