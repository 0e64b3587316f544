"""Shared pieces of the toy channel's end-to-end tests: a sandbox of WooCommerce, Square and the
toy shop, the toy emulator in it, and a runner built as the CLI builds it (from the sandbox's config
file, through the registry). Kept out of conftest.py (another lane's); the fixture is imported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.channels import build_adapters
from bridge.config import load_config
from bridge.initfile import write_private
from bridge.store import Store
from bridge.sync import SyncRunner
from sandbox.launch import Sandbox
from tests.toy.emulator import ToyEmulator

CHANNELS = ("woocommerce", "square", "toy")


@pytest.fixture(name="three")
def three_channels() -> Iterator[Sandbox]:
    """A sandbox of the three channels, six products (``from tests.toy.helpers import three_channels``)."""
    with Sandbox(products=6, locations=1, channels=CHANNELS) as sandbox:
        yield sandbox


def toy(box: Sandbox) -> ToyEmulator:
    """The sandbox's toy shop."""
    emulator = box.emulators["toy"]
    assert isinstance(emulator, ToyEmulator)
    return emulator


def runner_for(box: Sandbox, tmp_path: Path, sync: str = "") -> tuple[SyncRunner, Store]:
    """A runner as the CLI builds it: from the sandbox's config file (with the TOML lines ``sync``
    added to ``[sync]``), through the registry."""
    path = tmp_path / "shopbridge.toml"
    text = box.config_text()
    write_private(path, text.replace("[sync]\n", f"[sync]\n{sync}\n", 1) if sync else text)
    config = load_config(path)
    store = Store(config.store_path())
    return SyncRunner(store, build_adapters(config), config.sync), store
