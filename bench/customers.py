"""Customer reads at scale: each adapter's first (full) read and a quiet re-read of N customers.

`python -m bench.customers [--customers 1000 10000 50000] [--overlap 0.5] [--guest-orders 0.2] [--json]`

Both emulators are seeded directly (no HTTP): Square with N profiles, WooCommerce with N accounts, the
first ``overlap`` share of them with the same email on both channels (what matching will link), and
``guest-orders`` x N guest orders on WooCommerce (buyers without accounts, known only from orders).
Each read runs in this process against the emulators on loopback; calls are what the adapter counted,
against the minimum the APIs allow (a 100-item page each: Square SearchCustomers; WooCommerce the
orders, then the accounts; a quiet re-read: Square 1 search, WooCommerce 1 orders call + 1 newest-
accounts call). Peak memory is the Python heap traced during the read (``tracemalloc``: the adapter's
answer and whatever the loopback emulator allocated to serve it), not RSS.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import tracemalloc
from typing import Any

from adapters.base import ChannelAdapter
from adapters.square import SquareAdapter
from adapters.woocommerce import WooCommerceAdapter
from sandbox.square import SquareEmulator
from sandbox.woocommerce import WooCommerceEmulator


def streamed(adapter: ChannelAdapter, cursor: str | None) -> tuple[int, int, str | None]:
    """A read as the sync makes it: ``iter_customers`` page by page, each page dropped once counted
    (recorded, in the sync), so only one page is held. Returns the items, the calls, the next cursor."""
    count, calls, last = 0, 0, cursor
    for page in adapter.iter_customers(cursor):
        count, calls, last = count + len(page.items), calls + page.calls, page.cursor
    return count, calls, last


def measure(adapter: ChannelAdapter, cursor: str | None) -> tuple[str | None, dict[str, Any]]:
    tracemalloc.start()
    started = time.perf_counter()
    count, calls, last = streamed(adapter, cursor)
    wall = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    figures = {"items": count, "calls": calls, "wall_s": round(wall, 2), "peak_mb": round(peak / 2**20, 1)}
    return last, figures


def seed(square: SquareEmulator, woo: WooCommerceEmulator, size: int, overlap: float, guests: float) -> None:
    shared = int(size * overlap)
    for n in range(size):
        square.add_customer(
            f"person{n}@shop.test" if n < shared else f"till{n}@shop.test",
            f"P{n}",
            f"+1415555{n % 10000:04d}",
        )
        woo.add_customer(f"person{n}@shop.test" if n < shared else f"web{n}@shop.test", f"P{n}")
    with woo.lock:
        for n in range(int(size * guests)):
            woo._create_order({"billing": {"email": f"guest{n}@shop.test", "first_name": "G"}})


def run(size: int, overlap: float, guests: float) -> dict[str, Any]:
    square, woo = SquareEmulator(), WooCommerceEmulator()
    square.start()
    woo.start()
    try:
        seed(square, woo, size, overlap, guests)
        info = square.connection_info()
        sq = SquareAdapter(info["access_token"], base_url=info["base_url"], location_ids=info["location_ids"])
        winfo = woo.connection_info()
        wc = WooCommerceAdapter(
            winfo["url"], winfo["consumer_key"], winfo["consumer_secret"], winfo["webhook_secret"]
        )
        orders = int(size * guests)
        out: dict[str, Any] = {"customers": size, "overlap": overlap, "guest_orders": orders}
        for name, adapter, first_min in (
            ("square", sq, max(1, math.ceil(size / 100))),
            ("woocommerce", wc, max(1, math.ceil(orders / 100)) + max(1, math.ceil(size / 100))),
        ):
            cursor, figures = measure(adapter, None)
            _, quiet = measure(adapter, cursor)
            out[name] = {
                "first": {**figures, "min_calls": first_min},
                "quiet": {**quiet, "min_calls": 1 if name == "square" else 2},
            }
        return out
    finally:
        woo.stop()
        square.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--overlap", type=float, default=0.5)
    parser.add_argument("--guest-orders", type=float, default=0.2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = [run(size, args.overlap, args.guest_orders) for size in args.customers]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print("customers  channel      read    items  calls (min)   wall s  peak MB")
    for result in results:
        for channel in ("square", "woocommerce"):
            for phase in ("first", "quiet"):
                f = result[channel][phase]
                print(
                    f"{result['customers']:>9,}  {channel:<11}  {phase:<5}  {f['items']:>7,}  "
                    f"{f['calls']:>5} ({f['min_calls']:>4})  {f['wall_s']:>7}  {f['peak_mb']:>7}"
                )


if __name__ == "__main__":
    main()
