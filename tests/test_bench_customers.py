"""The customer-read benchmark (bench/customers.py) runs at a small size and prints, for each channel,
the first and the quiet read's items, calls against the API minimum, wall time and peak memory. No
timing is asserted (the machine is shared)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_customer_bench_reads_everyone_once_at_the_minimum_calls() -> None:
    args = ["--customers", "250", "--overlap", "0.4", "--guest-orders", "0.2", "--json"]
    done = subprocess.run(
        [sys.executable, "-m", "bench.customers", *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (result,) = json.loads(done.stdout)
    assert result["square"]["first"]["items"] == 250
    assert result["woocommerce"]["first"]["items"] == 250 + 50  # the accounts and the guests
    for channel in ("square", "woocommerce"):
        first, quiet = result[channel]["first"], result[channel]["quiet"]
        assert first["calls"] == first["min_calls"], (channel, first)
        assert quiet["items"] == 0, (channel, quiet)
        assert {"wall_s", "peak_mb"} <= set(first)
    assert result["woocommerce"]["quiet"]["calls"] == 2
