"""``[channels.<name>] concurrency``: documented, written by ``init``, validated (exit 2 naming the
key), and reaching the adapter the relay sends through."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bridge.channels import build_adapters
from bridge.config import load_config
from bridge.settings import DEFAULT_CONCURRENCY
from tests.conftest import REPO, RunCli
from tests.test_config import BOTH, BOTH_ENV, EXAMPLE_ENV, MINIMAL, write


def test_each_channel_sends_as_many_requests_at_once_as_its_section_says(tmp_path: Path) -> None:
    text = BOTH.replace(
        'consumer_secret = { env = "WC_SECRET" }', 'consumer_secret = { env = "WC_SECRET" }\nconcurrency = 7'
    )
    adapters = build_adapters(load_config(write(tmp_path, text), environ=BOTH_ENV))
    assert adapters["woocommerce"].concurrency == 7
    assert adapters["square"].concurrency == DEFAULT_CONCURRENCY, "unset: the default, a few at once"


def test_the_example_documents_the_setting_for_every_channel() -> None:
    config = load_config(REPO / "config.example.toml", environ=EXAMPLE_ENV)
    assert {name: s.concurrency for name, s in config.channels.sections().items()} == {
        "woocommerce": DEFAULT_CONCURRENCY,
        "square": DEFAULT_CONCURRENCY,
    }
    raw = tomllib.loads((REPO / "config.example.toml").read_text())
    assert all("concurrency" in raw["channels"][name] for name in ("woocommerce", "square"))


@pytest.mark.parametrize("value", ["0", "-1", "33", "'four'"])
def test_an_impossible_concurrency_is_exit_2_naming_the_file_and_key(
    tmp_path: Path, run_cli: RunCli, value: str
) -> None:
    path = write(tmp_path, MINIMAL + f"concurrency = {value}\n")
    result = run_cli("--config", str(path), "config", "check", env={"WC_KEY": "a", "WC_SECRET": "b"})
    assert result.returncode == 2, result.stderr
    assert f"error: {path}: channels.woocommerce.concurrency:" in result.stderr
    assert "Traceback" not in result.stderr


def test_init_writes_the_setting_with_its_default(tmp_path: Path, run_cli: RunCli) -> None:
    result = run_cli("init", "--non-interactive", "--square-token-env", "SQ_TOKEN")
    assert result.returncode == 0, result.stderr
    raw = tomllib.loads((tmp_path / "shopbridge.toml").read_text())
    assert raw["channels"]
    assert all(section["concurrency"] == DEFAULT_CONCURRENCY for section in raw["channels"].values())
