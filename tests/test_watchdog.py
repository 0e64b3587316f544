"""systemd's watchdog is fed by a liveness check, not by the end of a sync cycle (issue 12, item 5).

The unit sets ``WatchdogSec=3min`` and the default poll interval is 300 s: a daemon pinging only
after a completed cycle was killed every 3 minutes while idle. It pings at half of
``WATCHDOG_USEC`` while the loop is idle or making progress, and stops when the loop is wedged (no
progress for ``stall_seconds``) or the webhook receiver has stopped, so that systemd restarts it.
Each test listens on a fake ``NOTIFY_SOCKET`` as systemd would.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bridge.daemon import Daemon
from bridge.store import Store
from bridge.watchdog import BeatingProgress, Liveness

WATCHDOG_USEC = "200000"  # systemd's WatchdogSec=0.2s: a ping expected every 0.1 s


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "shopbridge.db") as s:
        yield s


@pytest.fixture
def notify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", WATCHDOG_USEC)
    yield listener
    listener.close()


def _messages(listener: socket.socket, seconds: float) -> list[str]:
    """What the daemon sent during the next ``seconds``."""
    got: list[str] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        listener.settimeout(left)
        try:
            got.append(listener.recv(256).decode())
        except TimeoutError:
            break
    return got


def _running(daemon: Daemon) -> threading.Thread:
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    return thread


def _stop(daemon: Daemon, thread: threading.Thread, release: Callable[[], None] = lambda: None) -> None:
    daemon.stop()
    release()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_an_idle_daemon_keeps_pinging_between_cycles(store: Store, notify: socket.socket) -> None:
    daemon = Daemon(store, lambda: "0 changes", interval=300, debounce=0)
    thread = _running(daemon)
    try:
        messages = _messages(notify, 1.5)
    finally:
        _stop(daemon, thread)
    assert messages[0] == "READY=1"
    # one completed cycle, then 300 s of waiting: pings must keep coming all the while
    assert messages.count("WATCHDOG=1") >= 4, messages


def test_a_wedged_cycle_stops_the_pings(store: Store, notify: socket.socket) -> None:
    wedge = threading.Event()
    daemon = Daemon(store, lambda: str(wedge.wait()), interval=300, debounce=0, stall_seconds=0.3)
    thread = _running(daemon)
    try:
        early = _messages(notify, 0.25)  # the cycle is new: still alive
        _messages(notify, 0.3)  # the stall limit passes
        late = _messages(notify, 0.8)
    finally:
        _stop(daemon, thread, wedge.set)
    assert "WATCHDOG=1" in early, early
    assert "WATCHDOG=1" not in late, late


def test_a_long_cycle_that_makes_progress_stays_alive(store: Store, notify: socket.socket) -> None:
    liveness = Liveness(stall_seconds=0.3)
    progress = BeatingProgress(liveness)
    stop = threading.Event()

    def long_cycle() -> str:
        progress.start("reading woocommerce products")
        while not stop.wait(0.05):  # a page every 50 ms, for longer than the stall limit
            progress.advance(100)
        return "done"

    daemon = Daemon(store, long_cycle, interval=300, debounce=0, liveness=liveness)
    thread = _running(daemon)
    try:
        _messages(notify, 0.5)
        late = _messages(notify, 0.8)
    finally:
        _stop(daemon, thread, stop.set)
    assert late.count("WATCHDOG=1") >= 3, late


def test_a_stopped_receiver_stops_the_pings(store: Store, notify: socket.socket) -> None:
    receiving = threading.Event()
    receiving.set()
    liveness = Liveness(stall_seconds=60)
    liveness.watch("webhook receiver", receiving.is_set)
    daemon = Daemon(store, lambda: "0 changes", interval=300, debounce=0, liveness=liveness)
    thread = _running(daemon)
    try:
        early = _messages(notify, 0.4)
        receiving.clear()
        _messages(notify, 0.2)
        late = _messages(notify, 0.6)
    finally:
        _stop(daemon, thread)
    assert "WATCHDOG=1" in early
    assert "WATCHDOG=1" not in late, late


def test_no_pings_for_another_process(
    store: Store, notify: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_PID", "1")  # systemd set the watchdog up for another process
    daemon = Daemon(store, lambda: "0 changes", interval=300, debounce=0)
    thread = _running(daemon)
    try:
        messages = _messages(notify, 0.6)
    finally:
        _stop(daemon, thread)
    assert messages.count("WATCHDOG=1") <= 1, messages  # at most the completed cycle's own
