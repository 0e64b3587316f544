"""Propagation benchmark (issue 12): how long a sale on one channel takes to show on the other, with
the real ``shopbridge daemon`` running against both emulators.

    python -m bench.propagation                                  # `make bench-propagation`
    python -m bench.propagation --sales 30 --rate 5 --stream-seconds 20 --modes webhooks polling
    python -m bench.propagation --json                           # one JSON object, for machines

Both emulators run in this process (zero injected latency, as the issue's targets assume); the daemon
is a subprocess started from a config written for them, after the first ``sync --force``, exactly as
a shop runs it. Two modes, each on a fresh sandbox and store:

* ``webhooks``: ``shopbridge webhooks register`` creates WooCommerce's webhooks, and Square's
  subscription delivers to the daemon's receiver (made in the sandbox when ``webhooks register``
  did not make one, as Square's dashboard would);
* ``polling``: no webhook anywhere; only the daemon's poll every ``--poll`` seconds.

In each mode, *single* sales one at a time (the daemon caught up before each: ``/readyz`` shows
nothing waiting), alternating a Square till sale (observed on WooCommerce) and a WooCommerce order
(observed on Square at the location web sales are taken from); then a *stream* of sales at
``--rate`` per second for ``--stream-seconds``, alternating channels. A sale's propagation time runs
from the channel's answer acknowledging it to the other channel's public API first showing the new
count, read every 10 ms. Each direction uses SKUs of its own, so a count shows exactly the sales
made on the other channel; in the stream a sale counts as arrived once the count reached what it
and every earlier sale of its SKU make.

Printed per mode and direction: p50/p95/p99/max, sales not seen within ``--timeout``, the targets
(issue 12: webhook-driven p99 < 300 ms both ways and no sale over 1 s; polling alone within one poll
interval + 200 ms); the stream's offered and sustained sales per second; the daemon's CPU seconds
and peak RSS; and whether every count ended at initial - sold.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

from adapters.square_webhook_setup import KEY_FILE
from bench.clients import EmulatorClients
from bench.figures import cpu_seconds, fmt, peak_rss_mb, summary_ms
from bench.soak import free_port
from bridge.demo.processes import DaemonProcess, run_command
from sandbox.launch import DemoCatalogues, Sandbox
from sandbox.seed import SeedProduct, SeedVariant

STOCK = 100_000
READ_EVERY = 0.010
TILL_TO_WEB = "square -> woocommerce"
WEB_TO_TILL = "woocommerce -> square"
DIRECTIONS = (TILL_TO_WEB, WEB_TO_TILL)


def catalogue(per_direction: int) -> list[SeedProduct]:
    """Simple products, well stocked, the same on both channels: half sold at the till, half online."""
    return [
        SeedProduct(f"Bench Item {n}", (SeedVariant(f"PROP-{n:03d}", Decimal("5.00"), stock=STOCK),))
        for n in range(2 * per_direction)
    ]


@dataclass
class Sale:
    direction: str
    sku: str
    target: int
    """The count the other channel shows once this sale (and every earlier one of its SKU) arrived."""
    acked: float
    seen: float | None = None

    def took(self, timeout: float) -> float | None:
        """Seconds from acknowledgement to showing, or None if it did not show within ``timeout``
        (the onlooker goes on reading after that: a late arrival still counts as lost)."""
        if self.seen is None or self.seen - self.acked > timeout:
            return None
        return self.seen - self.acked


class Channels(EmulatorClients):
    """Both emulators as customers, staff and an onlooker use them: over their public HTTP APIs."""

    def __init__(self, box: Sandbox) -> None:
        super().__init__(box)
        self.woo_ids: dict[str, int] = {}
        for product in self._woo_get("/products", per_page=100):
            self.woo_ids[product["sku"]] = product["id"]
        self.variation_ids = {
            sku: (box.square.variation_by_sku(sku) or {}).get("id", "") for sku in self.woo_ids
        }
        # The onlooker's own connections (the sales keep theirs).
        self._watch_woo = requests.Session()
        self._watch_woo.auth = self.woo.auth
        self._watch_square = requests.Session()
        self._watch_square.headers["Authorization"] = self.square.headers["Authorization"]

    def _woo_get(self, path: str, **params: Any) -> Any:
        answer = self.woo.get(self.woo_url + path, params=params, timeout=20)
        answer.raise_for_status()
        return answer.json()

    def web_sale(self, sku: str, quantity: int = 1) -> None:
        body = {
            "status": "processing",
            "billing": {"email": "bench@example.com"},
            "line_items": [{"product_id": self.woo_ids[sku], "quantity": quantity}],
        }
        self.woo.post(self.woo_url + "/orders", json=body, timeout=20).raise_for_status()

    def till_sale(self, sku: str, quantity: int = 1) -> None:
        body = {
            "idempotency_key": uuid.uuid4().hex,
            "order": {
                "location_id": self.location,
                "state": "COMPLETED",
                "source": {"name": "Square Point of Sale"},
                "line_items": [{"catalog_object_id": self.variation_ids[sku], "quantity": str(quantity)}],
            },
        }
        self.square.post(self.square_url + "/v2/orders", json=body, timeout=20).raise_for_status()

    def woo_stock(self, skus: list[str]) -> dict[str, int]:
        """What WooCommerce shows for these SKUs (up to 100), in one call."""
        by_id = {self.woo_ids[s]: s for s in skus}
        answer = self._watch_woo.get(
            self.woo_url + "/products",
            params={"include": ",".join(map(str, by_id)), "per_page": 100},
            timeout=20,
        )
        answer.raise_for_status()
        return {by_id[p["id"]]: int(p["stock_quantity"]) for p in answer.json()}

    def square_stock(self, skus: list[str]) -> dict[str, int]:
        """What Square shows for these SKUs at the web sales' location, in one call."""
        by_id = {self.variation_ids[s]: s for s in skus}
        body = {"catalog_object_ids": list(by_id), "location_ids": [self.location], "states": ["IN_STOCK"]}
        url = self.square_url + "/v2/inventory/counts/batch-retrieve"
        answer = self._watch_square.post(url, json=body, timeout=20)
        answer.raise_for_status()
        counts = answer.json().get("counts", [])
        return {by_id[c["catalog_object_id"]]: int(Decimal(c["quantity"])) for c in counts}

    def shown(self, direction: str, skus: list[str]) -> dict[str, int]:
        """What the channel a sale in ``direction`` must reach shows."""
        return self.woo_stock(skus) if direction == TILL_TO_WEB else self.square_stock(skus)

    def sell(self, direction: str, sku: str) -> None:
        if direction == TILL_TO_WEB:
            self.till_sale(sku)
        else:
            self.web_sale(sku)


@dataclass
class Watch:
    """Sales waiting to show on the other channel, read every 10 ms from a thread of its own."""

    channels: Channels
    pending: list[Sale] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def add(self, sale: Sale) -> None:
        with self.lock:
            self.pending.append(sale)

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            with self.lock:
                waiting = [s for s in self.pending if s.seen is None]
            for direction in DIRECTIONS:
                mine = [s for s in waiting if s.direction == direction]
                if mine:
                    self._read(direction, mine)
            self.stop.wait(max(0.0, READ_EVERY - (time.perf_counter() - started)))

    def _read(self, direction: str, sales: list[Sale]) -> None:
        skus = sorted({s.sku for s in sales})
        try:
            for chunk in (skus[i : i + 100] for i in range(0, len(skus), 100)):
                shown = self.channels.shown(direction, chunk)
                now = time.perf_counter()
                for sale in sales:
                    if sale.sku in shown and shown[sale.sku] <= sale.target:
                        sale.seen = now
        except (requests.RequestException, ValueError, KeyError) as exc:
            self.errors.append(f"{direction}: {exc!r}")


@dataclass
class Ledger:
    """What was sold per SKU, and what the other channel showed before, to know each sale's target."""

    channels: Channels
    skus: dict[str, list[str]]
    before: dict[str, int] = field(default_factory=dict)
    sold: Counter[str] = field(default_factory=Counter)
    turn: Counter[str] = field(default_factory=Counter)

    def baseline(self) -> None:
        for direction in DIRECTIONS:
            self.before.update(self.channels.shown(direction, self.skus[direction]))

    def next_sku(self, direction: str) -> str:
        skus = self.skus[direction]
        sku = skus[self.turn[direction] % len(skus)]
        self.turn[direction] += 1
        return sku

    def sell(self, direction: str, watch: Watch) -> Sale:
        sku = self.next_sku(direction)
        self.sold[sku] += 1
        target = self.before[sku] - self.sold[sku]
        self.channels.sell(direction, sku)
        sale = Sale(direction, sku, target, acked=time.perf_counter())
        watch.add(sale)
        return sale

    def wrong_counts(self) -> list[str]:
        out = []
        for direction in DIRECTIONS:
            shown = self.channels.shown(direction, self.skus[direction])
            for sku in self.skus[direction]:
                want = self.before[sku] - self.sold[sku]
                if shown.get(sku) != want:
                    out.append(f"{direction} {sku}: shows {shown.get(sku)}, initial - sold gives {want}")
        return out


@dataclass(frozen=True)
class Settings:
    sales: int = 30
    """Single sales per direction and mode."""
    rate: float = 5.0
    """Sales per second in the stream (both directions together)."""
    stream_seconds: float = 20.0
    poll: float = 3.0
    debounce: float | None = None
    """``[daemon] webhook_debounce_seconds``; None leaves the daemon's default."""
    timeout: float = 30.0
    """A sale not seen on the other channel this long after its acknowledgement is counted as lost."""
    modes: tuple[str, ...] = ("webhooks", "polling")
    seed: int = 1
    skus: int = 10
    """SKUs per direction (a stream spreads over them; single sales take them in turn)."""


def config_for(box: Sandbox, port: int, settings: Settings) -> str:
    daemon: dict[str, str | int | float] = {"poll_interval_seconds": settings.poll}
    if settings.debounce is not None:
        daemon["webhook_debounce_seconds"] = settings.debounce
    return box.config_text(
        "shopbridge.db",
        port,
        extra={
            "server": {"public_url": f"http://127.0.0.1:{port}"},
            "daemon": daemon,
            "logging": {"format": "json"},
        },
    )


def use_registered_key(config: Path) -> None:
    """What ``webhooks register`` tells the user to do when it made Square's subscription: verify
    deliveries with the key Square answered (written beside the config), not the one configured."""
    key_file = config.parent / KEY_FILE
    if key_file.exists():
        text = config.read_text(encoding="utf-8")
        text = re.sub(r"(?m)^signature_key = .*$", f'signature_key = {{ file = "{KEY_FILE}" }}', text)
        config.write_text(text, encoding="utf-8")


def cli(config: Path, *args: str) -> str:
    done = run_command(config, *args)
    if done.returncode != 0:
        said = f"{done.stderr.strip()} {done.stdout[-2000:]}"
        raise RuntimeError(f"shopbridge {' '.join(args)} exited {done.returncode}: {said}")
    return done.stdout


def wait_caught_up(daemon: DaemonProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if daemon.cycles_done() >= 1 and daemon.caught_up():
            return
        time.sleep(0.02)


def wait_seen(sales: list[Sale], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(s.seen is None for s in sales) and time.monotonic() < deadline:
        time.sleep(0.005)


def direction_figures(sales: list[Sale], timeout: float) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for direction in DIRECTIONS:
        mine = [s for s in sales if s.direction == direction]
        took = [s.took(timeout) for s in mine]
        times = [t for t in took if t is not None]
        out[direction] = {**summary_ms(times), "sales": len(mine), "not_seen": len(mine) - len(times)}
        out[direction]["timeout_s"] = timeout
    return out


def single_sales(ledger: Ledger, watch: Watch, daemon: DaemonProcess, settings: Settings) -> list[Sale]:
    """One sale at a time, alternating directions, the daemon caught up before each."""
    rng = random.Random(settings.seed)
    sales: list[Sale] = []
    for _ in range(settings.sales):
        for direction in DIRECTIONS:
            wait_caught_up(daemon, settings.poll + 10)
            # A customer comes at any moment: at a random phase of the poll timer (right after a
            # cycle, every sale would wait a whole interval).
            time.sleep(rng.uniform(0.0, settings.poll))
            sale = ledger.sell(direction, watch)
            sales.append(sale)
            wait_seen([sale], settings.timeout)
    return sales


def stream(ledger: Ledger, watch: Watch, settings: Settings) -> tuple[list[Sale], float, float]:
    """Sales at ``rate`` per second for ``stream_seconds``, alternating directions; returns the sales,
    the rate actually offered and the sustained rate (sales over first sale to last arrival)."""
    count = max(2, round(settings.rate * settings.stream_seconds))
    sales: list[Sale] = []
    started = time.perf_counter()
    last_sent = started
    for n in range(count):
        due = started + n / settings.rate
        time.sleep(max(0.0, due - time.perf_counter()))
        last_sent = time.perf_counter()
        sales.append(ledger.sell(DIRECTIONS[n % 2], watch))
    sent = last_sent - started
    wait_seen(sales, settings.timeout)
    arrived = [s.seen for s in sales if s.seen is not None and s.took(settings.timeout) is not None]
    span = (max(arrived) - started) if arrived else None
    offered = (count - 1) / sent if sent > 0 else float("inf")
    sustained = len(arrived) / span if span else 0.0
    return sales, round(offered, 2), round(sustained, 2)


def run_mode(mode: str, settings: Settings, workdir: Path) -> dict[str, Any]:
    """One mode on a fresh sandbox and store: set up as a shop does, then single sales and a stream."""
    box = Sandbox(products=1, locations=2)
    items = catalogue(settings.skus)
    box.catalogues = DemoCatalogues(woocommerce=items, square=items)
    box.start()
    port = free_port()
    config = workdir / "shopbridge.toml"
    config.write_text(config_for(box, port, settings))
    config.chmod(0o600)
    daemon = DaemonProcess(config, workdir / "daemon.log", f"http://127.0.0.1:{port}")
    watch: Watch | None = None
    try:
        cli(config, "sync", "--force")
        if mode == "webhooks":
            cli(config, "webhooks", "register")
            use_registered_key(config)
            url = f"http://127.0.0.1:{port}/webhooks/square"
            if not any(sub.url == url for sub in getattr(box.square, "subscriptions", [])):
                box.square.subscribe(url)  # what Square's dashboard does
        channels = Channels(box)
        skus = sorted(channels.woo_ids)
        ledger = Ledger(channels, {TILL_TO_WEB: skus[0::2], WEB_TO_TILL: skus[1::2]})
        started = time.perf_counter()
        pid = daemon.start()
        wait_caught_up(daemon, settings.poll + 30)
        ledger.baseline()
        watch = Watch(channels)
        watcher = threading.Thread(target=watch.run, name="watch", daemon=True)
        watcher.start()
        cpu0 = cpu_seconds(pid)
        singles = single_sales(ledger, watch, daemon, settings)
        cpu1 = cpu_seconds(pid)
        wait_caught_up(daemon, settings.poll + 10)
        cpu2 = cpu_seconds(pid)
        streamed, offered, sustained = stream(ledger, watch, settings)
        cpu3 = cpu_seconds(pid)
        wait_caught_up(daemon, settings.poll + 10)
        time.sleep(settings.poll + 0.5)  # one more cycle: what arrived must stay
        wrong = ledger.wrong_counts()
        rss = peak_rss_mb(pid)
        cpu_total = cpu_seconds(pid)
        wall = time.perf_counter() - started
        status = daemon.stop()

        def spent(a: float | None, b: float | None) -> float | None:
            return None if a is None or b is None else round(b - a, 2)

        return {
            "mode": mode,
            "poll_interval_s": settings.poll,
            "debounce_s": settings.debounce,
            "single": direction_figures(singles, settings.timeout),
            "stream": {
                "rate": settings.rate,
                "seconds": settings.stream_seconds,
                "sales": len(streamed),
                "offered_per_s": offered,
                "sustained_per_s": sustained,
                **direction_figures(streamed, settings.timeout),
            },
            "daemon": {
                "cpu_s": spent(0.0, cpu_total),
                "cpu_single_s": spent(cpu0, cpu1),
                "cpu_stream_s": spent(cpu2, cpu3),
                "wall_s": round(wall, 1),
                "peak_rss_mb": rss,
                "cycles": daemon.cycles_done(),
                "exit_status": status,
            },
            "wrong_counts": wrong,
            "read_errors": watch.errors[:5],
        }
    finally:
        if watch is not None:
            watch.stop.set()
        daemon.stop()
        box.stop()


def targets(mode: str, figures: dict[str, Any], poll: float) -> str:
    """The issue's target for this mode and whether these figures meet it."""
    if figures["not_seen"]:
        return "MISSED (sales not seen)"
    if mode == "webhooks":
        ok = figures["p99_ms"] < 300 and figures["max_ms"] <= 1000
        return f"target p99 < 300 ms, max <= 1000 ms: {'met' if ok else 'MISSED'}"
    limit = poll * 1000 + 200
    ok = figures["max_ms"] <= limit
    return f"target max <= poll + 200 = {limit:.0f} ms: {'met' if ok else 'MISSED'}"


def line(direction: str, f: dict[str, Any]) -> str:
    if not f.get("n"):
        return f"    {direction}: {f['sales']} sales sent, all NOT SEEN within {f['timeout_s']:g} s"
    lost = f", {f['not_seen']} NOT SEEN within {f['timeout_s']:.0f} s" if f["not_seen"] else ""
    return (
        f"    {direction}: p50 {f['p50_ms']:7.1f}  p95 {f['p95_ms']:7.1f}  p99 {f['p99_ms']:7.1f}  "
        f"max {f['max_ms']:7.1f} ms  ({f['n']} sales{lost})"
    )


def render(result: dict[str, Any]) -> list[str]:
    mode, poll = result["mode"], result["poll_interval_s"]
    debounce = "daemon default" if result["debounce_s"] is None else f"{result['debounce_s']} s"
    webhooks = "WooCommerce webhooks + Square subscription" if mode == "webhooks" else "no webhooks"
    out = [f"== {mode}: {webhooks}; poll every {poll:g} s; webhook debounce {debounce}"]
    single = result["single"]
    out.append(f"  single sales, one at a time ({single[TILL_TO_WEB]['sales']} per direction):")
    for direction in DIRECTIONS:
        out.append(line(direction, single[direction]) + "   " + targets(mode, single[direction], poll))
    s = result["stream"]
    out.append(
        f"  stream: {s['sales']} sales at {s['rate']:g}/s for {s['seconds']:g} s; "
        f"offered {s['offered_per_s']}/s, sustained {s['sustained_per_s']}/s "
        "(sales / first sale to last arrival)"
    )
    for direction in DIRECTIONS:
        out.append(line(direction, s[direction]) + "   " + targets(mode, s[direction], poll))
    d = result["daemon"]
    out.append(
        f"  daemon: CPU {fmt(d['cpu_s'], ' s')} over {d['wall_s']} s "
        f"(single sales {fmt(d['cpu_single_s'], ' s')}, stream {fmt(d['cpu_stream_s'], ' s')}), "
        f"peak RSS {fmt(d['peak_rss_mb'], ' MB')}, "
        f"{d['cycles']} sync cycles, exit status {d['exit_status']}"
    )
    wrong = result["wrong_counts"]
    verdict = "every SKU at initial - sold" if not wrong else f"{len(wrong)} WRONG"
    out.append(f"  counts at the end: {verdict}")
    out += [f"    {w}" for w in wrong[:10]]
    out += [f"  read error: {e}" for e in result["read_errors"]]
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, default=30, help="single sales per direction and mode")
    parser.add_argument("--rate", type=float, default=5.0, help="stream: sales per second (both directions)")
    parser.add_argument("--stream-seconds", type=float, default=20.0, help="stream: how long")
    parser.add_argument("--poll", type=float, default=3.0, help="the daemon's poll_interval_seconds")
    parser.add_argument("--debounce", type=float, help="webhook_debounce_seconds (default: the daemon's)")
    parser.add_argument("--timeout", type=float, default=30.0, help="a sale not seen by then is lost")
    modes = ("webhooks", "polling")
    parser.add_argument("--modes", nargs="+", choices=modes, default=list(modes))
    parser.add_argument("--skus", type=int, default=10, help="SKUs per direction")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="keep each mode's config, store and daemon log here")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args(argv)
    # The daemon runs in a session of its own: on SIGTERM, unwind so that it is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    settings = Settings(
        sales=args.sales,
        rate=args.rate,
        stream_seconds=args.stream_seconds,
        poll=args.poll,
        debounce=args.debounce,
        timeout=args.timeout,
        modes=tuple(args.modes),
        seed=args.seed,
        skus=args.skus,
    )
    results = []
    for mode in settings.modes:
        with tempfile.TemporaryDirectory(prefix=f"shopbridge-propagation-{mode}-") as scratch:
            workdir = Path(scratch) if args.keep is None else args.keep / mode
            workdir.mkdir(parents=True, exist_ok=True)
            result = run_mode(mode, settings, workdir)
        results.append(result)
        if not args.json:
            print("\n".join(render(result)), flush=True)
    if args.json:
        print(json.dumps({"modes": results}))
    sys.exit(1 if any(r["wrong_counts"] for r in results) else 0)


if __name__ == "__main__":
    main()
