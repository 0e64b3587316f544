"""Customers end to end, as a user meets them (issue 13): both emulators on loopback, the real
adapters, a real store file, and the CLI as a subprocess for everything a user types
(``shopbridge sync``, ``customer show``, ``conflicts``, ``conflicts resolve``).

Changes on a channel are made the way they happen there: a sign-up or a profile added at the till
(the emulators' controls), an edit through the channel's own API (wp-admin, the Dashboard), a
checkout. Nothing here calls the customers stage directly: each sync is ``shopbridge sync``.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bridge.store import Store
from sandbox.http import FaultRule
from sandbox.launch import Sandbox
from tests.conftest import RunCli
from tests.square_helpers import call
from tests.woo_helpers import woo_rest as woo_call

PERSONAL = ("ann@example.com", "bob@example.com", "7700 900123", "7700900123", "Lee & Co", "Lee-Smith")
"""What must never appear in a log line (emails, phones, company, names changed by a test)."""


@dataclass
class Shop:
    """The sandbox's two channels, a config file for them and the CLI."""

    box: Sandbox
    tmp: Path
    run_cli: RunCli
    settings: dict[str, str | int | float] = field(default_factory=dict)
    logs: list[str] = field(default_factory=list)
    synced: bool = False

    @property
    def config(self) -> Path:
        path = self.tmp / "shopbridge.toml"
        customers: dict[str, str | int | float] = {"default_country": "GB", **self.settings}
        self.box.write_config(path, extra={"customers": customers, "logging": {"level": "debug"}})
        return path

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = self.run_cli("-c", str(self.config), *args)
        if args[:2] != ("customer", "show"):  # the one command meant to print contact details
            self.logs.append(done.stdout + done.stderr)
        return done

    def sync(self, *args: str, ok: bool = True) -> str:
        """``shopbridge sync`` (the first one forced, as a user does after reviewing its dry run)."""
        done = self.cli("sync", *args, *(() if self.synced else ("--force",)))
        assert done.returncode == 0 or not ok, done.stdout + done.stderr
        self.synced = True
        return done.stdout + done.stderr

    def show(self, who: str) -> dict[str, Any]:
        shown = self.cli("customer", "show", who, "--json")
        assert shown.returncode == 0, shown.stdout + shown.stderr
        view: dict[str, Any] = json.loads(shown.stdout)
        return view

    def conflicts(self) -> list[dict[str, Any]]:
        listed = self.cli("conflicts", "--json")
        assert listed.returncode == 0, listed.stdout + listed.stderr
        found: list[dict[str, Any]] = json.loads(listed.stdout)["conflicts"]
        return found

    def persons(self) -> int:
        with Store(self.tmp / "shopbridge.db") as store:
            return int(store.db.execute("SELECT count(DISTINCT person_id) FROM person_links").fetchone()[0])

    # -- the channels, as their users change them ------------------------------------------

    def woo(self, method: str, path: str, body: Any = None) -> Any:
        """wp-admin (or another plugin) through WooCommerce's REST API."""
        return woo_call(self.box.woocommerce, method, path, body)

    def woo_customers(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.woo("GET", "customers?per_page=100&role=all")
        return found

    def square_customer(self, customer_id: str) -> dict[str, Any]:
        found: dict[str, Any] = call(self.box.square, "GET", f"/v2/customers/{customer_id}")["customer"]
        return found

    def square_customers(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = call(self.box.square, "GET", "/v2/customers").get("customers", [])
        return found

    def square_edit(self, customer_id: str, **fields: Any) -> None:
        """The Square Dashboard: an edit of the profile (with its current version, as it does)."""
        version = self.square_customer(customer_id)["version"]
        answer = call(self.box.square, "PUT", f"/v2/customers/{customer_id}", {**fields, "version": version})
        assert "customer" in answer, answer


@pytest.fixture
def shop(tmp_path: Path, run_cli: RunCli) -> Iterator[Shop]:
    with Sandbox(products=2, locations=1) as box:
        yield Shop(box, tmp_path, run_cli)


def channel_ids(view: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["channel"], c["id"]) for c in view["channels"]}


def later() -> None:
    """WooCommerce dates changes to the second: the next change is in a later second."""
    time.sleep(1.05)


WP_ADMIN_EDIT = "--full"
"""WooCommerce's ``/customers`` has no modified-after filter: an account edited in wp-admin reaches
us by its ``customer.updated`` webhook (the daemon: tests/test_customer_webhooks.py) or the next
full pass (daily, or ``sync --full``), which is what a user without the daemon runs."""


def test_an_email_in_another_case_and_spacing_is_the_same_person(shop: Shop) -> None:
    woo_id = shop.box.woocommerce.add_customer("Ann.Lee@Example.COM", "Ann")
    square_id = shop.box.square.add_customer(" ann.lee@example.com", "")
    call(shop.box.square, "PUT", f"/v2/customers/{square_id}", {"family_name": "Lee"})
    shop.sync()
    assert shop.persons() == 1
    view = shop.show("  ANN.LEE@example.com ")
    assert channel_ids(view) == {("woocommerce", str(woo_id)), ("square", square_id)}
    assert view["contact"]["family_name"]["value"] == "Lee"
    assert view["contact"]["family_name"]["from"] == {"channel": "square", "id": square_id}
    # Each channel got the field it lacked; nobody was created twice.
    [account] = shop.woo_customers()
    assert account["last_name"] == "Lee"
    assert shop.square_customer(square_id)["given_name"] == "Ann"
    assert len(shop.square_customers()) == 1


def test_a_phone_in_different_formats_is_the_same_person_and_found_by_any_format(shop: Shop) -> None:
    shop.box.woocommerce.add_customer("ann@example.com", "Ann", phone="07700 900123")
    square_id = shop.box.square.add_customer(None, "Ann", "+44 7700 900123")
    shop.sync()
    assert shop.persons() == 1
    view = shop.show("(07700) 900-123")  # a national number, read in [customers] default_country GB
    assert ("square", square_id) in channel_ids(view)
    assert view["contact"]["phone"]["value"] == "+447700900123"
    # The address the till lacked came from the shop.
    assert shop.square_customer(square_id)["email_address"] == "ann@example.com"


def test_the_default_country_reads_national_numbers_there(shop: Shop) -> None:
    shop.settings["default_country"] = "US"
    shop.box.woocommerce.add_customer("ann@example.com", "Ann", phone="(415) 555-0123")
    square_id = shop.box.square.add_customer(None, "Ann", "415 555 0123")
    shop.sync()
    assert shop.persons() == 1
    assert shop.show("ann@example.com")["contact"]["phone"]["value"] == "+14155550123"
    assert ("square", square_id) in channel_ids(shop.show("+1 415 555 0123"))


def test_a_shared_name_or_a_shared_phone_with_other_emails_never_merges_two_people(shop: Shop) -> None:
    shop.box.woocommerce.add_customer("sam1@example.com", "Sam", "Smith", phone="07700 900123")
    shop.box.square.add_customer("sam2@example.com", "Sam", "07700 900123")
    shop.sync()
    assert shop.persons() == 2
    assert {c["email"] for c in shop.woo_customers()} == {"sam1@example.com"}


def test_an_ambiguous_match_is_a_conflict_until_resolved_and_the_next_sync_applies_it(shop: Shop) -> None:
    shop.box.woocommerce.add_customer("ann@example.com", "Ann", phone="07700 900123")  # a shared home phone
    bob_id = shop.box.woocommerce.add_customer("bob@example.com", "", phone="07700 900123")
    shop.sync()
    till = shop.box.square.add_customer(None, "Bob", "+44 7700 900123")  # the till knows only the phone
    shop.sync()
    [conflict] = shop.conflicts()
    assert (conflict["kind"], conflict["channel"]) == ("customer", "square")
    ann, bob = shop.show("ann@example.com")["person"], shop.show("bob@example.com")["person"]
    assert sorted(conflict["choices"]["persons"]) == sorted([ann, bob])
    assert ("square", till) not in channel_ids(shop.show("bob@example.com")) | channel_ids(
        shop.show("ann@example.com")
    )
    assert not any(c["first_name"] == "Bob" for c in shop.woo_customers())  # nothing merged, nothing sent

    refused = shop.cli("conflicts", "resolve", conflict["id"], "--keep", "999")
    assert refused.returncode == 2 and "keep one of" in refused.stderr
    settled = shop.cli("conflicts", "resolve", conflict["id"], "--keep", bob)
    assert settled.returncode == 0, settled.stderr
    shop.sync()  # the next sync applies it
    assert ("square", till) in channel_ids(shop.show("bob@example.com"))
    assert ("square", till) not in channel_ids(shop.show("ann@example.com"))
    assert shop.conflicts() == []
    assert shop.woo("GET", f"customers/{bob_id}")["first_name"] == "Bob"
    assert shop.square_customer(till)["email_address"] == "bob@example.com"


def test_concurrent_edits_of_different_fields_on_both_sides_both_survive(shop: Shop) -> None:
    woo_id = shop.box.woocommerce.add_customer("ann@example.com", "Ann", "Lee", phone="07700 900001")
    square_id = shop.box.square.add_customer("ann@example.com", "Ann", "+447700900001")
    shop.sync()
    later()
    shop.woo("PUT", f"customers/{woo_id}", {"billing": {"phone": "07700 900002"}})  # the shop, first
    shop.square_edit(square_id, family_name="Lee-Smith")  # the till, later: its record is newer
    shop.sync(WP_ADMIN_EDIT)
    account = shop.woo("GET", f"customers/{woo_id}")
    profile = shop.square_customer(square_id)
    assert (account["last_name"], profile["family_name"]) == ("Lee-Smith", "Lee-Smith")
    assert profile["phone_number"] == "+447700900002"
    assert account["billing"]["phone"] in ("07700 900002", "+447700900002")


def test_a_wp_admin_edit_in_the_same_second_as_the_tills_change_is_not_undone(shop: Shop) -> None:
    woo_id = shop.box.woocommerce.add_customer("ann@example.com", "Ann", "Lee", phone="07700 900001")
    square_id = shop.box.square.add_customer("ann@example.com", "Ann", "+447700900001")
    shop.sync()
    later()
    shop.square_edit(square_id, phone_number="+447700900002")  # the till, at hh:mm:ss.xxx
    till_second = datetime.fromisoformat(shop.square_customer(square_id)["updated_at"])
    shop.box.woocommerce.freeze_time(till_second.astimezone(UTC).replace(tzinfo=None))
    shop.sync()  # the till's phone reaches the web shop
    shop.woo("PUT", f"customers/{woo_id}", {"billing": {"phone": "07700 900003"}})  # then wp-admin
    shop.sync(WP_ADMIN_EDIT)  # WooCommerce dates that edit hh:mm:ss, before the till's .xxx
    assert shop.square_customer(square_id)["phone_number"] == "+447700900003"
    assert shop.woo("GET", f"customers/{woo_id}")["billing"]["phone"] in ("07700 900003", "+447700900003")


def test_an_empty_field_never_wipes_a_filled_one(shop: Shop) -> None:
    woo_id = shop.box.woocommerce.add_customer("ann@example.com", "Ann")
    shop.woo("PUT", f"customers/{woo_id}", {"billing": {"company": "Lee & Co"}})
    square_id = shop.box.square.add_customer("ann@example.com", "Ann")
    shop.sync()
    assert shop.square_customer(square_id)["company_name"] == "Lee & Co"
    later()
    shop.square_edit(square_id, company_name=None, note="prefers email")  # newer, but no company
    shop.sync()
    assert shop.woo("GET", f"customers/{woo_id}")["billing"]["company"] == "Lee & Co"
    assert shop.show("ann@example.com")["contact"]["company"]["value"] == "Lee & Co"
    assert shop.square_customer(square_id)["company_name"] == "Lee & Co"


def test_a_guest_order_email_links_to_the_square_customer_and_shows_in_customer_show(shop: Shop) -> None:
    square_id = shop.box.square.add_customer("ann@example.com", "Ann")
    sku = shop.box.catalogues.shared_skus[0]
    variation = shop.box.square.variation_by_sku(sku)
    assert variation is not None
    shop.box.square.simulate_sale(variation["id"], 2, customer_id=square_id)
    later()
    order = shop.box.woocommerce.simulate_sale(
        [(sku, 1)], email="Ann@Example.com", billing={"first_name": "Ann", "phone": "07700 900123"}
    )
    shop.sync()
    view = shop.show("ann@example.com")
    assert channel_ids(view) == {("square", square_id), ("woocommerce", "guest:ann@example.com")}
    assert [(p["channel"], p["location"]) for p in view["purchases"]] == [
        ("woocommerce", "web"),  # the newest first
        ("square", "Location 1"),
    ]
    assert view["purchases"][0]["order_id"] == str(order["id"])
    text = shop.cli("customer", "show", "ann@example.com").stdout
    assert "2 x " in text and "1 x " in text and "Location 1" in text and "web" in text
    # A guest exists only on orders: no account is made for it, nothing is written to the order.
    assert shop.woo_customers() == []
    assert shop.square_customer(square_id)["phone_number"] == "+447700900123"


def test_a_square_merge_remaps_to_the_new_profile_without_a_duplicate(shop: Shop) -> None:
    woo_id = shop.box.woocommerce.add_customer("ann@example.com", "Ann")
    first = shop.box.square.add_customer("ann@example.com", "Ann")
    second = shop.box.square.add_customer(None, "Annie", "+447700900123")
    shop.sync()
    assert shop.persons() == 2
    merged = shop.box.square.merge_customers([first, second])
    shop.sync()
    assert shop.persons() == 1
    view = shop.show("ann@example.com")
    assert channel_ids(view) == {("woocommerce", str(woo_id)), ("square", merged)}
    link = next(c for c in view["channels"] if c["id"] == merged)
    assert sorted(link["retired_ids"]) == sorted([first, second])
    assert shop.show(first)["person"] == view["person"]  # an old id still finds the person
    assert len(shop.square_customers()) == 1 and len(shop.woo_customers()) == 1
    with Store(shop.tmp / "shopbridge.db") as store:  # the merge's deletions were the merge, not erasures
        erased = store.db.execute("SELECT count(*) FROM audit WHERE action = 'customer_erased'").fetchone()
    assert erased[0] == 0


def test_a_lost_create_answer_creates_nothing_twice(shop: Shop) -> None:
    shop.settings["create_missing"] = True
    shop.box.square.add_customer("ann@example.com", "Ann")
    shop.box.woocommerce.add_customer("bob@example.com", "Bob")
    for emulator, path in ((shop.box.woocommerce, r"/customers$"), (shop.box.square, r"/v2/customers$")):
        emulator.server.faults.add(FaultRule("apply_then_reset", method="POST", path=path, times=10))
    shop.sync(ok=False)  # each create reached the channel; its answer never reached us: kept queued
    for emulator in (shop.box.woocommerce, shop.box.square):
        emulator.server.faults.clear()
    with Store(shop.tmp / "shopbridge.db") as store:
        store.db.execute("UPDATE outbox SET next_attempt_at = NULL WHERE done_at IS NULL")
    shop.sync()
    shop.sync()
    assert sorted(c["email"] for c in shop.woo_customers()) == ["ann@example.com", "bob@example.com"]
    assert sorted(c["email_address"] for c in shop.square_customers()) == [
        "ann@example.com",
        "bob@example.com",
    ]
    assert shop.persons() == 2
    for who in ("ann@example.com", "bob@example.com"):
        assert {c for c, _ in channel_ids(shop.show(who))} == {"square", "woocommerce"}


def test_a_created_customer_is_linked_from_the_create_answer(shop: Shop) -> None:
    shop.settings["create_missing"] = True
    square_id = shop.box.square.add_customer("ann@example.com", "Ann")
    shop.sync()
    [account] = shop.woo_customers()
    with Store(shop.tmp / "shopbridge.db") as store:  # linked before any read saw the new account
        links = store.db.execute("SELECT channel, channel_id FROM person_links ORDER BY channel").fetchall()
    assert [tuple(r) for r in links] == [("square", square_id), ("woocommerce", str(account["id"]))]


def test_rerunning_the_sync_changes_nothing(shop: Shop) -> None:
    woo_id = shop.box.woocommerce.add_customer("ann@example.com", "Ann", phone="07700 900123")
    square_id = shop.box.square.add_customer("ann@example.com", "")
    call(shop.box.square, "PUT", f"/v2/customers/{square_id}", {"family_name": "Lee", "note": "VIP"})
    shop.sync()
    account, profile = shop.woo("GET", f"customers/{woo_id}"), shop.square_customer(square_id)
    for _ in range(2):
        out = shop.sync()
        assert '"queued": 0' in out
        assert "customers: " not in shop.cli("sync", "--dry-run").stdout  # no customer write planned
    assert shop.woo("GET", f"customers/{woo_id}")["date_modified_gmt"] == account["date_modified_gmt"]
    assert shop.square_customer(square_id)["version"] == profile["version"]
    assert "note" not in json.dumps(account)  # WooCommerce has no note: never sent there


def test_a_stale_version_is_read_again_and_merged_not_failed(shop: Shop) -> None:
    woo_id = shop.box.woocommerce.add_customer("ann@example.com", "Ann")
    square_id = shop.box.square.add_customer("ann@example.com", "Ann")
    shop.sync()
    later()
    shop.woo("PUT", f"customers/{woo_id}", {"last_name": "Lee"})

    def edited_at_the_till(body: Any) -> Any:
        # Between our read and our write someone edits the profile at the till.
        call(shop.box.square, "PUT", f"/v2/customers/{square_id}", {"note": "VIP"})
        return body

    shop.box.square.server.faults.add(
        FaultRule("rewrite", method="POST", path=r"/v2/customers/search", rewrite=edited_at_the_till, times=1)
    )
    out = shop.sync(WP_ADMIN_EDIT)
    profile = shop.square_customer(square_id)
    assert (profile["family_name"], profile["note"]) == ("Lee", "VIP")  # both changes kept
    assert "square: 1 applied, 0 refused, 0 queued for retry, 1 stale (read again and merged)" in out, out
    with Store(shop.tmp / "shopbridge.db") as store:
        errors = [
            r[0] for r in store.db.execute("SELECT last_error FROM outbox WHERE last_error IS NOT NULL")
        ]
    assert [e.split(":")[0] for e in errors] == ["VERSION_MISMATCH"]


def test_the_store_file_is_private_and_no_email_or_phone_is_in_the_logs_of_a_whole_run(shop: Shop) -> None:
    shop.settings["create_missing"] = True
    woo_id = shop.box.woocommerce.add_customer("ann@example.com", "Ann", phone="07700 900123")
    shop.woo("PUT", f"customers/{woo_id}", {"billing": {"company": "Lee & Co"}})
    square_id = shop.box.square.add_customer("bob@example.com", "Bob", "+44 7700 900124")
    sku = shop.box.catalogues.shared_skus[0]
    shop.box.woocommerce.simulate_sale(
        [(sku, 1)], email="guest@example.com", billing={"phone": "07700 900125"}
    )
    shop.cli("sync", "--dry-run")
    shop.sync()
    later()
    shop.square_edit(square_id, family_name="Lee-Smith")
    shop.sync()
    shop.cli("conflicts")
    shop.cli("status")
    logs = "\n".join(shop.logs)
    assert "customers synced" in logs  # the run did log, at debug level
    for personal in (*PERSONAL, "guest@example.com", "900124", "900125"):
        assert personal not in logs, personal
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", logs.replace("@example.com", "")), "an email in the logs"
    assert stat.S_IMODE(os.stat(shop.tmp / "shopbridge.db").st_mode) == 0o600


def test_a_dry_run_shows_the_customer_writes_and_changes_nothing(shop: Shop) -> None:
    woo_id = shop.box.woocommerce.add_customer("ann@example.com", "Ann")
    square_id = shop.box.square.add_customer("ann@example.com", "")
    call(shop.box.square, "PUT", f"/v2/customers/{square_id}", {"family_name": "Lee"})
    before = shop.square_customer(square_id)["version"]
    dry = shop.cli("sync", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    writes = json.loads(dry.stdout)["customer_writes"]
    assert sorted((w["channel"], w["customer_id"]) for w in writes) == [
        ("square", square_id),
        ("woocommerce", str(woo_id)),
    ]
    assert shop.square_customer(square_id)["version"] == before
    assert shop.woo("GET", f"customers/{woo_id}")["last_name"] == ""
    with Store(shop.tmp / "shopbridge.db") as store:
        assert store.customers.count() == 0 and store.get_cursor("square", "customers") is None


def test_a_known_customers_next_sale_shows_in_customer_show_though_the_profile_did_not_change(
    shop: Shop,
) -> None:
    """A regular buying again at the till or on the web changes no profile: the history comes from
    the order streams, not from re-reading the person."""
    square_id = shop.box.square.add_customer("ann@example.com", "Ann")
    woo_id = shop.box.woocommerce.add_customer("ann@example.com", "Ann")
    sku = shop.box.catalogues.shared_skus[0]
    variation = shop.box.square.variation_by_sku(sku)
    assert variation is not None
    shop.sync()
    assert shop.show("ann@example.com")["purchases"] == []
    shop.box.square.simulate_sale(variation["id"], 2, customer_id=square_id)
    later()
    order = shop.box.woocommerce.simulate_sale([(sku, 1)], email="ann@example.com", customer_id=woo_id)
    shop.sync()
    view = shop.show("ann@example.com")
    assert [(p["channel"], p["location"]) for p in view["purchases"]] == [
        ("woocommerce", "web"),
        ("square", "Location 1"),
    ]
    assert view["purchases"][0]["order_id"] == str(order["id"])
    shop.sync()  # read again: the same history, nothing doubled
    assert len(shop.show("ann@example.com")["purchases"]) == 2
