"""The long-running loop: poll on a timer, sync sooner when a webhook arrives, stop cleanly.

Polling is the backbone (WooCommerce never retries a failed webhook delivery); a webhook only wakes
the loop early, after a short debounce so a burst of deliveries costs one sync. Inbox rows received
before a cycle started are marked processed only after that cycle succeeded: its reads happened
after the deliveries, so they saw what the deliveries announced. If the process dies first, the rows
stay pending and the next cycle covers them.

Under systemd (``Type=notify``) it reports ``READY=1`` once serving, ``STATUS=`` after each cycle,
``WATCHDOG=1`` while it is alive (bridge/watchdog.py: idle, or busy and making progress; a wedged
loop stops the pings and gets restarted), and ``STOPPING=1`` on SIGTERM.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from bridge.notify import sd_notify
from bridge.store import Store, utcnow
from bridge.watchdog import DEFAULT_STALL_SECONDS, Liveness, Watchdog

__all__ = ["Daemon", "sd_notify"]

log = logging.getLogger(__name__)


class Daemon:
    """Runs ``cycle()`` every ``interval`` seconds, or ``debounce`` seconds after :meth:`wake`."""

    def __init__(
        self,
        store: Store,
        cycle: Callable[[], str],
        *,
        interval: float,
        debounce: float = 2.0,
        stall_seconds: float = DEFAULT_STALL_SECONDS,
        liveness: Liveness | None = None,
    ) -> None:
        self.store = store
        self.liveness = liveness or Liveness(stall_seconds)
        self.cycle = cycle
        self.interval = interval
        self.debounce = debounce
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.cycles = 0

    def wake(self, channel: str = "") -> None:
        """A webhook arrived: sync soon."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def install_signal_handlers(self) -> None:
        def handle(signum: int, frame: FrameType | None) -> None:
            log.info("stopping", extra={"signal": signum})
            sd_notify("STOPPING=1")
            self.stop()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)

    def run_once(self) -> str:
        """One iteration: sync, then mark processed the deliveries received before it started."""
        started = utcnow()
        summary = self.cycle()
        self.store.inbox_mark_processed_through(started)
        self.cycles += 1
        return summary

    def run(self) -> None:
        watchdog = Watchdog.from_environment(self.liveness)
        if watchdog is not None:
            watchdog.start()
        try:
            self._loop()
        finally:
            if watchdog is not None:
                watchdog.stop()
        log.info("daemon stopped", extra={"cycles": self.cycles})

    def _loop(self) -> None:
        sd_notify("READY=1")
        log.info("daemon started", extra={"interval": self.interval})
        while not self._stop.is_set():
            self.liveness.beat()
            started = time.monotonic()
            # Cleared *before* the cycle: a webhook (or stop()) arriving while it runs stays
            # set, so the wait below returns at once instead of sleeping through it.
            self._wake.clear()
            try:
                summary = self.run_once()
                sd_notify(f"STATUS={summary}")
                sd_notify("WATCHDOG=1")
                log.info(
                    "sync cycle done",
                    extra={"summary": summary, "seconds": round(time.monotonic() - started, 3)},
                )
            except Exception:
                log.exception("sync cycle failed")
                sd_notify("STATUS=last cycle failed; retrying")
            with self.liveness.idle():
                woken = self._wake.wait(self.interval)
                if woken and not self._stop.is_set() and self.debounce:
                    # Let a burst of webhooks settle into one cycle.
                    self._stop.wait(self.debounce)
