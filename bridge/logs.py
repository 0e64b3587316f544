"""Structured logging that cannot leak secrets.

Lines are JSON (one object per line) when stderr is not a terminal, so journald and log shippers
get fields; readable text on a terminal. Under systemd (``JOURNAL_STREAM`` set) each line is
prefixed with its syslog priority (``<3>`` …) so ``journalctl -p err`` works.

Redaction happens in the handler, for every record, whatever the caller passed:

* fields whose name looks secret (``token``, ``secret``, ``password``, ``authorization``,
  ``signature``, ``key`` …) are replaced by ``"[redacted]"``, recursively in dicts;
* every secret value registered with :func:`register_secret` (the config registers each one it
  resolves) is replaced wherever it appears in the message or any field: this also catches a key
  that a third-party library puts in a URL it logs;
* personal data (customers', issue 13) is masked too: fields named like contact details (``email``,
  ``phone``, ``address``, ``billing`` …) become ``"[personal]"``, and in any text an email address,
  a phone number (``+`` and digits, or digit groups such as ``(415) 555-0123``) and a street line
  (``12 High Street``) are replaced by ``[email]``, ``[phone]`` and ``[address]``. A bare run of digits
  is left alone (it is far more often an id or a GTIN); phones reach us from the channels with
  ``+`` or grouped, and the adapters normalise them to E.164 before anything logs them.
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
_PERSONAL_NAME = re.compile(
    r"^(e-?mail|phone|mobile|telephone|address(_line_?\d)?|line[12]|street|postcode|postal_code|zip|"
    r"billing|shipping|given_name|family_name|first_name|last_name|birthday)$",
    re.IGNORECASE,
)
PERSONAL = "[personal]"
_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_PHONE = re.compile(
    r"(?<![\w/#:.-])(?:\+\d[\d ().-]{5,18}\d|\(?\d{2,5}\)?(?:[ .-]\(?\d{2,6}\)?){1,4})(?![\w/:-])"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$")
_STREET = re.compile(
    r"\b\d{1,5}[A-Za-z]?,? (?:[A-Z][\w'-]* ){1,4}"
    r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Close|Way|Place|Pl|Court|Ct|Boulevard|Blvd|Terrace|Square|Sq)\b\.?"
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
    return _mask_personal(text)


def _mask_personal(text: str) -> str:
    """``text`` with emails, phone numbers and street lines masked."""
    text = _EMAIL.sub("[email]", text)
    text = _STREET.sub("[address]", text)
    return _PHONE.sub(_phone_or_not, text)


def _phone_or_not(found: re.Match[str]) -> str:
    """A phone has 7 to 15 digits and is not a date (``2026-03-01``, ``01.03.2026``)."""
    number = found.group(0)
    digits = sum(ch.isdigit() for ch in number)
    if not 7 <= digits <= 15 or _DATE.match(number):
        return number
    return "[phone]"


def redact(value: Any, name: str = "") -> Any:
    """``value`` with secret-named fields and registered secret values replaced by ``[redacted]``,
    contact-named fields by ``[personal]`` and contact details in text masked."""
    if name and _SECRET_NAME.search(name):
        return REDACTED
    if name and _PERSONAL_NAME.match(name) and value not in (None, ""):
        return PERSONAL
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
