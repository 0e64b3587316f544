"""What a user sees of a long sync on a terminal, and what the logs get instead."""

from __future__ import annotations

import io
import logging

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
