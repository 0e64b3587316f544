"""Field-level merge of a person's records (issue 13): most recent change wins by each channel's own
clock, an empty value never wins, edits of different fields on both sides both survive, and the
result does not depend on the order the records were read in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.customers.decide import Person, decide
from bridge.customers.merge import Observed, merged, observe
from bridge.models import ChannelCustomer

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def woo(**fields: object) -> ChannelCustomer:
    return ChannelCustomer.model_validate({"channel": "woocommerce", "channel_id": "7", **fields})


def square(**fields: object) -> ChannelCustomer:
    return ChannelCustomer.model_validate({"channel": "square", "channel_id": "SQ1", **fields})


def one_person(records: list[ChannelCustomer], remembered: dict[str, Person] | None = None) -> Person:
    outcome = decide(records, remembered or {}, pinned={}, default_country="GB")
    persons = [p for p in outcome.persons.values() if p.sources]
    assert len(persons) == 1, persons
    return persons[0]


def test_concurrent_edits_of_different_fields_on_both_sides_both_survive() -> None:
    base = dict(email="ann@example.com", phone="+447700900001", given_name="Ann", family_name="Lee")
    first = one_person([woo(**base, modified_at=at(0)), square(**base, modified_at=at(0))])
    # The shop edits the phone at 10:00, the till the family name at 10:05: Square's record, newer,
    # still carries the old phone, which must not beat the shop's newer phone.
    later = [
        woo(**{**base, "phone": "+447700900002"}, modified_at=at(60)),
        square(**{**base, "family_name": "Lee-Smith"}, modified_at=at(65)),
    ]
    person = one_person(later, {first.person_id: first})
    assert person.merged()["phone"] == "+447700900002"
    assert person.merged()["family_name"] == "Lee-Smith"


def test_an_empty_field_never_wipes_a_filled_one() -> None:
    person = one_person(
        [
            woo(email="ann@example.com", company="Lee & Co", modified_at=at(0)),
            square(email="ann@example.com", company="", note=None, modified_at=at(90)),
        ]
    )
    assert person.merged()["company"] == "Lee & Co"


def test_the_most_recent_change_wins_by_the_channels_own_time() -> None:
    person = one_person(
        [
            square(email="ann@example.com", given_name="Anne", modified_at=at(30)),
            woo(email="ann@example.com", given_name="Ann", modified_at=at(10)),
        ]
    )
    assert person.merged()["given_name"] == "Anne"


VALUES = st.one_of(st.none(), st.sampled_from(["a", "b", "c"]))
SOURCES = st.sampled_from([("woocommerce", "1"), ("square", "S1"), ("woocommerce", "guest:x@y.z")])
READ = st.tuples(SOURCES, st.integers(0, 50), st.dictionaries(st.sampled_from(["note", "company"]), VALUES))


def fold(reads: list[tuple[tuple[str, str], int, dict[str, object]]]) -> dict[str, object]:
    sources: dict[tuple[str, str], dict[str, Observed]] = {}
    last: dict[tuple[str, str], int] = {}
    for source, minute, values in reads:
        known = last.get(source)
        sources[source] = observe(sources.get(source, {}), values, at(minute), at(known) if known else None)
        last[source] = max(minute, known or 0)
    return {name: m.value for name, m in merged(sources).items()}


@settings(max_examples=200, deadline=None)
@given(st.lists(READ, min_size=1, max_size=6), st.randoms(use_true_random=False))
def test_the_merge_does_not_depend_on_the_order_channels_are_read_in(reads, rnd) -> None:  # type: ignore[no-untyped-def]
    # Reads of one channel keep their order (a channel's own history); channels interleave freely.
    shuffled = list(reads)
    rnd.shuffle(shuffled)
    by_source = {s: [r for r in reads if r[0] == s] for s, _, _ in reads}
    reordered = [by_source[r[0]].pop(0) for r in shuffled]
    assert fold(reordered) == fold(reads)


@settings(max_examples=200, deadline=None)
@given(st.lists(READ, min_size=1, max_size=6))
def test_an_empty_value_is_never_the_merged_one_while_any_channel_has_one(reads) -> None:  # type: ignore[no-untyped-def]
    result = fold(reads)
    # What each channel holds now: its most recent read (a read older than one already seen is stale).
    latest: dict[tuple[str, str], tuple[int, dict[str, object]]] = {}
    for source, minute, values in reads:
        if source not in latest or minute >= latest[source][0]:
            latest[source] = (minute, values)
    last = {(s, n): values.get(n) for s, (_, values) in latest.items() for n in ("note", "company")}
    for name in ("note", "company"):
        held = {v for (s, n), v in last.items() if n == name and v}
        if held:
            assert result.get(name) in held
        else:
            assert name not in result


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["a", "b"]), st.sampled_from(["x", "y"]), st.integers(1, 30), st.integers(1, 30))
def test_edits_of_different_fields_on_two_channels_both_survive(note, company, t_woo, t_square) -> None:  # type: ignore[no-untyped-def]
    start = {"note": "old", "company": "old"}
    reads = [
        (("woocommerce", "1"), 0, start),
        (("square", "S1"), 0, start),
        (("woocommerce", "1"), t_woo, {**start, "note": note}),
        (("square", "S1"), t_square, {**start, "company": company}),
    ]
    assert fold(reads) == {"note": note, "company": company}


# WooCommerce dates a change to the whole second (``date_modified_gmt``), Square to the millisecond:
# a WooCommerce edit at 12:00:00.700 reads as 12:00:00, before a Square change at 12:00:00.400.
NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def ms(n: int) -> datetime:
    return NOON + timedelta(milliseconds=n)


def read_in_turn(reads: list[tuple[ChannelCustomer, datetime]]) -> Person:
    """The person after each record is read by its own sync, the bridge's clock at ``read_at``."""
    remembered: dict[str, Person] = {}
    for record, read_at in reads:
        outcome = decide([record], remembered, pinned={}, default_country="GB", read_at=read_at)
        remembered.update({p.person_id: p for p in outcome.persons.values() if p.sources})
    (person,) = remembered.values()
    return person


def test_a_whole_second_woo_edit_in_the_same_second_as_a_square_change_wins() -> None:
    base = dict(email="ann@example.com", phone="+447700900001")
    person = read_in_turn(
        [
            (woo(**base, modified_at=at(0)), at(1)),
            (square(**base, modified_at=at(0)), at(1)),
            (
                square(**{**base, "phone": "+447700900002"}, modified_at=NOON + timedelta(milliseconds=400)),
                NOON,
            ),
            # Seen after Square's change was: in the same second, it is the later one.
            (woo(**{**base, "phone": "+447700900003"}, modified_at=NOON), ms(1000)),
        ]
    )
    assert person.merged()["phone"] == "+447700900003"


def test_a_square_change_in_the_second_of_a_woo_edit_seen_before_it_wins() -> None:
    base = dict(email="ann@example.com", phone="+447700900001")
    person = read_in_turn(
        [
            (woo(**base, modified_at=at(0)), at(1)),
            (square(**base, modified_at=at(0)), at(1)),
            (woo(**{**base, "phone": "+447700900003"}, modified_at=NOON), ms(100)),
            (
                square(**{**base, "phone": "+447700900002"}, modified_at=NOON + timedelta(milliseconds=800)),
                NOON + timedelta(seconds=1),
            ),
        ]
    )
    assert person.merged()["phone"] == "+447700900002"
