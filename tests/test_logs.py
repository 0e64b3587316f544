"""Logs are structured and never carry secrets, whatever the caller passes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def run_logging(code: str, env: dict[str, str] | None = None) -> str:
    """Run ``code`` after configure_logging() in a fresh process (stderr not a terminal) and return stderr."""
    script = "from bridge.logs import configure_logging, register_secret\nimport logging\n" + textwrap.dedent(
        code
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, env=env, check=True
    )
    return result.stderr


def test_json_lines_when_not_a_terminal_with_fields() -> None:
    out = run_logging(
        """
        configure_logging("info")
        logging.getLogger("shopbridge").info("synced", extra={"channel": "square", "changes": 3})
        """
    )
    entry = json.loads(out.strip().splitlines()[-1])
    assert entry["msg"] == "synced"
    assert entry["channel"] == "square"
    assert entry["changes"] == 3
    assert entry["level"] == "info"


def test_secret_named_fields_and_registered_values_are_redacted() -> None:
    out = run_logging(
        """
        configure_logging("debug")
        register_secret("cs_live_abcdef123456")
        log = logging.getLogger("x")
        log.info("calling https://shop.example/wp-json/wc/v3/products?consumer_secret=cs_live_abcdef123456")
        log.info("request", extra={"headers": {"Authorization": "Bearer EAAA_tok", "Accept": "json"},
                                   "access_token": "EAAA_tok", "note": "key cs_live_abcdef123456 used"})
        try:
            raise ValueError("bad secret cs_live_abcdef123456")
        except ValueError:
            log.exception("failed")
        """
    )
    assert "cs_live_abcdef123456" not in out
    assert "EAAA_tok" not in out
    lines = [json.loads(line) for line in out.strip().splitlines()]
    assert lines[1]["headers"] == {"Authorization": "[redacted]", "Accept": "json"}
    assert lines[1]["access_token"] == "[redacted]"
    assert "[redacted]" in lines[0]["msg"]
    assert "[redacted]" in lines[2]["exc"]


def test_journald_priority_prefix_under_systemd() -> None:
    import os

    env = {**os.environ, "JOURNAL_STREAM": "8:1234"}
    out = run_logging(
        """
        configure_logging("info", "text")
        logging.getLogger("x").error("boom")
        logging.getLogger("x").info("fine")
        """,
        env=env,
    )
    assert out.splitlines()[0].startswith("<3>")
    assert out.splitlines()[1].startswith("<6>")


def test_redact_is_recursive() -> None:
    from bridge.logs import redact

    assert redact({"outer": {"password": "x", "list": [{"api_key": "y"}]}}) == {
        "outer": {"password": "[redacted]", "list": [{"api_key": "[redacted]"}]}
    }
