"""Real-latency benchmark (issue 12): syncs of N variants when every API call takes as long as a real
one, against the floor that the number of calls sets.

    python -m bench.latency                                       # `make bench-latency`: 10k variants
    python -m bench.latency --variants 1000 --woo-latency 0.3 --square-latency 0.1 --concurrency 4
    python -m bench.latency --set channels.woocommerce.concurrency=8   # one channel's own setting

Both emulators run in this process, seeded with the same N variants (Square with two locations),
and answer every call after an injected latency (WooCommerce 300 ms, Square 100 ms by default: a
fast real shop; real WooCommerce answers in 0.5-10 s). Each sync is the real ``shopbridge sync
--force`` as a subprocess (``--unforced``: the mass changes' syncs without ``--force``, as the
daemon's polls run: the whole plan is judged before any of it is committed). Phases:

* ``first``: the first sync (links everything, writes every WooCommerce stock);
* ``prices``: every price changed on WooCommerce (the catalogue owner), then a sync (Square's prices);
* ``counts``: every count at Square's first location changed by a physical count, then a sync
  (WooCommerce's stock, which shows the sum of the locations).

The changes are made through the emulators' APIs with the latency off, and they are not counted.
For each phase: wall time, calls per channel (counted by the emulators), the sequential floor
(calls x latency, one call at a time) and the concurrent floor (that divided by ``--concurrency``,
channel by channel), and wall time over each floor. The issue's target is within 1.3x of the
concurrent floor. ``--concurrency`` is each channel's ``concurrency`` in the syncs' config (how many
calls shopbridge sends at once) and the divisor of the concurrent floor; the most calls each
emulator saw in flight at once is printed too, and its round trips (the longest chain of calls each
sent once the one before was answered, and that times the latency: what concurrency cannot
divide). ``--set`` passes any other config key to the syncs (or a channel's concurrency of its
own). The wall time includes starting the
``shopbridge`` process, measured apart (``config check``) and printed.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.clients import EmulatorClients
from bridge.demo.processes import run_command
from sandbox.launch import Sandbox

LOCATIONS = 2
PHASES = ("first", "prices", "counts")
OVERLAP_WAIT = 4.0
"""Seconds between a change and the sync that reads it (``--wait``): past the readers' 2 s overlap
window, as polls minutes apart would be (bench/sync_bench.py does the same)."""


class Owner(EmulatorClients):
    """The shop's owner and staff making a mass change through the emulators' public APIs."""

    def _woo(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        answer = self.woo.request(method, self.woo_url + path, json=body, params=params, timeout=60)
        answer.raise_for_status()
        return answer.json()

    def _square(self, path: str, body: Any) -> Any:
        answer = self.square.post(self.square_url + path, json=body, timeout=60)
        answer.raise_for_status()
        return answer.json()

    def _woo_products(self) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            chunk = self._woo("GET", "/products", per_page=100, page=page)
            yield from chunk
            if len(chunk) < 100:
                return
            page += 1

    reprices = 0
    """Mass price changes made so far: each one prices everything anew."""

    def reprice_everything(self) -> int:
        """A new regular price on every product and variation (batches of 100); returns how many."""
        self.reprices += 1
        simple: list[dict[str, Any]] = []
        changed = 0
        for product in self._woo_products():
            if product["type"] == "variable":
                updates = [{"id": v, "regular_price": self._new_price(v)} for v in product["variations"]]
                for chunk in _chunks(updates, 100):
                    self._woo("POST", f"/products/{product['id']}/variations/batch", {"update": chunk})
                changed += len(updates)
            else:
                simple.append({"id": product["id"], "regular_price": self._new_price(product["id"])})
        for chunk in _chunks(simple, 100):
            self._woo("POST", "/products/batch", {"update": chunk})
        return changed + len(simple)

    def _new_price(self, object_id: int) -> str:
        shifted = object_id + self.reprices  # seeds are priced 3.00-50.00: every one changes
        return f"{1000 + shifted % 997}.{shifted % 100:02d}"

    def recount_everything(self) -> int:
        """A physical count of every variation at the first location, 5 above what it shows."""
        counts: list[tuple[str, int]] = []
        body: dict[str, Any] = {"location_ids": [self.location], "states": ["IN_STOCK"], "limit": 1000}
        while True:
            answer = self._square("/v2/inventory/counts/batch-retrieve", body)
            for count in answer.get("counts", []):
                counts.append((count["catalog_object_id"], int(Decimal(count["quantity"]))))
            if not answer.get("cursor"):
                break
            body["cursor"] = answer["cursor"]
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        changes = [
            {
                "type": "PHYSICAL_COUNT",
                "physical_count": {
                    "catalog_object_id": variation,
                    "location_id": self.location,
                    "state": "IN_STOCK",
                    "quantity": str(quantity + 5),
                    "occurred_at": stamp,
                },
            }
            for variation, quantity in counts
        ]
        for chunk in _chunks(changes, 100):
            body = {"idempotency_key": uuid.uuid4().hex, "ignore_unchanged_counts": False, "changes": chunk}
            self._square("/v2/inventory/changes/batch-create", body)
        return len(changes)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def config_text(box: Sandbox, settings: list[str]) -> str:
    """The sandbox's config with ``TABLE.KEY=VALUE`` settings (VALUE as TOML) added."""
    text = box.config_text("shopbridge.db", 8787)
    for setting in settings:
        name, _, value = setting.partition("=")
        table, _, key = name.rpartition(".")
        header = f"[{table}]\n"
        if header in text:
            text = text.replace(header, f"{header}{key} = {value}\n", 1)
        else:
            text += f"\n{header}{key} = {value}\n"
    return text


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu() -> float:
    """This process's CPU seconds: the emulators' threads, which serve the sync's calls."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed_cli(config: Path, *args: str) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """(wall seconds, CPU seconds of the process, its result)."""
    cpu = child_cpu()
    started = time.perf_counter()
    done = run_command(config, *args, timeout=6 * 3600)
    return time.perf_counter() - started, child_cpu() - cpu, done


def floors(calls: dict[str, int], latency: dict[str, float], concurrency: int) -> tuple[float, float]:
    sequential = sum(calls[ch] * latency[ch] for ch in calls)
    return sequential, sequential / concurrency


def run(
    variants: int,
    latency: dict[str, float],
    concurrency: int,
    phases: list[str],
    settings: list[str],
    workdir: Path,
    wait: float = OVERLAP_WAIT,
    forced: bool = True,
) -> dict[str, Any]:
    box = Sandbox(products=variants, locations=LOCATIONS, overlap_extras=False).start()
    emulators = {"woocommerce": box.woocommerce.server, "square": box.square.server}
    try:
        config = workdir / "shopbridge.toml"
        given = {setting.partition("=")[0] for setting in settings}
        configured = [f"channels.{name}.concurrency={concurrency}" for name in emulators]
        configured = [s for s in configured if s.partition("=")[0] not in given] + settings
        config.write_text(config_text(box, configured))
        config.chmod(0o600)
        startup, _, checked = timed_cli(config, "config", "check")
        if checked.returncode != 0:
            raise RuntimeError(f"config check failed: {checked.stdout}{checked.stderr}")
        owner = Owner(box)
        out: dict[str, Any] = {
            "variants": variants,
            "latency_s": latency,
            "concurrency_for_floor": concurrency,
            "settings": settings,
            "mass_changes_forced": forced,
            "process_start_s": round(startup, 2),
            "phases": {},
        }
        for n, phase in enumerate(phases):
            changed = None
            if phase == "prices":
                changed = owner.reprice_everything()
            elif phase == "counts":
                changed = owner.recount_everything()
            time.sleep(wait)
            for name, server in emulators.items():
                server.reset_stats()
                server.faults.add(kind="latency", seconds=latency[name], times=None)
            emulators_cpu = own_cpu()
            force = ["--force"] if forced or phase == "first" else []  # a first sync is always forced
            wall, cpu, done = timed_cli(config, "sync", *force, "--json")
            emulators_cpu = own_cpu() - emulators_cpu
            for server in emulators.values():
                server.faults.clear()
            calls = {name: server.calls() for name, server in emulators.items()}
            peaks = {name: server.peak_in_flight for name, server in emulators.items()}
            trips = {name: server.round_trips for name, server in emulators.items()}
            sequential, concurrent = floors(calls, latency, concurrency)
            repeat = phases[:n].count(phase)
            out["phases"][phase if not repeat else f"{phase} {repeat + 1}"] = {
                "changed_on_channel": changed,
                "exit_status": done.returncode,
                "seconds": round(wall, 2),
                "sync_cpu_s": round(cpu, 2),
                "emulators_cpu_s": round(emulators_cpu, 2),
                "calls": calls,
                "peak_in_flight": peaks,
                "round_trips": trips,
                "routes": {name: dict(server.stats) for name, server in emulators.items()},
                "sequential_floor_s": round(sequential, 2),
                "concurrent_floor_s": round(concurrent, 2),
                "over_sequential": round(wall / sequential, 2) if sequential else None,
                "over_concurrent": round(wall / concurrent, 2) if concurrent else None,
                "result": _result(done.stdout),
            }
            if done.returncode != 0:
                out["phases"][phase]["stderr"] = done.stderr[-2000:]
        return out
    finally:
        box.stop()


def _result(stdout: str) -> dict[str, Any]:
    """The few figures of ``sync --json``'s result worth printing (whatever its other fields are)."""
    try:
        data = json.loads(stdout)
    except ValueError:
        return {}
    return {k: data[k] for k in ("planned", "sent", "applied", "failed", "error") if k in data}


def render(result: dict[str, Any]) -> list[str]:
    lat = result["latency_s"]
    c = result["concurrency_for_floor"]
    configured = f"; config: {', '.join(result['settings'])}" if result["settings"] else ""
    out = [
        f"== {result['variants']:,} variants; latency per call: woocommerce "
        f"{lat['woocommerce'] * 1000:.0f} ms, square {lat['square'] * 1000:.0f} ms; "
        f"shopbridge process start {result['process_start_s']} s",
        f"   concurrency: the syncs send up to {c} calls at once per channel ([channels.<name>] "
        f"concurrency); concurrent floor for {c} in flight per channel{configured}",
    ]
    if not result["mass_changes_forced"]:
        out.append("   mass changes synced without --force (judged whole before any is committed)")
    for phase, p in result["phases"].items():
        calls = ", ".join(f"{ch} {n}" for ch, n in sorted(p["calls"].items()))
        sent = p["result"].get("sent") or {}
        writes = ", ".join(f"{ch} {n}" for ch, n in sorted(sent.items())) or "none"
        changed = "" if p["changed_on_channel"] is None else f" ({p['changed_on_channel']:,} changed)"
        target = "met" if p["over_concurrent"] is not None and p["over_concurrent"] <= 1.3 else "MISSED"
        out.append(
            f"  {phase + changed}: {p['seconds']:8.1f} s  calls: {calls}  "
            f"floors: sequential {p['sequential_floor_s']:.1f} s (x{p['over_sequential']}), "
            f"concurrent/{c} {p['concurrent_floor_s']:.1f} s (x{p['over_concurrent']}; "
            f"target <= x1.3: {target})  "
            f"writes: {writes}  sync CPU {p['sync_cpu_s']} s  emulators CPU {p['emulators_cpu_s']} s  "
            f"exit {p['exit_status']}"
        )
        peaks = ", ".join(f"{ch} {n}" for ch, n in sorted(p["peak_in_flight"].items()))
        out.append(f"    most calls in flight at once: {peaks}")
        trips = ", ".join(f"{ch} {n} ({n * lat[ch]:.1f} s)" for ch, n in sorted(p["round_trips"].items()))
        out.append(f"    round trips (calls each sent once the one before was answered): {trips}")
        if p["exit_status"] != 0:
            out.append(f"    sync failed: {p.get('stderr', '')[-500:]} {p['result']}")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, nargs="+", default=[10_000])
    parser.add_argument("--woo-latency", type=float, default=0.3, help="seconds per WooCommerce call")
    parser.add_argument("--square-latency", type=float, default=0.1, help="seconds per Square call")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        help="calls in flight per channel: each channel's concurrency in the syncs' config, and the floor",
    )
    parser.add_argument(
        "--phases",
        nargs="+",
        choices=PHASES,
        default=list(PHASES),
        help="in order; a mass change named again is made again (e.g. first prices prices prices)",
    )
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="TABLE.KEY=VALUE",
        help="a config key for the syncs, VALUE as TOML (e.g. channels.woocommerce.concurrency=4)",
    )
    parser.add_argument(
        "--wait", type=float, default=OVERLAP_WAIT, help="seconds between a change and its sync"
    )
    parser.add_argument(
        "--unforced",
        action="store_true",
        help="mass changes synced without --force, as the daemon's polls are (judged whole first)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per size")
    args = parser.parse_args(argv)
    latency = {"woocommerce": args.woo_latency, "square": args.square_latency}
    failed = False
    for variants in args.variants:
        with tempfile.TemporaryDirectory(prefix="shopbridge-latency-") as scratch:
            result = run(
                variants,
                latency,
                args.concurrency,
                args.phases,
                args.settings,
                Path(scratch),
                args.wait,
                forced=not args.unforced,
            )
        failed = failed or any(p["exit_status"] != 0 for p in result["phases"].values())
        print(json.dumps(result) if args.json else "\n".join(render(result)), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
