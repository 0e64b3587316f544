"""``[channels.ebay]`` through ``config check`` as a user runs it: a complete section loads (its
secrets from the environment), a missing key or a budget that cannot work exits 2 naming the file
and the key, and the example's commented section is a valid one once uncommented."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO, RunCli

SHOP = """
[channels.woocommerce]
url = "https://shop.example.com"
consumer_key = { env = "WC_KEY" }
consumer_secret = { env = "WC_SECRET" }
"""
EBAY = """
[channels.ebay]
client_id = "ShopBrid-myshop-PRD-0a1b2c3d4-5e6f7a8b"
client_secret = { env = "EBAY_SECRET" }
refresh_token = { env = "EBAY_REFRESH" }
ru_name = "My_Shop-MyShop-shopbr-abcdef"
max_listed_quantity = { "MUG-BLUE-12" = 5 }
"""
ENV = {"WC_KEY": "a", "WC_SECRET": "b", "EBAY_SECRET": "PRD-secret", "EBAY_REFRESH": "v^1.1#refresh"}


def check(tmp_path: Path, run_cli: RunCli, text: str) -> tuple[int, str, Path]:
    path = tmp_path / "shopbridge.toml"
    path.write_text(text)
    result = run_cli("--config", str(path), "config", "check", env=ENV)
    return result.returncode, result.stdout + result.stderr, path


def test_a_complete_ebay_section_is_accepted(tmp_path: Path, run_cli: RunCli) -> None:
    code, output, _ = check(tmp_path, run_cli, SHOP + EBAY)
    assert code == 0, output
    assert "PRD-secret" not in output and "v^1.1#refresh" not in output  # secrets never shown


def test_a_missing_client_id_is_exit_2_naming_the_key(tmp_path: Path, run_cli: RunCli) -> None:
    code, output, path = check(
        tmp_path, run_cli, SHOP + EBAY.replace('client_id = "ShopBrid-myshop-PRD-0a1b2c3d4-5e6f7a8b"\n', "")
    )
    assert code == 2, output
    assert f"{path}: channels.ebay.client_id" in output


def test_a_reserve_not_below_the_limit_is_exit_2(tmp_path: Path, run_cli: RunCli) -> None:
    code, output, _ = check(tmp_path, run_cli, SHOP + EBAY + "revision_limit = 20\nrevision_reserve = 20\n")
    assert code == 2, output
    assert "channels.ebay.revision_reserve" in output and "revision_limit" in output


def test_a_negative_cap_is_exit_2(tmp_path: Path, run_cli: RunCli) -> None:
    code, output, _ = check(tmp_path, run_cli, SHOP + EBAY.replace("= 5 }", "= -1 }"))
    assert code == 2, output
    assert "channels.ebay.max_listed_quantity" in output


def test_the_examples_ebay_section_is_valid_once_uncommented(tmp_path: Path, run_cli: RunCli) -> None:
    example = (REPO / "config.example.toml").read_text()
    start = example.index("# [channels.ebay]")
    block = re.sub(r"^# ?", "", example[start:].split("\n\n")[0], flags=re.MULTILINE)
    env = {"SHOPBRIDGE_EBAY_CLIENT_SECRET": "s", "SHOPBRIDGE_EBAY_REFRESH_TOKEN": "r"}
    env["SHOPBRIDGE_EBAY_VERIFICATION_TOKEN"] = "v" * 32  # eBay takes 32 to 80 letters, digits, _ or -
    path = tmp_path / "shopbridge.toml"
    path.write_text(SHOP + "\n" + block + "\n")
    result = run_cli("--config", str(path), "config", "check", env={**ENV, **env})
    assert result.returncode == 0, result.stdout + result.stderr
