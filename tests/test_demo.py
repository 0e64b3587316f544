"""``shopbridge demo`` runs the real daemon on the sandbox and judges it from the outside: piped it
prints one line per event and a verdict; on a terminal it leaves the table and the verdict on the
screen; ``--forever`` ends on Ctrl-C; a change that never reaches a channel fails the run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pyte
from rich.console import Console

from bridge.demo.run import DemoOptions, DemoRun
from bridge.demo.view import PlainView
from sandbox.launch import Sandbox
from tests.conftest import RunCli

COLUMNS, ROWS = 180, 60
KINDS = ("web sale:", "till sale:", "eBay sale:", "refund:", "till count:", "price change at the owner")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SHOPBRIDGE_")}


def _forever(tmp_path: Path) -> subprocess.Popen[str]:
    """``shopbridge demo --forever`` started in ``tmp_path`` as a user starts it (seed 5, for the
    same story each time), its output and errors on one pipe for the test to read as it goes."""
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "demo", "--forever", "--seed", "5"],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_the_piped_demo_runs_the_daemon_and_every_change_reaches_every_channel(run_cli: RunCli) -> None:
    done = run_cli("demo", timeout=120)
    lines = done.stdout.splitlines()

    assert done.returncode == 0, done.stdout + done.stderr
    assert any(line.startswith("$ shopbridge daemon  (pid ") for line in lines)
    acted = [line for line in lines if line.endswith(": acknowledged")]
    for kind in KINDS:  # sales on the three channels, a refund, a till count, a price change
        assert any(kind in line for line in acted), kind
    propagated = [line for line in lines if re.search(r"#\d+ propagated in \d+\.\d\d s: ", line)]
    assert len(propagated) == len(acted) == 8
    assert "Summary: 8 changes, 8 propagated to every channel" in lines
    assert any(line.startswith("Worst propagation: ") for line in lines)
    assert any(
        line.startswith("Every channel agrees: woocommerce, square Location 1, square Location 2, ebay show")
        for line in lines
    )
    assert any(line.startswith("No echo: ") for line in lines)
    assert "The daemon stopped cleanly on SIGTERM (exit 0)." in lines
    assert "\x1b[" not in done.stdout  # a pipe gets plain lines, no redraws


def test_on_a_terminal_the_final_screen_shows_the_table_and_the_summary(tmp_path: Path) -> None:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "cli", "demo"],
        cwd=str(tmp_path),
        env=_env() | {"TERM": "xterm"},
        dimensions=(ROWS, COLUMNS),
        timeout=120,
    )
    output = child.read()
    child.close()
    screen = pyte.Screen(COLUMNS, ROWS)
    pyte.ByteStream(screen).feed(output)
    shown = [line.rstrip() for line in screen.display]

    assert child.exitstatus == 0, "\n".join(shown)
    header = next(line for line in shown if "SKU" in line and "woocommerce" in line)
    assert "square Location 1" in header and "ebay" in header and "square price" in header
    rows = [line for line in shown if re.match(r"│ SB-\d{5}", line)]
    assert len(rows) == 5 and all("✓ agree" in row for row in rows)
    assert len([line for line in shown if re.match(r"│\s+\d+ │ ", line)]) == 8  # the changes, each timed
    assert "Summary: 8 changes, 8 propagated to every channel" in shown
    assert any(line.startswith("Every channel agrees: ") for line in shown)
    assert shown.index("Summary: 8 changes, 8 propagated to every channel") > shown.index(header)


def test_forever_plays_until_ctrl_c_then_settles_and_ends_with_the_verdict(tmp_path: Path) -> None:
    """Ctrl-C stops the actions, lets them settle, and the exit status is the verdict's: 0 when every
    channel agrees, 1 when a change was lost (the daemon's fault, reported, never hidden)."""
    demo = _forever(tmp_path)
    assert demo.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 90
    while len([line for line in seen if line.endswith(": acknowledged")]) < 4 and time.monotonic() < deadline:
        line = demo.stdout.readline()
        if not line:
            break
        seen.append(line.rstrip("\n"))
    demo.send_signal(signal.SIGINT)
    rest, _ = demo.communicate(timeout=60)
    lines = seen + rest.splitlines()
    text = "\n".join(lines)

    assert any(line.startswith("Ctrl-C: no more actions") for line in lines), text
    summary = next(line for line in lines if line.startswith("Summary: "))
    match = re.match(r"Summary: (\d+) changes, (\d+) propagated to every channel", summary)
    assert match is not None and int(match[1]) >= 4
    agreed = any(line.startswith("Every channel agrees: ") for line in lines)
    assert demo.returncode == (0 if agreed and match[1] == match[2] else 1), text
    assert "The daemon stopped cleanly on SIGTERM (exit 0)." in lines
    assert "Traceback" not in text


class _Recorder(PlainView):
    """The plain view, also keeping every line; once the story starts, Square refuses inventory writes."""

    def __init__(self, console: Console, box: Sandbox) -> None:
        super().__init__(console)
        self.box = box
        self.lines: list[str] = []

    def _say(self, text: str) -> None:
        self.lines.append(text)
        if text.startswith("every channel agrees"):
            self.box.square.server.faults.add(
                kind="status", method="POST", path="/inventory/changes/batch-create", status=503, times=None
            )


def test_a_change_that_never_reaches_a_channel_fails_the_demo_naming_what_each_showed(tmp_path: Path) -> None:
    with Sandbox(products=12, locations=2) as box:
        view = _Recorder(Console(file=open(os.devnull, "w")), box)
        status = DemoRun(box, tmp_path, view, DemoOptions(settle_seconds=3)).run()

    lines = view.lines
    assert status == 1, "\n".join(lines)
    # Web sale 2 and till sale 1 at Location 1: Square refuses the web sale's adjustment (9 - 1 = 8, not 6).
    failed = [line for line in lines if line.startswith("NOT propagated: #1 web sale: 2 x SB-00001")]
    assert failed and "square Location 1 shows 8, expected 6" in failed[0]
    disagree = [line for line in lines if line.startswith("DISAGREE SB-00001: ")]
    assert disagree and "square Location 1 shows 8, expected 6" in disagree[0], "\n".join(lines)
    assert "the story stops here: a change did not reach every channel" in lines
    assert not any("#3 " in line for line in lines)  # nothing played after the failure
    assert not any(line.startswith("Every channel agrees") for line in lines)
    assert not any(line.startswith("ECHO") for line in lines)  # a write that comes late is no echo


def test_a_second_ctrl_c_quits_at_once_with_130_and_leaves_no_daemon_behind(tmp_path: Path) -> None:
    demo = _forever(tmp_path)
    assert demo.stdout is not None
    daemon_pid = None
    for line in demo.stdout:
        found = re.match(r"\$ shopbridge daemon  \(pid (\d+);", line)
        if found:
            daemon_pid = int(found[1])
        if line.rstrip().endswith(": acknowledged"):
            break
    assert daemon_pid is not None
    demo.send_signal(signal.SIGINT)
    time.sleep(0.5)
    demo.send_signal(signal.SIGINT)
    rest, _ = demo.communicate(timeout=60)

    assert demo.returncode == 130, rest
    assert "Traceback" not in rest
    deadline = time.monotonic() + 10
    while _running(daemon_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(daemon_pid), f"the daemon (pid {daemon_pid}) is still running"


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for its reaper."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
