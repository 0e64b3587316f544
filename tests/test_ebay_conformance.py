"""The eBay ebay_emulator against eBay's own contracts and documented protocols: every operation it serves
is in the vendored contracts and answers in their schemas (success, 207 and errors), the OAuth token
endpoint as documented, and notifications signed with ECDSA verifiable by the key getPublicKey gives."""

from __future__ import annotations

import base64
import json
import time
from decimal import Decimal

import jsonschema
import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from ebay_helpers import (
    Api,
    NotificationEndpoint,
    catalogue,
    check_recorded,
    derived,
    error_schema,
    operations,
    response_schema,
    validate,
)

from sandbox.ebay import EbayEmulator, EndpointRefused
from sandbox.seed import SeedProduct, SeedVariant
from tools.trim_ebay_spec import CONTRACTS

TOKEN = "/identity/v1/oauth2/token"
INV = "/sell/inventory/v1"


def token_call(em: EbayEmulator, auth: tuple[str, str] | None = None, **form: str) -> requests.Response:
    return requests.post(
        em.base_url + TOKEN, data=form, auth=auth or (em.client_id, em.client_secret), timeout=10
    )


def test_every_operation_the_emulator_serves_is_in_the_vendored_contracts(
    ebay_emulator: EbayEmulator,
) -> None:
    served = set(ebay_emulator.router.names()) - {"getToken"}
    assert served == set(operations())
    assert served == {op for _, ops in CONTRACTS.values() for op in ops}


def test_every_operation_answers_in_contract_shape_success_and_error(ebay_emulator: EbayEmulator) -> None:
    ebay_emulator.seed(catalogue(3))
    sizes = (
        SeedVariant("TEE-S", Decimal("9.00"), options={"Size": "S"}),
        SeedVariant("TEE-M", Decimal("9.00"), options={"Size": "M"}),
    )
    ebay_emulator.seed([SeedProduct("Tee", sizes)])
    api = Api(ebay_emulator)
    group = {"inventoryItemGroupKey": "TEE", "marketplaceId": "EBAY_US"}
    offer_id = ebay_emulator.offer_of("MUG-000")["offerId"]
    order = ebay_emulator.buy("MUG-000", 2)
    calls = [
        api.get(INV + "/inventory_item", limit=2),
        api.get(INV + "/inventory_item", limit=0),
        api.get(INV + "/inventory_item/MUG-001"),
        api.get(INV + "/inventory_item/NOPE"),
        api.post(INV + "/bulk_get_inventory_item", {"requests": [{"sku": "MUG-001"}]}),
        api.post(INV + "/bulk_get_inventory_item", {"requests": [{"sku": "MUG-001"}, {"sku": "NOPE"}]}),
        api.get(INV + "/offer", sku="MUG-000"),
        api.get(INV + "/offer/" + offer_id),
        api.get(INV + "/offer/0"),
        api.post(INV + "/bulk_update_price_quantity", {"requests": [{"sku": "MUG-001", "offers": []}]}),
        api.post(
            INV + "/bulk_update_price_quantity",
            {
                "requests": [
                    {
                        "sku": "MUG-000",
                        "offers": [{"offerId": offer_id, "price": {"value": "9.50", "currency": "USD"}}],
                    },
                    {"sku": "X"},
                ]
            },
        ),
        api.post(INV + "/bulk_update_price_quantity", {"requests": []}),
        api.get(INV + "/inventory_item_group/TEE"),
        api.get(INV + "/inventory_item_group/NOPE"),
        api.get(INV + "/inventory_item/TEE-S"),  # an item of a group names it
        api.post(INV + "/offer/withdraw_by_inventory_item_group", group),
        api.post(INV + "/offer/withdraw_by_inventory_item_group", group),  # nothing live any more
        api.post(INV + "/offer/publish_by_inventory_item_group", group),
        api.post(INV + "/offer/publish_by_inventory_item_group", group | {"inventoryItemGroupKey": "NOPE"}),
        api.post(INV + f"/offer/{offer_id}/withdraw", None),
        api.post(INV + f"/offer/{offer_id}/withdraw", None),  # not published any more
        api.post(INV + f"/offer/{offer_id}/publish", None),
        api.post(INV + "/offer/0/publish", None),
        api.get("/sell/fulfillment/v1/order"),
        api.get("/sell/fulfillment/v1/order", orderIds=order["orderId"]),
        api.get("/sell/fulfillment/v1/order", filter="creationdate:[2030-01-01T00:00:00.000Z..]"),
        api.get("/sell/fulfillment/v1/order/" + order["orderId"]),
        api.get("/sell/fulfillment/v1/order/1-2-3"),
        api.get("/commerce/notification/v1/public_key/" + ebay_emulator.key_id),
        api.get("/commerce/notification/v1/public_key/unknown"),
        requests.get(ebay_emulator.base_url + INV + "/inventory_item", timeout=10),
    ]
    assert [c.status_code for c in calls] == [
        200,
        400,
        200,
        404,
        200,
        207,
        200,
        200,
        404,
        200,
        207,
        400,
        200,
        400,
        200,
        204,
        400,
        200,
        400,
        200,
        400,
        200,
        404,
        200,
        200,
        400,
        200,
        404,
        200,
        404,
        401,
    ]
    seen = check_recorded(ebay_emulator)
    assert {op for op, _ in seen} == set(operations()) | {"getToken"}
    assert ebay_emulator.offer_of("MUG-000")["pricingSummary"]["price"]["value"] == "9.50"


def test_the_strict_validator_rejects_invented_fields_and_wrong_types() -> None:
    good = {"sku": "A", "availability": {"shipToLocationAvailability": {"quantity": 1}}}
    validate(good, response_schema("getInventoryItem"))
    with pytest.raises(jsonschema.ValidationError):
        validate({"sku": "A", "qty": 1}, response_schema("getInventoryItem"))
    with pytest.raises(jsonschema.ValidationError):
        validate(
            {"availability": {"shipToLocationAvailability": {"quantity": "1"}}},
            response_schema("getInventoryItem"),
        )
    with pytest.raises(jsonschema.ValidationError):
        validate({"orders": [{"lineItems": [{"quantity": 1.5}]}]}, response_schema("getOrders"))


def test_code_grant_then_refresh_grant_as_documented(ebay_emulator: EbayEmulator) -> None:
    code = ebay_emulator.consent()
    first = token_call(
        ebay_emulator, grant_type="authorization_code", code=code, redirect_uri="ShopBrid-RuName"
    )
    assert first.status_code == 200
    body = first.json()
    validate(body, derived("oauth_token.response.schema.json"))
    assert body["expires_in"] == 7200 and body["refresh_token_expires_in"] > 86400 * 365
    again = token_call(ebay_emulator, grant_type="authorization_code", code=code)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")  # a code is used once
    renewed = token_call(ebay_emulator, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert renewed.status_code == 200 and "refresh_token" not in renewed.json()
    assert renewed.json()["access_token"] != body["access_token"]


def test_expired_access_token_is_401_and_refused_refresh_is_invalid_grant(
    ebay_emulator: EbayEmulator,
) -> None:
    ebay_emulator.seed(catalogue(1))
    api = Api(ebay_emulator)
    assert api.get(INV + "/inventory_item/MUG-000").status_code == 200
    ebay_emulator.advance(7201)
    expired = api.get(INV + "/inventory_item/MUG-000")
    assert (expired.status_code, expired.json()["errors"][0]["errorId"]) == (401, 1001)
    validate(expired.json(), error_schema("getInventoryItem"))  # answered before routing: not recorded
    refresh = ebay_emulator.issue_refresh_token()
    ebay_emulator.revoke_refresh_tokens()
    refused = token_call(ebay_emulator, grant_type="refresh_token", refresh_token=refresh)
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    wrong_client = token_call(
        ebay_emulator, auth=(ebay_emulator.client_id, "wrong"), grant_type="refresh_token", refresh_token="x"
    )
    assert (wrong_client.status_code, wrong_client.json()["error"]) == (401, "invalid_client")
    assert token_call(ebay_emulator, grant_type="password").json()["error"] == "unsupported_grant_type"


def test_notifications_are_ecdsa_signed_and_verify_with_the_key_by_kid(
    ebay_emulator: EbayEmulator, ebay_endpoint: NotificationEndpoint
) -> None:
    ebay_emulator.seed(catalogue(1))
    ebay_emulator.add_destination(ebay_endpoint.url, ebay_endpoint.verification_token)
    order = ebay_emulator.buy("MUG-000", 2)
    deadline = time.monotonic() + 5
    while not ebay_endpoint.posts and time.monotonic() < deadline:
        time.sleep(0.01)
    headers, body = ebay_endpoint.posts[0]
    message = json.loads(body)
    validate(message, derived("notification.envelope.schema.json"))
    assert message["notification"]["data"]["orderId"] == order["orderId"]
    signature = json.loads(base64.b64decode(headers["x-ebay-signature"]))
    assert (signature["alg"], signature["digest"]) == ("ecdsa", "SHA256")
    key = Api(ebay_emulator).get("/commerce/notification/v1/public_key/" + signature["kid"]).json()
    public = serialization.load_pem_public_key(key["key"].encode())
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(base64.b64decode(signature["signature"]), body, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        public.verify(
            base64.b64decode(signature["signature"]),
            body.replace(b"ORDER", b"ORDEX"),
            ec.ECDSA(hashes.SHA256()),
        )


def test_a_destination_is_added_only_if_its_endpoint_answers_the_challenge(
    ebay_emulator: EbayEmulator, ebay_endpoint: NotificationEndpoint
) -> None:
    ebay_endpoint.answer_wrong = True
    with pytest.raises(EndpointRefused):
        ebay_emulator.add_destination(ebay_endpoint.url, ebay_endpoint.verification_token)
    ebay_emulator.seed(catalogue(1))
    ebay_emulator.buy("MUG-000")
    ebay_emulator.webhooks.flush(timeout=1)
    assert ebay_endpoint.posts == []
