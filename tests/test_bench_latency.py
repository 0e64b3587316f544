"""The real-latency benchmark (bench/latency.py, `make bench-latency`) runs end to end at a small size
and prints its figures: for the first sync and both mass changes, wall time, the calls each channel
counted, the sequential and concurrent floors, the writes each sync sent, and the CPU the sync and
the emulators used. No timing is asserted (the machine is shared)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_latency_bench_prints_floors_for_the_first_sync_and_both_mass_changes() -> None:
    args = ["--variants", "60", "--woo-latency", "0.02", "--square-latency", "0.01", "--concurrency", "3"]
    args += ["--wait", "1"]
    done = subprocess.run(
        [sys.executable, "-m", "bench.latency", *args], capture_output=True, text=True, timeout=120
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "send up to 3 calls at once" in out and "concurrent floor for 3 in flight" in out, out
    phase = (
        r"^  {name}.*: +[\d.]+ s  calls: square (\d+), woocommerce (\d+)  floors: sequential [\d.]+ s "
        r"\(x[\d.]+\), concurrent/3 [\d.]+ s \(x[\d.]+; target <= x1.3: (met|MISSED)\)  writes: (.*?)  "
        r"sync CPU [\d.]+ s  emulators CPU [\d.]+ s  exit 0$"
    )
    writes = {}
    for name in ("first", "prices", "counts"):
        found = re.search(phase.format(name=name), out, flags=re.M)
        assert found, f"{name}:\n{out}"
        assert int(found[1]) > 0 and int(found[2]) > 0, found[0]
        writes[name] = found[4]
    # The mass changes reach the other channel: prices are Square's writes, counts WooCommerce's.
    assert writes["prices"].startswith("square 60"), writes
    assert writes["counts"].startswith("woocommerce 60"), writes
    peaks = re.findall(
        r"^    most calls in flight at once: square (\d+), woocommerce (\d+)$", out, flags=re.M
    )
    assert len(peaks) == 3, out
    assert all(1 <= int(n) <= 3 for pair in peaks for n in pair), peaks
    trips = re.findall(
        r"^    round trips \(calls each sent once the one before was answered\): "
        r"square (\d+) \([\d.]+ s\), woocommerce (\d+) \([\d.]+ s\)$",
        out,
        flags=re.M,
    )
    assert len(trips) == 3 and all(int(n) >= 1 for pair in trips for n in pair), out
    assert re.search(r"prices \(60 changed\)", out) and re.search(r"counts \(60 changed\)", out), out
