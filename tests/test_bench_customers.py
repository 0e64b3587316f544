"""The customers benchmark (bench/customers.py) runs the real customers stage at a small size and
prints, for the first sync and a quiet re-sync, what was read, linked and written, the read calls
against the API minimum, the history and write calls, wall time and the sync's peak RSS. No timing
is asserted (the machine is shared)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_customer_bench_syncs_everyone_once_and_a_quiet_resync_changes_nothing() -> None:
    args = ["--customers", "250", "--overlap", "0.4", "--guest-orders", "0.2", "--json"]
    done = subprocess.run(
        [sys.executable, "-m", "bench.customers", *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (result,) = json.loads(done.stdout)
    first, quiet = result["first"], result["quiet"]
    assert first["read"] == 250 + 250 + 50  # Square profiles, WooCommerce accounts and guests
    assert result["persons"] == 250 + 250 - 100 + 50  # the 40% with one email on both are one person
    assert first["read_calls"] == sum(first["read_min_calls"].values())
    assert first["sent"] == {"woocommerce": 100}  # the till's phone to the shop's account, once each
    assert (quiet["read"], quiet["queued"], quiet["sent"], quiet["history_orders"]) == (0, 0, {}, 0)
    # The history from the order streams, at the minimum: Square's locations and one SearchOrders
    # page (a quiet one too: a regular's next till sale changes no profile, only the stream has
    # it); WooCommerce's orders come with its customers read. Every order naming someone, once:
    # every other till sale (the rest name nobody), the guests' and the accounts' web orders.
    assert first["history_calls"] == sum(first["history_min_calls"].values()) == 2
    assert quiet["history_calls"] == sum(quiet["history_min_calls"].values()) == 2
    assert first["history_orders"] == result["purchases"] == 125 + 50 + 125
    assert {"wall_s", "peak_rss_mb", "calls", "history_orders"} <= set(first)
