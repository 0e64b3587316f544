"""The customers stage end to end on a real store file (issue 13): two channels that keep customers
as Square and WooCommerce do (tests/customer_channels.py), the stage, the real relay, and the CLI
as a subprocess for what a user reads (``customer show``, ``conflicts``, ``conflicts resolve``)."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.base import TransientError
from bridge.config import CustomerSettings
from bridge.customer_sync import CustomerReport, CustomerSync
from bridge.logs import configure_logging
from bridge.models import ChannelOrder, Money, OrderItem
from bridge.progress import QuietProgress
from bridge.relay import Relay
from bridge.store import Store
from tests.conftest import RunCli
from tests.customer_channels import WOO_FIELDS, Clock, CustomerChannel

CONFIG = """
[store]
path = "shopbridge.db"

[customers]
default_country = "GB"

[channels.woocommerce]
url = "https://shop.example.com"
consumer_key = { value = "ck_test_key_123" }
consumer_secret = { value = "cs_test_secret_456" }
"""


@dataclass
class World:
    clock: Clock
    woo: CustomerChannel
    square: CustomerChannel
    db: Path
    config: Path
    run_cli: RunCli
    settings: CustomerSettings

    def sync(self, *, relay: bool = True) -> CustomerReport:
        with Store(self.db) as store:
            report = CustomerSync(store, self.channels(), self.settings).run()
            if relay:
                Relay(store, self.channels(), QuietProgress(), 12).send()
        return report

    def channels(self) -> dict[str, CustomerChannel]:
        return {"woocommerce": self.woo, "square": self.square}

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run_cli("-c", str(self.config), *args)

    def show(self, who: str) -> dict[str, Any]:
        shown = self.cli("customer", "show", who, "--json")
        assert shown.returncode == 0, shown.stdout + shown.stderr
        view: dict[str, Any] = json.loads(shown.stdout)
        return view

    def persons(self) -> int:
        with Store(self.db) as store:
            return int(store.db.execute("SELECT count(DISTINCT person_id) FROM person_links").fetchone()[0])


@pytest.fixture
def world(tmp_path: Path, run_cli: RunCli) -> Iterator[World]:
    clock = Clock()
    config = tmp_path / "shopbridge.toml"
    config.write_text(CONFIG)
    yield World(
        clock,
        CustomerChannel("woocommerce", clock, WOO_FIELDS),
        CustomerChannel("square", clock),
        tmp_path / "shopbridge.db",
        config,
        run_cli,
        CustomerSettings(default_country="GB"),
    )


def channel_ids(view: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["channel"], c["id"]) for c in view["channels"]}


def test_email_in_another_case_and_spacing_is_the_same_person(world: World) -> None:
    world.woo.put("7", email="  Ann.Lee@Example.COM ", given_name="Ann")
    world.square.put("SQ1", email="ann.lee@example.com", family_name="Lee")
    world.sync()
    assert world.persons() == 1
    view = world.show("ANN.LEE@example.com ")
    assert channel_ids(view) == {("woocommerce", "7"), ("square", "SQ1")}
    assert view["contact"]["email"]["value"] == "ann.lee@example.com"
    assert view["contact"]["family_name"] == {
        "value": "Lee",
        "from": {"channel": "square", "id": "SQ1"},
        "changed_at": view["contact"]["family_name"]["changed_at"],
    }
    # The merged name went to the channel that lacked it.
    assert world.woo.customers["7"].family_name == "Lee"
    assert world.square.customers["SQ1"].given_name == "Ann"


def test_phone_in_different_formats_is_the_same_person_and_found_by_any_format(world: World) -> None:
    world.woo.put("7", phone="07700 900123", given_name="Ann")
    world.square.put("SQ1", phone="+44 7700 900123")
    world.sync()
    assert world.persons() == 1
    view = world.show("(07700) 900-123")
    assert channel_ids(view) == {("woocommerce", "7"), ("square", "SQ1")}
    assert view["contact"]["phone"]["value"] == "+447700900123"


def test_a_shared_name_alone_never_merges_two_people(world: World) -> None:
    world.woo.put("7", given_name="Sam", family_name="Smith", email="sam1@example.com")
    world.square.put("SQ1", given_name="Sam", family_name="Smith", email="sam2@example.com")
    world.sync()
    assert world.persons() == 2


def test_an_ambiguous_match_is_a_conflict_not_a_merge_and_resolve_settles_it(world: World) -> None:
    world.woo.put("7", email="ann@example.com")
    world.woo.put("8", email="bob@example.com")
    world.sync()
    world.woo.put("7", phone="+447700900123")  # both add the shared home phone
    world.woo.put("8", phone="+447700900123")
    world.sync()
    world.square.put("SQ1", phone="07700 900123", given_name="Bob")  # the till knows only the phone
    world.sync()
    assert world.persons() == 2  # the Square record is linked to nobody yet
    listed = world.cli("conflicts", "--json")
    assert listed.returncode == 0, listed.stderr
    conflicts = json.loads(listed.stdout)["conflicts"]
    assert [(c["kind"], c["channel"]) for c in conflicts] == [("customer", "square")]
    bob = world.show("bob@example.com")["person"]
    assert sorted(conflicts[0]["choices"]["persons"]) == sorted(
        [world.show("ann@example.com")["person"], bob]
    )
    assert "SQ1" not in {cid for _, cid in channel_ids(world.show("bob@example.com"))}

    refused = world.cli("conflicts", "resolve", conflicts[0]["id"], "--keep", "999")
    assert refused.returncode == 2 and "keep one of" in refused.stderr
    settled = world.cli("conflicts", "resolve", conflicts[0]["id"], "--keep", bob)
    assert settled.returncode == 0, settled.stderr
    world.sync()  # the next sync applies it
    assert ("square", "SQ1") in channel_ids(world.show("bob@example.com"))
    assert ("square", "SQ1") not in channel_ids(world.show("ann@example.com"))
    assert json.loads(world.cli("conflicts", "--json").stdout)["conflicts"] == []
    assert world.woo.customers["8"].given_name == "Bob"


def test_concurrent_edits_of_different_fields_on_both_sides_both_survive(world: World) -> None:
    world.woo.put("7", email="ann@example.com", phone="+447700900001", family_name="Lee")
    world.square.put("SQ1", email="ann@example.com", phone="+447700900001", family_name="Lee")
    world.sync()
    world.woo.put("7", phone="+447700900002")  # the shop, first
    world.square.put("SQ1", family_name="Lee-Smith")  # the till, later: its record is newer
    world.sync()
    for held in (world.woo.customers["7"], world.square.customers["SQ1"]):
        assert (held.phone, held.family_name) == ("+447700900002", "Lee-Smith")


def test_an_empty_field_never_wipes_a_filled_one(world: World) -> None:
    world.woo.put("7", email="ann@example.com", company="Lee & Co")
    world.square.put("SQ1", email="ann@example.com")
    world.sync()
    world.square.put("SQ1", company="", note="prefers email")  # newer, but empty company
    world.sync()
    assert world.woo.customers["7"].company == "Lee & Co"
    assert world.square.customers["SQ1"].company == "Lee & Co"
    assert world.show("ann@example.com")["contact"]["company"]["value"] == "Lee & Co"


def test_rerunning_the_sync_changes_nothing(world: World) -> None:
    world.woo.put("7", email="ann@example.com", given_name="Ann", phone="07700 900123")
    world.square.put("SQ1", email="ann@example.com", family_name="Lee", note="VIP")
    first = world.sync()
    assert first.queued == 2
    again = world.sync()  # reads our own writes back: echoes, nothing to do
    assert again.queued == 0 and again.writes == []
    assert world.sync().queued == 0
    # WooCommerce has no note: never sent there, so never "missing" there either.
    assert world.woo.customers["7"].note is None


def test_a_guest_order_email_links_to_the_square_customer_and_shows_in_customer_show(world: World) -> None:
    world.square.put("SQ1", email="ann@example.com", given_name="Ann")
    world.square.orders.append(
        ChannelOrder(
            channel="square",
            order_id="O-till",
            placed_at=world.clock.now + timedelta(days=5),
            customer_id="SQ1",
            location_id="L1",
            location_name="High St shop",
            items=(OrderItem(name="Mug", quantity=Decimal(2)),),
            total=Money(amount=Decimal("18.00"), currency="GBP"),
        )
    )
    guest = "guest:ann@example.com"
    world.woo.put(guest, email="Ann@Example.com", guest=True, phone="07700 900123")
    world.woo.orders.append(
        ChannelOrder(
            channel="woocommerce",
            order_id="1001",
            placed_at=world.clock.now,
            customer_id=guest,
            email="ann@example.com",
            items=(OrderItem(name="Tee", quantity=Decimal(1)),),
            total=Money(amount=Decimal("25.00"), currency="GBP"),
        )
    )
    world.sync()
    view = world.show("ann@example.com")
    assert channel_ids(view) == {("square", "SQ1"), ("woocommerce", guest)}
    assert [(p["channel"], p["order_id"], p["location"]) for p in view["purchases"]] == [
        ("square", "O-till", "High St shop"),
        ("woocommerce", "1001", "web"),
    ]
    text = world.cli("customer", "show", "ann@example.com").stdout
    assert "2 x Mug" in text and "High St shop" in text and "1 x Tee" in text and "25.00 GBP" in text
    # A guest exists only on orders: nothing is written to it.
    assert world.woo.customers[guest].version == "1"


def test_a_square_merge_remaps_to_the_new_profile_without_a_duplicate(world: World) -> None:
    world.woo.put("7", email="ann@example.com")
    world.square.put("SQ1", email="ann@example.com")
    world.square.put("SQ2", phone="+447700900123")
    world.sync()
    assert world.persons() == 2
    world.square.merge(["SQ1", "SQ2"], "SQ3")
    world.sync()
    assert world.persons() == 1
    view = world.show("ann@example.com")
    assert channel_ids(view) == {("woocommerce", "7"), ("square", "SQ3")}
    assert sorted(next(c for c in view["channels"] if c["id"] == "SQ3")["retired_ids"]) == ["SQ1", "SQ2"]
    assert world.show("SQ1")["person"] == view["person"]  # an old id still finds the person
    with Store(world.db) as store:  # the merge's deletions were the merge, not erasures
        assert (
            store.db.execute("SELECT count(*) FROM audit WHERE action = 'customer_erased'").fetchone()[0] == 0
        )


def test_a_lost_create_answer_creates_nothing_twice(world: World) -> None:
    world.settings = CustomerSettings(default_country="GB", create_missing=True)
    world.square.put("SQ1", email="ann@example.com", given_name="Ann")
    world.woo.lose_next_answer = True
    world.sync()  # the create reached WooCommerce, its answer did not reach us
    assert len(world.woo.customers) == 1
    world.sync()
    with Store(world.db) as store:
        Relay(store, world.channels(), QuietProgress(), 12).send()
        store.db.execute("UPDATE outbox SET next_attempt_at = NULL WHERE done_at IS NULL")
        Relay(store, world.channels(), QuietProgress(), 12).send()
    world.sync()
    assert len(world.woo.customers) == 1
    assert world.persons() == 1
    assert len(channel_ids(world.show("ann@example.com"))) == 2


def test_an_erasure_on_one_channel_removes_its_data_and_audits_without_it(world: World) -> None:
    world.woo.put("7", email="ann@example.com", company="Lee & Co")
    world.square.put("SQ1", email="ann@example.com", phone="+447700900123")
    world.sync()
    world.woo.delete("7")
    world.sync()
    with Store(world.db) as store:
        left = store.db.execute(
            "SELECT count(*) FROM customer_fields WHERE channel = 'woocommerce'"
        ).fetchone()
        audit = store.db.execute("SELECT key, detail FROM audit WHERE action = 'customer_erased'").fetchall()
    assert left[0] == 0
    assert [row[0] for row in audit] == ["woocommerce:7"]
    assert "ann@" not in audit[0][1] and "Lee" not in audit[0][1]
    view = world.show("ann@example.com")
    assert channel_ids(view) == {("square", "SQ1")}
    assert "7" not in world.woo.customers  # and nothing was deleted or re-created elsewhere
    assert "SQ1" in world.square.customers


def test_the_store_file_is_private(world: World) -> None:
    world.square.put("SQ1", email="ann@example.com")
    world.sync()
    assert stat.S_IMODE(os.stat(world.db).st_mode) == 0o600


def test_no_email_or_phone_in_the_logs_of_a_whole_run(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("debug", "json")
    try:
        world.woo.put("7", email="ann@example.com", phone="07700 900123", given_name="Ann")
        world.square.put("SQ1", email="ann@example.com", phone="+447700900123")
        world.sync()
        world.square.put("SQ1", family_name="Lee")
        world.sync()
    finally:
        logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert "customers synced" in err
    for personal in ("ann@example.com", "7700 900123", "447700900123", "Lee"):
        assert personal not in err


def test_a_dry_run_shows_the_customer_writes_and_changes_nothing(world: World) -> None:
    world.woo.put("7", email="ann@example.com", given_name="Ann")
    world.square.put("SQ1", email="ann@example.com", family_name="Lee")
    with Store(world.db) as store:
        shown = CustomerSync(store, world.channels(), world.settings).run(dry_run=True)
        recorded = store.db.execute(
            "SELECT (SELECT count(*) FROM people), (SELECT count(*) FROM outbox)"
        ).fetchone()
        cursor = store.get_cursor("square", "customers")
    assert sorted(shown.writes) == [
        ("square", "update_customer", "SQ1"),
        ("woocommerce", "update_customer", "7"),
    ]
    assert tuple(recorded) == (0, 0) and cursor is None
    assert (world.woo.customers["7"].version, world.square.customers["SQ1"].version) == ("1", "1")


def test_a_channel_whose_customers_cannot_be_read_waits_and_the_other_goes_on(world: World) -> None:
    world.woo.put("7", email="ann@example.com")
    world.square.put("SQ1", email="bob@example.com")

    def refuse(cursor: str | None = None) -> Any:
        raise TransientError("503 from the shop")

    world.woo.read_customers = refuse  # type: ignore[method-assign]
    report = world.sync()
    assert report.issues == ["woocommerce: customers not read: 503 from the shop"]
    assert world.show("bob@example.com")["channels"] == [
        {"channel": "square", "id": "SQ1", "guest": False, "retired_ids": []}
    ]
    with Store(world.db) as store:
        assert store.get_cursor("woocommerce", "customers") is None  # read again next time
