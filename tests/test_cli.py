"""The CLI frame as a user meets it: init, config check, status, version, exit codes."""

from __future__ import annotations

import json
import stat
from importlib.metadata import version
from pathlib import Path

from bridge.store import Store
from tests.conftest import RunCli

ENV = {"WC_KEY": "ck_test_1234", "WC_SECRET": "cs_test_5678", "SQ_TOKEN": "EAAA_test_token"}


def test_init_non_interactive_then_config_check(tmp_path: Path, run_cli: RunCli) -> None:
    result = run_cli(
        "init",
        "--non-interactive",
        "--wc-url",
        "https://shop.example.com",
        "--wc-key-env",
        "WC_KEY",
        "--wc-secret-env",
        "WC_SECRET",
        "--square-token-env",
        "SQ_TOKEN",
    )
    assert result.returncode == 0, result.stderr
    config = tmp_path / "shopbridge.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    text = config.read_text()
    assert 'consumer_key = { env = "WC_KEY" }' in text
    checked = run_cli("config", "check", env=ENV)
    assert checked.returncode == 0, checked.stderr
    assert "channels woocommerce, square" in checked.stdout


def test_init_refuses_to_overwrite_without_force(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "shopbridge.toml").write_text("# mine\n")
    args = ("init", "--non-interactive", "--square-token-env", "SQ_TOKEN")
    result = run_cli(*args)
    assert result.returncode == 2
    assert (tmp_path / "shopbridge.toml").read_text() == "# mine\n"
    assert run_cli(*args, "--force").returncode == 0


def test_init_without_any_channel_is_a_usage_error(run_cli: RunCli) -> None:
    result = run_cli("init", "--non-interactive")
    assert result.returncode == 2
    assert "at least one channel" in result.stderr


def test_interactive_init_saves_a_pasted_secret_privately_and_never_echoes_it(
    tmp_path: Path, run_cli: RunCli
) -> None:
    answers = (
        "\n".join(
            [
                "y",
                "https://shop.example.com",
                "paste",
                "ck_pasted_secret_value",  # consumer key, pasted
                "env",
                "WC_SECRET",
                "env",
                "WC_HOOK",
                "n",  # no Square
                "n",  # no eBay
                "woocommerce",
                "",
            ]
        )
        + "\n"
    )
    result = run_cli("init", input=answers)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ck_pasted_secret_value" not in result.stdout + result.stderr
    assert "ck_pasted_secret_value" not in (tmp_path / "shopbridge.toml").read_text()
    secret_file = tmp_path / "secrets" / "shopbridge_wc_key"
    assert secret_file.read_text().strip() == "ck_pasted_secret_value"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    checked = run_cli("config", "check", env={"WC_SECRET": "x1234", "WC_HOOK": "h1234"})
    assert checked.returncode == 0, checked.stderr


def test_status_json_on_a_fresh_store(tmp_path: Path, run_cli: RunCli) -> None:
    run_cli("init", "--non-interactive", "--square-token-env", "SQ_TOKEN")
    result = run_cli("status", "--json", env=ENV)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["outbox_pending"] == 0
    assert figures["linked"] == {}
    assert (tmp_path / "shopbridge.db").exists()
    human = run_cli("status", env=ENV)
    assert "nothing linked yet" in human.stdout


def test_status_shows_the_listings_ended_at_a_sell_out(tmp_path: Path, run_cli: RunCli) -> None:
    """On an eBay account that refuses a quantity of 0, a sell-out ends the listing: a seller who
    finds it gone from Seller Hub learns from ``status`` that shopbridge ended it, and that it is
    listed again at the next restock."""
    run_cli("init", "--non-interactive", "--square-token-env", "SQ_TOKEN")
    assert run_cli("status", env=ENV).returncode == 0  # the store exists
    with Store(tmp_path / "shopbridge.db") as store:
        listings = store.ended_listings("ebay")
        listings.learn_refuses_zero()
        listings.end("TEE-S", "offer-1", "110001")
        listings.end("TEE-M", "offer-2", "110002")
        listings.relist("TEE-M", "110003")
    human = run_cli("status", env=ENV)
    assert human.returncode == 0, human.stderr
    assert "ebay: 1 listing ended at a sell-out (listed again at the next restock)" in human.stdout
    assert "1 listed again so far; this account refuses a quantity of 0" in human.stdout
    figures = json.loads(run_cli("status", "--json", env=ENV).stdout)
    assert figures["ended_listings"] == {"ebay": {"ended": 1, "relisted": 1, "refuses_zero": True}}


def test_version_and_help(run_cli: RunCli) -> None:
    assert run_cli("--version").stdout == f"shopbridge {version('shopbridge')}\n"  # installed: a number
    helped = run_cli("--help")
    assert helped.returncode == 0
    for command in ("init", "config", "status"):
        assert command in helped.stdout


def test_unknown_option_is_a_usage_error(run_cli: RunCli) -> None:
    assert run_cli("status", "--no-such-flag").returncode == 2


def test_sync_refuses_while_another_process_holds_the_store(tmp_path: Path, run_cli: RunCli) -> None:
    import fcntl

    run_cli("init", "--non-interactive", "--square-token-env", "SQ_TOKEN")
    with open(tmp_path / "shopbridge.db.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = run_cli("sync", "--force", env=ENV)
    assert result.returncode == 1
    assert "another shopbridge is syncing" in result.stderr


def test_hand_changes_are_refused_while_another_process_holds_the_store(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """link, unlink and conflicts resolve change the store by hand: like sync, each is refused
    while another shopbridge holds the store's lock."""
    import fcntl

    run_cli("init", "--non-interactive", "--square-token-env", "SQ_TOKEN")
    commands = [
        ("link", "MUG-1", "--channel", "square", "--id", "VAR1"),
        ("unlink", "MUG-1", "--channel", "square"),
        ("conflicts", "resolve", "c1", "--keep", "new"),
    ]
    with open(tmp_path / "shopbridge.db.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        for command in commands:
            result = run_cli(*command, env=ENV)
            assert (result.returncode, command[0]) == (1, command[0]), result.stderr
            assert "another shopbridge is syncing" in result.stderr
