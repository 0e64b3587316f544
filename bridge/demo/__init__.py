"""``shopbridge demo``: the real daemon on the built-in sandbox, its work watched live.

``run.py`` sets up and plays, ``actions.py`` holds what the shop does, ``model.py`` what that should
change, ``observe.py`` reads the channels, ``tracker.py`` times each change, ``view.py`` shows it
and ``summary.py`` judges the run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from bridge import registry
from bridge.demo.run import DemoFailed, DemoOptions, DemoRun
from bridge.demo.view import LiveView, PlainView, View
from sandbox.launch import Sandbox

__all__ = ["DemoFailed", "DemoOptions", "run_demo"]


def run_demo(options: DemoOptions, console: Console, keep: Path | None = None) -> int:
    """Run the demo; returns the exit status (0 when every channel agreed and nothing echoed).

    The config, the store and the daemon's log go to a temporary folder, or to ``keep`` (which must
    be empty or new), left behind to look into afterwards.
    """
    view: View = LiveView(console) if console.is_terminal else PlainView(console)
    try:
        with _workdir(keep) as workdir, Sandbox(products=12, locations=2, channels=_emulated()) as box:
            return DemoRun(box, workdir, view, options).run()
    finally:
        view.close()


def _emulated() -> list[str]:
    """Every built-in channel with an emulator: the shop, the till and eBay."""
    return [name for name in registry.builtin_names() if registry.channel(name).emulator is not None]


@contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="shopbridge-demo-") as tmp:
            yield Path(tmp)
        return
    keep.mkdir(parents=True, exist_ok=True)
    if any(keep.iterdir()):
        raise DemoFailed(f"--keep {keep}: the folder is not empty")
    yield keep
