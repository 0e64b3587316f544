"""Soak test of the running daemon (issue 9): sales stream in on both channels while the real
``shopbridge daemon`` process is SIGKILLed and restarted at random moments; then it settles and every
channel must show initial - sold, with no effect applied twice and no product created twice.

    python -m bench.soak --kills 40 --bursts 150          # `make soak`
    python -m bench.soak --kills 20 --bursts 40 --seed 3  # what CI runs (tests/test_soak.py)

Both emulators run in this process (the sandbox; they deliver webhooks to the daemon); the daemon
runs as a subprocess from a config written for them (``Sandbox.config_text``). A *burst* is several
sales of one SKU sent at the same instant: web orders and till sales at every Square location. Some
bursts instead add a product on WooCommerce (the catalogue owner), which the daemon must create in
Square exactly once, kills or not. Web sales go to the first location (``default_location``); the web
shop shows the sum of the locations less its buffer.

Invariants checked after settling (figures printed, non-zero exit on any failure):

* every SKU on WooCommerce and at every Square location equals initial - sold (allocation, buffer);
* the ledger's on-hand equals initial - sold;
* no effect applied twice: Square's change log holds each of our references (one per write) once;
* no product created twice: one product per SKU on each channel;
* ``PRAGMA integrity_check`` is ok on the store.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

from adapters.square_webhook_setup import KEY_FILE
from bridge.store import Store
from sandbox.launch import DemoCatalogues, Sandbox
from sandbox.seed import SeedProduct, SeedVariant

WOO_BUFFER = 2
STOCK = 5000


def catalogue(simple: int) -> list[SeedProduct]:
    """``simple`` simple products and one variable product of three sizes, each well stocked."""
    products = [
        SeedProduct(f"Soak Item {n}", (SeedVariant(f"SOAK-{n:02d}", Decimal("5.00"), stock=STOCK),))
        for n in range(simple)
    ]
    sizes = tuple(
        SeedVariant(f"SOAK-TEE-{s}", Decimal("20.00"), stock=STOCK, options={"Size": s}) for s in "SML"
    )
    return [*products, SeedProduct("Soak Tee", sizes)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Figures:
    web_sales: int = 0
    till_sales: int = 0
    products_added: int = 0
    kills: int = 0
    cycles: int = 0
    mismatches: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    integrity: str = ""
    settle_seconds: float | None = None
    daemon_log_tail: str = ""

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.duplicates and self.integrity == "ok"

    def lines(self) -> list[str]:
        settle = "never" if self.settle_seconds is None else f"{self.settle_seconds:.1f} s"
        out = [
            f"sales: {self.web_sales} web, {self.till_sales} till; products added on the owner: "
            f"{self.products_added}",
            f"kills: {self.kills}; daemon sync cycles completed: {self.cycles}",
            f"settle time: {settle}",
            f"mismatches: {len(self.mismatches)}",
            *(f"  {m}" for m in self.mismatches),
            f"duplicates: {len(self.duplicates)}",
            *(f"  {d}" for d in self.duplicates),
            f"integrity_check: {self.integrity}",
        ]
        return out


class Shop:
    """The two emulators as a shop's customers and owner use them, over HTTP, with what was sold."""

    def __init__(self, box: Sandbox) -> None:
        self.box = box
        wc = box.woocommerce.connection_info()
        self.woo_url = wc["url"] + "/wp-json/wc/v3"
        self.woo_auth = (wc["consumer_key"], wc["consumer_secret"])
        self.locations = box.square.location_ids()
        self.lock = threading.Lock()
        self.sold_web: Counter[str] = Counter()
        self.sold_till: Counter[tuple[str, str]] = Counter()
        self.added: dict[str, int] = {}
        self.items = self._woo_items()
        self.variations = {sku: (box.square.variation_by_sku(sku) or {}).get("id", "") for sku in self.items}

    def woo(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        answer = requests.request(
            method, self.woo_url + path, json=body, params=params, auth=self.woo_auth, timeout=20
        )
        answer.raise_for_status()
        return answer.json()

    def woo_all(self, path: str, **params: Any) -> list[Any]:
        out: list[Any] = []
        page = 1
        while True:
            chunk = self.woo("GET", path, per_page=100, page=page, **params)
            out.extend(chunk)
            if len(chunk) < 100:
                return out
            page += 1

    def _woo_items(self) -> dict[str, tuple[int, int]]:
        items: dict[str, tuple[int, int]] = {}
        for product in self.woo_all("/products"):
            if product["type"] == "variable":
                for variation in self.woo_all(f"/products/{product['id']}/variations"):
                    items[variation["sku"]] = (product["id"], variation["id"])
            elif product["sku"]:
                items[product["sku"]] = (product["id"], 0)
        return items

    def web_sale(self, sku: str, quantity: int) -> None:
        product_id, variation_id = self.items[sku]
        line: dict[str, Any] = {"product_id": product_id, "quantity": quantity}
        if variation_id:
            line["variation_id"] = variation_id
        self.woo(
            "POST",
            "/orders",
            {"status": "processing", "billing": {"email": "soak@example.com"}, "line_items": [line]},
        )
        with self.lock:
            self.sold_web[sku] += quantity

    def till_sale(self, sku: str, location: str, quantity: int) -> None:
        self.box.square.simulate_sale(self.variations[sku], quantity, location_id=location)
        with self.lock:
            self.sold_till[(sku, location)] += quantity

    def add_product(self, sku: str, stock: int) -> None:
        """The owner adds a product on WooCommerce; the daemon must create it in Square once."""
        body = {
            "name": f"Soak New {sku}",
            "type": "simple",
            "sku": sku,
            "regular_price": "3.00",
            "manage_stock": True,
            "stock_quantity": stock,
        }
        self.woo("POST", "/products", body)
        with self.lock:
            self.added[sku] = stock

    # -- what the channels show ---------------------------------------------------------------

    def woo_stock(self) -> dict[str, list[int | None]]:
        """Stock per SKU of every WooCommerce product or variation with that SKU (one, unless doubled)."""
        out: dict[str, list[int | None]] = {}
        for product in self.woo_all("/products"):
            if product["type"] == "variable":
                for variation in self.woo_all(f"/products/{product['id']}/variations"):
                    out.setdefault(variation["sku"], []).append(variation["stock_quantity"])
            elif product["sku"]:
                out.setdefault(product["sku"], []).append(product["stock_quantity"])
        return out

    def square_call(self, path: str, body: Any) -> Any:
        answer = requests.post(
            self.box.square.base_url + path,
            json=body,
            headers={"Authorization": f"Bearer {self.box.square.access_token}"},
            timeout=20,
        )
        answer.raise_for_status()
        return answer.json()

    def square_variations(self) -> dict[str, list[str]]:
        """Variation ids per SKU in Square's live catalogue (one, unless created twice)."""
        out: dict[str, list[str]] = {}
        body: dict[str, Any] = {"object_types": ["ITEM_VARIATION"], "limit": 1000}
        while True:
            answer = self.square_call("/v2/catalog/search", body)
            for obj in answer.get("objects", []):
                sku = obj["item_variation_data"].get("sku")
                if sku and not obj.get("is_deleted"):
                    out.setdefault(sku, []).append(obj["id"])
            if not answer.get("cursor"):
                return out
            body["cursor"] = answer["cursor"]

    def square_stock(self, variation_ids: list[str]) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        body: dict[str, Any] = {"catalog_object_ids": variation_ids, "states": ["IN_STOCK"]}
        while True:
            answer = self.square_call("/v2/inventory/counts/batch-retrieve", body)
            for count in answer.get("counts", []):
                out[(count["catalog_object_id"], count["location_id"])] = int(Decimal(count["quantity"]))
            if not answer.get("cursor"):
                return out
            body["cursor"] = answer["cursor"]

    def square_references(self) -> Counter[str]:
        """How often each of our references (``shopbridge:<write key>``) is in Square's change log."""
        seen: Counter[str] = Counter()
        body: dict[str, Any] = {"types": ["ADJUSTMENT", "PHYSICAL_COUNT"], "limit": 1000}
        while True:
            answer = self.square_call("/v2/inventory/changes/batch-retrieve", body)
            for change in answer.get("changes", []):
                part = change.get("adjustment") or change.get("physical_count") or {}
                reference = str(part.get("reference_id") or "")
                if reference.startswith("shopbridge:"):
                    seen[reference] += 1
            if not answer.get("cursor"):
                return seen
            body["cursor"] = answer["cursor"]


class DaemonProcess:
    """The real ``shopbridge daemon``, started, SIGKILLed and restarted as a subprocess."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPBRIDGE_")}

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cli", "-c", str(self.config), "daemon"],
                cwd=self.config.parent,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def wait_ready(self, url: str, timeout: float = 60.0) -> None:
        """Until the daemon answers ``/healthz`` (imports and start-up take a second or two)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(url + "/healthz", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            if not self.alive():
                raise RuntimeError(f"the daemon exited with {self.process and self.process.returncode}")
            time.sleep(0.05)
        raise RuntimeError("the daemon did not come up")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def config_text(box: Sandbox, port: int, *, poll: float, debounce: float) -> str:
    text = box.config_text("shopbridge.db", port)
    text = text.replace("[server]\n", f'[server]\npublic_url = "http://127.0.0.1:{port}"\n', 1)
    text = text.replace("[sync]\n", f"[sync]\nbuffers = {{ woocommerce = {WOO_BUFFER} }}\n", 1)
    text += f"\n[daemon]\npoll_interval_seconds = {poll}\nwebhook_debounce_seconds = {debounce}\n"
    text += '\n[logging]\nformat = "json"\n'
    return text


def run_cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPBRIDGE_")}
    return subprocess.run(
        [sys.executable, "-m", "cli", "-c", str(config), *args],
        cwd=config.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def burst(shop: Shop, rng: random.Random, skus: list[str]) -> list[Callable[[], None]]:
    """Several sales of one SKU, to be sent at the same instant: web orders and till sales at
    several locations."""
    sku = rng.choice(skus)
    sales: list[Callable[[], None]] = []
    for _ in range(rng.randint(1, 3)):
        qty = rng.randint(1, 2)
        sales.append(lambda q=qty: shop.web_sale(sku, q))
    for location in shop.locations:
        for _ in range(rng.randint(0, 2)):
            qty = rng.randint(1, 2)
            sales.append(lambda loc=location, q=qty: shop.till_sale(sku, loc, q))
    return sales


def at_once(actions: list[Callable[[], None]]) -> list[BaseException]:
    gate = threading.Barrier(len(actions))
    errors: list[BaseException] = []

    def go(action: Callable[[], None]) -> None:
        gate.wait()
        try:
            action()
        except requests.RequestException as exc:  # a sale refused is reported, not a crash of the soak
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(a,)) for a in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def expected(
    shop: Shop, initial: dict[tuple[str, str], int]
) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """What each channel must show: per Square location initial - its till sales - (at the default
    location) the web sales; WooCommerce the sum less its buffer."""
    default = shop.locations[0]
    square = {
        (sku, loc): qty - shop.sold_till[(sku, loc)] - (shop.sold_web[sku] if loc == default else 0)
        for (sku, loc), qty in initial.items()
    }
    for sku, stock in shop.added.items():
        for loc in shop.locations:
            square[(sku, loc)] = stock if loc == default else 0
    woo = {
        sku: max(0, sum(square[(sku, loc)] for loc in shop.locations) - WOO_BUFFER)
        for sku in {s for s, _ in square}
    }
    return woo, square


def compare(shop: Shop, initial: dict[tuple[str, str], int]) -> tuple[list[str], list[str]]:
    """(mismatches, duplicated products) between the channels and initial - sold."""
    want_woo, want_square = expected(shop, initial)
    mismatches: list[str] = []
    duplicates: list[str] = []
    woo = shop.woo_stock()
    variations = shop.square_variations()
    for sku, ids in sorted(variations.items()):
        if len(ids) > 1:
            duplicates.append(f"square: SKU {sku} exists {len(ids)} times")
    for sku, stocks in sorted(woo.items()):
        if len(stocks) > 1:
            duplicates.append(f"woocommerce: SKU {sku} exists {len(stocks)} times")
    ids = [i for sku in want_woo for i in variations.get(sku, [])[:1]]
    counts = shop.square_stock(ids) if ids else {}
    for sku, want in sorted(want_woo.items()):
        shown = woo.get(sku, [None])[0]
        if shown != want:
            mismatches.append(f"woocommerce {sku}: shows {shown}, initial - sold gives {want}")
        for loc in shop.locations:
            var = variations.get(sku, [""])[0]
            got = counts.get((var, loc), 0) if var else None
            if got != want_square[(sku, loc)]:
                mismatches.append(
                    f"square {sku}@{loc}: shows {got}, initial - sold gives {want_square[(sku, loc)]}"
                )
    return mismatches, duplicates


def ledger_mismatches(store: Path, shop: Shop, initial: dict[tuple[str, str], int]) -> list[str]:
    _, want = expected(shop, initial)
    with Store(store) as opened:
        held = opened.on_hand()
    return [
        f"ledger {sku}@{loc}: {held.get((sku, loc), 0)}, initial - sold gives {qty}"
        for (sku, loc), qty in sorted(want.items())
        if sku not in shop.added and held.get((sku, loc), 0) != qty
    ]


def integrity(store: Path) -> str:
    with Store(store) as opened:
        return "ok" if opened.integrity_ok() else "failed"


@dataclass(frozen=True)
class SoakSettings:
    kills: int = 20
    """SIGKILLs of the daemon, at least (the stream goes on until they are done)."""
    bursts: int = 40
    """Bursts of simultaneous sales of one SKU (some of them add a product instead)."""
    seed: int = 1
    simple_products: int = 30
    """Simple products besides the variable one: most SKUs idle in a cycle, as in a real shop."""
    new_products: int = 3
    settle_timeout: float = 60.0
    trickles: int = 2
    """Threads selling one unit at a time, steadily, between the bursts."""
    kill_every: tuple[float, float] = (0.0, 1.5)
    """Seconds between the daemon serving and its next SIGKILL, drawn uniformly."""
    latency: float = 0.03
    """Seconds each emulator call takes (real APIs answer in tens of ms: races get room to happen)."""


def soak(
    settings: SoakSettings, *, workdir: Path | None = None, echo: Callable[[str], None] = print
) -> Figures:
    """Run the soak; returns its figures (``ok`` tells whether every invariant held)."""
    with tempfile.TemporaryDirectory(prefix="shopbridge-soak-") as scratch:
        work = workdir or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        box = Sandbox(products=1, locations=2)
        items = catalogue(settings.simple_products)
        box.catalogues = DemoCatalogues(woocommerce=items, square=items)
        box.start()
        try:
            return _soak(box, work, settings, echo)
        finally:
            box.stop()


def _soak(box: Sandbox, work: Path, settings: SoakSettings, echo: Callable[[str], None]) -> Figures:
    rng = random.Random(settings.seed)
    figures = Figures()
    kills, bursts, latency = settings.kills, settings.bursts, settings.latency
    if latency:  # real APIs answer in tens of milliseconds: the races have room to happen
        box.woocommerce.server.faults.add(kind="latency", seconds=latency, times=None)
        box.square.server.faults.add(kind="latency", seconds=latency, times=None)
    port = free_port()
    config = work / "soak.toml"
    config.write_text(config_text(box, port, poll=1.0, debounce=0.2))
    config.chmod(0o600)
    first = run_cli(config, "sync", "--force")
    if first.returncode != 0:
        raise RuntimeError(f"first sync failed: {first.stderr}")
    registered = run_cli(config, "webhooks", "register")
    if registered.returncode != 0:
        raise RuntimeError(f"webhooks register failed: {registered.stderr}")
    # Square signs each delivery with the key of the subscription `webhooks register` created (HMAC
    # over notification URL + body); the daemon must verify with that key, and there must be no second
    # subscription to the same URL signed with another (each event came twice, one copy rejected as a
    # "signature mismatch").
    config.write_text(
        re.sub(
            r"(?m)^signature_key = .*$",
            f'signature_key = {{ file = "{KEY_FILE}" }}',
            config.read_text(),
            count=1,
        )
    )
    shop = Shop(box)
    skus = sorted(shop.items)
    counts = shop.square_stock([shop.variations[s] for s in skus])
    initial = {
        (sku, loc): counts.get((shop.variations[sku], loc), 0) for sku in skus for loc in shop.locations
    }

    server = f"http://127.0.0.1:{port}"
    daemon = DaemonProcess(config, work / "daemon.log")
    daemon.start()
    stop_killing = threading.Event()

    def killer() -> None:
        """SIGKILL at a random moment of each run (once it serves: a kill during the imports tests
        nothing), then start it again at once."""
        while figures.kills < kills and not stop_killing.is_set():
            daemon.wait_ready(server)
            if stop_killing.wait(rng.uniform(*settings.kill_every)):
                return
            daemon.kill()
            figures.kills += 1
            daemon.start()

    killing = threading.Thread(target=killer, name="killer", daemon=True)
    killing.start()
    streaming = threading.Event()
    trickle_errors: list[BaseException] = []

    def trickle() -> None:
        """A steady stream of single sales between the bursts: till sales at any location, now and
        then a web order, each on a random SKU."""
        local = random.Random(rng.random())
        while not streaming.is_set():
            sku = local.choice(skus)
            try:
                if local.random() < 0.25:
                    shop.web_sale(sku, 1)
                else:
                    shop.till_sale(sku, local.choice(shop.locations), 1)
            except requests.RequestException as exc:
                trickle_errors.append(exc)
            streaming.wait(local.uniform(0.005, 0.05))

    trickling = [
        threading.Thread(target=trickle, name=f"trickle-{n}", daemon=True) for n in range(settings.trickles)
    ]
    for thread in trickling:
        thread.start()
    adds = sorted(rng.sample(range(bursts), min(settings.new_products, bursts)))
    errors: list[BaseException] = []
    for n in range(bursts):
        if n in adds:
            sku = f"SOAK-NEW-{adds.index(n)}-{uuid.uuid4().hex[:4].upper()}"
            errors += at_once([lambda s=sku: shop.add_product(s, rng.randint(5, 30))])
        else:
            errors += at_once(burst(shop, rng, skus))
        time.sleep(rng.uniform(0.0, 0.3))
    while figures.kills < kills:  # the stream was short: keep it going until the count is reached
        time.sleep(0.2)
    streaming.set()
    for thread in trickling:
        thread.join(timeout=30)
    errors += trickle_errors
    stop_killing.set()
    killing.join(timeout=30)
    if not daemon.alive():
        daemon.start()
    figures.web_sales = sum(shop.sold_web.values())
    figures.till_sales = sum(shop.sold_till.values())
    figures.products_added = len(shop.added)
    if errors:
        raise RuntimeError(f"{len(errors)} sales or additions failed: {errors[0]!r}")

    started = time.monotonic()
    while True:
        mismatches, duplicates = compare(shop, initial)
        if not mismatches:
            figures.settle_seconds = time.monotonic() - started
            break
        if time.monotonic() - started > settings.settle_timeout:
            break
        time.sleep(0.5)
    time.sleep(2.5)  # one more poll cycle: what settled must stay settled
    daemon.stop()
    figures.mismatches, duplicates = compare(shop, initial)
    figures.mismatches += ledger_mismatches(work / "shopbridge.db", shop, initial)
    figures.duplicates = duplicates + [
        f"square: our write {ref} applied {n} times"
        for ref, n in sorted(shop.square_references().items())
        if n > 1
    ]
    figures.integrity = integrity(work / "shopbridge.db")
    log_lines = daemon.log.read_text(errors="replace").splitlines()
    figures.cycles = sum("sync cycle done" in line for line in log_lines)
    figures.daemon_log_tail = "\n".join(log_lines[-15:])
    for line in figures.lines():
        echo(line)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=40, help="SIGKILLs of the daemon (at least)")
    parser.add_argument("--bursts", type=int, default=150, help="bursts of simultaneous sales")
    parser.add_argument("--new-products", type=int, default=5, help="products added on the owner meanwhile")
    parser.add_argument("--products", type=int, default=30, help="simple products (plus one of 3 sizes)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--settle-timeout", type=float, default=90.0)
    parser.add_argument("--trickles", type=int, default=3, help="threads selling steadily between bursts")
    parser.add_argument(
        "--kill-every",
        type=float,
        nargs=2,
        default=(0.5, 3.0),
        metavar=("MIN", "MAX"),
        help="seconds between the daemon serving and the next SIGKILL, drawn uniformly",
    )
    parser.add_argument("--latency", type=float, default=0.03, help="seconds each emulator call takes")
    parser.add_argument("--workdir", type=Path, help="keep the config, store and daemon log here")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args()
    figures = soak(
        SoakSettings(
            kills=args.kills,
            bursts=args.bursts,
            seed=args.seed,
            simple_products=args.products,
            new_products=args.new_products,
            settle_timeout=args.settle_timeout,
            trickles=args.trickles,
            kill_every=tuple(args.kill_every),
            latency=args.latency,
        ),
        workdir=args.workdir,
    )
    if args.json:
        print(json.dumps({k: v for k, v in figures.__dict__.items() if k != "daemon_log_tail"}))
    if not figures.ok:
        print("daemon log (last lines):\n" + figures.daemon_log_tail)
    sys.exit(0 if figures.ok else 1)


if __name__ == "__main__":
    main()
