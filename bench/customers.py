"""The customers stage at scale: a first sync and a quiet re-sync of N customers on each channel.

`python -m bench.customers [--customers 1000 10000 50000] [--overlap 0.5] [--guest-orders 0.2] [--json]`

Square is seeded with N profiles, WooCommerce with N accounts; the first ``overlap`` share carry the
same email on both (matching links them: one person, written on both sides), and ``guest-orders`` x
N guest orders on WooCommerce (buyers known only from orders). Each size runs in a process of its
own, the emulators in a forked child of it, so the peak RSS reported is the sync's alone (the
emulators' N records are not in it). The stage is the real one (:class:`bridge.customer_sync.CustomerSync`
on a store file, then the relay sending its writes): reads page by page, matching, merging, the
purchase history of each person read, the writes. Calls are the adapters' own counts, against
the minimum the APIs allow for the reads (100 items a page: Square SearchCustomers; WooCommerce the
orders, then the accounts; a quiet read: Square 1 search, WooCommerce 1 orders call + 1 newest-accounts
call), and, apart, the history reads and the writes (one call per update: neither API has a bulk
customer update we use).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time
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
from sandbox.woocommerce import WooCommerceEmulator


def seed(square: SquareEmulator, woo: WooCommerceEmulator, size: int, overlap: float, guests: float) -> None:
    shared = int(size * overlap)
    for n in range(size):
        square.add_customer(
            f"person{n}@shop.test" if n < shared else f"till{n}@shop.test",
            f"P{n}",
            f"+1415555{n % 10000:04d}" if n < 10000 else None,
        )
        woo.add_customer(f"person{n}@shop.test" if n < shared else f"web{n}@shop.test", f"P{n}")
    with woo.lock:
        for n in range(int(size * guests)):
            woo._create_order({"billing": {"email": f"guest{n}@shop.test", "first_name": "G"}})


def serve(conn: Connection, size: int, overlap: float, guests: float) -> None:
    """The emulators, in a child process: seeded, their connection details sent, run until told."""
    square, woo = SquareEmulator(), WooCommerceEmulator()
    square.start()
    woo.start()
    try:
        seed(square, woo, size, overlap, guests)
        conn.send({"square": square.connection_info(), "woocommerce": woo.connection_info()})
        conn.recv()
    finally:
        woo.stop()
        square.stop()


def rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def one(size: int, overlap: float, guests: float) -> dict[str, Any]:
    """One size, measured in this process (the emulators in a forked child)."""
    here, there = multiprocessing.get_context("fork").Pipe()
    child = multiprocessing.get_context("fork").Process(target=serve, args=(there, size, overlap, guests))
    child.start()
    info = here.recv()
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
        out: dict[str, Any] = {"customers": size, "overlap": overlap, "guest_orders": int(size * guests)}
        with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.db") as store:
            out["first"] = phase(store, adapters, size, guests, first=True)
            out["quiet"] = phase(store, adapters, size, guests, first=False)
            out["persons"] = store.customers.count()
        return out
    finally:
        here.send("stop")
        child.join(timeout=60)


def phase(store: Store, adapters: dict[str, Any], size: int, guests: float, *, first: bool) -> dict[str, Any]:
    before = {name: a.calls for name, a in adapters.items()}
    started = time.perf_counter()
    report = CustomerSync(store, adapters, CustomerSettings()).run()
    staged = {name: a.calls - before[name] for name, a in adapters.items()}
    sent = Relay(store, adapters, QuietProgress(), 12).send()
    wall = time.perf_counter() - started
    calls = {name: a.calls - before[name] for name, a in adapters.items()}
    orders = int(size * guests)
    minimum = (
        {
            "square": max(1, math.ceil(size / 100)),
            "woocommerce": max(1, math.ceil(orders / 100)) + math.ceil(size / 100),
        }
        if first
        else {"square": 1, "woocommerce": 2}
    )
    return {
        "read": report.read,
        "queued": report.queued,
        "sent": dict(sent.sent),
        "calls": calls,
        "stage_calls": staged,
        "read_min_calls": minimum,
        "read_calls": report.read_calls,
        "history_calls": report.history_calls,
        "history_orders": report.orders,
        "wall_s": round(wall, 2),
        "peak_rss_mb": rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--overlap", type=float, default=0.5)
    parser.add_argument("--guest-orders", type=float, default=0.2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a size in its own process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.customers[0], args.overlap, args.guest_orders)))
        return
    results = []
    if not args.json:
        print(HEADER, flush=True)
    for size in args.customers:
        command = [sys.executable, "-m", "bench.customers", "--one", "--customers", str(size)]
        command += ["--overlap", str(args.overlap), "--guest-orders", str(args.guest_orders)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        results.append(json.loads(done.stdout.splitlines()[-1]))
        if not args.json:
            print(rows(results[-1]), flush=True)  # each size as soon as it is measured
    if args.json:
        print(json.dumps(results, indent=2))


HEADER = (
    "customers  phase    read  persons  queued  read calls (min)  history calls  all calls  wall s"
    "  peak RSS MB"
)


def rows(r: dict[str, Any]) -> str:
    """One size's two lines of the table."""
    lines = []
    for name in ("first", "quiet"):
        f = r[name]
        least = sum(f["read_min_calls"].values())
        lines.append(
            f"{r['customers']:>9,}  {name:<5}  {f['read']:>6,}  {r['persons']:>7,}  {f['queued']:>6,}  "
            f"{f['read_calls']:>10,} ({least:>4,})  {f['history_calls']:>13,}  "
            f"{sum(f['calls'].values()):>9,}  {f['wall_s']:>6}  {f['peak_rss_mb']:>11}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
