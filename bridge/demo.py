"""``shopbridge demo``: the whole story on the built-in sandbox, in under a minute.

It starts the WooCommerce and Square emulators with overlapping catalogues, shows the dry-run plan
of a first sync (and the safety limit refusing it, as it would in a real shop this far out of
step), applies it, then sells the same product on both channels at once, syncs, and shows both
channels agreeing on ``initial - total sold``; finally a stock count typed in at the till reaches
the web shop, and a last sync finds nothing to do. Everything goes over real HTTP on loopback and
into a real SQLite file in a temporary folder.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from bridge.channels import build_adapters
from bridge.config import load_config
from bridge.sandbox.launch import Sandbox
from bridge.store import Store
from bridge.sync import SyncRunner, UnsafePlan

__all__ = ["run_demo"]


def run_demo(say: Callable[[str], None]) -> int:
    """Run the demo, printing with ``say``; returns the exit status (0 when every check held)."""
    with (
        tempfile.TemporaryDirectory(prefix="shopbridge-demo-") as tmp,
        Sandbox(products=12, locations=2) as box,
    ):
        config_path = Path(tmp) / "shopbridge.toml"
        box.write_config(config_path)
        config = load_config(config_path)
        with Store(config.store_path()) as store:
            runner = SyncRunner(store, build_adapters(config), config.sync)
            return _story(say, box, runner)


def _heading(say: Callable[[str], None], text: str) -> None:
    say("")
    say(f"== {text}")


def _story(say: Callable[[str], None], box: Sandbox, runner: SyncRunner) -> int:
    wc, sq = box.woocommerce, box.square
    cat = box.catalogues
    locations = sq.location_ids()
    say(f"Sandbox: WooCommerce at {wc.url}, Square at {sq.base_url} with {len(locations)} locations.")
    say(
        f"WooCommerce holds {sum(len(p.variants) for p in cat.woocommerce)} variants, "
        f"Square {sum(len(p.variants) for p in cat.square)}; most are shared."
    )

    _heading(say, "1. shopbridge sync --dry-run  (first sync: nothing is changed)")
    prepared = runner.prepare()
    say(prepared.plan.render())

    _heading(say, "2. shopbridge sync  (refused: a first sync this large needs a human's yes)")
    try:
        runner.commit(prepared)
        say("!! the safety limit did not trip")
        return 1
    except UnsafePlan as exc:
        say(f"refused, nothing applied: {exc}")

    _heading(say, "3. shopbridge sync --force")
    plans, report = runner.run(force=True)
    say(f"applied {dict(report.sent)} in {len(plans)} rounds; refused {dict(report.failed)}")

    sku = cat.shared_skus[0]
    variation = sq.variation_by_sku(sku)
    assert variation is not None
    loc = locations[0]
    before_web, before_till = wc.stock_of(sku), sq.count(variation["id"], loc)
    _heading(say, f"4. Concurrent sales of {sku}: 2 on the web shop, 1 at the till in {loc}")
    say(f"before: WooCommerce shows {before_web}, Square {loc} shows {before_till}")
    order = wc.simulate_sale([(sku, 2)])
    sq.simulate_sale(variation["id"], 1, location_id=loc)
    now_web, now_till = wc.stock_of(sku), sq.count(variation["id"], loc)
    say(f"after the sales, before syncing: WooCommerce {now_web}, Square {now_till}")
    say("(copying either count to the other channel would lose one of the sales)")
    prepared = runner.prepare()
    say(prepared.plan.render())
    runner.commit(prepared)
    runner.relay()
    web, till = wc.stock_of(sku), sq.count(variation["id"], loc)
    say(f"after sync: WooCommerce {web} (was {before_web}), Square {loc} {till} (was {before_till})")
    ok = web == (before_web or 0) - 3 and till == before_till - 3
    say(f"{'OK' if ok else '!!'}: both channels lost exactly the 3 units sold (web order {order['id']})")

    _heading(say, f"5. Stocktake at the till: {sku} counted as 5 in {loc}")
    sq.manual_count(variation["id"], 5, location_id=loc)
    plans, _ = runner.run()
    if plans and plans[0].changes:
        say(plans[0].render())
    web_after = wc.stock_of(sku)
    expected_web = (web or 0) + (5 - till)
    count_ok = web_after == expected_web
    verdict = "OK" if count_ok else "!!"
    say(f"{verdict}: WooCommerce now shows {web_after} (the counted difference {5 - till:+d})")

    _heading(say, "6. shopbridge sync again: nothing to do")
    final = runner.prepare()
    say(final.plan.render())
    calm = final.plan.empty
    say("")
    say(
        "Demo finished: "
        + ("every check held." if ok and count_ok and calm else "a check FAILED (see above).")
    )
    return 0 if ok and count_ok and calm else 1
