"""What a user sees on a real terminal: the CLI in a pseudo-terminal (pexpect), its output rendered
by a terminal emulator (pyte) into the final screen, compared with what the same command prints to
a pipe. The progress bars redraw themselves with cursor movements; nothing they redraw may cover
the answer printed around them."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pyte
import pytest

from sandbox.launch import Sandbox
from tests.conftest import RunCli

COLUMNS, ROWS = 200, 120  # wide and tall enough that nothing wraps or scrolls away


def final_screen(args: list[str], cwd: Path) -> tuple[list[str], int]:
    """The lines left on a terminal after ``shopbridge ARGS`` ran in it, and the exit status."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPBRIDGE_")} | {"TERM": "xterm"}
    child = pexpect.spawn(
        sys.executable, ["-m", "cli", *args], cwd=str(cwd), env=env, dimensions=(ROWS, COLUMNS), timeout=60
    )
    output = child.read()
    child.close()
    screen = pyte.Screen(COLUMNS, ROWS)
    pyte.ByteStream(screen).feed(output)
    assert child.exitstatus is not None, "killed by a signal"
    return [line.rstrip() for line in screen.display], child.exitstatus


def is_progress(line: str) -> bool:
    return "━" in line  # rich's bar; no plan line draws one


def answer_lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip()]


@pytest.fixture
def first_sync(tmp_path: Path) -> Iterator[tuple[Path, Sandbox]]:
    """A sandbox whose first sync plan trips the change-share limit (two Square locations)."""
    box = Sandbox(products=12, locations=2).start()
    config = tmp_path / "sandbox.toml"
    box.write_config(config)
    yield config, box
    box.stop()


@pytest.mark.parametrize("args", [["sync", "--dry-run"], ["sync"]], ids=["dry-run", "refused-sync"])
def test_the_terminal_shows_all_the_piped_output(
    args: list[str], first_sync: tuple[Path, Sandbox], tmp_path: Path, run_cli: RunCli
) -> None:
    config, _box = first_sync
    if args == ["sync"]:
        assert run_cli("-c", str(config), "sync", "--dry-run").returncode == 0  # so sync gets to its plan
    piped = run_cli("-c", str(config), *args)
    screen, status = final_screen(["-c", str(config), *args], tmp_path)

    assert status == piped.returncode
    expected = answer_lines(piped.stdout + piped.stderr)
    # square: the created product and its stock once created (issue 9, case 17)
    assert "square: 2 changes" in expected and any(line.startswith("UNSAFE") for line in expected)
    if args == ["sync"]:
        assert expected[-1].startswith("error: nothing was applied: the plan exceeds a safety limit")
    shown = [line for line in screen if line.strip() and not is_progress(line)]
    assert shown == expected
    assert any(is_progress(line) for line in screen)  # the bars were there, above the answer
