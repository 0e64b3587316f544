"""The shopbridge the demo shows is the real command line, run as separate processes exactly as a
shop runs it: ``sync --force`` for the first sync, ``webhooks register``, then ``daemon``.

The daemon gets its own session (process group) so a Ctrl-C typed at the demo reaches the demo
only; the demo then lets changes settle and stops the daemon with SIGTERM, as systemd would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import requests

__all__ = ["DaemonProcess", "run_command"]


def _argv(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "cli", "-c", str(config), *args]


def _env() -> dict[str, str]:
    """The caller's environment without SHOPBRIDGE_* (the demo's config is the one passed with -c)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SHOPBRIDGE_")}


def run_command(config: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``shopbridge -c CONFIG ARGS`` to completion, output captured."""
    return subprocess.run(
        _argv(config, *args), capture_output=True, text=True, timeout=timeout, env=_env(), check=False
    )


class DaemonProcess:
    """``shopbridge daemon`` in the background, its log in a file."""

    def __init__(self, config: Path, log_path: Path, receiver_url: str) -> None:
        self.config = config
        self.log_path = log_path
        self.health_url = f"{receiver_url}/healthz"
        self.ready_url = f"{receiver_url}/readyz"
        self._log: IO[bytes] | None = None
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> int:
        """Start it and wait until its webhook receiver answers; returns its pid."""
        self._log = open(self.log_path, "wb")  # closed in stop()
        self.process = subprocess.Popen(
            _argv(self.config, "daemon"),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=_env(),
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the daemon exited with status {self.process.returncode}: {self.tail()}")
            try:
                if requests.get(self.health_url, timeout=1).ok:
                    return self.process.pid
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the daemon did not answer {self.health_url} within {timeout:.0f} s")

    def caught_up(self) -> bool:
        """Its ``/readyz`` shows no webhook waiting for a cycle and no write waiting to be sent: a
        cycle that covers every delivery so far has finished."""
        try:
            depths = requests.get(self.ready_url, timeout=2).json()
        except (requests.RequestException, ValueError):
            return False
        return bool(depths.get("inbox_pending") == 0 and depths.get("outbox_pending") == 0)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM, as systemd stops it; returns its exit status (None if it had to be killed)."""
        status: int | None = None
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
            try:
                status = self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        return status

    def tail(self, lines: int = 8) -> str:
        """The last lines of its log (what a daemon that died said last)."""
        return "\n".join(self._log_lines()[-lines:])

    def cycles_done(self) -> int:
        """How many sync cycles its log reports finished (``sync cycle done``)."""
        return sum('"sync cycle done"' in line for line in self._log_lines())

    def warnings(self) -> list[str]:
        """Its log lines above info (JSON lines: their ``level``), as they were written."""
        found = []
        for line in self._log_lines():
            try:
                level = json.loads(line).get("level")
            except (ValueError, AttributeError):
                level = "unparsed"
            if level not in ("debug", "info"):
                found.append(line)
        return found

    def _log_lines(self) -> list[str]:
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []
