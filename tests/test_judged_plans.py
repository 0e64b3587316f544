"""An unforced sync judges its whole plan before committing any of it, then commits the chunks
it judged: each chunk is planned once, however large the plan (a large plan used to be planned
a second time to be committed), and its writes go out while the later chunks are recorded.

Over loopback against both emulators, on a real store file; the order of operations is
asserted, never a duration.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bridge import engine
from bridge import sync as sync_module
from bridge.store import Store
from sandbox.launch import Sandbox
from tests.sync_helpers import make_runner, recording_writes, reprice_shared_skus

WAIT_SECONDS = 20.0


def _counting_decisions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    decide = engine.decide

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return decide(*args, **kwargs)

    monkeypatch.setattr(engine, "decide", counted)
    return calls


def test_an_unforced_sync_plans_each_chunk_once(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Whatever size a plan used to be held up to, this one is larger: it used to be planned twice.
    monkeypatch.setattr(sync_module, "KEEP_PLANNED_CHANGES", 1, raising=False)
    with Sandbox(products=12, locations=2) as box, Store(tmp_path / "shopbridge.db") as store:
        runner = make_runner(box, store)
        runner.chunk_size = 2
        runner.run(force=True)
        runner.run(force=True)  # the created products' second round
        reprice_shared_skus(box, 80)
        calls = _counting_decisions(monkeypatch)
        planned = runner.prepare()  # the dry run: every chunk planned once
        per_plan = len(calls)
        assert per_plan > 2 and planned.plan.changes
        calls.clear()
        _, report = runner.run(rounds=1)
        assert not report.failed and not report.deferred and not report.errors, report
        assert len(calls) == per_plan
        assert report.sent["square"] >= len(box.catalogues.shared_skus)
        for n, sku in enumerate(box.catalogues.shared_skus):
            variation = box.square.variation_by_sku(sku)
            assert variation is not None
            assert variation["item_variation_data"]["price_money"]["amount"] == (80 + n) * 100, sku
        assert runner.prepare().plan.empty


def test_an_unforced_syncs_writes_go_out_while_its_later_chunks_are_recorded(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = threading.Event()
    seen_when_recording: list[bool] = []
    record = Store.record_chunk

    def recording(self: Store, *args: Any, **kwargs: Any) -> Any:
        if len(seen_when_recording) >= 2 and True not in seen_when_recording:
            seen_when_recording.append(written.wait(WAIT_SECONDS))  # earlier chunks are recorded
        else:
            seen_when_recording.append(written.is_set())
        return record(self, *args, **kwargs)

    with Sandbox(products=12, locations=2) as box, Store(tmp_path / "shopbridge.db") as store:
        runner = make_runner(box, store)
        runner.chunk_size = 2
        runner.run(force=True)
        runner.run(force=True)
        reprice_shared_skus(box, 80)
        recording_writes(runner, written)
        monkeypatch.setattr(Store, "record_chunk", recording)
        _, report = runner.run(rounds=1)
        assert not report.failed and not report.deferred and not report.errors, report
        assert seen_when_recording[0] is False
        assert True in seen_when_recording[2:], seen_when_recording
        assert runner.prepare().plan.empty
