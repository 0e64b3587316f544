"""A read overtaken by the other path's write: the daemon's poll and event path read at the same
time and take turns to plan (``SyncRunner.serial``), so one of them can plan from counts it read
*before* the other wrote to that channel.  Such a count is older than the baseline the write left,
even where the channel dates both alike (Square's ``calculated_at`` is the last change's time, and
a relative write's baseline is dated at the count it was computed from).  Judged against that
baseline it looked like a manual change: the soak's drift (units found or lost "by hand" in the
daemon's first second after a restart, when its first poll overlaps an event pass).
"""

from __future__ import annotations

from bridge.models import StockEventKind
from bridge.store import Store
from sandbox.launch import Sandbox
from tests.sync_helpers import make_runner, square_stock


def manual_changes(store: Store) -> list[str]:
    rows = store.db.execute(
        "SELECT reason FROM stock_events WHERE kind = ?", [StockEventKind.ADJUSTMENT.value]
    ).fetchall()
    return [r[0] for r in rows]


def test_a_poll_that_read_before_the_event_path_wrote_judges_no_manual_change(
    box: Sandbox, store: Store
) -> None:
    poll = make_runner(box, store)
    poll.run()  # the first sync
    sku = box.catalogues.shared_skus[0]
    before = square_stock(box, sku)
    assert box.woocommerce.stock_of(sku) == before
    box.woocommerce.simulate_sale([(sku, 2)])

    with Store(store.path) as other:
        events = poll.sibling(other)
        with poll.read(full=False) as reading:  # the poll has read the till's count and the sale
            events.run()  # meanwhile the event path writes the sale to the till
            assert square_stock(box, sku) == before - 2
            with poll.serial:  # then the poll plans from what it read, as `SyncRunner._run_chunks`
                for part in reading.chunks():
                    poll.commit(part, force=True)
    poll.relay()
    poll.run()

    assert manual_changes(store) == []
    assert square_stock(box, sku) == box.woocommerce.stock_of(sku) == before - 2
