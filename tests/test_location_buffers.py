"""A buffer on a channel with locations (issue 9, case 9) is refused as a configuration error.

Square's count at a location is the shelf: staff count it, and a physical count replaces it. A
buffer there would make Square show fewer units than the shelf holds, so every count of the real
shelf would read as units received (and the till would refuse to sell units it has). Buffers hold
stock back from single-pool channels (the web shop); the till always shows the shelf.
"""

from __future__ import annotations

from pathlib import Path

from bridge.config import load_config
from tests.conftest import RunCli

SQUARE = """
[sync]
buffers = {{ {buffers} }}

[channels.woocommerce]
url = "https://shop.example.com"
consumer_key = {{ value = "ck_1" }}
consumer_secret = {{ value = "cs_1" }}

[channels.square]
environment = "sandbox"
access_token = {{ value = "EAAA_token" }}
"""


def _write(tmp_path: Path, buffers: str) -> Path:
    path = tmp_path / "shopbridge.toml"
    path.write_text(SQUARE.format(buffers=buffers))
    return path


def test_a_buffer_on_square_is_a_configuration_error_naming_file_and_key(
    tmp_path: Path, run_cli: RunCli
) -> None:
    path = _write(tmp_path, "square = 2, woocommerce = 1")
    result = run_cli("--config", str(path), "config", "check")
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = [x for x in result.stderr.splitlines() if "buffers" in x]
    assert str(path) in line and "sync.buffers.square" in line
    assert "woocommerce" not in line.split("sync.buffers.square", 1)[0]  # only the square key is wrong
    assert run_cli("--config", str(path), "sync", "--dry-run").returncode == 2  # refused everywhere


def test_a_buffer_on_the_web_shop_and_a_zero_on_square_are_accepted(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "woocommerce = 2, square = 0"), environ={})
    assert config.sync.buffer_for("woocommerce") == 2
    assert config.sync.buffer_for("square") == 0
