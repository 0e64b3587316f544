"""``shopbridge demo``: the real daemon on the built-in sandbox, its work watched live.

``run.py`` sets up and plays, ``actions.py`` holds what the shop does, ``model.py`` what that should
change, ``observe.py`` reads the channels, ``tracker.py`` times each change, ``view.py`` shows it
and ``summary.py`` judges the run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from rich.console import Console

from bridge.demo.run import DemoOptions, DemoRun
from bridge.demo.view import LiveView, PlainView, View
from bridge.sandbox.launch import Sandbox

__all__ = ["DemoOptions", "run_demo"]


def run_demo(options: DemoOptions, console: Console) -> int:
    """Run the demo; returns the exit status (0 when every channel agreed and nothing echoed)."""
    view: View = LiveView(console) if console.is_terminal else PlainView(console)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="shopbridge-demo-") as tmp,
            Sandbox(products=12, locations=2) as box,
        ):
            return DemoRun(box, Path(tmp), view, options).run()
    finally:
        view.close()
