"""``shopbridge init`` in a real pseudo-terminal (pexpect), as a shop owner meets it: each answer is
checked as it is typed, by the same rules as the config file, and nothing is written that
``config check`` would then refuse."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect

from tests.conftest import REPO, RunCli

ENV = {"WC_KEY": "ck_test_1234", "WC_SECRET": "cs_test_5678", "WC_HOOK": "wh_1234", "SQ_TOKEN": "EAAA_t0k"}


def spawn_init(cwd: Path, *args: str, init_args: tuple[str, ...] = ()) -> pexpect.spawn:
    """``shopbridge [ARGS] init [INIT_ARGS]`` on a pseudo-terminal in ``cwd``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPBRIDGE_")}
    env["PYTHONPATH"] = str(REPO)
    env["COLUMNS"] = "200"
    return pexpect.spawn(
        sys.executable,
        ["-m", "cli", *args, "init", *init_args],
        cwd=str(cwd),
        env=env,
        encoding="utf-8",
        timeout=15,
    )


def answer(child: pexpect.spawn, prompt: str, text: str) -> None:
    child.expect_exact(prompt)
    child.sendline(text)


def test_each_answer_is_checked_as_it_is_typed(tmp_path: Path, run_cli: RunCli) -> None:
    child = spawn_init(tmp_path)
    answer(child, "Connect a WooCommerce shop?", "y")
    answer(child, "shop URL", "myshop.example.com")  # no scheme: asked again, saying why
    child.expect_exact("https://")
    answer(child, "shop URL", "https://myshop.example.com")
    for variable in ("WC_KEY", "WC_SECRET", "WC_HOOK"):
        answer(child, "(paste)?", "env")
        answer(child, "environment variable name", variable)
    answer(child, "Connect Square?", "y")
    answer(child, "environment", "prod")  # not an environment
    child.expect_exact("'production'")
    answer(child, "environment", "sandbox")
    answer(child, "(paste)?", "env")
    answer(child, "environment variable name", "SQ_TOKEN")
    answer(child, "(paste)?", "env")
    answer(child, "environment variable name", "SQ_SIG")
    answer(child, "Connect eBay?", "n")
    answer(child, "owns the catalogue", "Square")  # capital: not a channel name
    child.expect_exact("'square'")
    answer(child, "owns the catalogue", "square")
    answer(child, "Public URL", "sync.example.com")
    child.expect_exact("https://")
    answer(child, "Public URL", "https://sync.example.com")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    text = (tmp_path / "shopbridge.toml").read_text()
    assert 'url = "https://myshop.example.com"' in text
    assert 'environment = "sandbox"' in text
    assert 'system_of_record = "square"' in text
    checked = run_cli("config", "check", env={**ENV, "SQ_SIG": "sig_1234"})
    assert checked.returncode == 0, checked.stderr


def test_a_pasted_secret_is_found_when_the_config_is_used_from_elsewhere(
    tmp_path: Path, run_cli: RunCli
) -> None:
    (tmp_path / "shop").mkdir()
    child = spawn_init(tmp_path, "-c", "shop/shopbridge.toml")
    answer(child, "Connect a WooCommerce shop?", "n")
    answer(child, "Connect Square?", "y")
    answer(child, "environment", "sandbox")
    answer(child, "(paste)?", "paste")
    answer(child, "value (not shown)", "EAAA_pasted_token")
    answer(child, "(paste)?", "env")
    answer(child, "environment variable name", "SQ_SIG")
    answer(child, "Connect eBay?", "n")
    answer(child, "owns the catalogue", "square")
    answer(child, "Public URL", "")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = tmp_path / "shop" / "shopbridge.toml"
    checked = run_cli("-c", str(config), "config", "check", env={"SQ_SIG": "s1234"}, cwd=elsewhere)
    assert checked.returncode == 0, checked.stderr
    assert f"store {tmp_path / 'shop' / 'shopbridge.db'}" in checked.stdout
    assert "EAAA_pasted_token" not in config.read_text()


def test_declining_every_channel_writes_no_config(tmp_path: Path) -> None:
    child = spawn_init(tmp_path)
    answer(child, "Connect a WooCommerce shop?", "n")
    answer(child, "Connect Square?", "n")
    answer(child, "Connect eBay?", "n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert "at least one channel" in child.before
    assert not (tmp_path / "shopbridge.toml").exists()


def test_interactive_init_through_stdin_refuses_a_bad_url(tmp_path: Path, run_cli: RunCli) -> None:
    """Answers piped on stdin are checked too: a URL without a scheme is asked for again."""
    answers = "\n".join(["y", "shop.example.com", "https://shop.example.com", *["env", "WC_KEY"] * 3])
    answers += "\nn\nn\nwoocommerce\n\n"  # no Square, no eBay
    result = run_cli("init", input=answers)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "must start with https://" in result.stdout + result.stderr
    assert 'url = "https://shop.example.com"' in (tmp_path / "shopbridge.toml").read_text()


def test_public_url_without_a_square_signature_key_is_refused(tmp_path: Path, run_cli: RunCli) -> None:
    result = run_cli(
        "init",
        "--non-interactive",
        "--square-token-env",
        "SQ_TOKEN",
        "--public-url",
        "https://sync.example.com",
    )
    assert result.returncode == 2
    assert "signature" in result.stderr
    assert not (tmp_path / "shopbridge.toml").exists()


def test_config_check_refuses_square_webhooks_it_cannot_verify(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "shopbridge.toml").write_text(
        '[server]\npublic_url = "https://sync.example.com"\n\n'
        '[channels.square]\naccess_token = { env = "SQ_TOKEN" }\n'
        'notification_url = "https://sync.example.com/webhooks/square"\n'
    )
    checked = run_cli("config", "check", env=ENV)
    assert checked.returncode == 2
    assert "channels.square.signature_key" in checked.stderr


def test_interactive_init_for_systemd_names_credentials_and_writes_the_drop_in(tmp_path: Path) -> None:
    child = spawn_init(tmp_path, init_args=("--systemd", "myshop"))
    answer(child, "Connect a WooCommerce shop?", "y")
    answer(child, "shop URL", "https://shop.example.com")
    answer(child, "Connect Square?", "n")
    answer(child, "Connect eBay?", "n")
    answer(child, "owns the catalogue", "woocommerce")
    answer(child, "Public URL", "")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    text = (tmp_path / "shopbridge.toml").read_text()
    assert 'consumer_key = { credential = "shopbridge_wc_key" }' in text
    dropin = (tmp_path / "shopbridge@myshop.service.d" / "credentials.conf").read_text()
    assert "LoadCredentialEncrypted=shopbridge_wc_webhook_secret:/etc/shopbridge/%i/" in dropin
    assert "square" not in dropin


def test_init_systemd_refuses_env_flags_it_would_ignore(tmp_path: Path, run_cli: RunCli) -> None:
    result = run_cli(
        "init", "--non-interactive", "--systemd", "myshop", "--square", "--square-token-env", "SQ_TOKEN"
    )
    assert result.returncode == 2
    assert "--square-token-env" in result.stderr and "credential" in result.stderr
    assert not (tmp_path / "shopbridge.toml").exists()
    alone = run_cli("init", "--non-interactive", "--square")
    assert alone.returncode == 2 and "--systemd" in alone.stderr
