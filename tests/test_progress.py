"""What a user sees of a long sync on a terminal, and what the logs get instead."""

from __future__ import annotations

import io
import logging

import pyte
import pytest
from rich.console import Console

from bridge.progress import BarProgress, QuietProgress


def test_the_bar_shows_each_phase_with_its_count() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)
    with BarProgress(console) as bar:
        bar.start("reading woocommerce products")
        bar.advance(100)
        bar.advance(42)
        bar.start("writing changes to square", 3)
        bar.advance(2)
        bar.start("reading square stock events")  # none
    text = out.getvalue()
    assert "reading woocommerce products" in text and "142/142" in text  # finished: its count
    assert "writing changes to square" in text and "2/3" in text  # stopped short: still shows it
    final = text.split("\r")[-1]  # what is left on screen
    assert "reading woocommerce products" in final and "stock events" not in final


def test_logs_get_the_phase_names_only(caplog: pytest.LogCaptureFixture) -> None:
    quiet = QuietProgress()
    with caplog.at_level(logging.DEBUG, logger="bridge.progress"):
        quiet.start("writing changes to square", 3)
        for _ in range(3):
            quiet.advance(1)
    assert [r.getMessage() for r in caplog.records] == ["sync phase"]
    assert caplog.records[0].__dict__["phase"] == "writing changes to square"


def test_a_line_logged_during_a_phase_stays_on_screen() -> None:
    """The bars redraw by moving the cursor up over their own lines; a log line written straight to
    the terminal in between would be overwritten. Rendered with a terminal emulator (pyte)."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)
    handler = logging.StreamHandler(out)  # as bridge.logs installs it: on the real stderr
    root = logging.getLogger()
    root.addHandler(handler)
    logger = logging.getLogger("test.progress.screen")
    try:
        with BarProgress(console) as bar:
            bar.start("reading square products")
            bar.advance(3)
            logger.warning("square: variant X has no count")
            bar.advance(2)
            bar.start("reading woocommerce products")
            bar.advance(7)
    finally:
        root.removeHandler(handler)
    screen = pyte.Screen(100, 20)
    pyte.Stream(screen).feed(out.getvalue().replace("\n", "\r\n"))
    lines = [line.rstrip() for line in screen.display if line.strip()]
    assert "square: variant X has no count" in lines
    assert [line.split()[1:3] for line in lines if "━" in line] == [
        ["reading", "square"],
        ["reading", "woocommerce"],
    ]
