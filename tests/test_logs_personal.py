"""Customers' contact details never reach a log line (issue 13): emails, phones and street lines
are masked in the message, in fields and in tracebacks, by the handler ``configure_logging`` installs."""

from __future__ import annotations

import json

from tests.test_logs import run_logging


def test_emails_phones_and_addresses_are_masked_through_the_configured_handler() -> None:
    out = run_logging(
        """
        configure_logging("debug", "json")
        log = logging.getLogger("shopbridge.customers")
        log.info("linked Ann.Lee@Example.com to square, phone +44 7700 900123")
        log.info("customer", extra={"email": "ann@example.com", "phone": "+447700900123",
                                    "address": {"line1": "12 High Street"}, "detail": "call (415) 555-0123",
                                    "channel": "square", "changes": 3})
        try:
            raise ValueError("duplicate ann@example.com at 12 High Street")
        except ValueError:
            log.exception("failed")
        log.info("synced 1200 of 50000 at 2026-12-02T11:51:06 gtin 5012345678900")
        """
    )
    for personal in (
        "ann.lee@example.com",
        "Ann.Lee@Example.com",
        "ann@example.com",
        "7700 900123",
        "447700900123",
        "555-0123",
        "High Street",
    ):
        assert personal not in out
    lines = [json.loads(line) for line in out.strip().splitlines()]
    assert lines[0]["msg"] == "linked [email] to square, phone [phone]"
    assert lines[1]["email"] == "[personal]" and lines[1]["phone"] == "[personal]"
    assert lines[1]["address"] == "[personal]"
    assert lines[1]["detail"] == "call [phone]"
    assert lines[1]["channel"] == "square" and lines[1]["changes"] == 3
    assert "[email]" in lines[2]["exc"] and "[address]" in lines[2]["exc"]
    # What is not personal stays readable: counts, timestamps, GTINs.
    assert lines[3]["msg"] == "synced 1200 of 50000 at 2026-12-02T11:51:06 gtin 5012345678900"
