"""Structured logging that cannot leak secrets.

Lines are JSON (one object per line) when stderr is not a terminal, so journald and log shippers
get fields; readable text on a terminal. Under systemd (``JOURNAL_STREAM`` set) each line is
prefixed with its syslog priority (``<3>`` …) so ``journalctl -p err`` works.

Redaction happens in the handler, for every record, whatever the caller passed:

* fields whose name looks secret (``token``, ``secret``, ``password``, ``authorization``,
  ``signature``, ``key`` …) are replaced by ``"[redacted]"``, recursively in dicts;
* every secret value registered with :func:`register_secret` (the config registers each one it
  resolves) is replaced wherever it appears in the message or any field: this also catches a key
  that a third-party library puts in a URL it logs.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from datetime import UTC, datetime
from typing import Any

__all__ = ["configure_logging", "redact", "register_secret"]

REDACTED = "[redacted]"
_SECRET_NAME = re.compile(
    r"(secret|token|password|passwd|authori[sz]ation|signature|api[_-]?key|consumer[_-]?key|credential|cookie)",
    re.IGNORECASE,
)
_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str) -> None:
    """Make ``value`` unprintable in every log line from now on (values shorter than 4 are ignored)."""
    if len(value) >= 4:
        with _secrets_lock:
            _secrets.add(value)


def _scrub_text(text: str) -> str:
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact(value: Any, name: str = "") -> Any:
    """``value`` with secret-named fields and registered secret values replaced by ``[redacted]``."""
    if name and _SECRET_NAME.search(name):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _scrub_text(value)
    return value


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: redact(v, k) for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": _scrub_text(record.getMessage()),
        }
        entry.update(_fields(record))
        if record.exc_info:
            entry["exc"] = _scrub_text(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        extra = " ".join(f"{k}={v}" for k, v in fields.items())
        line = f"{record.levelname.lower():7} {_scrub_text(record.getMessage())}"
        if extra:
            line += f"  {extra}"
        if record.exc_info:
            line += "\n" + _scrub_text(self.formatException(record.exc_info))
        return line


_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class _JournalPrefix(logging.Formatter):
    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return f"<{_PRIORITY.get(record.levelno, 6)}>{self.inner.format(record)}"


def configure_logging(level: str = "info", fmt: str = "auto") -> None:
    """Install the root handler (stderr). ``fmt``: ``auto`` (JSON unless a terminal), ``json`` or ``text``."""
    stream = sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    formatter: logging.Formatter = JsonFormatter() if use_json else TextFormatter()
    if os.environ.get("JOURNAL_STREAM"):
        formatter = _JournalPrefix(formatter)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Third-party libraries stay at warning: their debug lines carry URLs and headers.
    for noisy in ("urllib3", "httpx", "httpcore", "requests_oauthlib", "oauthlib"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
