"""The customers' decisions are pure (issue 13): plain data in, plain data out, no store, no clock,
no adapter; and what they decide, record by record."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from bridge.customers.decide import Person, decide
from bridge.customers.writes import create_key, plan_writes
from bridge.models import ChannelCustomer

PURE = [
    "bridge.customers",
    "bridge.customers.fields",
    "bridge.customers.merge",
    "bridge.customers.matching",
    "bridge.customers.decide",
    "bridge.customers.writes",
]
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def rec(channel: str, cid: str, minute: int = 0, **fields: object) -> ChannelCustomer:
    return ChannelCustomer.model_validate(
        {"channel": channel, "channel_id": cid, "modified_at": T0 + timedelta(minutes=minute), **fields}
    )


def test_the_customer_modules_load_no_adapter_no_store_and_no_http() -> None:
    probe = (
        "import importlib, sys\n"
        f"for name in {PURE!r}:\n"
        "    importlib.import_module(name)\n"
        "banned = ('adapters', 'tenacity', 'httpx', 'requests', 'sqlite3', 'sqlite_utils')\n"
        "found = [m for m in sys.modules if m.split('.')[0] in banned or m.startswith('bridge.store')]\n"
        "print(' '.join(sorted(found)))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == []


def person(person_id: str, *records: ChannelCustomer) -> Person:
    """A person as the store would hand it back, made from its records."""
    made = decide(records, {}, pinned={}, default_country="GB").persons["new:0"]
    return Person(person_id, made.sources)


def test_several_candidates_are_a_conflict_and_nothing_is_merged() -> None:
    known = {
        "1": person("1", rec("woocommerce", "1", email="a@x.io", phone="+447700900123")),
        "2": person("2", rec("woocommerce", "2", email="b@x.io", phone="+447700900123")),
    }
    till = rec("square", "S1", 5, phone="07700 900123", given_name="Bo")
    outcome = decide([till], known, pinned={}, default_country="GB")
    assert outcome.persons == {}
    assert [(c.source, c.by, c.candidates) for c in outcome.conflicts] == [
        (("square", "S1"), "phone", ("1", "2"))
    ]
    kept = decide([till], known, pinned={("square", "S1"): "new"}, default_country="GB")
    assert list(kept.persons) == ["new:0"] and kept.conflicts == []
    linked = decide([till], known, pinned={("square", "S1"): "2"}, default_country="GB")
    assert set(linked.persons["2"].sources) == {("woocommerce", "2"), ("square", "S1")}


def test_a_name_alone_links_nobody() -> None:
    outcome = decide(
        [rec("woocommerce", "1", given_name="Sam"), rec("square", "S1", given_name="Sam")],
        {},
        pinned={},
        default_country="GB",
    )
    assert len(outcome.persons) == 2


def test_a_deleted_record_is_an_erasure_but_a_merged_one_is_not() -> None:
    made = decide(
        [
            rec("square", "S1", email="a@x.io"),
            rec("square", "S2", email="a@x.io"),
            rec("woocommerce", "7", email="a@x.io"),
        ],
        {},
        pinned={},
        default_country="GB",
    )
    one = made.persons["new:0"]
    merged = rec("square", "S3", 10, email="a@x.io", merged_from=("S1",))
    after = decide(
        [merged, rec("square", "S1", 11, deleted=True), rec("woocommerce", "7", 12, deleted=True)],
        {"1": Person("1", one.sources)},
        pinned={},
        default_country="GB",
    )
    assert after.erased == [("1", ("woocommerce", "7"))]
    kept = after.persons["1"]
    assert set(kept.sources) == {("square", "S2"), ("square", "S3")}
    assert kept.sources[("square", "S3")].retired == ("S1",)


def test_writes_carry_keys_from_the_person_and_never_consent() -> None:
    made = decide(
        [rec("square", "S1", email="a@x.io", given_name="Ann", email_unsubscribed=True)],
        {},
        pinned={},
        default_country="GB",
    )
    ann = Person("12", made.persons["new:0"].sources)
    writable = {
        "square": frozenset({"email", "given_name"}),
        "woocommerce": frozenset({"email", "given_name"}),
    }
    assert plan_writes(ann, writable, create_missing=False) == []
    ((channel, op),) = plan_writes(ann, writable, create_missing=True)
    assert channel == "woocommerce" and op.key == create_key("12", "woocommerce") == "customer:12:woocommerce"
    assert plan_writes(ann, writable, create_missing=True)[0][1] == op  # planned again: the same write
    assert op.customer.email_unsubscribed is None  # consent (or its absence) is never sent
    assert ann.opted_out


def test_a_shared_phone_never_links_a_record_to_a_person_with_another_email() -> None:
    known = {"1": person("1", rec("woocommerce", "1", email="ann@x.io", phone="+447700900123"))}
    sibling = rec("woocommerce", "2", 5, email="bob@x.io", phone="07700 900123")
    till = rec("square", "S1", 6, phone="+44 7700 900123")
    outcome = decide([sibling], known, pinned={}, default_country="GB")
    assert outcome.linked_by[("woocommerce", "2")] == "new"
    outcome = decide([till], known, pinned={}, default_country="GB")
    assert outcome.linked_by[("square", "S1")] == "phone"  # no email of its own: the phone links it


def test_a_deletion_archives_the_person_only_when_deletions_propagate() -> None:
    known = {
        "1": person("1", rec("woocommerce", "1", email="ann@x.io"), rec("square", "S1", email="ann@x.io"))
    }
    gone = ChannelCustomer(channel="square", channel_id="S1", deleted=True)
    kept = decide([gone], known, pinned={}, default_country="GB")
    assert kept.erased == [("1", ("square", "S1"))] and kept.archived == []
    assert not kept.persons["1"].archived
    archived = decide([gone], known, pinned={}, default_country="GB", archive_on_erasure=True)
    assert archived.archived == ["1"] and archived.persons["1"].archived
    assert (
        plan_writes(archived.persons["1"], {"woocommerce": frozenset({"email"})}, create_missing=True) == []
    )
