"""The systemd unit as shipped: the documented install works as written, under an unprivileged uid.

How it runs here: PID 1 of the test machine is not systemd, so neither ``systemctl start`` nor
``systemd-run`` can start the unit. As root, :class:`tests.systemd_helpers.UnitStart` does what
systemd does for this unit (credentials copied into a directory only the service's uid can read,
``StateDirectory=`` owned by that uid, specifiers expanded) and runs ``ExecStart=`` under
``setpriv --reuid --regid --clear-groups`` as an uid nothing owns, like ``DynamicUser=yes``. The
paths the unit names live under a temporary root directory. Without root (or ``setpriv``) the
test cannot change uid and says so in its skip reason.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.sandbox.launch import Sandbox
from tests.systemd_helpers import UNIT, UnitStart, documented_commands

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="running as another uid needs root (setpriv)"),
    pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) is not installed"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def unit() -> Iterator[UnitStart]:
    started = UnitStart("myshop")
    yield started
    started.cleanup()


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="shopbridge-work-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def wait_for_ready(process_socket: socket.socket) -> list[str]:
    """Notifications received until ``READY=1`` (the daemon is serving)."""
    received: list[str] = []
    while "READY=1" not in received:
        received += process_socket.recv(4096).decode().splitlines()
    return received


def start_daemon_until_ready(unit: UnitStart) -> str:
    """Start the daemon as the unit does, wait for READY=1, stop it with SIGTERM; its stderr."""
    name = f"shopbridge-test-notify-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind("\0" + name)
        notify.settimeout(30)
        process = unit.run(env={"NOTIFY_SOCKET": "@" + name}, wait=False)
        try:
            wait_for_ready(notify)
        except TimeoutError:
            process.kill()
            _, err = process.communicate()
            raise AssertionError(f"no READY=1 (exit {process.returncode}): {err}") from None
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    return err


def test_a_config_installed_as_the_unit_documents_is_read_by_the_service(
    unit: UnitStart, workdir: Path
) -> None:
    with Sandbox(products=4, locations=1) as box:
        box.write_config(workdir / "shopbridge.toml", port=free_port())
        installs = [c for c in documented_commands(UNIT.read_text()) if "/etc/shopbridge/myshop.toml" in c]
        assert installs, "the unit's comment documents how to install the config"
        for command in installs:
            unit.install(command, cwd=workdir)
        installed = unit.path("/etc/shopbridge/myshop.toml")
        assert stat.S_IMODE(installed.stat().st_mode) == 0o600 and installed.stat().st_uid == 0
        first = unit.run(["sync", "--force"])
        assert first.returncode == 0, first.stderr.read() if first.stderr else ""
        start_daemon_until_ready(unit)
    stores = list(unit.path("/var/lib/shopbridge/myshop").glob("*.db"))
    assert stores and stores[0].stat().st_uid == unit.uid  # the store is in the state directory
