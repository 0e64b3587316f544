"""eBay in setup and operations, as a user runs them (the CLI as a subprocess, the emulator on
loopback): ``init`` offers eBay (flags from the registry, secrets as references, the consent URL
shown), ``config check`` says what is wrong with the section, ``doctor`` reaches eBay and shows the
token's expiry and the scopes granted (a refused refresh token: consent again), ``status`` shows
eBay's figures beside the others; the renewed access token is never in any output."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.launch import Sandbox
from tests.conftest import RunCli

CHANNELS = ("woocommerce", "square", "ebay")


@pytest.fixture(scope="module")
def three() -> Iterator[Sandbox]:
    with Sandbox(products=6, locations=1, channels=CHANNELS) as sandbox:
        yield sandbox


def issued_access_tokens(box: Sandbox) -> list[str]:
    em = box.emulators["ebay"]
    with em.lock:  # type: ignore[attr-defined]
        return list(em._access_tokens)  # type: ignore[attr-defined]


def test_init_non_interactive_connects_ebay_with_secret_references(run_cli: RunCli, tmp_path: Path) -> None:
    done = run_cli(
        "-c", "shop.toml", "init", "--non-interactive",
        "--wc-url", "https://shop.example.com", "--wc-key-env", "WC_KEY", "--wc-secret-env", "WC_SECRET",
        "--ebay-client-id", "Shop-App-PRD-1234", "--ebay-client-secret-env", "EBAY_SECRET",
        "--ebay-refresh-token-env", "EBAY_REFRESH",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    section = tomllib.loads((tmp_path / "shop.toml").read_text())["channels"]["ebay"]
    assert section["client_id"] == "Shop-App-PRD-1234" and section["environment"] == "production"
    assert section["client_secret"] == {"env": "EBAY_SECRET"}
    assert section["refresh_token"] == {"env": "EBAY_REFRESH"}
    assert "ru_name" not in section and "verification_token" not in section
    env = {"WC_KEY": "ck_1", "WC_SECRET": "cs_1", "EBAY_SECRET": "PRD-s", "EBAY_REFRESH": "v^1.1#r"}
    checked = run_cli("-c", "shop.toml", "config", "check", env=env)
    assert checked.returncode == 0, checked.stderr
    assert "channels woocommerce, ebay" in checked.stdout
    assert "channels.ebay.ru_name is not set" in checked.stderr  # a warning, not a refusal


def test_init_refuses_ebay_without_its_refresh_token_and_writes_nothing(
    run_cli: RunCli, tmp_path: Path
) -> None:
    done = run_cli(
        "-c", "shop.toml", "init", "--non-interactive",
        "--ebay-client-id", "Shop-App-PRD-1234", "--ebay-client-secret-env", "EBAY_SECRET",
    )  # fmt: skip
    assert done.returncode == 2
    assert "eBay needs --ebay-refresh-token-env" in done.stderr
    assert not (tmp_path / "shop.toml").exists()


def test_interactive_init_shows_the_consent_url_and_keeps_a_pasted_token_out_of_the_config(
    run_cli: RunCli, tmp_path: Path
) -> None:
    answers = "\n".join(
        [
            "n",  # WooCommerce
            "n",  # Square
            "y",  # eBay
            "production",
            "Shop-App-PRD-1234",
            "Shop-Owner-ShopApp-PRD-abcd",  # RuName
            "env", "EBAY_SECRET",  # client secret
            "paste", "v^1.1#i^1#r^1#pasted-refresh-token",  # refresh token
            "env", "EBAY_VERIFY",  # verification token
            "woocommerce",
            "",  # no public URL
        ]
    )  # fmt: skip
    done = run_cli("-c", "shop.toml", "init", input=answers + "\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "https://auth.ebay.com/oauth2/authorize?client_id=Shop-App-PRD-1234" in done.stdout
    assert "redirect_uri=Shop-Owner-ShopApp-PRD-abcd" in done.stdout
    assert "sell.inventory" in done.stdout and "sell.fulfillment" in done.stdout
    assert "(woocommerce/square)?" in done.stdout  # eBay never owns the catalogue: not offered
    text = (tmp_path / "shop.toml").read_text()
    assert "pasted-refresh-token" not in text
    section = tomllib.loads(text)["channels"]["ebay"]
    assert section["ru_name"] == "Shop-Owner-ShopApp-PRD-abcd"
    stored = tmp_path / section["refresh_token"]["file"]
    assert stored.read_text().strip() == "v^1.1#i^1#r^1#pasted-refresh-token"
    assert stored.stat().st_mode & 0o777 == 0o600


def test_config_check_refuses_a_verification_token_ebay_would_refuse(
    run_cli: RunCli, tmp_path: Path, three: Sandbox
) -> None:
    three.write_config(tmp_path / "shop.toml", store_path="shop.db")
    text = (tmp_path / "shop.toml").read_text()
    section = tomllib.loads(text)["channels"]["ebay"]
    short = text.replace(section["verification_token"]["value"], "too-short")
    (tmp_path / "bad.toml").write_text(short)
    done = run_cli("-c", "bad.toml", "config", "check")
    assert done.returncode == 2
    assert "channels.ebay.verification_token" in done.stderr and "32 to 80" in done.stderr
    assert "too-short" not in done.stdout + done.stderr
    assert run_cli("-c", "shop.toml", "config", "check").returncode == 0


def test_doctor_shows_the_token_expiry_and_scopes_and_never_the_token(
    run_cli: RunCli, tmp_path: Path, three: Sandbox
) -> None:
    three.write_config(tmp_path / "shop.toml", store_path="shop.db")
    done = run_cli("-v", "-c", "shop.toml", "doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    [line] = [x for x in done.stdout.splitlines() if x.startswith("ok   ebay:")]
    assert "6 inventory items" in line
    assert "access token renewed, expires 20" in line and "(in 119 min" in line
    assert "scopes granted: sell.inventory, sell.fulfillment" in line
    tokens = issued_access_tokens(three)
    assert tokens
    assert not any(t in done.stdout + done.stderr for t in tokens)


def test_doctor_says_consent_again_when_ebay_refuses_the_refresh_token(
    run_cli: RunCli, tmp_path: Path
) -> None:
    with Sandbox(products=3, locations=1, channels=CHANNELS) as box:
        box.write_config(tmp_path / "shop.toml", store_path="shop.db")
        box.emulators["ebay"].revoke_refresh_tokens()  # type: ignore[attr-defined]
        done = run_cli("-c", "shop.toml", "doctor")
    assert done.returncode == 1
    [line] = [x for x in done.stdout.splitlines() if "ebay" in x]
    assert line.startswith("FAIL ebay:") and "invalid_grant" in line and "consent again" in line
    assert any(x.startswith("ok   woocommerce:") for x in done.stdout.splitlines())


def test_status_shows_ebay_beside_the_others_after_a_sync(
    run_cli: RunCli, tmp_path: Path, three: Sandbox
) -> None:
    three.write_config(tmp_path / "shop.toml", store_path="shop.db")
    synced = run_cli("-c", "shop.toml", "sync", "--force", timeout=120)
    assert synced.returncode in (0, 3), synced.stdout + synced.stderr
    done = run_cli("-c", "shop.toml", "status", "--json")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert set(figures["linked"]) == set(CHANNELS)
    assert figures["linked"]["ebay"]["variant"] == len(three.catalogues.shared_skus) > 0  # its listings
    sku = three.catalogues.shared_skus[0]
    before = three.emulators["ebay"].quantity(sku)  # type: ignore[attr-defined]
    variation = three.square.variation_by_sku(sku)
    assert variation is not None
    three.square.simulate_sale(variation["id"])  # a till sale: one revision of the eBay listing
    again = run_cli("-c", "shop.toml", "sync", timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert three.emulators["ebay"].quantity(sku) == before - 1  # type: ignore[attr-defined]
    text = run_cli("-c", "shop.toml", "status").stdout
    assert "  ebay: linked 6 of the" in text
    assert "  ebay: processed 0 stock events, 0 webhooks; writes applied 1," in text
    assert "    written today (UTC): 1 SKUs, 1 writes, at most 1 for one SKU" in text
    assert json.loads(run_cli("-c", "shop.toml", "status", "--json").stdout)["written_today"] == {
        "ebay": {"skus": 1, "writes": 1, "most": 1}
    }
    outputs = synced.stdout + synced.stderr + again.stdout + again.stderr + text
    assert not any(t in outputs for t in issued_access_tokens(three))
