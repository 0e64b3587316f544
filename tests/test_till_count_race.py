"""A till count (a Square PHYSICAL_COUNT made by staff) landing at any moment of a sync is recorded
once, as the change it made at its location, and never written over.

Found by the daemon demo: a count made while the daemon ran was sometimes missing from the ledger
while the Square events cursor had moved past it, and a later cycle wrote Square back up over the
staff's count. Here the count lands right after each Square request of a sync in turn (the
emulator's ``after_request`` hook), deterministically.

The moment that lost it: after the sync's first stock-events read and before its second, for a
SKU nothing else touched that round. The second read returned the count's change and the cursor
moved to its ``created_at``, but only SKUs the first read touched were staged and planned, so the
change was never recorded; its SKU's next till sale then showed Square below a ledger that had
never heard of the count, and the difference was written back up. The read path of issue 9 (case
18: SKUs only the second read touched are staged and planned in the same round; case 19: a count
nothing explains is judged a manual change, never written over) closed it; these tests fail on the
sync from before it and keep it closed for counts, not only sales.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from bridge.policy import SyncPolicy
from bridge.store import Store
from bridge.sync import SyncRunner
from sandbox.launch import Sandbox
from tests.sync_helpers import make_runner, sync_while_selling

SKU = "SB-00007"


@pytest.fixture
def two_tills() -> Iterator[Sandbox]:
    with Sandbox(products=12, locations=2) as sandbox:
        yield sandbox


def _runner(box: Sandbox, store: Store) -> SyncRunner:
    return make_runner(box, store, SyncPolicy(default_location=box.square.location_ids()[0]))


def _variation(box: Sandbox, sku: str) -> str:
    variation = box.square.variation_by_sku(sku)
    assert variation is not None, sku
    return str(variation["id"])


def _web_order(box: Sandbox, sku: str) -> None:
    """A checkout applied inside the WooCommerce emulator (a hook holds its lock: no HTTP)."""
    box.woocommerce._create_order(
        {
            "status": "processing",
            "billing": {"email": "shopper@example.com"},
            "line_items": [{"sku": sku, "quantity": 1}],
        }
    )


def _requests_of_one_sync(box: Sandbox, runner: SyncRunner) -> list[str]:
    seen: list[str] = []
    box.square.after_request = seen.append
    try:
        runner.run()
    finally:
        box.square.after_request = None
    return seen


def _our_upward_writes(box: Sandbox, variation: str, since: int) -> list[dict[str, object]]:
    """Stock shopbridge added to ``variation`` on Square (NONE -> IN_STOCK under its reference)
    after the first ``since`` changes."""
    return [
        c["adjustment"]
        for c in box.square._changes[since:]
        if c["type"] == "ADJUSTMENT"
        and c["adjustment"]["catalog_object_id"] == variation
        and str(c["adjustment"].get("reference_id", "")).startswith("shopbridge:")
        and c["adjustment"]["to_state"] == "IN_STOCK"
    ]


def test_a_till_count_landing_after_any_square_request_of_a_sync_is_recorded(
    two_tills: Sandbox, store: Store
) -> None:
    box = two_tills
    runner = _runner(box, store)
    runner.run(force=True)  # the first sync brings both channels together
    runner.run()
    variation = _variation(box, SKU)
    locations = box.square.location_ids()
    operations = _requests_of_one_sync(box, runner)
    assert operations  # an idle sync still reads Square
    since = len(box.square._changes)
    truth = {loc: box.square.count(variation, loc) for loc in locations}
    landed: list[tuple[int, str, int]] = []
    for moment in range(len(operations) + 2):
        where = locations[moment % len(locations)]
        counted = max(truth[where] - 3, 0) if moment % 3 else truth[where] + 2
        seen = 0

        def hook(operation: str, moment: int = moment, where: str = where, counted: int = counted) -> None:
            nonlocal seen
            seen += 1
            if seen == moment + 1:
                box.square.manual_count(variation, counted, location_id=where)
                landed.append((moment, operation, counted))

        box.square.after_request = hook
        try:
            runner.run()
        finally:
            box.square.after_request = None
        if landed and landed[-1][0] == moment:
            truth[where] = counted
        runner.run()
        shown = {loc: box.square.count(variation, loc) for loc in locations}
        on_hand = store.on_hand([SKU])
        assert shown == truth, f"count after request {moment} ({landed[-1:]}) written over"
        assert sum(on_hand.values()) == sum(truth.values()), f"count after request {moment} lost"
        assert box.woocommerce.stock_of(SKU) == sum(truth.values())
    assert len(landed) >= len(operations)
    assert _our_upward_writes(box, variation, since) == []
    manual = [r for r in store.ledger_rows([SKU]) if ":manual:" in r["source_id"]]
    assert manual == []  # every count was read as the change it made, not guessed from the counts


def test_a_till_count_amid_sales_and_writes_is_recorded_and_never_written_over(
    two_tills: Sandbox, store: Store
) -> None:
    """Each round the web sells one (a write to Square follows) and the other till sells one; the
    count lands after each Square request of the round in turn, the write included."""
    box = two_tills
    runner = _runner(box, store)
    runner.run(force=True)
    runner.run()
    variation = _variation(box, SKU)
    locations = box.square.location_ids()
    since = len(box.square._changes)
    counts: list[str] = []
    for moment in range(10):
        where, other = locations[moment % 2], locations[(moment + 1) % 2]
        counted = box.square.count(variation, where) - 2
        box.woocommerce.simulate_sale([(SKU, 1)])
        box.square.simulate_sale(variation, 1, location_id=other)
        seen = 0

        def hook(operation: str, moment: int = moment, where: str = where, counted: int = counted) -> None:
            nonlocal seen
            seen += 1
            if seen == moment + 1:
                answer = box.square.manual_count(variation, counted, location_id=where)
                counts.extend(c["physical_count"]["id"] for c in answer.get("changes", []))

        box.square.after_request = hook
        try:
            runner.run()
        finally:
            box.square.after_request = None
        runner.run()
        runner.run()
        shown = {loc: box.square.count(variation, loc) for loc in locations}
        ledger = {loc: n for (sku, loc), n in store.on_hand([SKU]).items() if sku == SKU}
        recorded = {r["source_id"] for r in store.ledger_rows([SKU])}
        missing = [c for c in counts if f"square:change:{c}" not in recorded]
        assert missing == [], f"round {moment}: till counts not in the ledger"
        assert sorted(shown.values()) == sorted(ledger.values()), f"round {moment}: {shown} vs {ledger}"
        assert box.woocommerce.stock_of(SKU) == sum(shown.values())
        assert _our_upward_writes(box, variation, since) == [], f"round {moment}"
    assert len(counts) >= 6  # a round of this kind makes six Square requests or more


def test_a_till_count_whose_change_was_skipped_is_judged_a_manual_change_not_written_over(
    two_tills: Sandbox, store: Store
) -> None:
    """The demo's aftermath: the events cursor already stands on the count (as an older version
    left it), so the change is never read. When the till next sells that SKU, Square's count is
    lower than the ledger by the staff's recount: a manual change to record, never a reason to
    write Square back up."""
    box = two_tills
    runner = _runner(box, store)
    runner.run(force=True)
    runner.run()
    variation = _variation(box, SKU)
    second = box.square.location_ids()[1]
    since = len(box.square._changes)
    counted = box.square.count(variation, second) - 10
    answer = box.square.manual_count(variation, counted, location_id=second)
    store.set_cursor("square", "events", answer["changes"][0]["physical_count"]["created_at"])
    runner.run()  # nothing new to read
    box.square.simulate_sale(variation, 1, location_id=second)
    runner.run()
    runner.run()
    assert box.square.count(variation, second) == counted - 1
    assert _our_upward_writes(box, variation, since) == []
    shown = sum(box.square.count(variation, loc) for loc in box.square.location_ids())
    assert box.woocommerce.stock_of(SKU) == shown
    assert sum(n for (sku, _), n in store.on_hand([SKU]).items() if sku == SKU) == shown


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_till_counts_and_sales_landing_between_any_requests_are_each_recorded_once(
    two_tills: Sandbox, store: Store, seed: int
) -> None:
    """Till counts and sales (Square) and web sales land between the requests of ten syncs, at
    boundaries a seeded generator picks; after quiet syncs every count is in the ledger as the
    change it made, the ledger equals Square per location, WooCommerce their sum, and nothing was
    ever added to Square."""
    box = two_tills
    runner = _runner(box, store)
    runner.run(force=True)
    runner.run()
    rng = random.Random(seed)
    skus = list(box.catalogues.shared_skus)[:4]
    variations = {sku: _variation(box, sku) for sku in skus}
    locations = box.square.location_ids()
    since = len(box.square._changes)
    counts: list[str] = []

    def on_square(operation: str) -> None:
        if rng.random() > 0.35:
            return
        sku, where = rng.choice(skus), rng.choice(locations)
        now = box.square.count(variations[sku], where)
        if rng.random() < 0.5 and now > 0:
            answer = box.square.manual_count(
                variations[sku], max(now - rng.randint(1, 4), 0), location_id=where
            )
            counts.extend(c["physical_count"]["id"] for c in answer.get("changes", []))
        elif now > 0:
            box.square.simulate_sale(variations[sku], 1, location_id=where)

    def on_woocommerce(request: object) -> None:
        sku = rng.choice(skus)
        if rng.random() < 0.1 and all(box.square.count(variations[sku], loc) > 1 for loc in locations):
            _web_order(box, sku)

    sync_while_selling(runner, box, on_woocommerce=on_woocommerce, on_square=on_square)
    runner.run()
    runner.run()
    assert len(counts) >= 3
    recorded = {r["source_id"] for r in store.ledger_rows(skus)}
    missing = [c for c in counts if f"square:change:{c}" not in recorded]
    for sku in skus:
        shown = sorted(box.square.count(variations[sku], loc) for loc in locations)
        ledger = sorted(n for (s, _), n in store.on_hand([sku]).items() if s == sku)
        assert (sku, ledger) == (sku, shown)
        # The web shop shows the stores' sum, floored at 0: a till sale or count racing our write
        # of a web sale can leave a store at -1 (sold twice), which the web shop shows as 0.
        assert box.woocommerce.stock_of(sku) == max(0, sum(shown))
        assert _our_upward_writes(box, variations[sku], since) == []
    assert missing == []
