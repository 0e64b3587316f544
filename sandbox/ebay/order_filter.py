"""The Fulfillment API's ``getOrders`` filter: ``lastmodifieddate:[from..to]`` or
``creationdate:[from..to]`` (creationdate wins when both are given; ``to`` may be left out) and
``orderfulfillmentstatus:{NOT_STARTED|IN_PROGRESS}``, comma-separated, with the contract's error ids."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sandbox.ebay.errors import FULFILLMENT, EbayError
from sandbox.ebay.wire import parse_time

_CRITERION = re.compile(r"(\w+):(\[[^\]]*\]|\{[^}]*\})")
_STATUSES = frozenset({"NOT_STARTED", "IN_PROGRESS", "FULFILLED"})


@dataclass(frozen=True)
class OrderFilter:
    field: str | None
    """``creationDate`` or ``lastModifiedDate``, or None (no date range)."""
    start: float | None
    end: float | None
    statuses: frozenset[str] | None


def _range(name: str, value: str, now: float) -> tuple[float, float | None]:
    inner = value[1:-1]
    if ".." not in inner:
        raise EbayError(400, 30800, f"Invalid filter value {value} for filter {name}", domain=FULFILLMENT)
    low, high = inner.split("..", 1)
    if not low:
        raise EbayError(400, 30820, "Start date is missing", domain=FULFILLMENT)
    try:
        start = parse_time(low)
        end = parse_time(high) if high else None
    except ValueError:
        raise EbayError(400, 30810, "Invalid date format", domain=FULFILLMENT) from None
    if end is not None and end < start:
        raise EbayError(400, 30840, "Start date should be before end date", domain=FULFILLMENT)
    if start > now or (end is not None and end > now + 1):
        raise EbayError(400, 30850, "Start and end dates can't be in the future", domain=FULFILLMENT)
    return start, end


def parse_filter(text: str | None, now: float) -> OrderFilter:
    if not text:
        return OrderFilter(None, None, None, None)
    found = {name: value for name, value in _CRITERION.findall(text)}
    rest = _CRITERION.sub("", text).replace(",", "").strip()
    if rest:
        raise EbayError(400, 30700, f"Invalid filter name: {rest}", domain=FULFILLMENT)
    unknown = set(found) - {"creationdate", "lastmodifieddate", "orderfulfillmentstatus"}
    if unknown:
        raise EbayError(400, 30700, f"Invalid filter name: {sorted(unknown)[0]}", domain=FULFILLMENT)
    statuses = None
    if "orderfulfillmentstatus" in found:
        statuses = frozenset(found["orderfulfillmentstatus"][1:-1].split("|"))
        if not statuses <= _STATUSES:
            raise EbayError(
                400,
                30800,
                f"Invalid filter value {found['orderfulfillmentstatus']} for filter orderfulfillmentstatus",
                domain=FULFILLMENT,
            )
    for name, field in (("creationdate", "creationDate"), ("lastmodifieddate", "lastModifiedDate")):
        if name in found:
            start, end = _range(name, found[name], now)
            return OrderFilter(field, start, end, statuses)
    return OrderFilter(None, None, None, statuses)
