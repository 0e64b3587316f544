"""``shopbridge demo``: the real daemon on the built-in sandbox, watched from the outside.

The emulators run in this process (they stand for the shop's WooCommerce site, Square account and
eBay store);
shopbridge runs as separate processes (a first ``sync --force``, ``webhooks register``, then
``daemon``), with webhooks delivered by the emulators to the daemon's receiver. The demo then acts
on the channels as customers, staff and the owner would and polls what the channels show until
every channel shows what a small model of each action expects.
"""

from __future__ import annotations

import random
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import FrameType

from bridge.demo.actions import Actions
from bridge.demo.marketplace import EBAY, EbayStore
from bridge.demo.model import WEB_PRICE, Model, Shows, SkuTruth, differences
from bridge.demo.observe import Catalogue, Observer, Reading, square_session, woo_session
from bridge.demo.processes import DaemonProcess, run_command
from bridge.demo.shop import ShopFront, Till
from bridge.demo.summary import echoes, verdict
from bridge.demo.tracker import Tracker
from bridge.demo.view import View
from sandbox.ebay import EbayEmulator, EndpointRefused
from sandbox.launch import Sandbox

__all__ = ["DemoFailed", "DemoOptions", "DemoRun"]

POLL_SECONDS = 10.0
QUIET_SECONDS = 3.0


class DemoFailed(RuntimeError):
    """The demo could not be played: a command failed, the channels disagreed before the story, the
    daemon died (the message says what)."""


@dataclass(frozen=True)
class DemoOptions:
    forever: bool = False
    settle_seconds: float = 30.0
    """How long a change may take to show everywhere before the demo calls it not propagated."""
    seed: int | None = None
    """The random stream of ``--forever`` (None: a different one each run)."""
    reading_interval: float = 0.15


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tracked_skus(box: Sandbox) -> list[str]:
    """Five shared SKUs with stock to sell: simple, variation, simple, variation, simple (the
    variations from two different products)."""
    shared = set(box.catalogues.shared_skus)
    simple: list[str] = []
    variations: list[str] = []
    for product in box.catalogues.woocommerce:
        stocked = [v.sku for v in product.variants if v.sku in shared and (v.stock or 0) >= 5]
        if product.is_simple:
            simple += stocked
        else:
            variations += stocked[:1]
    return [simple[0], variations[0], simple[1], variations[1], simple[2]]


def _truth(shows: Shows, labels: dict[str, str]) -> SkuTruth:
    """A SKU's starting point: Square's count per location, the owner's (WooCommerce's) price."""
    price = shows[WEB_PRICE]
    return SkuTruth(
        on_hand={loc: int(shows[label] or 0) for loc, label in labels.items()},
        price=price if isinstance(price, Decimal) else Decimal(0),
    )


class DemoRun:
    def __init__(self, box: Sandbox, workdir: Path, view: View, options: DemoOptions) -> None:
        self.box = box
        self.workdir = workdir
        self.view = view
        self.options = options
        wc, sq = box.woocommerce.connection_info(), box.square.connection_info()
        woo, square = (
            woo_session(wc["consumer_key"], wc["consumer_secret"]),
            square_session(sq["access_token"]),
        )
        emulator = box.emulators.get(EBAY)
        self.ebay = EbayStore(emulator) if isinstance(emulator, EbayEmulator) else None
        self.observer = Observer(woo, wc["url"], square, sq["base_url"], self.ebay)
        self.shop, self.till = ShopFront(woo, wc["url"]), Till(square, sq["base_url"])
        self.port = _free_port()
        self.config = workdir / "shopbridge.toml"
        self.daemon = DaemonProcess(self.config, workdir / "daemon.log", f"http://127.0.0.1:{self.port}")
        self.stop_requested = False

    # -- setting up, as the README says ------------------------------------------------------------

    def set_up(self) -> Catalogue:
        say = self.view.note
        catalogue = self.observer.look_up(tracked_skus(self.box))
        locations = list(catalogue.locations)
        public = f"http://127.0.0.1:{self.port}"
        self.box.write_config(
            self.config,
            port=self.port,
            extra={
                "server": {"public_url": public},
                "sync": {"default_location": locations[0]},
                "daemon": {"poll_interval_seconds": POLL_SECONDS},
            },
        )
        names = ", ".join(catalogue.locations.values())
        ebay = f", eBay {self.ebay.base}" if self.ebay else ""
        square = f"Square {self.box.square.base_url} ({names})"
        say(f"sandbox: WooCommerce {self.box.woocommerce.url}, {square}{ebay}")
        self._command("sync", "--force", keep=lambda line: "applied" in line)
        self._command("webhooks", "register", keep=lambda line: True)
        self.box.square.subscribe(f"{public}/webhooks/square")  # what Square's dashboard does
        say(f"  square: the sandbox subscribes {public}/webhooks/square, as Square's dashboard would")
        pid = self.daemon.start()
        say(
            f"$ shopbridge daemon  (pid {pid}; webhooks at {public}; polls every {POLL_SECONDS:.0f} s; "
            "each webhook re-read and propagated as it comes)"
        )
        if self.ebay is not None:
            self._ebay_destination(f"{public}/webhooks/ebay")
        return catalogue

    def _ebay_destination(self, url: str) -> None:
        """What eBay's Notification API does with a new destination: its challenge first, answered
        by the running daemon (retried while the receiver starts)."""
        assert self.ebay is not None
        emulator = self.ebay.emulator
        deadline = time.monotonic() + self.options.settle_seconds
        while True:
            try:
                emulator.add_destination(url, emulator.verification_token)
                break
            except EndpointRefused:
                if time.monotonic() > deadline or not self.daemon.alive():
                    raise DemoFailed(f"eBay's challenge to {url} was not answered") from None
                time.sleep(self.options.reading_interval)
        self.view.note(
            f"  ebay: the sandbox adds {url} as a notification destination (its challenge answered)"
        )

    def _command(self, *args: str, keep: Callable[[str], bool]) -> None:
        done = run_command(self.config, *args)
        self.view.note(f"$ shopbridge {' '.join(args)}")
        for line in done.stdout.splitlines():
            if line.strip() and keep(line):
                self.view.note(f"  {line.strip()}")
        if done.returncode != 0:
            raise DemoFailed(f"shopbridge {' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")

    def baseline(self, catalogue: Catalogue) -> Model:
        """The model's starting point: what Square's locations hold once both channels agree."""
        labels = {loc: f"square {name}" for loc, name in catalogue.locations.items()}
        default = next(iter(catalogue.locations))
        self.wait_caught_up()
        deadline = time.monotonic() + self.options.settle_seconds
        while True:
            reading = self.observer.read(catalogue, labels)
            truths = {sku: _truth(shows, labels) for sku, shows in reading.shows.items()}
            model = Model(truths, labels, default, pooled=(EBAY,) if self.ebay else ())
            apart = {sku: differences(model.expected(sku), reading.shows[sku]) for sku in model.truths}
            if not any(apart.values()):
                self.view.note("every channel agrees; the daemon is running. Playing the shop:")
                self.view.snapshot(model, reading)
                return model
            if time.monotonic() > deadline:
                detail = "; ".join(f"{sku}: {', '.join(d)}" for sku, d in apart.items() if d)
                raise DemoFailed(f"the channels disagree after the first sync: {detail}")
            time.sleep(self.options.reading_interval)

    # -- playing -----------------------------------------------------------------------------------

    def watch(
        self, tracker: Tracker, catalogue: Catalogue, until: Callable[[], bool], status: str
    ) -> Reading:
        """Read the channels until ``until()``, settling and timing changes as they show everywhere."""
        model = tracker.model
        while True:
            reading = self.observer.read(catalogue, model.location_labels)
            now = time.monotonic()
            for change in tracker.observe(reading.shows, now):
                self.view.settled(change, model)
            for change in tracker.give_up(now, self.options.settle_seconds):
                self.view.gave_up(change)
            self.view.refresh(model, reading, tracker, status)
            if not self.daemon.alive():
                raise DemoFailed(f"the daemon died: {self.daemon.tail()}")
            if until():
                return reading
            time.sleep(self.options.reading_interval)

    def play_script(self, actions: Actions, catalogue: Catalogue) -> None:
        """The story, one step at a time; it stops at the first change that does not show everywhere
        (what follows would only pile up on it)."""
        for step in actions.script():
            self.wait_caught_up()
            for act in step:
                act()
            self.settle(actions.tracker, catalogue)
            if actions.tracker.failed():
                self.view.note("the story stops here: a change did not reach every channel")
                return

    def settle(self, tracker: Tracker, catalogue: Catalogue) -> Reading:
        """Until every change showed everywhere or was given up on (after ``settle_seconds``)."""
        return self.watch(
            tracker, catalogue, lambda: not tracker.pending(), "waiting for every channel to agree…"
        )

    def wait_caught_up(self) -> None:
        """Before a step of the story: until the daemon has caught up (bounded), so that each step is
        timed on its own. ``--forever`` does not wait, as a real shop does not.

        Caught up: its log says its first cycle (which starts with it, with no delivery to show for
        it) is done, and its ``/readyz`` shows no delivery waiting for a cycle and no write queued.
        """
        deadline = time.monotonic() + self.options.settle_seconds
        while time.monotonic() < deadline:
            if self.daemon.cycles_done() >= 1 and self.daemon.caught_up():
                return
            time.sleep(self.options.reading_interval)

    def play_forever(self, actions: Actions, catalogue: Catalogue) -> None:
        rng = random.Random(self.options.seed)
        previous = signal.signal(signal.SIGINT, self._interrupted)
        try:
            while not self.stop_requested:
                actions.random(rng)
                due = time.monotonic() + rng.uniform(0.3, 2.0)
                self.watch(
                    actions.tracker,
                    catalogue,
                    self._stopped_or_past(due),
                    "playing random actions until Ctrl-C…",
                )
            self.view.note("Ctrl-C: no more actions; letting the last changes settle (Ctrl-C again quits)")
        finally:
            signal.signal(signal.SIGINT, previous)

    @staticmethod
    def _past(due: float) -> Callable[[], bool]:
        return lambda: time.monotonic() >= due

    def _stopped_or_past(self, due: float) -> Callable[[], bool]:
        return lambda: self.stop_requested or time.monotonic() >= due

    def _interrupted(self, signum: int, frame: FrameType | None) -> None:
        if self.stop_requested:
            raise KeyboardInterrupt
        self.stop_requested = True

    # -- the whole run -----------------------------------------------------------------------------

    def run(self) -> int:
        """Set up, play, settle, check for echoes, stop the daemon; 0 when every check held."""
        try:
            catalogue = self.set_up()
            model = self.baseline(catalogue)
            tracker = Tracker(model)
            actions = Actions(self.shop, self.till, catalogue, model, tracker, self.view.acted, self.ebay)
            if self.options.forever:
                self.play_forever(actions, catalogue)
            else:
                self.play_script(actions, catalogue)
            settled = self.settle(tracker, catalogue)
            quiet = "checking that nothing is written any more…"
            after = self.watch(tracker, catalogue, self._past(time.monotonic() + QUIET_SECONDS), quiet)
            result = verdict(tracker, after, echoes(model, settled, after), QUIET_SECONDS)
            self.view.refresh(model, after, tracker, "done: the daemon is being stopped")
        except DemoFailed as exc:
            self.view.close()
            self.view.note(f"demo failed: {exc}")
            self._daemon_warnings()
            return 1
        finally:
            status = self.daemon.stop()
        self.view.close()
        for line in result.lines:
            self.view.note(line)
        if status == 0:
            self.view.note("The daemon stopped cleanly on SIGTERM (exit 0).")
        else:
            self.view.note(f"The daemon did not stop cleanly on SIGTERM (exit {status}).")
        if not result.ok or status != 0:
            self._daemon_warnings()
        return 0 if result.ok and status == 0 else 1

    def _daemon_warnings(self) -> None:
        """What the daemon logged above info (or that it logged nothing of the kind)."""
        lines = self.daemon.warnings()
        self.view.note(f"The daemon logged {len(lines)} warning(s) or error(s){':' if lines else '.'}")
        for line in lines[-8:]:
            self.view.note(f"  {line}")
        self.view.note(f"Its log, config and store: {self.workdir} (kept with --keep DIR).")
