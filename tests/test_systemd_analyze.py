"""``systemd-analyze`` on the shipped unit with a shop's drop-in from ``init --systemd``: ``verify``
is clean and the ``security`` exposure stays at or below 1.7 (its level before the credentials moved
to drop-ins). Both run offline on a temporary root holding systemd's own units (verify needs
``sysinit.target`` and friends), our unit, the drop-in and an executable where the README's install
puts the command, so ``verify`` also proves ``ExecStart=`` points there. Skipped, with that reason
in pytest's summary, only where ``systemd-analyze`` is not installed (`.ci/run` installs it)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, RunCli
from tests.systemd_helpers import UNIT, service_lines

ANALYZE = shutil.which("systemd-analyze")
SYSTEM_UNITS = Path("/usr/lib/systemd/system")
pytestmark = pytest.mark.skipif(
    ANALYZE is None or not (SYSTEM_UNITS / "sysinit.target").exists(),
    reason="systemd-analyze is not installed (Debian: apt-get install systemd)",
)
EXPOSURE_CEILING = 1.7


def analysis_root(tmp_path: Path, run_cli: RunCli) -> Path:
    """A root with systemd's units, ours, a full shop's drop-in and the command where the README
    installs it."""
    root = tmp_path / "root"
    shutil.copytree(SYSTEM_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    units = root / "etc/systemd/system"
    units.mkdir(parents=True)
    shutil.copy(UNIT, units / UNIT.name)
    made = run_cli(
        "init",
        "--non-interactive",
        "--systemd",
        "myshop",
        "--wc-url",
        "https://shop.example.com",
        "--square",
        "--public-url",
        "https://sync.example.com",
    )
    assert made.returncode == 0, made.stderr
    shutil.copytree(tmp_path / "shopbridge@myshop.service.d", units / "shopbridge@myshop.service.d")
    venv = re.findall(r"python3\.11 -m venv (/\S+)", (REPO / "README.md").read_text())[0]
    command = root / venv.lstrip("/") / "bin" / "shopbridge"
    command.parent.mkdir(parents=True)
    command.write_text("#!/bin/sh\n")
    command.chmod(0o755)
    return root


def test_verify_is_clean(tmp_path: Path, run_cli: RunCli) -> None:
    root = analysis_root(tmp_path, run_cli)
    dropin = root / "etc/systemd/system/shopbridge@myshop.service.d/credentials.conf"
    assert len([k for k, _ in service_lines(dropin.read_text())]) == 5  # every secret, so all are verified
    result = subprocess.run(
        [str(ANALYZE), "verify", f"--root={root}", "shopbridge@myshop.service"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), (
        result.stdout + result.stderr
    )


def test_security_exposure_stays_at_or_below_the_ceiling(tmp_path: Path, run_cli: RunCli) -> None:
    root = analysis_root(tmp_path, run_cli)
    result = subprocess.run(
        [str(ANALYZE), "security", "--offline=true", f"--root={root}", "shopbridge@myshop.service"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r"Overall exposure level for shopbridge@myshop\.service: (\d+\.\d+)", result.stdout)
    assert found, result.stdout + result.stderr
    exposure = float(found.group(1))
    print(f"systemd-analyze security exposure: {exposure}")
    assert exposure <= EXPOSURE_CEILING, result.stdout
