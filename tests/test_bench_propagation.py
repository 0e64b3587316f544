"""The propagation benchmark (bench/propagation.py, `make bench-propagation`) runs end to end at a small
size and prints its figures: the real daemon in both modes, a sale on each channel reaching the other
one, the stream, the daemon's CPU and memory, and every count ending at initial - sold. No timing is
asserted (the machine is shared): only that every figure is there and every sale arrived."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

DIRECTION_LINE = r"{direction}: p50 +[\d.]+ +p95 +[\d.]+ +p99 +[\d.]+ +max +[\d.]+ ms +\((\d+) sales\)"


@pytest.mark.slow
def test_propagation_bench_prints_every_figure_and_every_sale_arrives() -> None:
    args = ["--sales", "1", "--rate", "4", "--stream-seconds", "1", "--poll", "1", "--skus", "2"]
    args += ["--timeout", "10"]  # a sale lost fails the assertions below, not the timeout
    done = subprocess.run(
        [sys.executable, "-m", "bench.propagation", *args],
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    sections = re.split(r"^== ", out, flags=re.M)[1:]
    assert [s.split(":")[0] for s in sections] == ["webhooks", "polling"], out
    for section in sections:
        for direction in ("square -> woocommerce", "woocommerce -> square"):
            counts = [int(n) for n in re.findall(DIRECTION_LINE.format(direction=direction), section)]
            assert counts == [1, 2], section  # one single sale, then two of the four streamed
        assert "NOT SEEN" not in section, section
        assert re.search(r"target .*: (met|MISSED)", section), section
        assert re.search(r"offered [\d.]+/s, sustained [\d.]+/s", section), section
        assert re.search(r"daemon: CPU [\d.]+ s over [\d.]+ s .*peak RSS [\d.]+ MB", section), section
        assert "counts at the end: every SKU at initial - sold" in section, section
