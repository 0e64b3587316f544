"""The engine is pure and knows no channel: importing it loads no adapter (and none of what the
adapters carry: HTTP clients, retries with their randomness). A new channel is then a plug-in the
engine never has to be told about, and the engine's tests need no adapter to run."""

from __future__ import annotations

import subprocess
import sys

ENGINE = [
    "bridge.engine",
    "bridge.memory",
    "bridge.takeover",
    "bridge.effects",
    "bridge.ownership",
    "bridge.ledger",
    "bridge.linking",
    "bridge.plan",
    "bridge.pools",
    "bridge.reconcile",
]


def test_importing_the_engine_loads_no_adapter_and_no_retry_library() -> None:
    probe = (
        "import importlib, sys\n"
        f"for name in {ENGINE!r}:\n"
        "    importlib.import_module(name)\n"
        "banned = ('adapters', 'tenacity', 'httpx')\n"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in banned)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []
