"""The long-running loop: poll on a timer, take webhooks through the event path, stop cleanly.

Polling is the backbone (WooCommerce never retries a failed webhook delivery). A webhook wakes the
loop: after a short coalescing window (:class:`bridge.events.Window`, growing under load) the event
path re-reads just what the pending deliveries name and propagates it (:mod:`bridge.events`),
marking them processed once their effects are recorded. The event path runs on a thread of its own
with its own store connection, so a poll cycle in progress never holds a webhook back; both paths
share one ledger and one outbox, and take turns to plan, commit and send
(:attr:`bridge.sync.SyncRunner.serial`), while their reads overlap. Deliveries the event path
cannot cover bring the next poll cycle forward. Inbox rows received before a cycle started are
marked processed after that cycle succeeded: its reads happened after the deliveries, so they saw
what the deliveries announced. If the process dies first, the rows stay pending and are taken at
the next start, before the first cycle. Without an event path (``events=None``) a webhook only
brings the cycle forward, after ``debounce`` seconds.

Under systemd (``Type=notify``) it reports ``READY=1`` once serving, ``STATUS=`` after each cycle,
``WATCHDOG=1`` while it is alive (bridge/watchdog.py: idle, or busy and making progress; a wedged
loop stops the pings and gets restarted), and ``STOPPING=1`` on SIGTERM.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType

from bridge.events import EventPath, EventReport, Window
from bridge.notify import sd_notify
from bridge.store import Store, utcnow
from bridge.sync import SyncRunner, UnsafePlan
from bridge.watchdog import DEFAULT_STALL_SECONDS, Liveness, Watchdog

__all__ = ["Daemon", "next_poll", "sd_notify", "sync_cycle"]

log = logging.getLogger(__name__)
SWITCH_INTERVAL = 0.0005
"""Seconds a thread runs before the interpreter lets another take over (Python's default 0.005)."""
cycle_log = logging.getLogger("shopbridge")
"""What a cycle tells the operator is logged as the ``shopbridge`` command's own lines."""


def sync_cycle(runner: SyncRunner) -> str:
    """One cycle of the daemon: sync and relay, log what a human should know (a plan refused by a
    safety limit, items skipped, channels unread), and return the one-line ``STATUS=`` summary."""
    try:
        plans, report = runner.run(keep_plans=False)
    except UnsafePlan as exc:
        cycle_log.error(
            "plan refused by a safety limit; nothing applied",
            extra={"reasons": list(exc.plan.safety.reasons)},
        )
        return "plan refused by a safety limit"
    summary = f"{report.planned} changes, {sum(report.sent.values())} applied"
    skipped = list({i.message: i for plan in plans for i in plan.skipped}.values())
    for issue in skipped:
        cycle_log.warning(issue.message, extra={"channel": issue.channel, "object_id": issue.object_id})
    if skipped:
        summary += f"; {len(skipped)} item(s) skipped (see the warnings)"
    if report.unread:
        summary += f"; could not read {', '.join(report.unread)}: retrying next cycle"
    return summary


REST_SHARE = 0.1
"""After a cycle longer than the interval, the rest before the next, as a share of the interval."""


def next_poll(started: float, ended: float, interval: float) -> float:
    """When the poll after a cycle that ran from ``started`` to ``ended`` begins: an ``interval``
    after the cycle began, so a change made just after a cycle read its channel shows within one
    interval plus the next cycle's read (issue 12), not the cycle's length more. A cycle that took
    longer than the interval is followed by a rest of a tenth of it: a slow channel is never
    polled back to back."""
    return max(started + interval, ended + interval * REST_SHARE)


class Daemon:
    """Runs ``cycle()`` every ``interval`` seconds; after :meth:`wake`, the ``events`` path on its
    own thread (or, without one, the cycle ``debounce`` seconds later).

    ``events`` must have a store connection of its own (SQLite: one connection per thread) and a
    runner sharing the poll's ``serial`` lock (:meth:`bridge.sync.SyncRunner.sibling`).
    ``event_liveness`` is what its runner's progress beats (``liveness`` watches it)."""

    def __init__(
        self,
        store: Store,
        cycle: Callable[[], str],
        *,
        interval: float,
        debounce: float = 2.0,
        stall_seconds: float = DEFAULT_STALL_SECONDS,
        liveness: Liveness | None = None,
        events: EventPath | None = None,
        window: Window | None = None,
        event_liveness: Liveness | None = None,
    ) -> None:
        self.store = store
        self.liveness = liveness or Liveness(stall_seconds)
        self.event_liveness = event_liveness or Liveness(self.liveness.stall_seconds)
        self.cycle = cycle
        self.interval = interval
        self.debounce = debounce
        self.events = events
        self.window = window or Window()
        self._wake = threading.Event()
        self._poll_now = threading.Event()
        self._events_ready = threading.Event()
        self._stop = threading.Event()
        self.cycles = 0
        self.event_passes = 0
        self.stopped_by: int | None = None  # the signal that stopped the loop, if one did

    def wake(self, channel: str = "") -> None:
        """A webhook was committed to the inbox: take it soon."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._poll_now.set()

    def install_signal_handlers(self) -> None:
        def handle(signum: int, frame: FrameType | None) -> None:
            # Stop first and log nothing here: the handler runs between two bytecodes of the main
            # thread, and if that was writing a log line, another write raises "reentrant call"
            # (so would logging's own error report), which would end the handler before the stop.
            self.stopped_by = signum
            self.stop()
            sd_notify("STOPPING=1")

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
        if self.events is not None:
            # The event path's thread waits for the interpreter lock after each socket call; behind
            # a poll cycle busy planning, by default up to 5 ms each time, dozens of times a pass.
            sys.setswitchinterval(SWITCH_INTERVAL)
        events = self._start_events()
        watchdog = Watchdog.from_environment(self.liveness)
        if watchdog is not None:
            watchdog.start()
        try:
            self._loop()
        finally:
            self.stop()
            if events is not None:
                events.join(timeout=60)
            if watchdog is not None:
                watchdog.stop()
        log.info("daemon stopped", extra={"cycles": self.cycles, "signal": self.stopped_by})

    def _start_events(self) -> threading.Thread | None:
        """The event path's thread (none without an event path), watched by the liveness."""
        if self.events is None:
            self._events_ready.set()
            return None
        thread = threading.Thread(target=self._event_loop, args=(self.events,), name="events", daemon=True)
        self.liveness.watch("event path", lambda: thread.is_alive() and self.event_liveness.problem() is None)
        thread.start()
        return thread

    def _loop(self) -> None:
        """The poll: a cycle at once (after the event path took what a previous run left pending),
        then every ``interval`` from start to start (:func:`next_poll`), or sooner when the event
        path hands deliveries over."""
        sd_notify("READY=1")
        log.info("daemon started", extra={"interval": self.interval})
        with self.liveness.idle():
            while not self._stop.is_set() and not self._events_ready.wait(1.0):
                pass
        poll_at = time.monotonic()  # a cycle at once
        while not self._stop.is_set():
            self.liveness.beat()
            if time.monotonic() >= poll_at or self._poll_now.is_set():
                self._poll_now.clear()
                started = time.monotonic()
                self._poll_cycle()
                poll_at = next_poll(started, time.monotonic(), self.interval)
                continue
            with self.liveness.idle():
                if self.events is not None:
                    self._poll_now.wait(max(0.0, poll_at - time.monotonic()))
                    continue
                woken = self._wake.wait(max(0.0, poll_at - time.monotonic()))
            if woken and not self._stop.is_set():
                self._wake.clear()
                self._stop.wait(self.debounce)  # let a burst of webhooks settle into one cycle
                poll_at = time.monotonic()

    def _event_loop(self, events: EventPath) -> None:
        """The event path, on its own thread: wait for a wake-up, let a burst gather for the
        window, take the pending deliveries; hand to the poll what it cannot cover. Deliveries a
        previous run committed but did not process are taken first, before the first poll."""
        try:
            self._take_events(events)
        finally:
            self._events_ready.set()  # the poll never waits on a thread that has ended

    def _take_events(self, events: EventPath) -> None:
        window = self.window.floor
        due = True
        while not self._stop.is_set():
            self.event_liveness.beat()
            if not due:
                with self.event_liveness.idle():
                    self._wake.wait()
                due = True
                continue
            with self.event_liveness.idle():
                self._stop.wait(window)  # let a burst gather
            if self._stop.is_set():
                break
            # Cleared before the pass: a delivery committed while it runs wakes the next one.
            self._wake.clear()
            report = self._event_pass(events)
            self._events_ready.set()
            window = self.window.next(window, report.deliveries)
            if report.needs_poll:
                self._poll_now.set()  # the cycle marks them processed
            due = report.more or self._wake.is_set()

    def _poll_cycle(self) -> None:
        started = time.monotonic()
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

    def _event_pass(self, events: EventPath) -> EventReport:
        """One pass of the event path; a failure leaves the deliveries to the next poll cycle."""
        started = time.monotonic()
        try:
            report = events.process()
        except Exception:
            log.exception("event path failed; the next poll cycle covers its webhooks")
            return EventReport(needs_poll=True)
        self.event_passes += 1
        if report.processed:
            log.info(
                "webhooks processed",
                extra={"summary": report.summary, "seconds": round(time.monotonic() - started, 3)},
            )
        return report
