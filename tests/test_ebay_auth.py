"""The eBay adapter's auth and transport against the emulator over loopback: the access token is
renewed from the refresh token before it expires (and once more after an early 401), never logged,
the tokens come from secrets like every channel's, and a refused refresh token is an AuthError that
says to consent again; and the listings read into the channel models."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from ebay_helpers import catalogue, running_emulator

from adapters.base import AuthError, TransientError
from adapters.ebay_auth import EbayAuth, consent_url
from adapters.ebay_catalog import read_listings
from adapters.ebay_client import EbayClient, EbayRequestError
from adapters.ebay_settings import EbaySection, client_from
from bridge.logs import configure_logging
from sandbox.ebay import EbayEmulator

ITEM = "/sell/inventory/v1/inventory_item/MUG-000"


@pytest.fixture
def emulator() -> Iterator[EbayEmulator]:
    yield from running_emulator()


def make_client(em: EbayEmulator, refresh_token: str | None = None) -> EbayClient:
    auth = EbayAuth(
        em.base_url, em.client_id, em.client_secret, refresh_token or em.issue_refresh_token(), clock=em.now
    )
    return EbayClient(em.base_url, auth, backoff=0.01, backoff_cap=0.05, max_attempts=3)


@pytest.fixture
def json_logs() -> Iterator[None]:
    """The daemon's own log handler (JSON on stderr, at debug, urllib3's lines included)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging(level="debug", fmt="json")
    try:
        yield
    finally:
        root.handlers[:], root.level = saved


def test_an_expiring_token_is_renewed_first_and_an_expired_one_transparently_never_logged(
    emulator: EbayEmulator,
    json_logs: None,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    emulator.seed(catalogue(1))
    client = make_client(emulator)
    caplog.set_level(logging.DEBUG)
    assert client.request("GET", ITEM)["sku"] == "MUG-000"
    assert client.auth.renewals == 1
    emulator.advance(7200 - 60)  # a minute left: renewed before the call, no 401 on the way
    calls = client.calls
    assert client.request("GET", ITEM)["sku"] == "MUG-000"
    assert (client.auth.renewals, client.calls - calls) == (2, 1)
    emulator.expire_access_tokens()  # expired early (revoked, clocks apart): one 401, renewed, resent
    assert client.request("GET", ITEM)["sku"] == "MUG-000"
    assert client.auth.renewals == 3
    issued = list(emulator._access_tokens)
    assert len(issued) == 3
    out = capfd.readouterr()
    logged = out.err + out.out + "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "ebay access token renewed" in logged
    assert [token for token in issued if token in logged] == []


def test_a_refused_refresh_token_is_an_auth_error_saying_to_consent_again(emulator: EbayEmulator) -> None:
    emulator.seed(catalogue(1))
    refresh = emulator.issue_refresh_token()
    emulator.revoke_refresh_tokens()
    client = make_client(emulator, refresh)
    with pytest.raises(AuthError) as refused:
        client.request("GET", ITEM)
    assert refused.value.code == "invalid_grant"
    assert "consent again" in str(refused.value) and refresh not in str(refused.value)


def test_a_token_endpoint_outage_is_transient_and_api_refusals_carry_the_error_id(
    emulator: EbayEmulator,
) -> None:
    emulator.seed(catalogue(1))
    client = make_client(emulator)
    emulator.server.faults.add(path="/identity/v1/oauth2/token", kind="status", status=503, times=5)
    with pytest.raises(TransientError):
        client.request("GET", ITEM)
    emulator.server.faults.clear()
    with pytest.raises(EbayRequestError) as missing:
        client.request("GET", "/sell/inventory/v1/inventory_item/NOPE")
    assert (missing.value.status, missing.value.code) == (404, "25702")


def test_next_links_are_followed_to_the_last_page(emulator: EbayEmulator) -> None:
    emulator.seed(catalogue(45))
    client = make_client(emulator)
    pages = list(client.pages("/sell/inventory/v1/inventory_item", {"limit": 20}, "inventoryItems"))
    assert [len(p) for p in pages] == [20, 20, 5]


def test_the_tokens_come_from_env_file_or_systemd_credential(emulator: EbayEmulator, tmp_path: Path) -> None:
    emulator.seed(catalogue(1))
    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / "ebay-refresh").write_text(emulator.issue_refresh_token() + "\n")
    (tmp_path / "secret.txt").write_text(emulator.client_secret)
    section = EbaySection.model_validate(
        {
            "environment": "custom",
            "base_url": emulator.base_url,
            "client_id": emulator.client_id,
            "client_secret": {"file": "secret.txt"},
            "refresh_token": {"credential": "ebay-refresh"},
        }
    )
    environ = {"CREDENTIALS_DIRECTORY": str(tmp_path / "creds")}
    section.client_secret.resolve(environ, tmp_path)
    section.refresh_token.resolve(environ, tmp_path)
    assert client_from(section).request("GET", ITEM)["sku"] == "MUG-000"
    by_env = section.model_copy(
        update={"refresh_token": section.refresh_token.model_validate({"env": "EBAY_RT"})}
    )
    by_env.refresh_token.resolve({"EBAY_RT": emulator.issue_refresh_token()})
    assert client_from(by_env).request("GET", ITEM)["sku"] == "MUG-000"
    with pytest.raises(ValueError, match="EBAY_RT is not set"):
        by_env.refresh_token.resolve({})


def test_the_consent_url_asks_for_the_channel_scopes() -> None:
    url = consent_url("ShopBrid-app", "ShopBrid-RuName", environment="sandbox", state="s1")
    assert url.startswith("https://auth.sandbox.ebay.com/oauth2/authorize?")
    assert "sell.inventory" in url and "sell.fulfillment" in url and "redirect_uri=ShopBrid-RuName" in url


def test_listings_read_into_channel_models_with_the_listed_quantity(emulator: EbayEmulator) -> None:
    emulator.seed(catalogue(5), unlisted=["MUG-004"])
    client = make_client(emulator)
    offer_id = emulator.offer_of("MUG-001")["offerId"]
    capped = {"sku": "MUG-001", "offers": [{"offerId": offer_id, "availableQuantity": 3}]}
    client.request("POST", "/sell/inventory/v1/bulk_update_price_quantity", body={"requests": [capped]})
    calls = client.calls
    found = read_listings(client)
    stock = {p.channel_id: p.variants[0].stock for p in found.products}
    assert stock == {"MUG-000": 10, "MUG-001": 3, "MUG-002": 10, "MUG-003": 10}
    assert found.unlisted == ["MUG-004"]
    assert found.offer_ids["MUG-001"] == [offer_id]
    assert found.products[0].variants[0].price is not None
    assert client.calls - calls == 1 + 5  # one items page, one getOffers per SKU
