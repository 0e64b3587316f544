"""systemd's watchdog, fed by a liveness check instead of by the end of a sync cycle.

The unit sets ``WatchdogSec=``; systemd then expects ``WATCHDOG=1`` at least that often and restarts
the service when the pings stop. Pinging only after a completed cycle got an idle daemon killed
whenever the poll interval was longer than the watchdog (the defaults: 300 s and 3 min), and a
heartbeat thread pinging unconditionally would keep a wedged loop alive for ever. So a thread pings
at half of ``WATCHDOG_USEC`` (systemd's advice) only while :class:`Liveness` holds: the loop is idle
(waiting for the next cycle or a webhook), or busy but making progress (each phase and page of a
sync beats, through :class:`BeatingProgress`), and every watched part (the webhook receiver) is up.
A loop with no progress for ``stall_seconds`` is wedged. That limit is longer than one request may
take with its retries (a 30 s timeout, five attempts, backoff of up to 30 s between them), so a
slow channel is waited for, while a hung one gets the daemon restarted, which loses nothing (every
write is in the outbox, every cursor committed with what it covers).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from bridge.notify import sd_notify

__all__ = ["BeatingProgress", "Liveness", "Watchdog", "watchdog_interval"]

log = logging.getLogger(__name__)

DEFAULT_STALL_SECONDS = 300.0


def watchdog_interval(environ: Mapping[str, str], pid: int) -> float | None:
    """Seconds between pings systemd asks of this process (half of ``WATCHDOG_USEC``), or ``None``
    when it asks none: no watchdog, an unreadable value, or one meant for another process
    (``WATCHDOG_PID``, as sd_watchdog_enabled(3) checks)."""
    usec, owner = environ.get("WATCHDOG_USEC"), environ.get("WATCHDOG_PID")
    if not usec or (owner and owner != str(pid)):
        return None
    try:
        seconds = int(usec) / 1_000_000
    except ValueError:
        return None
    return seconds / 2 if seconds > 0 else None


class Liveness:
    """Whether the daemon is doing its job: the loop idle or making progress, the watched parts up."""

    def __init__(
        self, stall_seconds: float = DEFAULT_STALL_SECONDS, clock: Callable[[], float] = time.monotonic
    ):
        self.stall_seconds = stall_seconds
        self._clock = clock
        self._last_beat = clock()
        self._idle = False
        self._watched: list[tuple[str, Callable[[], bool]]] = []

    def beat(self) -> None:
        """The loop made progress."""
        self._last_beat = self._clock()

    @contextmanager
    def idle(self) -> Iterator[None]:
        """The loop waits for its next cycle: alive however long the wait."""
        self._idle = True
        try:
            yield
        finally:
            self._idle = False
            self.beat()

    def watch(self, name: str, is_up: Callable[[], bool]) -> None:
        """``is_up()`` must hold for the daemon to be alive (e.g. the receiver's thread serves)."""
        self._watched.append((name, is_up))

    def problem(self) -> str | None:
        """Why the daemon is not alive, or ``None`` when it is."""
        for name, is_up in self._watched:
            if not is_up():
                return f"{name} stopped"
        stalled = self._clock() - self._last_beat
        if not self._idle and stalled > self.stall_seconds:
            return f"sync loop made no progress for {stalled:.0f} s"
        return None


class BeatingProgress:
    """A sync's progress reporter that tells :class:`Liveness` of each phase and page."""

    def __init__(self, liveness: Liveness) -> None:
        self._liveness = liveness

    def start(self, what: str, total: int | None = None) -> None:
        log.debug("sync phase", extra={"phase": what, "total": total})
        self._liveness.beat()

    def advance(self, done: int) -> None:
        self._liveness.beat()

    def beside(self) -> BeatingProgress:
        return self  # a beat from work beside the loop's is a sign of life too


class Watchdog:
    """Pings systemd every ``interval`` seconds while ``liveness`` holds; says once why it stopped."""

    def __init__(
        self, liveness: Liveness, interval: float, notify: Callable[[str], bool] = sd_notify
    ) -> None:
        self._liveness = liveness
        self._interval = interval
        self._notify = notify
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)

    @classmethod
    def from_environment(cls, liveness: Liveness) -> Watchdog | None:
        interval = watchdog_interval(os.environ, os.getpid())
        return cls(liveness, interval) if interval is not None else None

    def start(self) -> Watchdog:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        reported: str | None = None
        while not self._stop.wait(self._interval):
            problem = self._liveness.problem()
            if problem is None:
                self._notify("WATCHDOG=1")
            elif problem != reported:
                log.error("not pinging systemd's watchdog: %s", problem)
            reported = problem
