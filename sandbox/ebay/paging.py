"""limit/offset paging as the Inventory and Fulfillment APIs answer it: ``href`` of this page, ``next``
and ``prev`` when there are such pages, ``limit``, ``offset``/``size`` and ``total``.

The Inventory contract calls ``offset`` "the page number"; the ``next`` links eBay answers skip
records, and that is what is modelled here (a client that follows ``next`` works under either
reading)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from sandbox.ebay.errors import EbayError
from sandbox.http import Request


def limit_offset(
    request: Request,
    *,
    default: int,
    maximum: int,
    error_id: int,
    domain: str,
    offset_error: int | None = None,
) -> tuple[int, int]:
    """The request's ``limit`` (1..maximum) and ``offset`` (>= 0), or the API's error."""
    try:
        limit = int(request.arg("limit") or default)
    except ValueError:
        limit = -1
    if not 1 <= limit <= maximum:
        raise EbayError(400, error_id, f"Invalid limit: {request.arg('limit')}", domain=domain)
    try:
        offset = int(request.arg("offset") or 0)
    except ValueError:
        offset = -1
    if offset < 0:
        raise EbayError(
            400, offset_error or error_id, f"Invalid offset: {request.arg('offset')}", domain=domain
        )
    return limit, offset


def page_links(
    base: str, path: str, params: dict[str, str], limit: int, offset: int, total: int
) -> dict[str, Any]:
    def link(at: int) -> str:
        return f"{base}{path}?{urlencode({**params, 'limit': limit, 'offset': at})}"

    out: dict[str, Any] = {"href": link(offset), "limit": limit, "total": total}
    if offset + limit < total:
        out["next"] = link(offset + limit)
    if offset > 0:
        out["prev"] = link(max(0, offset - limit))
    return out


def window(rows: Sequence[Any], limit: int, offset: int) -> list[Any]:
    return list(rows[offset : offset + limit])
