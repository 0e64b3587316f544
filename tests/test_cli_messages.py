"""Messages a user reads and must be able to trust: counts that agree with each other, help that
reads as prose, an error that says which address is taken. The CLI runs as a subprocess."""

from __future__ import annotations

import itertools
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.launch import Sandbox
from tests.conftest import RunCli


@dataclass
class Synced:
    box: Sandbox
    config: Path
    run_cli: RunCli

    def cli(self, *args: str, timeout: float = 60) -> str:
        done = self.run_cli("-c", str(self.config), *args, timeout=timeout)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout


@pytest.fixture
def synced(tmp_path: Path, run_cli: RunCli) -> Iterator[Synced]:
    with Sandbox(products=6, locations=1) as box:
        config = tmp_path / "sandbox.toml"
        box.write_config(config)
        shop = Synced(box, config, run_cli)
        shop.cli("sync", "--force")
        yield shop


def test_status_counts_variants_one_way_after_a_hand_link(synced: Synced) -> None:
    sticker = synced.box.square.variation_by_sku("STICKER")  # a duplicate SKU: left unlinked
    assert sticker is not None
    synced.cli("link", "STICKER-B", "--channel", "square", "--id", sticker["id"])  # a SKU of its own

    figures = json.loads(synced.cli("status", "--json"))
    linked = {channel: counts["variant"] for channel, counts in figures["linked"].items()}
    assert linked["square"] == figures["variants"]  # every SKU is linked on Square, STICKER-B too
    assert linked["woocommerce"] < figures["variants"]  # a Square-only product and STICKER-B
    text = synced.cli("status")
    assert f": {figures['variants']} variants," in text.splitlines()[0]
    assert f"square: linked {linked['square']} of the {figures['variants']} variants" in text
    assert f"woocommerce: linked {linked['woocommerce']} of the {figures['variants']} variants" in text


def test_status_shows_the_agreed_catalogue_grouped_by_the_owners_products(synced: Synced) -> None:
    figures = json.loads(synced.cli("status", "--json"))
    catalogue = figures["catalogue"]
    # Every SKU linked somewhere is a variant of the agreed catalogue, under one of its products.
    assert catalogue["variants"] == figures["variants"]
    variable = next(p for p in synced.box.catalogues.woocommerce if not p.is_simple)
    assert 1 <= catalogue["products"] <= catalogue["variants"] - len(variable.variants) + 1
    assert catalogue["archived_variants"] == 0
    text = synced.cli("status").splitlines()
    assert text[1] == (
        f"catalogue: {catalogue['products']} products, {catalogue['variants']} variants (0 archived)"
    )


COMMANDS = [[], ["init"], ["status"], ["sync"], ["link"], ["unlink"], ["doctor"], ["daemon"], ["sandbox"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "shopbridge")
def test_help_reads_as_prose(command: list[str], run_cli: RunCli) -> None:
    """No reStructuredText markup from the docstrings, and no line broken where the source was."""
    shown = run_cli(*command, "--help", env={"COLUMNS": "80"})
    assert shown.returncode == 0, shown.stderr
    assert "``" not in shown.stdout
    boxed = ("│", "╭", "╰")  # the options tables
    prose = [line.strip() for line in shown.stdout.splitlines() if not line.lstrip().startswith(boxed)]
    for line, after in itertools.pairwise(prose):
        if line and after:  # inside a paragraph: a line short of the width is a broken one
            assert len(line) > 50, (line, after)


def test_a_port_in_use_names_the_address(tmp_path: Path, synced: Synced) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "daemon.toml"
        synced.box.write_config(config, store_path="shopbridge.db", port=port)
        failed = synced.run_cli("-c", str(config), "daemon", timeout=60)
    assert failed.returncode == 1
    assert f"127.0.0.1:{port}" in failed.stderr and "Address already in use" in failed.stderr
    assert "[server] port" in failed.stderr
