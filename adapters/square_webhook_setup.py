"""``shopbridge webhooks register`` for Square: make our subscription, keep the key it answers.

The signature key is a secret, so it is never printed or logged: it goes to a 0600 file beside the
config (atomically), the file the config's ``signature_key = { file = ... }`` already names when it
does (what ``init`` writes for a key typed at its prompt), else ``square-signature-key``, and the
user is told the one line to put in the config or the systemd credential to make from the file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from adapters.square import SquareAdapter
from adapters.square_channel import SquareChannel
from bridge.config import Config
from bridge.initfile import write_private

__all__ = ["KEY_FILE", "register_square", "store_signature_key"]

KEY_FILE = "square-signature-key"


def _section(config: Config) -> SquareChannel | None:
    section = config.channels.section("square")
    return section if isinstance(section, SquareChannel) else None


def notification_url(config: Config) -> str:
    """The URL Square delivers to and signs: ``notification_url``, else ``<public_url>/webhooks/square``."""
    square = _section(config)
    if square is not None and square.notification_url:
        return str(square.notification_url)
    return f"{str(config.server.public_url).rstrip('/')}/webhooks/square"


def _configured_reference(config: Config) -> dict[str, Any]:
    """The config file's own ``signature_key`` table (``{}`` without one), as written, unresolved."""
    if config.source is None:
        return {}
    data = tomllib.loads(Path(config.source).read_text(encoding="utf-8"))
    ref = data.get("channels", {}).get("square", {}).get("signature_key")
    return ref if isinstance(ref, dict) else {}


def store_signature_key(config: Config, key: str) -> list[str]:
    """Write ``key`` 0600 where the config reads it (or beside it); what the user must still do."""
    base = Path(config.source).parent if config.source is not None else Path()
    ref = _configured_reference(config)
    if "file" in ref:
        path = Path(ref["file"]) if Path(ref["file"]).is_absolute() else base / ref["file"]
        write_private(path, key + "\n")
        return [f"signature key written to {path} (mode 0600), where the config reads it"]
    path = base / KEY_FILE
    write_private(path, key + "\n")
    lines = [f"signature key written to {path} (mode 0600)"]
    if "credential" in ref:
        name = ref["credential"]
        lines.append(
            f"make it the systemd credential the config names: systemd-creds encrypt "
            f"--name={name} {path} /etc/shopbridge/<instance>/{name}.cred, then delete {path}"
        )
    else:
        lines.append(f'put in [channels.square]: signature_key = {{ file = "{KEY_FILE}" }}')
    return lines


def register_square(config: Config, adapter: SquareAdapter) -> list[str]:
    """Create or update the subscription; the lines to print (never the key itself)."""
    url = notification_url(config)
    result = adapter.ensure_webhook_subscription(url)
    lines = [
        f"{result.action} webhook subscription {result.subscription_id}: "
        f"{', '.join(result.event_types)} deliver to {url}"
    ]
    section = _section(config)
    configured = section.signature_key if section is not None else None
    if result.signature_key is None:
        lines.append("Square did not answer the signature key; keep the one configured")
    elif configured is not None and configured.get() == result.signature_key:
        lines.append("signature key unchanged; the config already has it")
    else:
        lines += store_signature_key(config, result.signature_key)
        lines.append("restart a running daemon so it verifies deliveries with this key")
    return lines
