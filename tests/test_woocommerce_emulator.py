"""The WooCommerce emulator behaves like wc/v3 where the adapter depends on it: wire shapes match the
documented examples, errors are WooCommerce's, auth is enforced, and stock moves like WooCommerce's.

All over real loopback HTTP with the ``woocommerce`` client (OAuth 1.0a over http) or requests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
from webhook_receiver import Receiver
from woo_helpers import fixture, small_catalog
from woocommerce import API

from sandbox.seed import SeedProduct, SeedVariant, generate_catalog
from sandbox.woocommerce import WooCommerceEmulator, oauth_query

P = "/wp-json/wc/v3"


@pytest.fixture
def emulator() -> Iterator[WooCommerceEmulator]:
    with WooCommerceEmulator() as emu:
        yield emu


def api(emu: WooCommerceEmulator, secret: str | None = None) -> API:
    info = emu.connection_info()
    return API(
        url=info["url"],
        consumer_key=info["consumer_key"],
        consumer_secret=secret or info["consumer_secret"],
        version="wc/v3",
        timeout=10,
    )


def basic(emu: WooCommerceEmulator) -> tuple[str, str]:
    return (emu.consumer_key, emu.consumer_secret)


def same_shape(doc: Any, ours: Any, path: str = "") -> None:
    """Every key of the documented example exists in ours with the same JSON type (null matches any)."""
    if isinstance(doc, dict):
        assert isinstance(ours, dict), path
        missing = set(doc) - set(ours)
        assert not missing, f"{path}: missing {sorted(missing)}"
        for key in doc:
            same_shape(doc[key], ours[key], f"{path}.{key}")
    elif isinstance(doc, list):
        assert isinstance(ours, list), path
        if doc and ours:
            same_shape(doc[0], ours[0], f"{path}[0]")
    elif doc is None or ours is None:
        return
    elif isinstance(doc, bool) or isinstance(ours, bool):
        assert type(doc) is type(ours) or isinstance(ours, str), f"{path}: {doc!r} vs {ours!r}"
    elif isinstance(doc, (int, float)):
        assert isinstance(ours, (int, float)), f"{path}: {doc!r} vs {ours!r}"
    else:
        assert type(doc) is type(ours), f"{path}: {doc!r} vs {ours!r}"


def test_product_variation_shapes_match_fixtures(emulator: WooCommerceEmulator) -> None:
    emulator.seed(small_catalog())
    client = api(emulator)
    products = client.get("products", params={"per_page": 100}).json()
    simple = next(p for p in products if p["sku"] == "MUG-1")
    variable = next(p for p in products if p["type"] == "variable")
    same_shape(fixture("product.retrieve.response.json"), simple)
    same_shape(fixture("product.create_variable.response.json"), variable)
    variation = client.get(f"products/{variable['id']}/variations").json()[0]
    same_shape(fixture("product_variation.retrieve.response.json") | {"image": None}, variation)
    assert isinstance(simple["regular_price"], str) and simple["regular_price"] == "12.50"
    assert variable["regular_price"] == "" and variable["price"] == "20.00"
    assert simple["date_modified_gmt"].count(":") == 2 and "Z" not in simple["date_modified_gmt"]


def test_customer_order_refund_webhook_shapes(emulator: WooCommerceEmulator) -> None:
    emulator.seed(small_catalog())
    client = api(emulator)
    customer = client.post("customers", fixture("customer.create.request.json"))
    assert customer.status_code == 201
    same_shape(fixture("customer.retrieve.response.json"), customer.json())
    order = emulator.simulate_sale([("MUG-1", 2), ("TEE-M", 1)])
    doc_order = fixture("order.retrieve.response.json")
    doc_order["meta_data"] = []
    doc_order["tax_lines"] = doc_order["shipping_lines"] = []
    for line in doc_order["line_items"]:
        line["taxes"] = line["meta_data"] = []
    same_shape(doc_order, order)
    line = order["line_items"][0]
    refund = client.post(
        f"orders/{order['id']}/refunds",
        {"amount": "12.50", "line_items": [{"id": line["id"], "quantity": 1, "refund_total": "12.50"}]},
    )
    assert refund.status_code == 201
    same_shape(fixture("order_refund.retrieve.response.json"), refund.json())
    hook = client.post("webhooks", {"topic": "order.updated", "delivery_url": "http://127.0.0.1:9/x"})
    assert hook.status_code == 201
    same_shape(fixture("webhook.retrieve.response.json"), hook.json())


def test_errors_are_woocommerce_shaped(emulator: WooCommerceEmulator) -> None:
    emulator.seed(small_catalog())
    client = api(emulator)
    too_many = client.get("products", params={"per_page": 101})
    assert too_many.status_code == 400
    assert too_many.json() == fixture("derived-from-source/error.per_page_out_of_range.json")
    missing = client.get("products/999999")
    assert (missing.status_code, missing.json()) == (
        404,
        fixture("derived-from-source/error.product_invalid_id_get.json"),
    )
    update = client.put("products/999999", {"name": "x"})
    assert (update.status_code, update.json()) == (
        400,
        fixture("derived-from-source/error.product_invalid_id_update.json"),
    )
    dup = client.post("products", {"name": "Other", "sku": "MUG-1", "regular_price": "1.00"})
    body = dup.json()
    assert dup.status_code == 400 and body["code"] == "product_invalid_sku"
    assert body["message"] == "Invalid or duplicated SKU."
    assert body["data"]["resource_id"] == emulator.product_by_sku("MUG-1")["id"]
    assert body["data"]["unique_sku"] == "MUG-1-1"
    dup_variation_sku = client.post("products", {"name": "Other", "sku": "TEE-S"})
    assert dup_variation_sku.json()["code"] == "product_invalid_sku"  # unique across variations too
    number = client.post("products", {"name": "N", "regular_price": 12.5})
    assert (number.status_code, number.json()) == (
        400,
        fixture("derived-from-source/error.price_not_string.json"),
    )
    big = client.post("products/batch", {"create": [{"name": f"p{i}"} for i in range(101)]})
    assert (big.status_code, big.json()) == (413, fixture("derived-from-source/error.batch_too_large.json"))
    nope = client.get("nothing-here")
    assert nope.status_code == 404 and nope.json()["code"] == "rest_no_route"
    cust = client.delete("customers/5")
    assert cust.status_code == 501


def test_batch_is_per_item_and_not_atomic(emulator: WooCommerceEmulator) -> None:
    emulator.seed(small_catalog())
    client = api(emulator)
    answer = client.post(
        "products/batch",
        {
            "create": [{"name": "A", "sku": "NEW-1"}, {"name": "B", "sku": "MUG-1"}],
            "update": [{"id": 999, "name": "x"}],
        },
    )
    body = answer.json()
    assert answer.status_code == 200
    assert body["create"][0]["sku"] == "NEW-1"
    assert body["create"][1]["id"] == 0 and body["create"][1]["error"]["code"] == "product_invalid_sku"
    assert (
        body["update"][0] == fixture("derived-from-source/batch.response_with_item_error.json")["update"][0]
    )
    assert "delete" not in body
    assert emulator.product_by_sku("NEW-1")["name"] == "A"


def test_auth_oauth_basic_query_and_wrong_keys(emulator: WooCommerceEmulator) -> None:
    url = emulator.url + P + "/products"
    assert api(emulator).get("products").status_code == 200  # OAuth HMAC-SHA256 (the client)
    assert (
        requests.get(
            oauth_query(url + "?per_page=5", "GET", emulator.consumer_key, emulator.consumer_secret),
            timeout=5,
        ).status_code
        == 200
    )
    signed = oauth_query(url, "GET", emulator.consumer_key, "wrong")
    bad = requests.get(signed, timeout=5)
    assert (bad.status_code, bad.json()) == (
        401,
        fixture("derived-from-source/error.auth_invalid_signature.json"),
    )
    replay = oauth_query(url, "GET", emulator.consumer_key, emulator.consumer_secret)
    assert requests.get(replay, timeout=5).status_code == 200
    assert requests.get(replay, timeout=5).status_code == 401  # nonce reuse
    assert api(emulator, secret="cs_wrong").get("products").status_code == 401
    assert requests.get(url, auth=basic(emulator), timeout=5).status_code == 200
    wrong = requests.get(url, auth=(emulator.consumer_key, "cs_wrong"), timeout=5)
    assert (wrong.status_code, wrong.json()) == (
        401,
        fixture("derived-from-source/error.auth_consumer_secret_invalid.json"),
    )
    assert "WWW-Authenticate" in wrong.headers
    query = requests.get(
        url,
        params={"consumer_key": emulator.consumer_key, "consumer_secret": emulator.consumer_secret},
        timeout=5,
    )
    assert query.status_code == 200
    anon = requests.get(url, timeout=5)
    assert (anon.status_code, anon.json()) == (
        401,
        fixture("derived-from-source/error.cannot_list_unauthenticated.json"),
    )


def test_pagination_filters_and_fields(emulator: WooCommerceEmulator) -> None:
    emulator.seed(generate_catalog(60))
    client = api(emulator)
    first = client.get("products", params={"per_page": 10, "page": 1, "orderby": "id", "order": "asc"})
    total = int(first.headers["X-WP-Total"])
    assert int(first.headers["X-WP-TotalPages"]) == -(-total // 10)
    assert 'rel="next"' in first.headers["Link"] and 'rel="prev"' not in first.headers["Link"]
    past = client.get("products", params={"per_page": 10, "page": 99})
    assert past.json() == [] and past.headers["X-WP-Total"] == str(total)
    ids = [p["id"] for p in first.json()]
    assert ids == sorted(ids)
    by_sku = client.get("products", params={"sku": "SB-00003-S"}).json()
    assert len(by_sku) == 1 and by_sku[0]["type"] == "variation" and by_sku[0]["parent_id"] > 0
    slim = client.get("products", params={"_fields": "sku,stock_quantity", "per_page": 1}).json()[0]
    assert set(slim) == {"id", "sku", "stock_quantity"}
    some = client.get("products", params={"include": f"{ids[0]},{ids[1]}"}).json()
    assert {p["id"] for p in some} == {ids[0], ids[1]}


def test_delete_without_force_trashes_and_only_status_trash_lists_it(emulator: WooCommerceEmulator) -> None:
    """DELETE without ``force`` moves a product to the trash, and a variable product's variations with
    it (WC_Post_Data::trash_post), moving their modified dates; ``status=any`` (the default) leaves
    the trash out of every listing, ``status=trash`` lists only the trash; a trashed variable product
    lists no variations (get_children() reads published and private ones). ``force=true`` deletes."""
    emulator.freeze_time()
    emulator.seed(small_catalog())
    client = api(emulator)
    mug = emulator.product_by_sku("MUG-1")["id"]
    tee = emulator.product_by_sku("TEE-S")["parent_id"]
    tee_variations = {v["id"] for v in client.get(f"products/{tee}/variations").json()}
    assert len(tee_variations) == 3
    emulator.advance(5)
    before = (emulator.now() - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    for pid in (mug, tee):
        answer = client.delete(f"products/{pid}")
        assert answer.status_code == 200 and answer.json()["status"] == "trash"
    again = client.delete(f"products/{mug}")
    assert again.status_code == 410 and again.json()["code"] == "woocommerce_rest_already_trashed"

    def ids(route: str, **params: Any) -> set[int]:
        return {i["id"] for i in client.get(route, params={"per_page": 100, **params}).json()}

    live = ids("products")
    assert mug not in live and tee not in live and live
    assert ids("products", status="any") == live
    assert ids("products", status="trash") == {mug, tee}
    since = {"modified_after": before, "dates_are_gmt": "true"}
    assert ids("products", status="trash", **since) == {mug, tee} and not ids("products", **since)
    trashed = client.get(f"products/{tee}").json()
    assert trashed["status"] == "trash" and trashed["variations"] == []
    assert not ids(f"products/{tee}/variations") and not ids("variations") & tee_variations
    assert ids(f"products/{tee}/variations", status="trash") == tee_variations
    assert ids("variations", status="trash") == ids("variations", status="trash", **since) == tee_variations
    assert all(v["status"] == "trash" for v in client.get("variations", params={"status": "trash"}).json())
    gone = client.delete(f"products/{mug}", params={"force": "true"})
    assert gone.status_code == 200 and mug not in ids("products", status="trash")


def test_offset_overrides_page_and_exclude_filters(emulator: WooCommerceEmulator) -> None:
    """``offset`` is WP_Query's: it overrides ``page``; the totals still count the whole filtered set
    and the links still follow ``page``; an empty page counts nothing. Same on every paged listing."""
    emulator.seed(generate_catalog(60))
    client = api(emulator)
    by_id = {"orderby": "id", "order": "asc", "per_page": 10}
    every = [p["id"] for p in client.get("products", params={**by_id, "per_page": 100}).json()]
    total = len(every)
    shifted = client.get("products", params={**by_id, "offset": 15, "page": 3})
    assert [p["id"] for p in shifted.json()] == every[15:25]
    assert shifted.headers["X-WP-Total"] == str(total)
    assert shifted.headers["X-WP-TotalPages"] == str(-(-total // 10))
    assert "page=2" in shifted.headers["Link"] and "page=4" in shifted.headers["Link"]  # from page=3
    alone = client.get("products", params={**by_id, "offset": 15})
    assert [p["id"] for p in alone.json()] == every[15:25]
    assert 'rel="prev"' not in alone.headers["Link"] and 'rel="next"' in alone.headers["Link"]
    negative = client.get("products", params={**by_id, "offset": -15})  # absint
    assert [p["id"] for p in negative.json()] == every[15:25]
    beyond = client.get("products", params={**by_id, "offset": total})
    assert beyond.json() == []
    assert beyond.headers["X-WP-Total"] == beyond.headers["X-WP-TotalPages"] == "0"
    bad = client.get("products", params={"offset": "ten"})
    assert bad.status_code == 400 and bad.json()["code"] == "rest_invalid_param"
    assert bad.json()["data"]["params"] == {"offset": "offset is not of type integer."}
    # exclude: post__not_in, as a comma list or repeated exclude[]
    some = client.get("products", params={**by_id, "per_page": 100, "exclude": f"{every[0]},{every[3]}"})
    assert [p["id"] for p in some.json()] == [i for i in every if i not in (every[0], every[3])]
    assert some.headers["X-WP-Total"] == str(total - 2)
    repeated = requests.get(
        f"{emulator.url}{P}/products?exclude[]={every[1]}&exclude[]={every[2]}&per_page=100",
        auth=basic(emulator),
        timeout=10,
    ).json()
    assert {p["id"] for p in repeated} == set(every) - {every[1], every[2]}
    # the same on /variations and /orders
    variations = [v["id"] for v in client.get("variations", params={**by_id, "per_page": 100}).json()]
    page = client.get("variations", params={**by_id, "offset": 5, "exclude": str(variations[6])}).json()
    assert [v["id"] for v in page] == [v for v in variations if v != variations[6]][5:15]
    skus = [p["sku"] for p in client.get("products", params={"per_page": 3, "type": "simple"}).json()]
    for sku in skus:
        emulator.simulate_sale([(sku, 1)])
    orders = [o["id"] for o in client.get("orders", params={"orderby": "id", "order": "asc"}).json()]
    later = client.get("orders", params={"orderby": "id", "order": "asc", "offset": 1}).json()
    assert [o["id"] for o in later] == orders[1:]
    others = client.get("orders", params={"orderby": "id", "order": "asc", "exclude": str(orders[0])}).json()
    assert [o["id"] for o in others] == orders[1:]


def test_modified_ties_are_ordered_by_id_unless_shuffled(emulator: WooCommerceEmulator) -> None:
    """WooCommerce appends ID to ``orderby=modified`` (same direction); its products endpoint may not
    (see the emulator's docstring), which ``shuffle_product_ties`` reproduces."""
    emulator.freeze_time()
    emulator.seed(generate_catalog(120))  # every product and variation modified in one second
    client = api(emulator)

    def ids(endpoint: str, order: str = "asc") -> list[int]:
        params = {"orderby": "modified", "order": order, "per_page": 100}
        return [p["id"] for p in client.get(endpoint, params=params).json()]

    asc = ids("products")
    assert asc == sorted(asc) and len(asc) > 50
    assert ids("products", "desc") == sorted(asc, reverse=True)
    assert ids("variations") == sorted(ids("variations"))
    emulator.shuffle_product_ties = random.Random(3)
    shuffled = [ids("products") for _ in range(3)]
    assert all(sorted(o) == asc for o in shuffled)
    assert len({tuple(o) for o in shuffled} | {tuple(asc)}) == 4  # a new order every time
    assert ids("variations") == sorted(ids("variations"))  # only products lose the tie-break
    emulator.advance(1)
    simple = next(p for p in client.get("products", params={"type": "simple"}).json())
    emulator.manual_stock_edit(simple["sku"], 1)
    assert ids("products")[-1] == simple["id"]  # a later date still sorts after every tie


def test_after_request_hook_runs_between_requests(emulator: WooCommerceEmulator) -> None:
    emulator.seed(small_catalog())
    client = api(emulator)
    seen: list[str] = []

    def hook(request: Any) -> None:
        seen.append(request.path)
        if len(seen) == 1:
            emulator.manual_stock_edit("MUG-1", 42)  # between the first answer and the next request

    emulator.after_request = hook
    before = client.get("products", params={"sku": "MUG-1"}).json()[0]
    after = client.get("products", params={"sku": "MUG-1"}).json()[0]
    assert (before["stock_quantity"], after["stock_quantity"]) == (7, 42)
    assert seen == [f"{P}/products", f"{P}/products"]


def test_round_trips_count_calls_sent_after_an_answer_not_calls_sent_together(
    emulator: WooCommerceEmulator,
) -> None:
    """``round_trips`` is the longest chain of calls each sent once the one before was answered:
    three calls sent together are one round trip, then two in turn make three."""
    emulator.seed(small_catalog())
    emulator.server.faults.add(kind="latency", seconds=0.2, path=r"/products$", times=3)
    emulator.server.reset_stats()

    def get(_: int) -> int:
        return requests.get(f"{emulator.url}{P}/products", auth=basic(emulator), timeout=10).status_code

    with ThreadPoolExecutor(max_workers=3) as pool:
        assert list(pool.map(get, range(3))) == [200] * 3
    assert (emulator.server.round_trips, emulator.server.peak_in_flight) == (1, 3)
    get(0), get(1)
    assert emulator.server.round_trips == 3
    control = requests.get(f"{emulator.url}/__sandbox/in-flight", timeout=10).json()
    assert control == {"in_flight": 0, "peak": 3, "round_trips": 3}
    emulator.server.reset_stats()
    assert emulator.server.round_trips == 0


def test_modified_after_is_strict_and_gmt(emulator: WooCommerceEmulator) -> None:
    t0 = emulator.freeze_time()
    emulator.seed(small_catalog())
    emulator.advance(5)
    emulator.manual_stock_edit("MUG-1", 3)
    client = api(emulator)
    stamp = (t0 + (emulator.now() - t0)).strftime("%Y-%m-%dT%H:%M:%S")
    same = client.get("products", params={"modified_after": stamp, "dates_are_gmt": "true"}).json()
    assert same == []  # strictly greater
    earlier = client.get(
        "products", params={"modified_after": t0.strftime("%Y-%m-%dT%H:%M:%S"), "dates_are_gmt": "true"}
    ).json()
    assert [p["sku"] for p in earlier] == ["MUG-1"]
    # Without dates_are_gmt the bound is site time (UTC-3 here): the same string means 3h later.
    local = client.get("products", params={"modified_after": t0.strftime("%Y-%m-%dT%H:%M:%S")}).json()
    assert local == []


def test_orders_move_stock_like_woocommerce(emulator: WooCommerceEmulator) -> None:
    emulator.seed(small_catalog())
    client = api(emulator)
    pending = client.post("orders", {"line_items": [{"sku": "MUG-1", "quantity": 1}]}).json()
    assert emulator.stock_of("MUG-1") == 7  # pending: no reduction
    client.put(f"orders/{pending['id']}", {"status": "on-hold"})
    assert emulator.stock_of("MUG-1") == 6
    paid = client.post("orders", {"set_paid": True, "line_items": [{"sku": "TEE-S", "quantity": 2}]}).json()
    assert paid["status"] == "processing" and emulator.stock_of("TEE-S") == 1
    client.put(f"orders/{paid['id']}", {"status": "cancelled"})
    assert emulator.stock_of("TEE-S") == 3
    client.put(f"orders/{pending['id']}", {"status": "completed"})
    assert emulator.stock_of("MUG-1") == 6  # reduced once only
    line = pending["line_items"][0]
    client.post(
        f"orders/{pending['id']}/refunds",
        {"amount": "0.00", "line_items": [{"id": line["id"], "quantity": 1}], "api_restock": False},
    )
    assert emulator.stock_of("MUG-1") == 6
    client.post(
        f"orders/{pending['id']}/refunds",
        {"line_items": [{"id": line["id"], "quantity": 1, "refund_total": "12.50"}]},
    )
    assert emulator.stock_of("MUG-1") == 7
    unmanaged = emulator.simulate_sale([("POS-1", 1)])
    assert unmanaged["status"] == "processing" and emulator.stock_of("POS-1") is None
    missing = client.post("orders", {"line_items": [{"quantity": 1}]})
    assert missing.json()["code"] == "woocommerce_rest_required_product_reference"


def test_parent_managed_variation_decrements_parent(emulator: WooCommerceEmulator) -> None:
    emulator.seed(
        [
            SeedProduct(
                "Cap",
                tuple(SeedVariant(f"CAP-{c}", Decimal(5), stock=None, options={"Colour": c}) for c in "RB"),
            )
        ]
    )
    client = api(emulator)
    parent = client.get("products", params={"sku": "CAP-R"}).json()[0]["parent_id"]
    client.put(f"products/{parent}", {"manage_stock": True, "stock_quantity": 10})
    variation = emulator.product_by_sku("CAP-R")
    assert variation["manage_stock"] == "parent" and variation["stock_quantity"] == 10
    emulator.simulate_sale([("CAP-B", 4)])
    assert client.get(f"products/{parent}").json()["stock_quantity"] == 6
    # stock_quantity without manage_stock on an unmanaged product is silently ignored
    other = client.post("products", {"name": "Loose", "sku": "LOOSE"}).json()
    assert client.put(f"products/{other['id']}", {"stock_quantity": 5}).json()["stock_quantity"] is None


def test_stock_quantity_put_on_a_pooled_variation_stays_on_the_variation(
    emulator: WooCommerceEmulator,
) -> None:
    """WooCommerce source (plugins/woocommerce/includes/): a variation not managing its own stock
    under a parent that does reads ``manage_stock`` "parent" (class-wc-product-variation.php,
    ``get_manage_stock`` in view context) and the parent's count (``get_stock_quantity``). A PUT of
    ``stock_quantity`` on it passes ``if ( $variation->get_manage_stock() )`` ("parent" is truthy)
    in WC_REST_Product_Variations_Controller::prepare_object_for_database and lands in the
    variation's own ``_stock``, which nothing shows while it inherits: the parent does not move. The
    value shows once the variation manages its own stock."""
    emulator.seed(
        [
            SeedProduct(
                "Cap",
                tuple(SeedVariant(f"CAP-{c}", Decimal(5), stock=3, options={"Colour": c}) for c in "RB"),
            )
        ]
    )
    client = api(emulator)
    red = emulator.product_by_sku("CAP-R")
    parent, vid = red["parent_id"], red["id"]
    client.put(f"products/{parent}", {"manage_stock": True, "stock_quantity": 10})
    answer = client.put(f"products/{parent}/variations/{vid}", {"manage_stock": False}).json()
    assert (answer["manage_stock"], answer["stock_quantity"]) == ("parent", 10)

    answer = client.put(f"products/{parent}/variations/{vid}", {"stock_quantity": 4}).json()
    assert (answer["manage_stock"], answer["stock_quantity"]) == ("parent", 10)
    assert client.get(f"products/{parent}").json()["stock_quantity"] == 10
    listed = {v["id"]: v for v in client.get(f"products/{parent}/variations").json()}
    assert listed[vid]["stock_quantity"] == 10 and listed[vid]["manage_stock"] == "parent"

    answer = client.put(f"products/{parent}/variations/{vid}", {"manage_stock": True}).json()
    assert (answer["manage_stock"], answer["stock_quantity"]) == (True, 4)
    # wc_update_product_stock moves get_stock_managed_by_id(): the parent for a pooled variation only.
    emulator.simulate_sale([("CAP-R", 1)])
    assert emulator.stock_of("CAP-R") == 3 and client.get(f"products/{parent}").json()["stock_quantity"] == 10
    blue = emulator.product_by_sku("CAP-B")["id"]
    client.put(f"products/{parent}/variations/{blue}", {"manage_stock": False})
    emulator.simulate_sale([("CAP-B", 2)])
    assert client.get(f"products/{parent}").json()["stock_quantity"] == 8 and emulator.stock_of("CAP-R") == 3


def test_webhooks_ping_signed_deliveries_and_deleted(emulator: WooCommerceEmulator) -> None:
    emulator.seed(small_catalog())
    sink = Receiver().start()
    client = api(emulator)
    hooks = {
        t: client.post("webhooks", {"topic": t, "delivery_url": sink.url, "secret": "s3cret"}).json()
        for t in ("product.updated", "product.deleted")
    }
    sink.wait(2)
    assert sorted(b for _, b in sink.deliveries) == sorted(
        f"webhook_id={h['id']}".encode() for h in hooks.values()
    )
    assert all("x-wc-webhook-signature" not in h for h, _ in sink.deliveries)
    pid = emulator.product_by_sku("MUG-1")["id"]
    client.put(f"products/{pid}", {"regular_price": "13.00"})
    client.delete(f"products/{pid}")  # trash: fires product.deleted
    sink.wait(4)
    headers, body = sink.deliveries[2]
    assert headers["x-wc-webhook-topic"] == "product.updated"
    assert headers["x-wc-webhook-resource"] == "product" and headers["x-wc-webhook-event"] == "updated"
    assert headers["x-wc-webhook-id"] == str(hooks["product.updated"]["id"])
    assert headers["x-wc-webhook-source"] == emulator.url + "/"
    assert len(headers["x-wc-webhook-delivery-id"]) == 32
    expected = base64.b64encode(hmac.new(b"s3cret", body, hashlib.sha256).digest()).decode()
    assert headers["x-wc-webhook-signature"] == expected
    assert json.loads(body)["regular_price"] == "13.00"
    deleted_headers, deleted = sink.deliveries[3]
    assert deleted_headers["x-wc-webhook-topic"] == "product.deleted" and json.loads(deleted) == {"id": pid}
    sink.stop()


def test_injected_429_carries_retry_after(emulator: WooCommerceEmulator) -> None:
    emulator.server.faults.add(kind="status", status=429, retry_after=2, path="/products")
    answer = requests.get(emulator.url + P + "/products", auth=basic(emulator), timeout=5)
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "2"
    assert set(answer.json()) == {"code", "message", "data"} and answer.json()["data"]["status"] == 429


@pytest.mark.parametrize("variants", [50_000])
def test_seeding_holds_every_variant(variants: int) -> None:
    """How fast seeding is shows in the benches (bench.serve seeds every size bench.sync_bench
    runs), not in a timed assertion that a loaded machine fails."""
    catalog = generate_catalog(variants)
    with WooCommerceEmulator() as emu:
        emu.seed(catalog)
        sellable = [r for r in emu.products.values() if r.get("type") != "variable"]
        assert len(sellable) == variants


def test_product_search_splits_terms_as_wordpress_does(emulator: WooCommerceEmulator) -> None:
    """``search`` is WP_Query's: every term (stopwords and single letters dropped) in the title,
    excerpt or content, case-insensitive; variations are not listed."""
    emulator.seed(
        [
            SeedProduct("Blue Cotton Tee", (SeedVariant("TEE-B", Decimal("20.00"), options={"Size": "S"}),)),
            SeedProduct("Red Mug", (SeedVariant("MUG-R", Decimal("9.00")),), description="Cotton sleeve"),
            SeedProduct("Cap", (SeedVariant("CAP-1", Decimal("9.00")),)),
        ]
    )

    def names(search: str) -> list[str]:
        listed = requests.get(
            f"{emulator.url}{P}/products", params={"search": search}, auth=basic(emulator), timeout=10
        ).json()
        return sorted(p["name"] for p in listed)

    assert names("cotton") == ["Blue Cotton Tee", "Red Mug"]  # title or content
    assert names("the blue tee a") == ["Blue Cotton Tee"]  # "the", "a" dropped; both other terms match
    assert names("blue mug") == []
    assert names("CAP") == ["Cap"]
