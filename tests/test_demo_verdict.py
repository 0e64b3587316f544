"""The demo's verdict from its readings: what it calls an echo, a disagreement, a propagated change."""

from __future__ import annotations

from decimal import Decimal

from bridge.demo.model import Model, SkuTruth
from bridge.demo.observe import Reading
from bridge.demo.summary import echoes, verdict
from bridge.demo.tracker import Tracker


def _model() -> Model:
    truths = {"MUG": SkuTruth(on_hand={"L1": 5, "L2": 3}, price=Decimal("9.50"))}
    return Model(truths, {"L1": "square Shop", "L2": "square Depot"}, default_location="L1")


def _reading(web: int, stamp: str, shop: int = 3) -> Reading:
    shows = {
        "MUG": {
            "woocommerce": web,
            "square Shop": shop,
            "square Depot": 3,
            "woocommerce price": Decimal("9.5"),
            "square price": Decimal("9.50"),
        }
    }
    return Reading(shows=shows, stamps={"MUG": {"woocommerce": stamp, "square Shop": "t1"}})


def test_a_web_sale_propagates_when_every_channel_shows_the_models_numbers() -> None:
    model = _model()
    tracker = Tracker(model)
    model.web_sale("MUG", 2)  # taken from the default location: Shop 5 -> 3, the web shows 3 + 3
    change = tracker.add("web sale: 2 x MUG", "MUG", acked_at=10.0)

    assert tracker.observe(_reading(web=8, stamp="a").shows, at=10.5) == []  # the web still shows 8
    assert change.last_differences == ["woocommerce shows 8, expected 6"]
    assert tracker.observe(_reading(web=6, stamp="a").shows, at=11.25) == [change]
    assert change.settled_after == 1.25


def test_a_write_after_every_channel_agreed_is_an_echo_and_fails_the_verdict() -> None:
    model = _model()
    model.web_sale("MUG", 2)
    tracker = Tracker(model)
    before, after = _reading(web=6, stamp="2026-12-01T10:00:00"), _reading(web=6, stamp="2026-12-01T10:00:02")

    written = echoes(model, before, after)
    result = verdict(tracker, after, written, quiet_seconds=3)

    assert written == ["MUG: woocommerce was written again (2026-12-01T10:00:00 -> 2026-12-01T10:00:02)"]
    assert not result.ok
    assert (
        "ECHO MUG: woocommerce was written again (2026-12-01T10:00:00 -> 2026-12-01T10:00:02)" in result.lines
    )
    assert echoes(model, before, before) == []
    assert verdict(tracker, after, [], quiet_seconds=3).ok


def test_a_channel_left_behind_after_the_settle_time_fails_the_verdict_naming_it() -> None:
    model = _model()
    tracker = Tracker(model)
    model.till_sale("MUG", "L2", 1)  # Depot 3 -> 2, web 8 -> 7: nothing shows it
    tracker.add("till sale: 1 x MUG at Depot", "MUG", acked_at=0.0)
    tracker.observe(_reading(web=8, stamp="a", shop=5).shows, at=31.0)
    [late] = tracker.give_up(at=31.0, settle_seconds=30)

    result = verdict(tracker, _reading(web=8, stamp="a", shop=5), [], quiet_seconds=3)

    assert late.gave_up and not result.ok
    assert "DISAGREE MUG: woocommerce shows 8, expected 7; square Depot shows 3, expected 2" in result.lines
    assert result.lines[0] == "Summary: 1 changes, 0 propagated to every channel, 1 NOT propagated"


def test_a_late_write_to_a_sku_still_behind_is_not_an_echo() -> None:
    model = _model()
    model.web_sale("MUG", 2)  # the web should show 6
    before, after = _reading(web=8, stamp="10:00:00"), _reading(web=6, stamp="10:00:02")

    assert echoes(model, before, after) == []
