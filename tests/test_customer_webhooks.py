"""Customer webhooks through the daemon's event path (issue 13): both emulators deliver signed
``customer.*`` webhooks to the real receiver, the daemon re-reads just the records they name (the
payload is a hint, never state), merges them and writes the other channel, with no poll cycle
(the poll here is a stand-in that only records that it ran). Deletions are known this way only:
neither channel's listing shows a deleted customer. What the user sees is read with
``shopbridge customer show`` as a subprocess."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bridge.config import CustomerSettings
from bridge.server import WebhookServer
from bridge.store import Store
from bridge.sync import SyncRunner
from sandbox.launch import Sandbox
from tests.conftest import RunCli
from tests.square_helpers import call
from tests.sync_helpers import make_runner
from tests.test_event_path import Recorder, Running, wait_for
from tests.woo_helpers import woo_rest as woo_call

TOPICS = ["customer.created", "customer.updated", "customer.deleted"]


@dataclass
class Live:
    """The event-path harness of tests/test_event_path.py, with the customers stage on, a way to
    edit WooCommerce as wp-admin does and ``customer show`` as a user runs it."""

    running: Running
    run_cli: RunCli
    tmp: Path

    @property
    def box(self) -> Sandbox:
        return self.running.box

    @property
    def store(self) -> Store:
        return self.running.store

    @property
    def runner(self) -> SyncRunner:
        return self.running.runner

    def start(self) -> None:
        self.running.start_daemon()
        wait_for(lambda: self.running.recorder.ops[:1] == ["poll"], "the start-up cycle")

    def stop(self) -> None:
        self.running.stop()
        self.running.server.stop()

    def woo(self, method: str, path: str, body: Any = None) -> Any:
        return woo_call(self.box.woocommerce, method, path, body)

    def show(self, who: str) -> dict[str, Any]:
        config = self.tmp / "shopbridge.toml"
        self.box.write_config(config, store_path=str(self.store.path))
        shown = self.run_cli("-c", str(config), "customer", "show", who, "--json")
        assert shown.returncode == 0, shown.stdout + shown.stderr
        view: dict[str, Any] = json.loads(shown.stdout)
        return view

    def settled(self) -> bool:
        with Store(self.store.path) as mine:
            return self.running.inbox_settled() and not mine.figures()["outbox_pending"]

    def after_events(self) -> None:
        ops = self.running.recorder.ops
        wait_for(self.settled, "every delivery processed and every write sent")
        wait_for(lambda: "event" in ops, "an event pass")
        assert "poll" not in ops[1:], ops  # the event path alone did it


def live_shop(box: Sandbox, store: Store, run_cli: RunCli, tmp: Path, settings: CustomerSettings) -> Live:
    runner = make_runner(box, store)
    runner.customers = settings
    for adapter in runner.adapters.values():  # as bridge.channels.build_adapters does from [customers]
        adapter.default_country = settings.default_country
    runner.run()  # the first sync, by hand, as `shopbridge daemon` requires
    server = WebhookServer(store, runner.adapters, port=0).start()
    box.square.subscribe(server.notification_url("square"))
    runner.adapters["woocommerce"].register_webhooks(  # type: ignore[attr-defined]
        server.notification_url("woocommerce"), TOPICS
    )
    return Live(Running(box, store, runner, server, Recorder()), run_cli, tmp)


@dataclass
class People:
    woo_id: int
    square_id: str


def seeded(box: Sandbox) -> People:
    woo_id = box.woocommerce.add_customer("ann@example.com", "Ann", "Lee", phone="07700 900123")
    square_id = box.square.add_customer("ann@example.com", "Ann", "+447700900123")
    return People(woo_id, square_id)


@pytest.fixture
def people(box: Sandbox) -> People:
    return seeded(box)


@pytest.fixture
def live(box: Sandbox, store: Store, run_cli: RunCli, tmp_path: Path, people: People) -> Iterator[Live]:
    shop = live_shop(box, store, run_cli, tmp_path, CustomerSettings(default_country="GB"))
    try:
        yield shop
    finally:
        shop.stop()


def test_a_dashboard_edit_reaches_the_web_shop_through_the_event_path(live: Live, people: People) -> None:
    live.start()
    version = call(live.box.square, "GET", f"/v2/customers/{people.square_id}")["customer"]["version"]
    call(
        live.box.square,
        "PUT",
        f"/v2/customers/{people.square_id}",
        {"family_name": "Lee-Smith", "version": version},
    )
    wait_for(
        lambda: live.woo("GET", f"customers/{people.woo_id}")["last_name"] == "Lee-Smith", "the new name"
    )
    live.after_events()
    assert live.show("ann@example.com")["contact"]["family_name"]["value"] == "Lee-Smith"


def test_a_wp_admin_edit_reaches_the_till_through_the_event_path(live: Live, people: People) -> None:
    live.start()
    live.woo("PUT", f"customers/{people.woo_id}", {"billing": {"phone": "07700 900999"}})

    def phone() -> str:
        return str(
            call(live.box.square, "GET", f"/v2/customers/{people.square_id}")["customer"].get("phone_number")
        )

    wait_for(lambda: phone() == "+447700900999", "the new phone at the till")
    live.after_events()


def test_a_woo_deletion_erases_its_data_here_and_deletes_nothing_elsewhere(
    live: Live, people: People
) -> None:
    live.start()
    live.woo("DELETE", f"customers/{people.woo_id}?force=true")
    wait_for(
        lambda: ("woocommerce", str(people.woo_id)) not in channels(live.show("ann@example.com")), "erased"
    )
    live.after_events()
    with Store(live.store.path) as store:
        left = store.db.execute(
            "SELECT count(*) FROM customer_fields WHERE channel = 'woocommerce'"
        ).fetchone()
        audit = store.db.execute("SELECT key, detail FROM audit WHERE action = 'customer_erased'").fetchall()
    assert left[0] == 0
    assert [row[0] for row in audit] == [f"woocommerce:{people.woo_id}"]
    assert "ann@" not in audit[0][1] and "Lee" not in audit[0][1] and "7700" not in audit[0][1]
    view = live.show("ann@example.com")
    assert channels(view) == {("square", people.square_id)} and view["archived"] is False
    assert call(live.box.square, "GET", f"/v2/customers/{people.square_id}")["customer"]["email_address"]
    assert live.woo("GET", "customers?role=all") == []  # and nothing re-created


def test_a_square_merge_remaps_through_the_event_path(
    box: Sandbox, store: Store, run_cli: RunCli, tmp_path: Path, people: People
) -> None:
    other = box.square.add_customer(None, "Annie", "+447700900555")  # a second person, by phone only
    live = live_shop(box, store, run_cli, tmp_path, CustomerSettings(default_country="GB"))
    try:
        assert store.customers.count() == 2
        live.start()
        merged = box.square.merge_customers([people.square_id, other])
        wait_for(lambda: ("square", merged) in channels(live.show("ann@example.com")), "the merged profile")
        live.after_events()
    finally:
        live.stop()
    view = live.show("ann@example.com")
    assert channels(view) == {("woocommerce", str(people.woo_id)), ("square", merged)}
    assert live.show(other)["person"] == view["person"]  # the other old id found the same person
    with Store(store.path) as mine:
        assert mine.customers.count() == 1
        erased = mine.db.execute("SELECT count(*) FROM audit WHERE action = 'customer_erased'").fetchone()
    assert erased[0] == 0


def test_with_propagate_deletions_a_deletion_archives_the_person_and_deletes_nothing(
    box: Sandbox, store: Store, run_cli: RunCli, tmp_path: Path, people: People
) -> None:
    settings = CustomerSettings(default_country="GB", propagate_deletions=True)
    live = live_shop(box, store, run_cli, tmp_path, settings)
    try:
        live.start()
        call(box.square, "DELETE", f"/v2/customers/{people.square_id}")
        wait_for(lambda: live.show("ann@example.com")["archived"], "the person archived")
        live.woo("PUT", f"customers/{people.woo_id}", {"last_name": "Lee-Smith"})  # later edits go nowhere
        live.after_events()
    finally:
        live.stop()
    view = live.show("ann@example.com")
    assert channels(view) == {("woocommerce", str(people.woo_id))}
    assert call(box.square, "GET", "/v2/customers").get("customers") is None  # not re-created
    assert [c["id"] for c in live.woo("GET", "customers?role=all")] == [people.woo_id]  # nor deleted
    with Store(store.path) as mine:
        in_order = "SELECT action FROM audit WHERE action LIKE 'customer_%' ORDER BY id"
        actions = [r[0] for r in mine.db.execute(in_order)]
        assert mine.figures()["outbox_pending"] == 0
    assert actions == ["customer_erased", "customer_archived"]


def channels(view: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["channel"], c["id"]) for c in view["channels"]}
