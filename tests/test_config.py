"""Configuration: the example parses; every class of bad input gives one clear line and exit 2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from bridge.config import ConfigError, load_config
from bridge.logs import redact
from bridge.ownership import owner_of
from bridge.policy import SyncPolicy
from tests.conftest import REPO, RunCli

EXAMPLE_ENV = {
    "SHOPBRIDGE_WC_KEY": "ck_example_key_123",
    "SHOPBRIDGE_WC_SECRET": "cs_example_secret_456",
    "SHOPBRIDGE_WC_WEBHOOK_SECRET": "whsec_789",
    "SHOPBRIDGE_SQUARE_TOKEN": "EAAAl_token_abc",
    "SHOPBRIDGE_SQUARE_SIGNATURE_KEY": "sigkey_def",
}

MINIMAL = """
[channels.woocommerce]
url = "https://shop.example.com"
consumer_key = { env = "WC_KEY" }
consumer_secret = { env = "WC_SECRET" }
"""


def write(tmp_path: Path, text: str, name: str = "shopbridge.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_example_config_parses_with_its_documented_defaults() -> None:
    config = load_config(REPO / "config.example.toml", environ=EXAMPLE_ENV)
    assert config.channels.woocommerce is not None
    assert config.channels.square is not None
    assert config.channels.woocommerce.consumer_key.get() == "ck_example_key_123"
    assert config.channels.square.access_token.get() == "EAAAl_token_abc"
    assert config.server.port == 8787
    # every secret in the example is a reference, none is a literal value
    assert all(secret.value is None for _, secret in config.secrets())


def test_secret_sources_env_file_and_systemd_credential(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("  from-a-file\n")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "wc-secret").write_text("from-a-credential\n")
    path = write(
        tmp_path,
        f"""
[channels.woocommerce]
url = "https://shop.example.com"
consumer_key = {{ file = "{tmp_path / "secret.txt"}" }}
consumer_secret = {{ credential = "wc-secret" }}
webhook_secret = {{ env = "HOOK" }}
""",
    )
    config = load_config(path, environ={"CREDENTIALS_DIRECTORY": str(creds), "HOOK": "from-env"})
    wc = config.channels.woocommerce
    assert wc is not None
    assert wc.consumer_key.get() == "from-a-file"
    assert wc.consumer_secret.get() == "from-a-credential"
    assert wc.webhook_secret is not None and wc.webhook_secret.get() == "from-env"
    # a resolved secret never shows in a repr, nor in a log line
    assert "from-a-credential" not in repr(config)
    assert redact("GET /products?consumer_key=from-a-file") == "GET /products?consumer_key=[redacted]"


def test_store_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL), environ={"WC_KEY": "a", "WC_SECRET": "b"})
    assert config.store_path() == tmp_path / "shopbridge.db"


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("[store\npath = 1", {}, "not valid TOML"),
        (
            MINIMAL + "colour = 'red'\n",
            {"WC_KEY": "a", "WC_SECRET": "b"},
            "channels.woocommerce.colour: unknown key",
        ),
        (MINIMAL + "[server]\nport = 'eighty'\n", {"WC_KEY": "a", "WC_SECRET": "b"}, "server.port:"),
        (
            MINIMAL,
            {"WC_SECRET": "b"},
            "channels.woocommerce.consumer_key: environment variable WC_KEY is not set",
        ),
        (
            MINIMAL.replace('{ env = "WC_KEY" }', '"ck_literal"'),
            {"WC_SECRET": "b"},
            "channels.woocommerce.consumer_key: a secret must be a table",
        ),
        (
            MINIMAL.replace('url = "https://shop.example.com"\n', ""),
            {"WC_KEY": "a", "WC_SECRET": "b"},
            "channels.woocommerce.url: required key is missing",
        ),
        ("[store]\npath = 'x.db'\n", {}, "channels: no channel configured"),
    ],
    ids=["syntax", "unknown-key", "wrong-type", "missing-secret", "bare-secret", "missing-key", "no-channel"],
)
def test_bad_config_gives_one_clear_line_and_exit_2(
    tmp_path: Path, run_cli: RunCli, text: str, env: dict[str, str], expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=env)
    assert any(expected in line for line in caught.value.problems), caught.value.problems

    result = run_cli("--config", str(path), "config", "check", env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines and all(line.startswith(f"error: {path}: ") for line in lines), result.stderr
    assert any(expected in line for line in lines)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "colour = 'red'\n[server]\nport = 0\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert len(caught.value.problems) >= 2


def test_missing_file_is_a_usage_error(tmp_path: Path, run_cli: RunCli) -> None:
    result = run_cli("--config", str(tmp_path / "nope.toml"), "config", "check")
    assert result.returncode == 2
    assert "file not found" in result.stderr


def test_unreadable_secret_file_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace('{ env = "WC_KEY" }', f'{{ file = "{tmp_path}/absent" }}'))
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={"WC_SECRET": "b"})
    assert "channels.woocommerce.consumer_key: cannot read secret file" in caught.value.problems[0]


def test_config_check_never_prints_secret_values(tmp_path: Path, run_cli: RunCli) -> None:
    path = write(tmp_path, MINIMAL)
    result = run_cli(
        "-c", str(path), "config", "check", env={"WC_KEY": "ck_supersecret", "WC_SECRET": "cs_x1"}
    )
    assert result.returncode == 0, result.stderr
    assert "ck_supersecret" not in result.stdout + result.stderr
    assert result.stdout.startswith("ok: ")


def test_config_env_var_selects_the_file(tmp_path: Path, run_cli: RunCli) -> None:
    path = write(tmp_path, MINIMAL, name="elsewhere.toml")
    result = run_cli(
        "config", "check", env={"SHOPBRIDGE_CONFIG": str(path), "WC_KEY": "a1", "WC_SECRET": "b1"}
    )
    assert result.returncode == 0, result.stderr
    assert os.fspath(path) in result.stdout


def test_verify_tls_reaches_the_woocommerce_client(tmp_path: Path) -> None:
    """``verify_tls = false`` (a shop behind a self-signed certificate) must reach the HTTP client,
    not be accepted and ignored; the default verifies."""
    from bridge.channels import build_adapters

    env = {"WC_KEY": "a", "WC_SECRET": "b"}
    default = build_adapters(load_config(write(tmp_path, MINIMAL), environ=env))["woocommerce"]
    assert default._api.verify_ssl is True  # type: ignore[attr-defined]
    relaxed = load_config(write(tmp_path, MINIMAL + "verify_tls = false\n", "relaxed.toml"), environ=env)
    assert build_adapters(relaxed)["woocommerce"]._api.verify_ssl is False  # type: ignore[attr-defined]


BOTH = (
    MINIMAL
    + """
[channels.square]
environment = "sandbox"
access_token = { env = "SQ_TOKEN" }
"""
)
BOTH_ENV = {"WC_KEY": "a", "WC_SECRET": "b", "SQ_TOKEN": "c"}


@pytest.mark.parametrize(
    ("sync", "key", "name", "known"),
    [
        # An owner is any registered channel (the file is checked for it after); the others name
        # the channels the file configures.
        (
            'field_owners = { price = "sqaure" }',
            "sync.field_owners.price",
            "sqaure",
            "ebay, square, woocommerce",
        ),
        ("buffers = { woocomerce = 2 }", "sync.buffers.woocomerce", "woocomerce", "square, woocommerce"),
        ('source_locations = { ebay = ["L1"] }', "sync.source_locations.ebay", "ebay", "square, woocommerce"),
    ],
    ids=["owner-typo", "buffer-typo", "source-locations-unknown"],
)
def test_a_channel_name_that_is_not_configured_is_exit_2(
    tmp_path: Path, run_cli: RunCli, sync: str, key: str, name: str, known: str
) -> None:
    """A misspelt channel name in [sync] would silently do nothing (an owner typo stops prices
    syncing): it is a configuration error naming the file, the key and the channels there are."""
    path = write(tmp_path, BOTH + f"\n[sync]\n{sync}\n")
    result = run_cli("--config", str(path), "config", "check", env=BOTH_ENV)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    line = next(line for line in result.stderr.splitlines() if key in line)
    assert line.startswith(f"error: {path}: {key}: ")
    assert repr(name) in line and f"known channels: {known}" in line


@pytest.mark.parametrize(
    ("text", "env", "key", "says"),
    [
        (
            BOTH + '\n[sync]\nfield_owners = { colour = "square" }\n',
            BOTH_ENV,
            "sync.field_owners.colour",
            ["'colour'", "'name', 'description', 'price', 'gtin' or 'status'"],
        ),
        (
            MINIMAL + '\n[sync]\nfield_owners = { price = "square" }\n',
            {"WC_KEY": "a", "WC_SECRET": "b"},
            "sync.field_owners.price",
            ["'square'", "known channels: woocommerce"],
        ),
        (
            BOTH + '\n[sync]\nfield_owners = { price = "etsy" }\n',
            BOTH_ENV,
            "sync.field_owners.price",
            ["'etsy'", "known channels: ebay, square, woocommerce"],
        ),
        (
            BOTH + '\n[sync]\nfield_owners = { price = "ebay" }\n',
            BOTH_ENV,
            "sync.field_owners.price",
            ["eBay never owns the catalogue"],
        ),
    ],
    ids=["not-a-catalogue-field", "owner-not-configured", "owner-not-a-channel", "owner-a-marketplace"],
)
@pytest.mark.parametrize("command", [("config", "check"), ("sync", "--dry-run")], ids=["check", "sync"])
def test_a_field_owner_that_cannot_work_is_exit_2_naming_the_key(
    tmp_path: Path,
    run_cli: RunCli,
    text: str,
    env: dict[str, str],
    key: str,
    says: list[str],
    command: tuple[str, ...],
) -> None:
    """Each ``field_owners`` key must be a catalogue field and each owner a channel the file
    configures: anything else would leave the field unowned, silently. Every command refuses it
    before it talks to any channel, naming the file and the key."""
    path = write(tmp_path, text)
    result = run_cli("--config", str(path), *command, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if key in line]
    assert line.startswith(f"error: {path}: {key}: ")
    assert all(part in line for part in says), line


def test_a_policy_made_in_code_refuses_an_owner_that_is_no_channel() -> None:
    with pytest.raises(ValidationError) as caught:
        SyncPolicy(field_owners={"price": "sqaure"})
    [error] = caught.value.errors()
    assert error["loc"] == ("field_owners", "price")
    assert "unknown channel 'sqaure'" in error["msg"]


def test_channel_names_of_configured_channels_pass(tmp_path: Path) -> None:
    """Every key naming a channel, spelt right (a disabled channel is still a configured one)."""
    text = BOTH.replace('environment = "sandbox"', 'environment = "sandbox"\nenabled = false') + (
        '\n[sync]\nsystem_of_record = "woocommerce"\nfield_owners = { price = "square" }\n'
        'buffers = { woocommerce = 2, square = 0 }\nsource_locations = { woocommerce = ["L1"] }\n'
    )
    config = load_config(write(tmp_path, text), environ=BOTH_ENV)
    assert owner_of(config.sync, "price") == "square"
