"""The Square emulator over plain HTTP: the Square behaviours the adapter and the engine rely on.

These pin the emulator to Square's documented semantics (reference/square-api.md) so that adapter
tests against it mean something: versions, tombstones, the inventory ordering rule, idempotency,
error shapes, webhook signing and delivery. Every response is also validated against the spec.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import requests
from square_helpers import (
    square_emulator,  # noqa: F401 - the emulator fixture
)
from webhook_receiver import (
    Receiver,
    webhook_receiver,  # noqa: F401 - the receiver fixture
)

from sandbox.seed import SeedProduct, SeedVariant, generate_catalog
from sandbox.square import SquareEmulator, fmt_ms


def call(
    em: SquareEmulator,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    hdrs = {"Authorization": f"Bearer {token or em.access_token}", "Square-Version": "2025-08-20"}
    hdrs.update(headers or {})
    return requests.request(method, em.base_url + path, json=body, headers=hdrs, timeout=10)


def now_iso(offset_s: float = 0) -> str:
    return fmt_ms(int((time.time() + offset_s) * 1000))


def small_catalog() -> list[SeedProduct]:
    return [
        SeedProduct("Mug", (SeedVariant("MUG-1", Decimal("9.50"), stock=10, gtin="0400000000017"),)),
        SeedProduct(
            "Tee",
            (
                SeedVariant("TEE-S", Decimal("20"), stock=5, options={"Size": "S"}),
                SeedVariant("TEE-M", Decimal("20"), stock=0, options={"Size": "M"}),
            ),
        ),
        SeedProduct("Gift card", (SeedVariant("GIFT", Decimal("25"), stock=None),)),
    ]


def adjust(
    em: SquareEmulator, var: str, loc: str, src: str, dst: str, qty: int, **extra: Any
) -> requests.Response:
    change = {
        "type": "ADJUSTMENT",
        "adjustment": {
            "catalog_object_id": var,
            "location_id": loc,
            "from_state": src,
            "to_state": dst,
            "quantity": str(qty),
            "occurred_at": extra.pop("occurred_at", now_iso()),
            **extra,
        },
    }
    return call(
        em,
        "POST",
        "/v2/inventory/changes/batch-create",
        {"idempotency_key": uuid.uuid4().hex, "changes": [change]},
    )


# -- auth, versions, errors -------------------------------------------------------------------------


def test_auth_and_square_version(emulator: SquareEmulator) -> None:
    bad = call(emulator, "GET", "/v2/locations", token="nope")
    assert bad.status_code == 401
    assert bad.json()["errors"][0] == {
        "category": "AUTHENTICATION_ERROR",
        "code": "UNAUTHORIZED",
        "detail": "This request could not be authorized.",
    }
    missing = requests.get(emulator.base_url + "/v2/locations", timeout=5)
    assert missing.status_code == 401
    ok = call(emulator, "GET", "/v2/locations", headers={"Square-Version": "2031-01-01"})
    assert ok.status_code == 200 and ok.headers["Square-Version"] == "2031-01-01"
    malformed = call(emulator, "GET", "/v2/locations", headers={"Square-Version": "latest"})
    assert malformed.status_code == 400
    assert malformed.json()["errors"][0]["code"] == "INVALID_SQUARE_VERSION_FORMAT"
    nowhere = call(emulator, "GET", "/v2/nowhere")
    assert nowhere.status_code == 404 and nowhere.json()["errors"][0]["code"] == "NOT_FOUND"


def test_injected_faults_are_square_shaped(emulator: SquareEmulator) -> None:
    emulator.server.faults.add(kind="status", status=429, path="/v2/locations", retry_after=1)
    emulator.server.faults.add(kind="status", status=500, path="/v2/catalog/list")
    limited = call(emulator, "GET", "/v2/locations")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert limited.json()["errors"][0]["category"] == "RATE_LIMIT_ERROR"
    assert limited.json()["errors"][0]["code"] == "RATE_LIMITED"
    broken = call(emulator, "GET", "/v2/catalog/list")
    assert broken.status_code == 500
    assert broken.json()["errors"][0] == {
        "category": "API_ERROR",
        "code": "INTERNAL_SERVER_ERROR",
        "detail": "Injected fault",
    }


# -- catalogue ---------------------------------------------------------------------------------------


def test_list_pages_of_100_and_hides_deleted(emulator: SquareEmulator) -> None:
    emulator.seed(generate_catalog(250), locations=1)
    ids: list[str] = []
    cursor = None
    pages = 0
    while True:
        path = "/v2/catalog/list?types=ITEM" + (f"&cursor={cursor}" if cursor else "")
        data = call(emulator, "GET", path).json()
        pages += 1
        assert len(data["objects"]) <= 100
        ids += [o["id"] for o in data["objects"]]
        cursor = data.get("cursor")
        if not cursor:
            break
    assert pages == -(-len(ids) // 100) and len(set(ids)) == len(ids)
    deleted = call(emulator, "POST", "/v2/catalog/batch-delete", {"object_ids": ids[:2]}).json()
    variations = [o for o in deleted["deleted_object_ids"] if o not in ids[:2]]
    assert len(deleted["deleted_object_ids"]) > 2 and variations  # cascade to variations
    listed = call(emulator, "GET", "/v2/catalog/list?types=ITEM,ITEM_VARIATION").json()
    assert not set(deleted["deleted_object_ids"]) & {o["id"] for o in listed["objects"]}
    # Tombstones stay visible to search with include_deleted_objects, with updated_at = deletion time.
    found = call(
        emulator,
        "POST",
        "/v2/catalog/search",
        {"object_types": ["ITEM", "ITEM_VARIATION"], "include_deleted_objects": True, "limit": 1000},
    ).json()
    tombs = {o["id"]: o for o in found["objects"] if o["is_deleted"]}
    assert set(tombs) == set(deleted["deleted_object_ids"])
    assert all(o["updated_at"] == deleted["deleted_at"] for o in tombs.values())


def test_upsert_temp_ids_versions_and_begin_time(emulator: SquareEmulator) -> None:
    emulator.add_locations(["Main"])
    first = call(
        emulator,
        "POST",
        "/v2/catalog/batch-upsert",
        {
            "idempotency_key": "k1",
            "batches": [
                {
                    "objects": [
                        {
                            "type": "ITEM",
                            "id": "#Tea",
                            "item_data": {
                                "name": "Tea",
                                "variations": [
                                    {
                                        "type": "ITEM_VARIATION",
                                        "id": "#Tea_Mug",
                                        "item_variation_data": {
                                            "item_id": "#Tea",
                                            "sku": "TEA-MUG",
                                            "pricing_type": "FIXED_PRICING",
                                            "price_money": {"amount": 150, "currency": "USD"},
                                        },
                                    }
                                ],
                            },
                        }
                    ]
                }
            ],
        },
    )
    assert first.status_code == 200, first.text
    data = first.json()
    mapping = {m["client_object_id"]: m["object_id"] for m in data["id_mappings"]}
    item = data["objects"][0]
    assert item["id"] == mapping["#Tea"]
    variation = item["item_data"]["variations"][0]
    assert (
        variation["id"] == mapping["#Tea_Mug"] and variation["item_variation_data"]["item_id"] == item["id"]
    )
    assert (
        item["version"] == variation["version"]
        and not item["is_deleted"]
        and item["present_at_all_locations"]
    )
    begin = data["updated_at"]
    # Stale version: the whole batch is refused with VERSION_MISMATCH (400) and nothing changes.
    stale = dict(item, version=item["version"] - 1, item_data=dict(item["item_data"], name="Green tea"))
    refused = call(
        emulator,
        "POST",
        "/v2/catalog/batch-upsert",
        {"idempotency_key": "k2", "batches": [{"objects": [stale]}]},
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] == "VERSION_MISMATCH"
    # begin_time is exclusive: nothing has changed since the upsert.
    none_yet = call(
        emulator, "POST", "/v2/catalog/search", {"begin_time": begin, "include_deleted_objects": True}
    ).json()
    assert "objects" not in none_yet and none_yet["latest_time"] == begin
    fresh = dict(item, item_data=dict(item["item_data"], name="Green tea"))
    accepted = call(
        emulator,
        "POST",
        "/v2/catalog/batch-upsert",
        {"idempotency_key": "k3", "batches": [{"objects": [fresh]}]},
    )
    assert accepted.status_code == 200
    new_version = accepted.json()["objects"][0]["version"]
    assert new_version > item["version"]
    changed = call(
        emulator, "POST", "/v2/catalog/search", {"begin_time": begin, "object_types": ["ITEM"]}
    ).json()
    assert [o["item_data"]["name"] for o in changed["objects"]] == ["Green tea"]
    assert changed["latest_time"] == fmt_ms(new_version)


def test_batches_are_all_or_nothing_and_limits(emulator: SquareEmulator) -> None:
    good = {
        "type": "ITEM",
        "id": "#A",
        "item_data": {
            "name": "A",
            "variations": [
                {"type": "ITEM_VARIATION", "id": "#A1", "item_variation_data": {"item_id": "#A", "sku": "A1"}}
            ],
        },
    }
    bad_pair = [
        {
            "type": "ITEM",
            "id": "#B",
            "item_data": {
                "name": "B",
                "variations": [
                    {
                        "type": "ITEM_VARIATION",
                        "id": "#B1",
                        "item_variation_data": {"item_id": "#B", "sku": "B1"},
                    }
                ],
            },
        },
        {"type": "ITEM", "id": "UNKNOWNID", "item_data": {"name": "C"}},
    ]
    answer = call(
        emulator,
        "POST",
        "/v2/catalog/batch-upsert",
        {"idempotency_key": "x", "batches": [{"objects": [good]}, {"objects": bad_pair}]},
    )
    assert answer.status_code == 200
    body = answer.json()
    assert [o["item_data"]["name"] for o in body["objects"]] == ["A"] and body["errors"]
    names = {
        o["item_data"]["name"] for o in call(emulator, "GET", "/v2/catalog/list?types=ITEM").json()["objects"]
    }
    assert names == {"A"}  # nothing of the failed batch
    too_big = [{"type": "CATEGORY", "id": f"#c{n}", "category_data": {"name": str(n)}} for n in range(1001)]
    over = call(
        emulator,
        "POST",
        "/v2/catalog/batch-upsert",
        {"idempotency_key": "y", "batches": [{"objects": too_big}]},
    )
    assert over.status_code == 400 and over.json()["errors"][0]["code"] == "ARRAY_LENGTH_TOO_LONG"


# -- inventory ---------------------------------------------------------------------------------------


def test_counts_follow_occurred_at_not_arrival(emulator: SquareEmulator) -> None:
    skus = emulator.seed(small_catalog(), locations=["Shop"])
    loc = emulator.location_ids()[0]
    var = skus["MUG-1"]
    assert emulator.count(var, loc) == 10
    assert adjust(emulator, var, loc, "IN_STOCK", "WASTE", 3, occurred_at=now_iso(-600)).status_code == 200
    assert emulator.count(var, loc) == 7
    emulator.manual_count(var, 90, location_id=loc, occurred_at=now_iso(-300))
    assert emulator.count(var, loc) == 90
    # An offline sale that occurred before the count arrives late: the count stays 90.
    late = adjust(emulator, var, loc, "IN_STOCK", "SOLD", 2, occurred_at=now_iso(-400))
    assert late.json()["counts"][0]["quantity"] == "90"
    adjust(emulator, var, loc, "IN_STOCK", "WASTE", 2, occurred_at=now_iso(-60))
    assert emulator.count(var, loc) == 88
    # Write window: not older than 24 h, not in the future.
    old = adjust(emulator, var, loc, "NONE", "IN_STOCK", 1, occurred_at=now_iso(-25 * 3600))
    future = adjust(emulator, var, loc, "NONE", "IN_STOCK", 1, occurred_at=now_iso(3600))
    assert old.status_code == future.status_code == 400
    assert old.json()["errors"][0]["field"].endswith("occurred_at")
    read_only = adjust(emulator, var, loc, "IN_STOCK", "RESERVED_FOR_SALE", 1)
    assert read_only.status_code == 400


def test_inventory_idempotency_and_limits(emulator: SquareEmulator) -> None:
    skus = emulator.seed(small_catalog(), locations=["Shop"])
    loc = emulator.location_ids()[0]
    change = {
        "type": "ADJUSTMENT",
        "adjustment": {
            "catalog_object_id": skus["TEE-S"],
            "location_id": loc,
            "from_state": "NONE",
            "to_state": "IN_STOCK",
            "quantity": "4",
            "occurred_at": now_iso(),
        },
    }
    body = {"idempotency_key": "same", "changes": [change]}
    first = call(emulator, "POST", "/v2/inventory/changes/batch-create", body)
    again = call(emulator, "POST", "/v2/inventory/changes/batch-create", body)
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert emulator.count(skus["TEE-S"], loc) == 9
    other = call(emulator, "POST", "/v2/inventory/changes/batch-create", dict(body, changes=[change, change]))
    assert other.status_code == 400 and other.json()["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    no_key = call(emulator, "POST", "/v2/inventory/changes/batch-create", {"changes": [change]})
    assert no_key.status_code == 400 and no_key.json()["errors"][0]["field"] == "idempotency_key"
    many = call(
        emulator,
        "POST",
        "/v2/inventory/changes/batch-create",
        {"idempotency_key": "m", "changes": [change] * 101},
    )
    assert many.status_code == 400 and many.json()["errors"][0]["code"] == "ARRAY_LENGTH_TOO_LONG"
    assert emulator.count(skus["TEE-S"], loc) == 9


def test_apply_then_fail_applies_once_and_replays(emulator: SquareEmulator) -> None:
    skus = emulator.seed(small_catalog(), locations=["Shop"])
    loc = emulator.location_ids()[0]
    emulator.server.faults.add(kind="apply_then_fail", status=429, path="batch-create")
    body = {
        "idempotency_key": "retry-me",
        "changes": [
            {
                "type": "ADJUSTMENT",
                "adjustment": {
                    "catalog_object_id": skus["MUG-1"],
                    "location_id": loc,
                    "from_state": "IN_STOCK",
                    "to_state": "SOLD",
                    "quantity": "1",
                    "occurred_at": now_iso(),
                },
            }
        ],
    }
    failed = call(emulator, "POST", "/v2/inventory/changes/batch-create", body)
    assert failed.status_code == 429 and emulator.count(skus["MUG-1"], loc) == 9  # applied anyway
    replay = call(emulator, "POST", "/v2/inventory/changes/batch-create", body)
    assert replay.status_code == 200 and replay.json()["counts"][0]["quantity"] == "9"
    assert emulator.count(skus["MUG-1"], loc) == 9


def test_count_and_change_retrieval(emulator: SquareEmulator) -> None:
    skus = emulator.seed(generate_catalog(40), locations=3)
    locs = emulator.location_ids()
    rows: list[dict[str, Any]] = []
    body: dict[str, Any] = {"limit": 50}
    pages = 0
    while True:
        page = call(emulator, "POST", "/v2/inventory/counts/batch-retrieve", body).json()
        pages += 1
        rows += page["counts"]
        if "cursor" not in page:
            break
        body["cursor"] = page["cursor"]
    assert len(rows) == 120 and pages == 3
    assert {r["state"] for r in rows} == {"IN_STOCK"}
    mark = now_iso()
    time.sleep(0.01)
    var = next(iter(skus.values()))
    adjust(emulator, var, locs[1], "NONE", "IN_STOCK", 5)
    since = call(emulator, "POST", "/v2/inventory/counts/batch-retrieve", {"updated_after": mark}).json()
    assert [(c["catalog_object_id"], c["location_id"]) for c in since["counts"]] == [(var, locs[1])]
    changes = call(
        emulator,
        "POST",
        "/v2/inventory/changes/batch-retrieve",
        {"catalog_object_ids": [var], "types": ["ADJUSTMENT"], "updated_after": mark},
    ).json()["changes"]
    assert len(changes) == 1 and changes[0]["adjustment"]["to_state"] == "IN_STOCK"
    history = call(
        emulator, "POST", "/v2/inventory/changes/batch-retrieve", {"catalog_object_ids": [var]}
    ).json()["changes"]
    occurred = [c.get("physical_count", c.get("adjustment"))["occurred_at"] for c in history]
    assert occurred == sorted(occurred) and len(history) == 4


def test_seed_holds_50000_variants_at_every_location() -> None:
    """How fast seeding is shows in the benches (bench.serve seeds every size bench.sync_bench
    runs); a timed assertion here failed on a loaded machine, not on slow code."""
    catalog = generate_catalog(50_000)
    em = SquareEmulator()
    try:
        skus = em.seed(catalog, locations=3)
    finally:
        em.webhooks.close()
    assert len(skus) == 50_000
    sku, variation_id = next(reversed(skus.items()))
    assert em.variation_by_sku(sku) is not None
    stock = next(p.variants[-1].stock for p in reversed(catalog) if p.variants)
    assert [em.count(variation_id, loc) for loc in em.location_ids()] == [stock] * 3


# -- customers and orders ----------------------------------------------------------------------------


def test_customers_lifecycle_and_search(emulator: SquareEmulator) -> None:
    body = {
        "idempotency_key": "c1",
        "given_name": "Amelia",
        "email_address": "Amelia.Earhart@example.com",
        "phone_number": "+1-212-555-4240",
    }
    created = call(emulator, "POST", "/v2/customers", body)
    assert created.status_code == 200
    customer = created.json()["customer"]
    assert customer["version"] == 0 and customer["creation_source"] == "THIRD_PARTY"
    replay = call(emulator, "POST", "/v2/customers", body)  # the very same request, sent again
    assert replay.json()["customer"]["id"] == customer["id"]
    call(emulator, "POST", "/v2/customers", {"given_name": "Bob", "email_address": "bob@shop.test"})
    empty = call(emulator, "POST", "/v2/customers", {"note": "nothing"})
    assert empty.status_code == 400

    def search(flt: dict[str, Any]) -> list[str]:
        data = call(emulator, "POST", "/v2/customers/search", {"query": {"filter": flt}}).json()
        return [c["given_name"] for c in data.get("customers", [])]

    assert search({"email_address": {"exact": "amelia.earhart@EXAMPLE.com"}}) == ["Amelia"]
    assert search({"email_address": {"fuzzy": "example.com"}}) == ["Amelia"]
    assert search({"phone_number": {"exact": "+12125554240"}}) == ["Amelia"]
    assert search({"phone_number": {"fuzzy": "5554240"}}) == ["Amelia"]
    assert sorted(search({"created_at": {"start_at": "2020-01-01T00:00:00Z"}})) == ["Amelia", "Bob"]
    assert search({"updated_at": {"end_at": "2020-01-01T00:00:00Z"}}) == []
    updated = call(emulator, "PUT", f"/v2/customers/{customer['id']}", {"phone_number": None, "version": 0})
    assert updated.status_code == 200
    body = updated.json()["customer"]
    assert body["version"] == 1 and "phone_number" not in body and body["email_address"]
    stale = call(emulator, "PUT", f"/v2/customers/{customer['id']}", {"note": "x", "version": 0})
    assert stale.status_code == 400 and stale.json()["errors"][0]["code"] == "VERSION_MISMATCH"
    assert call(emulator, "DELETE", f"/v2/customers/{customer['id']}?version=1").json() == {}
    assert call(emulator, "GET", f"/v2/customers/{customer['id']}").status_code == 404
    listed = call(emulator, "GET", "/v2/customers?limit=100").json()
    assert [c["given_name"] for c in listed["customers"]] == ["Bob"]
    assert call(emulator, "GET", "/v2/customers?limit=101").status_code == 400


def test_completed_order_decrements_tracked_stock(emulator: SquareEmulator) -> None:
    skus = emulator.seed(small_catalog(), locations=["Shop", "Market"])
    shop, market = emulator.location_ids()
    start = now_iso(-1)
    order = emulator.simulate_sale(skus["MUG-1"], 3, location_id=market)
    emulator.simulate_sale(skus["GIFT"], 1, location_id=market)  # untracked: no stock change
    assert order["state"] == "COMPLETED" and order["total_money"] == {"amount": 2850, "currency": "USD"}
    assert emulator.count(skus["MUG-1"], market) == 7 and emulator.count(skus["MUG-1"], shop) == 10
    sold = call(
        emulator,
        "POST",
        "/v2/inventory/changes/batch-retrieve",
        {"types": ["ADJUSTMENT"], "catalog_object_ids": [skus["MUG-1"]]},
    ).json()["changes"][0]["adjustment"]
    assert (sold["from_state"], sold["to_state"], sold["quantity"]) == ("IN_STOCK", "SOLD", "3")
    assert sold["transaction_id"] == order["id"]
    assert (
        call(
            emulator, "POST", "/v2/inventory/changes/batch-retrieve", {"catalog_object_ids": [skus["GIFT"]]}
        ).json()
        == {}
    )
    found = call(
        emulator,
        "POST",
        "/v2/orders/search",
        {
            "location_ids": [market],
            "query": {
                "filter": {"date_time_filter": {"updated_at": {"start_at": start}}},
                "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
            },
        },
    ).json()
    assert found["orders"][0]["id"] == order["id"] and len(found["orders"]) == 2
    wrong_sort = call(
        emulator,
        "POST",
        "/v2/orders/search",
        {"query": {"filter": {"date_time_filter": {"updated_at": {"start_at": start}}}}},
    )
    assert wrong_sort.status_code == 400


# -- webhooks ----------------------------------------------------------------------------------------


def _signed(sub_key: str, url: str, headers: dict[str, str], body: bytes) -> bool:
    digest = hmac.new(sub_key.encode(), url.encode() + body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), headers["x-square-hmacsha256-signature"])


def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def test_webhooks_signed_chunked_and_retried(emulator: SquareEmulator, receiver: Receiver) -> None:
    skus = emulator.seed(generate_catalog(120), locations=["Shop"])
    loc = emulator.location_ids()[0]
    sub = emulator.subscribe(receiver.url, signature_key="whsec-test")
    receiver.fail_first = 2  # two failures, then the retry schedule delivers
    changes = [
        {
            "type": "ADJUSTMENT",
            "adjustment": {
                "catalog_object_id": v,
                "location_id": loc,
                "from_state": "NONE",
                "to_state": "IN_STOCK",
                "quantity": "1",
                "occurred_at": now_iso(),
            },
        }
        for v in list(skus.values())[:100]
    ]
    call(emulator, "POST", "/v2/inventory/changes/batch-create", {"idempotency_key": "a", "changes": changes})
    call(
        emulator,
        "POST",
        "/v2/inventory/changes/batch-create",
        {"idempotency_key": "b", "changes": [dict(changes[0])]},
    )
    wait_for(lambda: len(receiver.deliveries) >= 2)
    assert receiver.statuses[:2] == [500, 500]
    for headers, body in receiver.deliveries:
        assert _signed(sub.signature_key, receiver.url, headers, body)
        assert not _signed(sub.signature_key, receiver.url + "/", headers, body)
    events = receiver.events()
    assert {e["type"] for e in events} == {"inventory.count.updated"}
    assert all(len(e["data"]["object"]["inventory_counts"]) <= 100 for e in events)
    assert len({e["event_id"] for e in events}) == len(events)
    assert all(e["merchant_id"] == emulator.merchant_id and e["created_at"] for e in events)


def test_webhook_duplicates_and_reordering(emulator: SquareEmulator, receiver: Receiver) -> None:
    emulator.add_locations(["Shop"])
    emulator.subscribe(receiver.url, event_types=["customer.created"])
    emulator.webhooks.duplicate = True
    call(emulator, "POST", "/v2/customers", {"given_name": "One"})
    wait_for(lambda: len(receiver.deliveries) == 2)
    first, second = receiver.events()
    assert first == second  # the same event_id twice: receivers must dedupe
    emulator.webhooks.duplicate = False
    emulator.webhooks.hold_back = True
    call(emulator, "POST", "/v2/customers", {"given_name": "Two"})
    emulator.webhooks.hold_back = False
    call(emulator, "POST", "/v2/customers", {"given_name": "Three"})
    wait_for(lambda: len(receiver.deliveries) == 4)
    names = [e["data"]["object"]["customer"]["given_name"] for e in receiver.events()[2:]]
    assert names == ["Three", "Two"]


def test_catalog_webhook_carries_only_the_version_time(emulator: SquareEmulator, receiver: Receiver) -> None:
    emulator.seed(small_catalog(), locations=["Shop"])
    emulator.subscribe(receiver.url)
    item = call(emulator, "POST", "/v2/catalog/search", {"object_types": ["ITEM"]}).json()["objects"][0]
    call(emulator, "POST", "/v2/catalog/batch-delete", {"object_ids": [item["id"]]})
    wait_for(lambda: len(receiver.deliveries) == 1)
    event = receiver.events()[0]
    assert event["type"] == "catalog.version.updated"
    assert set(event["data"]["object"]["catalog_version"]) == {"updated_at"}
    assert datetime.fromisoformat(event["created_at"]) > datetime.now(tz=UTC) - timedelta(minutes=1)
