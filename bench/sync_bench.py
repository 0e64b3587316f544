"""Sync benchmark: a first sync and a no-change re-sync of N variants on WooCommerce, Square and eBay.

    python -m bench.sync_bench                 # 1k and 10k variants
    python -m bench.sync_bench --sizes 1000 10000 50000

The emulators run in a child process (``bench/serve.py``) so that the peak memory printed is
shopbridge's own (runner, adapters, store), not the emulators'. For each size it prints wall time,
HTTP calls per channel (counted by the emulators themselves) against the minimum that the
channels' page and batch limits allow for the same work, and peak RSS.

The catalogues are the same on every channel (same SKUs, prices) and Square has two locations, so
the first sync links everything, seeds the ledger from Square and writes every WooCommerce stock
(the web shop shows the sum of both shops) in batches of 100, and every eBay listing (a pooled
channel too) in ``bulkUpdatePriceQuantity`` calls of 25. Phases: ``first`` (full read, all
writes), ``again`` (the next incremental sync, which reads our own writes back as echoes and plans
nothing) and ``steady`` (a later poll of a quiet shop).

eBay's floor: inventory items 200 a page, but offers only by SKU (``getOffers`` takes one SKU, and
eBay has no bulk read of offers), one ``getOrders`` page of 200, writes 25 a call, and one token
renewal (the access token lives two hours, so only the first phase pays it). A product with
variations is a multi-variation listing there (an inventory item group): the first read reads each
group once; later reads none (their items' membership did not change).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from adapters.base import ChannelAdapter
from adapters.ebay_channel import CHANNEL
from adapters.square import SquareAdapter
from adapters.woocommerce import WooCommerceAdapter
from bridge.policy import SyncPolicy
from bridge.registry import ChannelContext
from bridge.store import Store
from bridge.sync import SyncRunner
from sandbox.seed import generate_catalog

LOCATIONS = 2
CHANNELS = ("woocommerce", "square", "ebay")


def stats(url: str, reset: bool = False) -> dict[str, int]:
    method = "DELETE" if reset else "GET"
    answer = requests.request(method, f"{url}/__sandbox/stats", timeout=30)
    data: dict[str, int] = answer.json()
    return data


def total(counts: dict[str, int]) -> int:
    return sum(counts.values())


def ebay_minimum(size: int, writes: int, *, first: bool) -> int:
    """eBay's floor for a read of every listing plus ``writes`` quantity updates (see the module)."""
    groups = sum(1 for p in generate_catalog(size) if not p.is_simple) if first else 0
    return int(first) + math.ceil(size / 200) + size + 1 + math.ceil(writes / 25) + groups


def minimum(size: int) -> dict[str, dict[str, int]]:
    """Calls the page and batch limits allow for a first sync and for an incremental re-sync."""
    catalog = generate_catalog(size)
    products = len(catalog)
    variations = sum(len(p.variants) for p in catalog if not p.is_simple)
    variants = sum(len(p.variants) for p in catalog)
    simple = sum(1 for p in catalog if p.is_simple)
    variable = products - simple
    woo_first = (
        math.ceil(products / 100)  # products, 100 a page
        + math.ceil(variations / 100)  # /variations, 100 a page
        + 1  # the trash (status=trash), so that a product deleted on the owner is archived elsewhere
        + 1  # orders since the counts were taken (none)
        + math.ceil(simple / 100)  # simple products' stock: products/batch, 100 a call
        + variable  # variations' stock: products/<id>/variations/batch, one parent a call
    )
    square_first = (
        1  # locations
        + math.ceil(products / 1000)  # catalog search, 1,000 a page
        + math.ceil(variants * LOCATIONS / 1000)  # counts, 1,000 a page
        + 1  # inventory changes since the counts were taken (none)
    )
    # The first incremental sync reads our own writes back (every product we wrote is modified):
    # products and variations since, 100 a page; then orders since.
    # Those SKUs are reconciled again, so Square's counts for them are read too.
    # A changed variation whose product did not change needs its product too (100 a call,
    # ``include=``): writing a variation's stock leaves its parent's date alone.
    # Plus the trash since, and orders since.
    woo_again = math.ceil(simple / 100) + math.ceil(variations / 100) + math.ceil(variable / 100) + 2
    # Square: locations (listed every cycle, to notice a new shop), catalog since, changes since
    # (before and after the counts), counts of the SKUs being reconciled.
    square_again = 1 + 1 + 2 + math.ceil(variants * LOCATIONS / 1000)
    return {
        "first": {"woocommerce": woo_first, "square": square_first},
        "again": {"woocommerce": woo_again, "square": square_again},
        # steady state: products since, trash since, variations since, orders since; locations,
        # catalog since, changes since (before and after counts)
        "steady": {"woocommerce": 4, "square": 4},
    }


def ebay_adapter(info: dict[str, str]) -> ChannelAdapter:
    """The adapter as ``[channels.ebay]`` builds it (its registry entry), against the emulator."""
    section = CHANNEL.section.model_validate(
        {
            "environment": "custom",
            "base_url": info["base_url"],
            "client_id": info["client_id"],
            "client_secret": {"value": info["client_secret"]},
            "refresh_token": {"value": info["refresh_token"]},
        }
    )
    section.client_secret.resolve({})
    section.refresh_token.resolve({})
    return CHANNEL.build(section, ChannelContext())


def run(size: int) -> dict[str, Any]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.serve", str(size)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    try:
        wc, sq = info["woocommerce"], info["square"]
        adapters = {
            "woocommerce": WooCommerceAdapter(wc["url"], wc["consumer_key"], wc["consumer_secret"], ""),
            "square": SquareAdapter(sq["access_token"], base_url=sq["base_url"]),
            "ebay": ebay_adapter(info["ebay"]),
        }
        urls = {"woocommerce": wc["url"], "square": sq["base_url"], "ebay": info["ebay"]["base_url"]}
        with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.db") as store:
            runner = SyncRunner(store, adapters, SyncPolicy())
            out: dict[str, Any] = {"variants": size}
            for phase in ("first", "again", "steady"):
                # Polls are minutes apart, and a shop's catalogue predates its first sync: let the
                # 2-second overlap window pass the seeding (or our writes) first.
                time.sleep(4)
                for url in urls.values():
                    stats(url, reset=True)
                started = time.perf_counter()
                _plans, report = runner.run(force=True, keep_plans=False)
                elapsed = time.perf_counter() - started
                out[phase] = {
                    "seconds": round(elapsed, 2),
                    "changes": report.planned,
                    "applied": dict(report.sent),
                    "calls": {name: total(stats(url)) for name, url in urls.items()},
                    "routes": {name: stats(url) for name, url in urls.items()},
                    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                }
            out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
            out["store_mb"] = round((Path(tmp) / "bench.db").stat().st_size / 2**20, 1)
            out["minimum"] = minimum(size)
            for phase in ("first", "again", "steady"):
                writes = out[phase]["applied"].get("ebay", 0)
                out["minimum"][phase]["ebay"] = ebay_minimum(size, writes, first=phase == "first")
            return out
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--json", action="store_true", help="print one JSON object per size")
    args = parser.parse_args()
    for size in args.sizes:
        result = run(size)
        if args.json:
            print(json.dumps(result))
            continue
        print(f"== {size:,} variants")
        for phase in ("first", "again", "steady"):
            r = result[phase]
            calls = ", ".join(
                f"{ch} {n} (minimum {result['minimum'][phase][ch]})" for ch, n in sorted(r["calls"].items())
            )
            print(
                f"  {phase:5}: {r['seconds']:7.2f} s  {r['changes']:6} changes  calls: {calls}  "
                f"peak RSS so far {r['peak_rss_mb']} MB"
            )
        print(f"  peak RSS {result['peak_rss_mb']} MB (runner process), store file {result['store_mb']} MB")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
