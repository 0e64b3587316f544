"""The reduced soak of the running daemon (bench/soak.py; `make soak` runs the long one): the real
``shopbridge daemon`` subprocess SIGKILLed and restarted 10 times while sales stream in on both
channels (several on one SKU at the same instant, till sales at both locations) and products are added
on the owner; after settling, every channel shows initial - sold, nothing was applied twice, nothing
created twice, and the store passes ``PRAGMA integrity_check``.

The CI scenario keeps the catalogue small, so every SKU moves in every cycle; ``make soak`` runs the
long one (``python -m bench.soak --kills 20 --bursts 40 --seed 3``: 30 products, most of them idle),
which fails on any lost unit. Both once drifted: a poll that read a count before the event path wrote
there judged it against that write's baseline, a "manual change" (tests/test_read_overtaken.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak import SoakSettings, soak


@pytest.mark.slow
def test_daemon_killed_10_times_under_a_sales_stream_settles_on_initial_minus_sold(tmp_path: Path) -> None:
    # CI's size (each kill restarts the daemon: ~4 s of two cores); `make soak` kills it 40 times.
    lines: list[str] = []
    figures = soak(
        SoakSettings(kills=10, bursts=12, seed=5, simple_products=5, new_products=3, kill_every=(0.0, 1.5)),
        workdir=tmp_path,
        echo=lines.append,
    )
    report = "\n".join(lines)
    print(report)
    assert figures.kills >= 10, report
    assert figures.web_sales and figures.till_sales, report
    assert figures.ok, report + "\ndaemon log:\n" + figures.daemon_log_tail
