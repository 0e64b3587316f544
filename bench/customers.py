"""The customers stage at scale: a first sync and a quiet re-sync of N customers on each channel.

`python -m bench.customers [--customers 1000 10000 50000] [--overlap 0.5] [--guest-orders 0.2]
[--web-orders 0.5] [--till-orders 1.0] [--seed-rate 50] [--json]`

Square is seeded with N profiles, WooCommerce with N accounts; the first ``overlap`` share carry the
same email on both (matching links them: one person, written on both sides), ``guest-orders`` x N
guest orders on WooCommerce (buyers known only from orders), ``web-orders`` x N orders of accounts,
and ``till-orders`` x N till sales on Square at two locations, every other one to a profile (the
others to nobody, as most till sales are). Each channel's records are dated ``seed-rate`` a second,
ending at the seeding (a real shop's accounts come over months, a bulk import through the REST API at
tens a second: not all inside the reads' overlap windows); ``--seed-rate 0`` dates them all as fast as
the emulators take them (50,000 accounts in about a second), as before. Each size runs in a process of its
own, the emulators in a forked child of it, so the peak RSS reported is the sync's alone (the
emulators' N records are not in it). The stage is the real one (:class:`bridge.customer_sync.CustomerSync`
on a store file, then the relay sending its writes): reads page by page, matching, merging, the
purchase history from the order streams, the writes. Calls are the adapters' own counts, against
the minimum the APIs allow for the reads (100 items a page: Square SearchCustomers; WooCommerce the
orders, then the accounts; a quiet read: Square 1 search, WooCommerce 1 orders call + 1 newest-accounts
call) and for the history (Square: its locations, then SearchOrders, 1,000 orders a page per 10
locations, a quiet one 1 + 1; WooCommerce: none, its orders come with the customers read), and the
writes apart (one call per update: neither API has a bulk customer update we use).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from adapters.square import SquareAdapter
from adapters.woocommerce import WooCommerceAdapter
from bridge.config import CustomerSettings
from bridge.customer_sync import CustomerSync
from bridge.progress import QuietProgress
from bridge.relay import Relay
from bridge.store import Store
from sandbox.square import SquareEmulator
from sandbox.square.wire import fmt_ms
from sandbox.woocommerce import WooCommerceEmulator


def seed(square: SquareEmulator, woo: WooCommerceEmulator, size: int, mix: Mix) -> None:
    """N profiles and accounts and the orders of ``mix``; at ``mix.rate`` records a second (each
    channel's, in order, ending now) when it is above 0, else as fast as the emulators take them."""
    shared = int(size * mix.overlap)
    square_dates = _timeline(size + int(size * mix.till), mix.rate)
    woo_clock = _WooClock(woo, size + int(size * mix.guests) + int(size * mix.web), mix.rate)
    profiles, accounts = [], []
    for n in range(size):
        profiles.append(
            square.add_customer(
                f"person{n}@shop.test" if n < shared else f"till{n}@shop.test",
                f"P{n}",
                f"+1415555{n % 10000:04d}" if n < 10000 else None,
            )
        )
        _backdate(square, square._customers[profiles[-1]], next(square_dates))
        accounts.append(
            woo.add_customer(f"person{n}@shop.test" if n < shared else f"web{n}@shop.test", f"P{n}")
        )
        woo_clock.tick()
    shops = square.location_ids()
    shops += square.add_locations(["Shop", "Market stall"][len(shops) :])
    for n in range(int(size * mix.till)):
        order = square.add_order(shops[n % 2], 500 + n % 100, profiles[n % size] if n % 2 == 0 else None)
        _backdate(square, square._orders[order], next(square_dates))
    with woo.lock:
        for n in range(int(size * mix.guests)):
            woo._create_order({"billing": {"email": f"guest{n}@shop.test", "first_name": "G"}})
            woo_clock.tick()
        for n in range(int(size * mix.web)):
            buyer = accounts[n % size]
            woo._create_order({"customer_id": buyer, "billing": {"email": woo.customers[buyer]["email"]}})
            woo_clock.tick()
    woo_clock.stop()


def _timeline(count: int, rate: float) -> Iterator[int | None]:
    """Epoch ms of ``count`` records made ``rate`` a second, the last one now; None each if ``rate`` is 0."""
    if rate <= 0:
        return itertools.repeat(None)
    start = time.time() * 1000 - count * 1000 / rate
    return (int(start + n * 1000 / rate) for n in itertools.count())


def _backdate(square: SquareEmulator, record: dict[str, Any], ms: int | None) -> None:
    """Square's emulator stamps a record with its clock (now): the bench's shop made it at ``ms``.
    Its state is written directly, as its seeding helpers do (no API sets these dates)."""
    if ms is None:
        return
    with square.lock:
        for name in ("created_at", "updated_at", "closed_at"):
            if name in record:
                record[name] = fmt_ms(ms)
        square._cache.clear()  # the query results cached before the change


class _WooClock:
    """WooCommerce's emulator clock held ``count / rate`` seconds back and moved on one record at a
    time (its ``freeze_time``/``advance``), so the records it stamps are spread as ``rate`` says."""

    def __init__(self, woo: WooCommerceEmulator, count: int, rate: float) -> None:
        self.woo, self.step = woo, (1 / rate if rate > 0 else 0.0)
        if self.step:
            woo.freeze_time(datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=count * self.step))

    def tick(self) -> None:
        if self.step:
            self.woo.advance(self.step)

    def stop(self) -> None:
        if self.step:
            self.woo.unfreeze_time()


@dataclass(frozen=True)
class Mix:
    """What the shop holds besides N customers a side (shares of N)."""

    overlap: float = 0.5
    guests: float = 0.2
    web: float = 0.5
    till: float = 1.0
    rate: float = 50.0
    """Records seeded a second, back in time (0: all at once, as fast as the emulators take them)."""

    def orders(self, size: int) -> dict[str, int]:
        """The orders seeded per channel (Square's every other one to nobody)."""
        return {
            "square": int(size * self.till),
            "woocommerce": int(size * self.guests) + int(size * self.web),
        }


def serve(conn: Connection, size: int, mix: Mix) -> None:
    """The emulators, in a child process: seeded, their connection details sent, run until told."""
    square, woo = SquareEmulator(), WooCommerceEmulator()
    square.start()
    woo.start()
    try:
        try:
            seed(square, woo, size, mix)
        except Exception as exc:  # said to the parent, which would otherwise wait for ever
            conn.send({"error": repr(exc)})
            raise
        conn.send({"square": square.connection_info(), "woocommerce": woo.connection_info()})
        conn.recv()
    finally:
        woo.stop()
        square.stop()


def rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def one(size: int, mix: Mix) -> dict[str, Any]:
    """One size, measured in this process (the emulators in a forked child)."""
    here, there = multiprocessing.get_context("fork").Pipe()
    child = multiprocessing.get_context("fork").Process(target=serve, args=(there, size, mix))
    child.start()
    info = here.recv()
    if "error" in info:
        raise RuntimeError(f"seeding the emulators failed: {info['error']}")
    try:
        sq = info["square"]
        wc = info["woocommerce"]
        adapters = {
            "square": SquareAdapter(
                sq["access_token"], base_url=sq["base_url"], location_ids=sq["location_ids"]
            ),
            "woocommerce": WooCommerceAdapter(
                wc["url"], wc["consumer_key"], wc["consumer_secret"], wc["webhook_secret"]
            ),
        }
        out: dict[str, Any] = {
            "customers": size,
            "seed_rate": mix.rate,
            "overlap": mix.overlap,
            "guest_orders": int(size * mix.guests),
            "orders": mix.orders(size),
            "locations": len(sq["location_ids"]),
        }
        with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.db") as store:
            out["first"] = phase(store, adapters, size, mix, len(sq["location_ids"]), first=True)
            out["quiet"] = phase(store, adapters, size, mix, len(sq["location_ids"]), first=False)
            out["persons"] = store.customers.count()
            out["purchases"] = store.db.execute("SELECT count(*) FROM purchases").fetchone()[0]
        return out
    finally:
        here.send("stop")
        child.join(timeout=60)


def phase(
    store: Store, adapters: dict[str, Any], size: int, mix: Mix, locations: int, *, first: bool
) -> dict[str, Any]:
    before = {name: a.calls for name, a in adapters.items()}
    started = time.perf_counter()
    report = CustomerSync(store, adapters, CustomerSettings()).run()
    staged = {name: a.calls - before[name] for name, a in adapters.items()}
    sent = Relay(store, adapters, QuietProgress(), 12).send()
    wall = time.perf_counter() - started
    calls = {name: a.calls - before[name] for name, a in adapters.items()}
    orders = mix.orders(size)
    minimum = (
        {
            "square": max(1, math.ceil(size / 100)),
            "woocommerce": max(1, math.ceil(orders["woocommerce"] / 100)) + math.ceil(size / 100),
        }
        if first
        else {"square": 1, "woocommerce": 2}
    )
    searches = math.ceil(locations / 10) * (max(1, math.ceil(orders["square"] / 1000)) if first else 1)
    history_minimum = {"square": 1 + searches, "woocommerce": 0}
    return {
        "read": report.read,
        "queued": report.queued,
        "sent": dict(sent.sent),
        "calls": calls,
        "stage_calls": staged,
        "read_min_calls": minimum,
        "read_calls": report.read_calls,
        "history_calls": report.history_calls,
        "history_min_calls": history_minimum,
        "history_orders": report.orders,
        "wall_s": round(wall, 2),
        "peak_rss_mb": rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--overlap", type=float, default=0.5)
    parser.add_argument("--guest-orders", type=float, default=0.2)
    parser.add_argument("--web-orders", type=float, default=0.5)
    parser.add_argument("--till-orders", type=float, default=1.0)
    parser.add_argument("--seed-rate", type=float, default=50.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a size in its own process
    args = parser.parse_args()
    if args.one:
        mix = Mix(args.overlap, args.guest_orders, args.web_orders, args.till_orders, args.seed_rate)
        print(json.dumps(one(args.customers[0], mix)))
        return
    results = []
    if not args.json:
        print(HEADER, flush=True)
    for size in args.customers:
        command = [sys.executable, "-m", "bench.customers", "--one", "--customers", str(size)]
        command += ["--overlap", str(args.overlap), "--guest-orders", str(args.guest_orders)]
        command += ["--web-orders", str(args.web_orders), "--till-orders", str(args.till_orders)]
        command += ["--seed-rate", str(args.seed_rate)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        results.append(json.loads(done.stdout.splitlines()[-1]))
        if not args.json:
            print(rows(results[-1]), flush=True)  # each size as soon as it is measured
    if args.json:
        print(json.dumps(results, indent=2))


HEADER = (
    "customers  phase    read  persons  queued  read calls (min)  history calls (min)  orders  all calls"
    "  wall s  peak RSS MB"
)


def rows(r: dict[str, Any]) -> str:
    """One size's two lines of the table."""
    lines = []
    for name in ("first", "quiet"):
        f = r[name]
        least = sum(f["read_min_calls"].values())
        history = sum(f["history_min_calls"].values())
        lines.append(
            f"{r['customers']:>9,}  {name:<5}  {f['read']:>6,}  {r['persons']:>7,}  {f['queued']:>6,}  "
            f"{f['read_calls']:>10,} ({least:>4,})  {f['history_calls']:>13,} ({history:>3,})  "
            f"{f['history_orders']:>6,}  {sum(f['calls'].values()):>9,}  {f['wall_s']:>6}  "
            f"{f['peak_rss_mb']:>11}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
