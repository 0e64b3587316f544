"""``shopbridge sandbox``: emulators a user can point a config (or any client) at."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from tests.conftest import RunCli


def test_sandbox_json_line_and_written_config_work(tmp_path: Path, run_cli: RunCli) -> None:
    config = tmp_path / "sandbox.toml"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "sandbox",
            "--json",
            "--seed-products",
            "30",
            "--write-config",
            str(config),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("SHOPBRIDGE_")},
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        wc, sq = info["woocommerce"], info["square"]
        assert set(wc) == {"url", "consumer_key", "consumer_secret", "webhook_secret"}
        assert {"base_url", "access_token", "signature_key", "location_ids"} <= set(sq)
        products = requests.get(
            f"{wc['url']}/wp-json/wc/v3/products",
            auth=(wc["consumer_key"], wc["consumer_secret"]),
            params={"per_page": 100},
            timeout=10,
        )
        assert products.status_code == 200 and int(products.headers["X-WP-Total"]) > 0
        locations = requests.get(
            f"{sq['base_url']}/v2/locations",
            headers={"Authorization": f"Bearer {sq['access_token']}"},
            timeout=10,
        )
        assert [loc["id"] for loc in locations.json()["locations"]] == sq["location_ids"]
        assert {"base_url", "client_id", "client_secret"} <= set(info["ebay"])
        assert config.stat().st_mode & 0o777 == 0o600
        doctor = run_cli("-c", str(config), "doctor")
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert doctor.stdout.count("ok ") >= 5  # config, store, the three channels
        assert "ok   ebay: eBay (http://127.0.0.1:" in doctor.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode == 0
