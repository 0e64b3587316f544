"""Starting a command of ``systemd/shopbridge@.service`` the way systemd would, without systemd.

The sandbox's PID 1 is not systemd (so ``systemctl``/``systemd-run`` cannot start units), but we
are root: :class:`UnitStart` reads the unit (and any drop-ins installed for the instance), puts
every ``LoadCredential[Encrypted]=`` file into a credentials directory owned by an unused
unprivileged uid (mode 0400: what systemd does, decryption aside: our test files are plain),
creates ``StateDirectory=`` owned by that uid, expands the specifiers ``%i`` ``%d`` ``%S`` and
``${CREDENTIALS_DIRECTORY}``, and runs ``ExecStart=`` under ``setpriv --reuid/--regid
--clear-groups`` (the ``DynamicUser=`` part) with systemd's environment variables. Absolute paths
in the unit (``/etc``, ``/var/lib``, ``/run``) live under a temporary root directory; the
executable is this checkout's installed ``shopbridge`` (where the README's install puts it is
checked separately).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
UNIT = REPO / "systemd" / "shopbridge@.service"


def service_lines(text: str) -> list[tuple[str, str]]:
    """``(key, value)`` of every assignment in ``[Service]`` (keys repeat: a list, not a dict)."""
    found: list[tuple[str, str]] = []
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]" and "=" in line:
            key, value = line.split("=", 1)
            found.append((key.strip(), value.strip()))
    return found


def documented_commands(text: str) -> list[str]:
    """The shell commands in the unit's header comment (``#   command ...``)."""
    commands = []
    for raw in text.splitlines():
        if not raw.startswith("#"):
            break
        body = raw[1:].strip()
        if body.split(" ", 1)[0] in {"install", "systemd-creds", "systemctl", "python3.11", "mkdir"}:
            commands.append(body.split("   (", 1)[0].strip())
    return commands


class UnitStart:
    """One instance of the unit under a temporary root (see the module docstring)."""

    def __init__(self, instance: str) -> None:
        self.instance = instance
        self.root = Path(tempfile.mkdtemp(prefix="shopbridge-root-"))
        self.root.chmod(0o755)  # the service's uid must traverse it, as it does /
        self.uid = 61184 + os.getpid() % 4000  # systemd's DynamicUser range; nothing owns it here

    def path(self, absolute: str) -> Path:
        """Where ``absolute`` (a path in the unit or its install commands) lives under the root."""
        return self.root / absolute.lstrip("/")

    def install(self, command: str, cwd: Path) -> None:
        """Run a documented ``install`` command with its absolute target under the root."""
        words = shlex.split(command)
        words[-1] = str(self.path(words[-1]))
        subprocess.run(words, cwd=cwd, check=True)

    def unit_lines(self) -> list[tuple[str, str]]:
        name = f"shopbridge@{self.instance}.service"
        lines = service_lines(UNIT.read_text())
        for directory in ("shopbridge@.service.d", f"{name}.d"):
            for dropin in sorted(self.path(f"/etc/systemd/system/{directory}").glob("*.conf")):
                lines += service_lines(dropin.read_text())
        return lines

    def _expand(self, value: str, credentials: Path) -> str:
        return (
            value.replace("%i", self.instance)
            .replace("%d", str(credentials))
            .replace("${CREDENTIALS_DIRECTORY}", str(credentials))
            .replace("%S", str(self.path("/var/lib")))
        )

    def run(
        self,
        subcommand: list[str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        timeout: float = 60,
        wait: bool = True,
    ) -> subprocess.Popen[str]:
        """Start ``ExecStart=`` as the unit's unprivileged uid, its last word (``daemon``) replaced
        by ``subcommand`` if given (``sync``: what an operator runs with the unit's settings);
        returns the process (finished if ``wait``)."""
        credentials = self.path(f"/run/credentials/shopbridge@{self.instance}.service")
        lines = self.unit_lines()
        if credentials.exists():
            shutil.rmtree(credentials)
        credentials.mkdir(parents=True)
        for key, value in lines:
            if key in ("LoadCredential", "LoadCredentialEncrypted"):
                name, _, source = self._expand(value, credentials).partition(":")
                target = credentials / name
                shutil.copyfile(self.path(source), target)  # read as root, like PID 1
                os.chown(target, self.uid, self.uid)
                target.chmod(0o400)
        os.chown(credentials, self.uid, self.uid)
        credentials.chmod(0o500)
        environ = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "CREDENTIALS_DIRECTORY": str(credentials)}
        for key, value in lines:
            if key == "StateDirectory":
                state = self.path("/var/lib") / self._expand(value, credentials)
                state.mkdir(parents=True, exist_ok=True)
                for part in [state, *state.parents]:
                    if part == self.path("/var/lib"):
                        break
                    os.chown(part, self.uid, self.uid) if part == state else part.chmod(0o755)
                state.chmod(0o700)
                environ["STATE_DIRECTORY"] = str(state)
        environ.update(env or {})
        exec_start = next(value for key, value in lines if key == "ExecStart")
        words = [
            str(self.path(word)) if word.startswith(("/etc/", "/var/", "/run/")) else word
            for word in shlex.split(self._expand(exec_start, credentials))
        ]
        program = [str(Path(sys.executable).with_name("shopbridge"))]
        argv = [*program, *(words[1:-1] + subcommand if subcommand is not None else words[1:])]
        process = subprocess.Popen(
            ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups", *argv],
            cwd="/",
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if wait:
            process.wait(timeout=timeout)
        return process

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
