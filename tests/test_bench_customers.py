"""The customers benchmark (bench/customers.py) runs the real customers stage at a small size and
prints, for the first sync and a quiet re-sync, what was read, linked and written, the read calls
against the API minimum, the history and write calls, wall time and the sync's peak RSS. No timing
is asserted (the machine is shared)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from square_helpers import make_adapter as make_square_adapter
from woo_helpers import make_adapter as make_woo_adapter

from bench.customers import Mix, seed
from sandbox.square import SquareEmulator
from sandbox.woocommerce import WooCommerceEmulator


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


@pytest.mark.parametrize("rate", [10.0, 0.0])
def test_the_bench_seeds_its_shops_at_a_rate_back_in_time(rate: float) -> None:
    """``--seed-rate 10``: 30 accounts, 6 guest and 15 account orders are WooCommerce's 51 records a
    tenth of a second apart (the accounts' dates span 2.9 s, ending about 2.1 s before the read),
    and Square's 30 profiles and 30 till sales likewise; ``--seed-rate 0``: all within a second or so."""
    square, woo = SquareEmulator(), WooCommerceEmulator()
    square.start()
    woo.start()
    try:
        seed(square, woo, 30, Mix(overlap=0.5, guests=0.2, web=0.5, till=1.0, rate=rate))
        accounts = make_woo_adapter(woo).read_customers(None).items
        profiles = make_square_adapter(square).read_customers(None).items
    finally:
        woo.stop()
        square.stop()
    woo_dates = [c.modified_at for c in accounts if not c.guest and c.modified_at]
    square_dates = [c.modified_at for c in profiles if c.modified_at]
    assert len(woo_dates) == len(square_dates) == 30
    woo_span = (max(woo_dates) - min(woo_dates)).total_seconds()
    square_span = (max(square_dates) - min(square_dates)).total_seconds()
    if rate:
        assert 2 <= woo_span <= 4  # one-second dates: 2.9 s, give or take the rounding
        assert 2.8 <= square_span <= 3.0  # milliseconds: 29 x 0.1 s
    else:
        assert woo_span <= 2 and square_span <= 2
