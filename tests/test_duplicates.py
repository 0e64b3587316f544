"""No product is ever created twice, and a SKU follows its live product (issue 9, cases 11-14).

End to end over loopback: both emulators, the real adapters and a real SQLite store. Each test
loses an answer the way a real shop does (the channel applies the create, then the connection
drops or a 5xx comes back: the emulators' ``apply_then_fail`` fault), sometimes restarts (a new
runner and new adapters on the same store, as after ``kill -9``), and then checks that every
product exists exactly once on every channel.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from adapters.square import SquareAdapter
from adapters.woocommerce import WooCommerceAdapter
from bridge import reading
from bridge.policy import SyncPolicy
from bridge.store import Store
from bridge.sync import SyncRunner
from sandbox.launch import DemoCatalogues, Sandbox
from sandbox.seed import SeedProduct, SeedVariant
from tests.woo_helpers import woo_rest

MUG = SeedProduct("Mug", (SeedVariant("MUG-1", Decimal("12.50"), stock=7),))
CAP = SeedProduct("Cap", (SeedVariant("CAP-1", Decimal("15.00"), stock=4),))
TEE = SeedProduct(
    "Tee",
    tuple(
        SeedVariant(f"TEE-{s}", Decimal("20.00"), stock=n, options={"Size": s})
        for s, n in (("S", 3), ("M", 5), ("L", 2))
    ),
)
ALL_SKUS = ["MUG-1", "CAP-1", "TEE-S", "TEE-M", "TEE-L"]


def sandbox(woocommerce: list[SeedProduct], square: list[SeedProduct]) -> Iterator[Sandbox]:
    box = Sandbox(products=0, locations=1)
    box.catalogues = DemoCatalogues(woocommerce=woocommerce, square=square)
    with box:
        yield box


@pytest.fixture
def woo_owns() -> Iterator[Sandbox]:
    """Everything on WooCommerce (the owner), nothing on Square yet: the first sync creates there."""
    yield from sandbox([MUG, TEE, CAP], [])


@pytest.fixture
def square_owns() -> Iterator[Sandbox]:
    """Everything on Square, nothing on WooCommerce yet (run with Square as the owner)."""
    yield from sandbox([], [MUG, TEE, CAP])


def runner(box: Sandbox, store: Store, policy: SyncPolicy | None = None, *, attempts: int = 3) -> SyncRunner:
    """A runner with fresh adapters (a new process) whose retries are quick."""
    wc = box.woocommerce.connection_info()
    sq = box.square.connection_info()
    adapters = {
        "woocommerce": WooCommerceAdapter(
            wc["url"],
            wc["consumer_key"],
            wc["consumer_secret"],
            wc["webhook_secret"],
            backoff_base=0.01,
            backoff_max=0.05,
            max_attempts=attempts,
        ),
        "square": SquareAdapter(
            sq["access_token"],
            base_url=sq["base_url"],
            signature_key=sq["signature_key"],
            backoff=0.01,
            backoff_cap=0.05,
            max_attempts=attempts,
        ),
    }
    return SyncRunner(store, adapters, policy or SyncPolicy())


def due_one_by_one(store: Store, run: SyncRunner) -> None:
    """Send the queued writes one at a time, as their jittered backoffs make them due in a daemon."""
    for (entry_id,) in store.db.execute("SELECT id FROM outbox WHERE done_at IS NULL ORDER BY id").fetchall():
        store.db.execute("UPDATE outbox SET next_attempt_at = '' WHERE id = ?", [entry_id])
        run.relay()


def square_skus(box: Sandbox) -> Counter[str]:
    """How many live Square variations carry each SKU."""
    with box.square.lock:
        return Counter(
            str(o["item_variation_data"].get("sku"))
            for o in box.square._objects.values()
            if o["type"] == "ITEM_VARIATION" and not o.get("is_deleted")
        )


def square_items(box: Sandbox) -> Counter[str]:
    with box.square.lock:
        return Counter(
            str(o["item_data"].get("name"))
            for o in box.square._objects.values()
            if o["type"] == "ITEM" and not o.get("is_deleted")
        )


def woo_products(box: Sandbox) -> Counter[str]:
    """How many WooCommerce products (not variations, trash included) carry each name."""
    with box.woocommerce.lock:
        return Counter(r["name"] for r in box.woocommerce.products.values() if not r["parent_id"])


def woo_skus(box: Sandbox) -> Counter[str]:
    """How many live (not trashed) WooCommerce products or variations carry each SKU."""
    with box.woocommerce.lock:
        return Counter(
            r["sku"] for r in box.woocommerce.products.values() if r["sku"] and r["status"] != "trash"
        )


def links(store: Store, channel: str) -> dict[str, str]:
    return {r["canonical_key"]: r["channel_id"] for r in store.links("variant", channel)}


def settled(run: SyncRunner) -> None:
    """Nothing left to do: no queued write, a plan with no change."""
    assert not run.store.db.execute("SELECT 1 FROM outbox WHERE done_at IS NULL").fetchall()
    assert run.prepare().plan.empty
    assert run.prepare(full=True).plan.empty


# -- 11. Square -------------------------------------------------------------------------------


def test_a_lost_square_create_resent_after_a_restart_creates_nothing_twice(
    woo_owns: Sandbox, store: Store
) -> None:
    box = woo_owns
    box.square.server.faults.add(
        kind="apply_then_fail", method="POST", path="/v2/catalog/batch-upsert", status=500, times=None
    )
    _plans, report = runner(box, store).run()
    assert report.deferred["square"] == 3  # Square holds the items; we never heard
    assert square_items(box) == {"Mug": 1, "Tee": 1, "Cap": 1}
    box.square.server.faults.clear()

    restarted = runner(box, store)
    due_one_by_one(store, restarted)  # grouped otherwise than the lost batch: another batch key
    _plans, report = restarted.run()
    assert not report.failed and not report.errors

    assert square_items(box) == {"Mug": 1, "Tee": 1, "Cap": 1}
    assert square_skus(box) == dict.fromkeys(ALL_SKUS, 1)
    assert woo_skus(box) == dict.fromkeys(ALL_SKUS, 1)
    linked = links(store, "square")
    for sku in ALL_SKUS:
        variation = box.square.variation_by_sku(sku)
        assert variation is not None and linked[sku] == variation["id"]
    settled(restarted)


def test_a_square_create_whose_answer_was_lost_in_the_same_process_is_not_sent_twice(
    woo_owns: Sandbox, store: Store
) -> None:
    box = woo_owns
    box.square.server.faults.add(
        kind="apply_then_fail", method="POST", path="/v2/catalog/batch-upsert", status=503, times=None
    )
    run = runner(box, store)
    run.run()
    box.square.server.faults.clear()
    box.woocommerce.seed([SeedProduct("Scarf", (SeedVariant("SCARF-1", Decimal("30.00"), stock=2),))])
    # The owner added a product before the retry: the next batch holds one more create.
    run.commit(run.prepare())
    store.db.execute("UPDATE outbox SET next_attempt_at = '' WHERE done_at IS NULL")
    run.relay()
    _plans, report = run.run()
    assert not report.failed and not report.errors
    assert square_items(box) == {"Mug": 1, "Tee": 1, "Cap": 1, "Scarf": 1}
    assert square_skus(box) == dict.fromkeys([*ALL_SKUS, "SCARF-1"], 1)
    settled(run)


def test_the_square_emulator_replays_a_catalogue_upsert_and_refuses_a_reused_key(
    woo_owns: Sandbox,
) -> None:
    sq = woo_owns.square
    item = {
        "type": "ITEM",
        "id": "#a",
        "item_data": {
            "name": "Pen",
            "variations": [
                {
                    "type": "ITEM_VARIATION",
                    "id": "#a0",
                    "item_variation_data": {
                        "item_id": "#a",
                        "sku": "PEN",
                        "pricing_type": "VARIABLE_PRICING",
                    },
                }
            ],
        },
    }

    def upsert(key: str, objects: list[Any]) -> requests.Response:
        return requests.post(
            f"{sq.base_url}/v2/catalog/batch-upsert",
            json={"idempotency_key": key, "batches": [{"objects": objects}]},
            headers={"Authorization": f"Bearer {sq.access_token}"},
            timeout=10,
        )

    first, again = upsert("k", [item]), upsert("k", [item])
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    other = upsert("k", [dict(item, item_data=dict(item["item_data"], name="Pencil"))])
    assert other.status_code == 400 and other.json()["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert square_items(woo_owns) == {"Pen": 1}


# -- 12. WooCommerce --------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["apply_then_fail", "apply_then_reset"], ids=["504", "dropped"])
def test_a_lost_woocommerce_create_is_looked_up_not_posted_again(
    square_owns: Sandbox, store: Store, fault: Any
) -> None:
    box = square_owns
    box.woocommerce.server.faults.add(kind=fault, method="POST", path="/products/batch$", status=504, times=1)
    run = runner(box, store, SyncPolicy(system_of_record="square"))
    _plans, report = run.run()
    assert not report.failed and not report.errors and not report.deferred
    assert woo_products(box) == {"Mug": 1, "Tee": 1, "Cap": 1}
    assert woo_skus(box) == dict.fromkeys(ALL_SKUS, 1)
    linked = links(store, "woocommerce")
    assert {sku: int(linked[sku]) for sku in ALL_SKUS} == {
        sku: box.woocommerce.product_by_sku(sku)["id"] for sku in ALL_SKUS
    }
    settled(run)


def test_a_lost_woocommerce_create_resent_after_a_restart_creates_nothing_twice(
    square_owns: Sandbox, store: Store
) -> None:
    box = square_owns
    policy = SyncPolicy(system_of_record="square")
    box.woocommerce.server.faults.add(
        kind="apply_then_fail", method="POST", path="/products/batch$", status=502, times=1
    )
    _plans, report = runner(box, store, policy, attempts=1).run()  # the process dies in doubt
    assert report.deferred["woocommerce"] == 3
    assert woo_products(box) == {"Mug": 1, "Tee": 1, "Cap": 1}

    restarted = runner(box, store, policy)
    due_one_by_one(store, restarted)
    _plans, report = restarted.run()
    assert not report.failed and not report.errors
    assert woo_products(box) == {"Mug": 1, "Tee": 1, "Cap": 1}
    assert woo_skus(box) == dict.fromkeys(ALL_SKUS, 1)
    tee = box.woocommerce.product_by_sku("TEE-S")["parent_id"]
    assert len(box.woocommerce.products[tee]["variations"]) == 3
    assert set(links(store, "woocommerce")) == set(ALL_SKUS)
    settled(restarted)


def test_a_lost_answer_for_the_variations_creates_no_second_variation(
    square_owns: Sandbox, store: Store
) -> None:
    box = square_owns
    box.woocommerce.server.faults.add(
        kind="apply_then_fail", method="POST", path="/variations/batch$", status=503, times=1
    )
    run = runner(box, store, SyncPolicy(system_of_record="square"))
    _plans, report = run.run()
    assert not report.failed and not report.errors and not report.deferred
    assert woo_products(box) == {"Mug": 1, "Tee": 1, "Cap": 1}
    assert woo_skus(box) == dict.fromkeys(ALL_SKUS, 1)
    assert set(links(store, "woocommerce")) == set(ALL_SKUS)
    settled(run)


# -- 13. a SKU used twice ---------------------------------------------------------------------

STICKERS = [
    SeedProduct("Sticker A", (SeedVariant("STICKER", Decimal("1.00"), stock=50),)),
    SeedProduct("Sticker B", (SeedVariant("STICKER", Decimal("1.50"), stock=40),)),
]
WOO_STICKER = SeedProduct("Sticker", (SeedVariant("STICKER", Decimal("1.00"), stock=9),))


def test_a_sku_used_twice_in_square_is_never_created_a_third_time(store: Store) -> None:
    for box in sandbox([MUG, WOO_STICKER], [MUG, *STICKERS]):
        run = runner(box, store)
        plans, report = run.run()
        assert not report.failed
        assert square_skus(box) == {"MUG-1": 1, "STICKER": 2}
        assert not [c for p in plans for c in p.changes if c.action == "create"]
        warnings = "\n".join(w for p in plans for w in p.warnings)
        assert "'STICKER' is used by 2 variants on square" in warnings
        # An edit of the owner's product (an incremental read) does not create it either.
        pid = box.woocommerce.product_by_sku("STICKER")["id"]
        box.woocommerce.server.faults.clear()
        woo_rest(box.woocommerce, "PUT", f"products/{pid}", {"regular_price": "1.25"})
        plans, report = run.run()
        assert square_skus(box) == {"MUG-1": 1, "STICKER": 2}
        warnings = "\n".join(w for p in plans for w in p.warnings)
        assert "'STICKER' is used by 2 variants on square" in warnings
        assert not [c for p in plans for c in p.changes if c.action == "create"]


# -- 14. the owner's product deleted for good, then made again --------------------------------


@pytest.mark.parametrize("force", [True, False], ids=["deleted", "trashed"])
@pytest.mark.parametrize("full", [False, True], ids=["incremental", "full"])
def test_a_product_deleted_for_good_and_made_again_takes_over_its_sku(
    store: Store, full: bool, force: bool
) -> None:
    for box in sandbox([MUG, CAP], [MUG, CAP]):
        run = runner(box, store)
        run.run()
        wc = box.woocommerce
        old = wc.product_by_sku("MUG-1")["id"]
        woo_rest(wc, "DELETE", f"products/{old}", params={"force": str(force).lower()})
        made = {
            "name": "Mug",
            "sku": "MUG-1",
            "regular_price": "12.50",
            "manage_stock": True,
            "stock_quantity": 7,
        }
        new = woo_rest(wc, "POST", "products", made)["id"]
        plans, report = run.run(full=full)
        assert not report.failed and not report.errors
        assert links(store, "woocommerce")["MUG-1"] == str(new)
        assert not any("MUG-1" in w for p in plans for w in p.warnings)

        # A till sale now reaches the live product.
        variation = box.square.variation_by_sku("MUG-1")
        assert variation is not None
        box.square.simulate_sale(variation["id"], 2)
        plans, report = run.run()
        assert not report.failed and not report.errors
        assert wc.stock_of("MUG-1") == 5
        assert not any("MUG-1" in w for p in plans for w in p.warnings)
        assert square_skus(box) == {"MUG-1": 1, "CAP-1": 1}
        assert woo_skus(box) == {"MUG-1": 1, "CAP-1": 1}


@pytest.mark.parametrize("force", [True, False], ids=["deleted", "trashed"])
def test_a_product_deleted_for_good_takes_over_its_sku_when_staged_ahead(
    store: Store, force: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same, with the other channels' side staged after each product read (``AHEAD_BATCH``):
    the old product's last-read copy is staged before the read can tell it is gone, and must not
    stay staged beside the new one."""
    monkeypatch.setattr(reading, "AHEAD_BATCH", 1)
    test_a_product_deleted_for_good_and_made_again_takes_over_its_sku(store, full=False, force=force)


def test_a_square_create_of_a_sku_square_already_holds_is_adopted_or_refused() -> None:
    """The lookup before every Square create: a SKU already there in one item is that product (no
    second item); a SKU held by two items, or split across items, is refused, naming them."""
    from adapters.base import CreateProduct
    from bridge.models import ChannelProduct, ChannelVariant, Money
    from sandbox.square import SquareEmulator

    def product(name: str, *skus: str) -> ChannelProduct:
        variants = tuple(
            ChannelVariant(channel_id="", sku=sku, price=Money(amount=Decimal("1.00"), currency="USD"))
            for sku in skus
        )
        kind = "variable" if len(skus) > 1 else "simple"
        return ChannelProduct(channel="square", channel_id="w1", kind=kind, name=name, variants=variants)

    with SquareEmulator() as em:
        ids = em.seed([MUG, TEE, *STICKERS], locations=1)
        info = em.connection_info()
        adapter = SquareAdapter(
            info["access_token"], base_url=info["base_url"], backoff=0.01, backoff_cap=0.05
        )
        before = Counter(o["type"] for o in em._objects.values())
        mug, tee, sticker, split = adapter.apply(
            [
                CreateProduct(key="a", product=product("Mug", "MUG-1")),
                CreateProduct(key="b", product=product("Tee", "TEE-S", "TEE-M", "TEE-L")),
                CreateProduct(key="c", product=product("Sticker", "STICKER")),
                CreateProduct(key="d", product=product("Mixed", "MUG-1", "NEW-1")),
            ]
        )
        assert mug.ok and mug.ids == {"MUG-1": ids["MUG-1"]}
        assert tee.ok and tee.ids == {s: ids[s] for s in ("TEE-S", "TEE-M", "TEE-L")}
        assert tee.channel_id == em.variation_by_sku("TEE-S")["item_variation_data"]["item_id"]  # type: ignore[index]
        assert not sticker.ok and not sticker.retryable and sticker.code == "DUPLICATE_SKU"
        assert "STICKER" in str(sticker.error)
        assert not split.ok and split.code == "DUPLICATE_SKU" and ids["MUG-1"] in str(split.error)
        assert Counter(o["type"] for o in em._objects.values()) == before  # nothing created


def test_a_product_renamed_while_its_create_is_in_doubt_is_still_created_once(
    square_owns: Sandbox, store: Store
) -> None:
    box = square_owns
    policy = SyncPolicy(system_of_record="square")
    box.woocommerce.server.faults.add(
        kind="apply_then_fail", method="POST", path="/products/batch$", status=502, times=1
    )
    runner(box, store, policy, attempts=1).run()  # the process dies in doubt
    item = box.square.variation_by_sku("TEE-S")
    assert item is not None
    item_id = item["item_variation_data"]["item_id"]
    restarted = runner(box, store, policy)
    # The owner renames the product meanwhile: planned now, its create would have another key.
    from adapters.base import UpdateProduct

    [renamed] = restarted.adapters["square"].apply(
        [UpdateProduct(key="rename", product_id=item_id, fields={"name": "Tee Shirt"})]
    )
    assert renamed.ok
    restarted.run()
    store.db.execute("UPDATE outbox SET next_attempt_at = '' WHERE done_at IS NULL")
    _plans, report = restarted.run()
    assert not report.failed and not report.errors
    # One product made, under the name it was sent with (the rename is then a catalogue matter).
    assert woo_products(box) == {"Mug": 1, "Tee": 1, "Cap": 1}
    assert woo_skus(box) == dict.fromkeys(ALL_SKUS, 1)
    assert len({box.woocommerce.product_by_sku(s)["parent_id"] for s in ("TEE-S", "TEE-M", "TEE-L")}) == 1
    assert set(links(store, "woocommerce")) == set(ALL_SKUS)
    assert not [c for c in restarted.prepare(full=True).plan.changes if c.action == "create"]


def test_a_lost_answer_for_the_variations_then_a_restart_creates_no_second_variation(
    square_owns: Sandbox, store: Store
) -> None:
    box = square_owns
    policy = SyncPolicy(system_of_record="square")
    box.woocommerce.server.faults.add(
        kind="apply_then_reset", method="POST", path="/variations/batch$", times=1
    )
    _plans, report = runner(box, store, policy, attempts=1).run()  # dies with the variations in doubt
    assert report.deferred["woocommerce"] == 1
    restarted = runner(box, store, policy)
    due_one_by_one(store, restarted)
    _plans, report = restarted.run()
    assert not report.failed and not report.errors
    assert woo_products(box) == {"Mug": 1, "Tee": 1, "Cap": 1}
    assert woo_skus(box) == dict.fromkeys(ALL_SKUS, 1)
    assert set(links(store, "woocommerce")) == set(ALL_SKUS)
    settled(restarted)
