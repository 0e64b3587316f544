"""The command line learns of the toy channel from the registry alone: its name in the help of
``link``/``unlink``/``init``, and ``init --non-interactive`` flags made from its own ``init``
questions, writing a ``[channels.toy]`` table ``config check`` accepts. Run as a subprocess with
the toy channel registered before the command line is imported, as a plug-in would be."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, RunCli

WITH_TOY = "import tests.toy.channel, cli; cli.main()"


def shopbridge_with_toy(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHOPBRIDGE_")}
    clean |= {"PYTHONPATH": str(REPO), "COLUMNS": "200"} | (env or {})
    return subprocess.run(
        [sys.executable, "-c", WITH_TOY, *args],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_link_and_unlink_name_every_registered_channel(tmp_path: Path, run_cli: RunCli) -> None:
    for command in ("link", "unlink"):
        shown = shopbridge_with_toy(tmp_path, command, "--help")
        assert shown.returncode == 0, shown.stderr
        assert "The channel: ebay or square or toy or woocommerce." in shown.stdout, shown.stdout
        built_in = run_cli(command, "--help", env={"COLUMNS": "200"})
        assert "The channel: ebay or square or woocommerce." in built_in.stdout, built_in.stdout


def test_init_makes_the_toy_channel_from_its_own_flags(tmp_path: Path, run_cli: RunCli) -> None:
    shown = shopbridge_with_toy(tmp_path, "init", "--help")
    for flag in (
        "--toy-url",
        "--toy-token-env",
        "--toy-webhook-secret-env",
        "--wc-url",
        "--square-token-env",
    ):
        assert flag in shown.stdout, shown.stdout
    assert "--toy-url" not in run_cli("init", "--help").stdout

    half = shopbridge_with_toy(tmp_path, "init", "--non-interactive", "--toy-url", "http://127.0.0.1:9")
    assert half.returncode == 2
    assert "Toy shop needs --toy-token-env, --toy-webhook-secret-env" in half.stderr, half.stderr
    assert not (tmp_path / "shopbridge.toml").exists()

    flags = [
        "--toy-url",
        "http://127.0.0.1:9",
        "--toy-token-env",
        "TOY_TOKEN",
        "--toy-webhook-secret-env",
        "TOY_HOOK",
    ]
    made = shopbridge_with_toy(tmp_path, "init", "--non-interactive", "--system-of-record", "toy", *flags)
    assert made.returncode == 0, made.stderr
    text = (tmp_path / "shopbridge.toml").read_text()
    assert '[channels.toy]\nurl = "http://127.0.0.1:9"\ntoken = { env = "TOY_TOKEN" }\n' in text, text
    checked = shopbridge_with_toy(tmp_path, "config", "check", env={"TOY_TOKEN": "t", "TOY_HOOK": "h"})
    assert checked.returncode == 0, checked.stderr
    assert "channels toy;" in checked.stdout
