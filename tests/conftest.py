"""Shared test fixtures: running the real CLI as a subprocess, a small sandbox (both emulators, one
Square location), a store in a real SQLite file, and an eBay emulator and notification endpoint.
Reference data the tests check against is vendored in tests/data (see its README); nothing outside
the repository is read."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

from bridge.store import Store
from sandbox.launch import Sandbox

if TYPE_CHECKING:
    from sandbox.ebay import EbayEmulator
    from tests.ebay_helpers import NotificationEndpoint

REPO = Path(__file__).resolve().parents[1]

RunCli = Callable[..., subprocess.CompletedProcess[str]]

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Under pytest-xdist (`make test`) the workers would share one .hypothesis/ example database and
    # replay each other's examples nondeterministically: off there, and every failure prints the blob
    # that reproduces it (@reproduce_failure). A serial run keeps the default database.
    settings.register_profile("xdist", database=None, print_blob=True)
    settings.load_profile("xdist")
    # xdist workers get COLUMNS=80 and LINES=24 in their environment, which a serial run does not have;
    # copied into a CLI under a pty they would override its real size (rich reads them first), so the
    # demo drew an 80x24 screen in a 180x60 terminal (tests/test_demo.py). Workers run as serial runs do.
    for inherited in ("COLUMNS", "LINES"):
        os.environ.pop(inherited, None)


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    """Run ``shopbridge ARGS`` in a subprocess (cwd ``tmp_path``), as a user would."""

    def run(
        *args: str,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        timeout: float = 60,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPBRIDGE_")}
        full_env.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "cli", *args],
            cwd=cwd or tmp_path,
            env=full_env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(products=12, locations=1) as sandbox:
        yield sandbox


@pytest.fixture
def ebay_emulator() -> Iterator[EbayEmulator]:
    """A running eBay emulator; every answer it gave is checked against eBay's contracts at the end."""
    from tests.ebay_helpers import running_emulator

    yield from running_emulator()


@pytest.fixture
def ebay_endpoint() -> Iterator[NotificationEndpoint]:
    """A loopback notification endpoint answering eBay's challenge as the receiver does."""
    from tests.ebay_helpers import NotificationEndpoint
    from tests.webhook_receiver import running

    yield from running(NotificationEndpoint())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "shopbridge.db") as opened:
        yield opened
