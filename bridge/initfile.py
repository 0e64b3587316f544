"""Writing a configuration file for ``shopbridge init``.

The file holds secret *references* only (environment variable, file or systemd credential names);
a secret typed at the interactive prompt is saved to its own 0600 file beside the config and
referenced from it. What is asked for each channel, and how its table is written, is the
channel's own (:class:`bridge.registry.ChannelInit`). The config itself is written 0600 too (it
names where the secrets are), via a temporary file and an atomic rename so an interrupted ``init``
never leaves half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge import registry
from bridge.registry import ChannelContext
from bridge.settings import DEFAULT_CONCURRENCY, MAX_CONCURRENCY

__all__ = [
    "CREDENTIAL_NAMES",
    "ENV_NAMES",
    "ChannelAnswers",
    "InitAnswers",
    "SecretRef",
    "render_config",
    "render_dropin",
    "write_private",
]


def _env_names() -> dict[str, str]:
    return {
        f"{spec.name}.{secret.key}": secret.env
        for spec in registry.channels().values()
        if spec.init is not None
        for secret in spec.init.secrets
    }


ENV_NAMES = _env_names()
"""One naming scheme for every secret (keyed by ``<channel>.<key>``, each channel's own, see
:class:`bridge.registry.InitSecret`): the environment variable ``init`` proposes, and in lower case
the systemd credential name that ``init``, the example config and the unit's comment use."""

CREDENTIAL_NAMES = {key: env.lower() for key, env in ENV_NAMES.items()}


@dataclass(frozen=True)
class SecretRef:
    """``kind`` is ``env``, ``file``, ``credential`` or ``value`` (sandbox only)."""

    kind: str
    name: str

    def toml(self) -> str:
        return f"{{ {self.kind} = {json.dumps(self.name)} }}"


@dataclass
class ChannelAnswers:
    """One channel's answers: plain keys of its section, and where each of its secrets is."""

    values: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, SecretRef] = field(default_factory=dict)


@dataclass
class InitAnswers:
    store_path: str = "shopbridge.db"
    system_of_record: str = "woocommerce"
    public_url: str | None = None
    port: int = 8787
    channels: dict[str, ChannelAnswers] = field(default_factory=dict)
    """The channels to connect, by name, in the order their tables are written."""


def render_config(answers: InitAnswers) -> str:
    """The TOML for ``answers``: only the keys chosen; ``config.example.toml`` documents the rest."""
    lines = [
        "# shopbridge configuration, written by `shopbridge init`.",
        "# Every key is documented in config.example.toml. Secrets are references, never values.",
        "",
        "[store]",
        f"path = {json.dumps(answers.store_path)}",
        "",
        "[server]",
        'host = "127.0.0.1"',
        f"port = {answers.port}",
    ]
    if answers.public_url:
        lines.append(f"public_url = {json.dumps(answers.public_url)}")
    lines += ["", "[sync]", f"system_of_record = {json.dumps(answers.system_of_record)}"]
    context = ChannelContext(public_url=answers.public_url)
    for name, channel in answers.channels.items():
        init = registry.channel(name).init
        derived = init.derived(context) if init is not None and init.derived is not None else {}
        lines += ["", f"[channels.{name}]"]
        lines += [
            f"{key} = {json.dumps(value)}" for key, value in channel.values.items() if value is not None
        ]  # an optional answer left empty is not written
        lines += [f"{key} = {ref.toml()}" for key, ref in channel.secrets.items()]
        lines += [f"{key} = {json.dumps(value)}" for key, value in derived.items()]
        lines.append(
            f"concurrency = {DEFAULT_CONCURRENCY}  # requests in flight at once (1-{MAX_CONCURRENCY})"
        )
    return "\n".join(lines) + "\n"


def render_dropin(answers: InitAnswers, instance: str) -> str:
    """A drop-in for ``shopbridge@<instance>.service`` loading exactly the credentials the config
    names: a channel that is not configured needs none, so the shipped unit is never edited."""
    lines = [
        f"# shopbridge@{instance}.service: the credentials /etc/shopbridge/{instance}.toml names",
        "# (written by `shopbridge init --systemd`). Create each file with",
        f"#   systemd-creds encrypt --name=NAME - /etc/shopbridge/{instance}/NAME.cred",
        "# or use LoadCredential= with a plain 0600 file instead.",
        "[Service]",
    ]
    for channel in answers.channels.values():
        for ref in channel.secrets.values():
            if ref.kind == "credential":
                lines.append(f"LoadCredentialEncrypted={ref.name}:/etc/shopbridge/%i/{ref.name}.cred")
    return "\n".join(lines) + "\n"


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600, atomically (temporary file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
