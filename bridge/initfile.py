"""Writing a configuration file for ``shopbridge init``.

The file holds secret *references* only (environment variable, file or systemd credential names);
a secret typed at the interactive prompt is saved to its own 0600 file beside the config and
referenced from it. The config itself is written 0600 too (it names where the secrets are), via a
temporary file and an atomic rename so an interrupted ``init`` never leaves half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CREDENTIAL_NAMES",
    "ENV_NAMES",
    "InitAnswers",
    "SecretRef",
    "render_config",
    "render_dropin",
    "write_private",
]

ENV_NAMES = {
    "woocommerce_key": "SHOPBRIDGE_WC_KEY",
    "woocommerce_secret": "SHOPBRIDGE_WC_SECRET",
    "woocommerce_webhook_secret": "SHOPBRIDGE_WC_WEBHOOK_SECRET",
    "square_token": "SHOPBRIDGE_SQUARE_TOKEN",
    "square_signature_key": "SHOPBRIDGE_SQUARE_SIGNATURE_KEY",
}
"""One naming scheme for every secret (keyed by :class:`InitAnswers` field): the environment
variable ``init`` proposes, and in lower case the systemd credential name that ``init``, the
example config and the unit's comment use."""

CREDENTIAL_NAMES = {field_name: env.lower() for field_name, env in ENV_NAMES.items()}


@dataclass(frozen=True)
class SecretRef:
    """``kind`` is ``env``, ``file``, ``credential`` or ``value`` (sandbox only)."""

    kind: str
    name: str

    def toml(self) -> str:
        return f"{{ {self.kind} = {json.dumps(self.name)} }}"


@dataclass
class InitAnswers:
    store_path: str = "shopbridge.db"
    system_of_record: str = "woocommerce"
    woocommerce_url: str | None = None
    woocommerce_key: SecretRef | None = None
    woocommerce_secret: SecretRef | None = None
    woocommerce_webhook_secret: SecretRef | None = None
    square_environment: str = "production"
    square_base_url: str | None = None
    square_token: SecretRef | None = None
    square_signature_key: SecretRef | None = None
    square_location_ids: list[str] = field(default_factory=list)
    public_url: str | None = None
    port: int = 8787


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
    if answers.woocommerce_url and answers.woocommerce_key and answers.woocommerce_secret:
        lines += [
            "",
            "[channels.woocommerce]",
            f"url = {json.dumps(answers.woocommerce_url)}",
            f"consumer_key = {answers.woocommerce_key.toml()}",
            f"consumer_secret = {answers.woocommerce_secret.toml()}",
        ]
        if answers.woocommerce_webhook_secret:
            lines.append(f"webhook_secret = {answers.woocommerce_webhook_secret.toml()}")
    if answers.square_token:
        lines += [
            "",
            "[channels.square]",
            f"environment = {json.dumps(answers.square_environment)}",
        ]
        if answers.square_base_url:
            lines.append(f"base_url = {json.dumps(answers.square_base_url)}")
        lines.append(f"access_token = {answers.square_token.toml()}")
        if answers.square_signature_key:
            lines.append(f"signature_key = {answers.square_signature_key.toml()}")
        if answers.public_url:
            lines.append(
                f"notification_url = {json.dumps(answers.public_url.rstrip('/') + '/webhooks/square')}"
            )
        if answers.square_location_ids:
            lines.append(f"location_ids = {json.dumps(answers.square_location_ids)}")
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
    for field_name in ENV_NAMES:
        ref = getattr(answers, field_name)
        if isinstance(ref, SecretRef) and ref.kind == "credential":
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
