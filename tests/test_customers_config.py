"""``[customers]`` in the configuration file (issue 13): defaults that never surprise (no creating,
no propagated deletions), and a bad value refused with exit 2 naming the file and the key."""

from __future__ import annotations

from pathlib import Path

from bridge.config import load_config
from tests.conftest import RunCli

CHANNEL = """
[channels.woocommerce]
url = "https://shop.example.com"
consumer_key = { value = "ck_test_key_123" }
consumer_secret = { value = "cs_test_secret_456" }
"""


def test_defaults_create_nothing_and_propagate_no_deletion(tmp_path: Path) -> None:
    path = tmp_path / "shopbridge.toml"
    path.write_text(CHANNEL)
    customers = load_config(path, environ={}).customers
    assert (customers.create_missing, customers.propagate_deletions, customers.default_country) == (
        False,
        False,
        "US",
    )
    path.write_text('[customers]\ndefault_country = "gb"\ncreate_missing = true\n' + CHANNEL)
    assert load_config(path, environ={}).customers.default_country == "GB"


def test_bad_customer_settings_exit_2_naming_the_file_and_each_key(tmp_path: Path, run_cli: RunCli) -> None:
    path = tmp_path / "shopbridge.toml"
    path.write_text(
        '[customers]\ndefault_country = "Britain"\ncreate_missing = "sometimes"\nmatch_on_name = true\n'
        + CHANNEL
    )
    checked = run_cli("-c", str(path), "config", "check")
    assert checked.returncode == 2
    for key in ("customers.default_country", "customers.create_missing", "customers.match_on_name"):
        assert f"{path}: {key}" in checked.stderr, checked.stderr
    assert "ISO 3166-1 alpha-2" in checked.stderr
    shown = run_cli("-c", str(path), "customer", "show", "ann@example.com")
    assert shown.returncode == 2 and "customers.default_country" in shown.stderr
