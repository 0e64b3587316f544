"""The sync benchmark (bench/sync_bench.py) runs at a small size on all three channels and reports,
per phase, the calls to each against the floor the page and batch limits allow, wall time and peak
RSS; eBay's first sync writes its listings 25 a call and its quiet polls cost exactly its floor.
No timing is asserted (the machine is shared)."""

from __future__ import annotations

import json
import math
import subprocess
import sys


def test_sync_bench_covers_ebay_at_its_floor() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.sync_bench", "--sizes", "60", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (result,) = [json.loads(line) for line in done.stdout.splitlines()]
    first = result["first"]
    assert set(first["calls"]) == {"woocommerce", "square", "ebay"}
    written = first["applied"]["ebay"]
    assert written > 0  # the listings show one shop's count; the pool is both shops'
    assert first["routes"]["ebay"]["POST bulkUpdatePriceQuantity"] == math.ceil(written / 25)
    for phase in ("first", "again", "steady"):
        figures = result[phase]
        routes = figures["routes"]["ebay"]
        assert figures["calls"]["ebay"] == result["minimum"][phase]["ebay"], (phase, routes)
        assert figures["peak_rss_mb"] > 0 and figures["seconds"] > 0
    assert result["again"]["changes"] == 0 and result["steady"]["changes"] == 0
