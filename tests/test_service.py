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
import re
import shutil
import signal
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.launch import Sandbox
from tests.conftest import REPO, RunCli
from tests.systemd_helpers import UNIT, UnitStart, documented_commands, service_lines

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


def test_credential_names_are_one_scheme_in_init_the_example_config_and_the_unit() -> None:
    from bridge.initfile import CREDENTIAL_NAMES

    scheme = set(CREDENTIAL_NAMES.values())
    assert scheme == {
        "shopbridge_wc_key",
        "shopbridge_wc_secret",
        "shopbridge_wc_webhook_secret",
        "shopbridge_square_token",
        "shopbridge_square_signature_key",
        "shopbridge_ebay_client_secret",
        "shopbridge_ebay_refresh_token",
        "shopbridge_ebay_verification_token",
    }
    example = (REPO / "config.example.toml").read_text()
    assert set(re.findall(r'credential = "([a-z_]+)"', example)) >= scheme
    unit_text = UNIT.read_text()
    named_in_unit = set(re.findall(r"\bshopbridge_[a-z_]+", unit_text))
    assert named_in_unit == scheme, named_in_unit ^ scheme
    assert not [
        v for k, v in service_lines(unit_text) if k.startswith("LoadCredential") and "_" in v.split(":")[0]
    ]


def test_exec_start_is_where_the_readme_installs_the_command() -> None:
    readme = (REPO / "README.md").read_text()
    venvs = re.findall(r"python3\.11 -m venv (/\S+)", readme)
    assert venvs, "the README says where the service's install goes"
    exec_start = next(v for k, v in service_lines(UNIT.read_text()) if k == "ExecStart")
    assert all(exec_start.startswith(f"{venv}/bin/shopbridge ") for venv in venvs), (venvs, exec_start)


def test_a_woocommerce_only_shop_runs_the_unit_unedited_with_init_systemd(
    unit: UnitStart, workdir: Path, run_cli: RunCli
) -> None:
    with Sandbox(products=4, locations=1) as box:
        wc = box.woocommerce.connection_info()
        made = run_cli("init", "--non-interactive", "--systemd", "myshop", "--wc-url", wc["url"], cwd=workdir)
        assert made.returncode == 0, made.stderr
        config_text = (workdir / "shopbridge.toml").read_text()
        assert '{ credential = "shopbridge_wc_key" }' in config_text and "square" not in config_text
        dropin = workdir / "shopbridge@myshop.service.d" / "credentials.conf"
        lines = service_lines(dropin.read_text())
        assert [v.split(":")[0] for _, v in lines] == ["shopbridge_wc_key", "shopbridge_wc_secret"]
        for command in documented_commands(UNIT.read_text()):
            if command.startswith("install -Dm6") and "systemd/shopbridge@.service" not in command:
                unit.install(command, cwd=workdir)
        for _, value in lines:  # what systemd-creds encrypt would store (plain here; see docstring)
            name, _, source = value.partition(":")
            target = unit.path(source.replace("%i", "myshop"))
            target.parent.mkdir(parents=True, exist_ok=True)
            secret = wc["consumer_key"] if name == "shopbridge_wc_key" else wc["consumer_secret"]
            target.write_text(secret + "\n")
        config_text = unit.path("/etc/shopbridge/myshop.toml").read_text()
        port = free_port()
        unit.path("/etc/shopbridge/myshop.toml").write_text(
            config_text.replace("port = 8787", f"port = {port}")
        )
        first = unit.run(["sync", "--force"])
        assert first.returncode == 0, first.stderr.read() if first.stderr else ""
        start_daemon_until_ready(unit)
