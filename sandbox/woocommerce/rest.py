"""What every WP REST endpoint of the emulator shares: reading a request as WordPress does.

Query arguments (last duplicate wins, ``name[]`` lists), JSON bodies, paging with ``X-WP-Total``
and ``Link``, ``_fields``, ordering, the ``include``/``exclude``/``status``/``modified_*`` filters
and the ``batch`` endpoint (capped at 100 items, not atomic).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sandbox.http import Request
from sandbox.woocommerce.errors import WooApiError, invalid_param
from sandbox.woocommerce.state import WooState
from sandbox.woocommerce.wire import PREFIX, is_int, truthy

BATCH_LIMIT = 100


class WooRest(WooState):
    """Request parsing, paging, ordering, filtering and batching for the resource handlers."""

    @staticmethod
    def _arg(request: Request, name: str) -> str | None:
        values = request.query.get(name) or request.query.get(f"{name}[]")
        return values[-1] if values else None

    @staticmethod
    def _list_arg(request: Request, name: str) -> list[str]:
        values = request.query.get(name, []) + request.query.get(f"{name}[]", [])
        out: list[str] = []
        for value in values:
            out.extend(v.strip() for v in value.split(",") if v.strip())
        return out

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        if not request.body:
            return {}
        try:
            data = json.loads(request.body)
        except ValueError as exc:
            raise WooApiError("rest_invalid_json", "Invalid JSON body passed.", 400) from exc
        if not isinstance(data, dict):
            raise WooApiError("rest_invalid_json", "Invalid JSON body passed.", 400)
        return data

    def _parse_date_filter(self, value: str, gmt: bool) -> datetime:
        """WP_Date_Query semantics: naive input is site time, or GMT when ``dates_are_gmt``.

        An input carrying a zone is converted to *site* time even when comparing the GMT column
        (the timezone trap of the reference, §2.4), exactly as WordPress does.
        """
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise invalid_param("modified_after", "Invalid date.", "rest_invalid_date") from exc
        if parsed.tzinfo is not None:
            return (parsed.astimezone(UTC).replace(tzinfo=None) + self.offset).replace(microsecond=0)
        return parsed.replace(microsecond=0) if gmt else (parsed - self.offset).replace(microsecond=0)

    def _paginate(
        self, request: Request, items: list[Any], collection: str
    ) -> tuple[list[Any], dict[str, str]]:
        per_page_raw = self._arg(request, "per_page") or "10"
        page_raw = self._arg(request, "page") or "1"
        message = "per_page must be between 1 (inclusive) and 100 (inclusive)"
        if not is_int(per_page_raw) or not 1 <= int(per_page_raw) <= 100:
            raise invalid_param("per_page", message, "rest_out_of_bounds")
        if not is_int(page_raw) or int(page_raw) < 1:
            raise invalid_param("page", "page must be greater than or equal to 1", "rest_out_of_bounds")
        per_page, page = int(per_page_raw), int(page_raw)
        offset_raw = self._arg(request, "offset")
        if offset_raw is not None and not is_int(offset_raw):
            raise invalid_param(
                "offset", "offset is not of type integer.", "rest_invalid_type", {"param": "offset"}
            )
        # ``offset`` (sanitised with absint) overrides ``page``: WP_Query's LIMIT offset, per_page.
        start = abs(int(offset_raw)) if offset_raw is not None else (page - 1) * per_page
        chunk = items[start : start + per_page]
        # FOUND_ROWS() counts the whole filtered set, but WP_Query skips counting when the page is
        # empty; the CRUD controller then re-counts only for page > 1 without an offset.
        total = len(items) if chunk or (offset_raw is None and page > 1) else 0
        pages = math.ceil(total / per_page) if total else 0
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        base_query = {k: v[-1] for k, v in request.query.items()}
        links = [f'<{self.url}/wp-json/>; rel="https://api.w.org/"']
        if page > 1 and page - 1 <= max(pages, 1):
            links.append(
                f'<{self.url}{PREFIX}/{collection}?{urlencode({**base_query, "page": page - 1})}>; rel="prev"'
            )
        if page < pages:
            links.append(
                f'<{self.url}{PREFIX}/{collection}?{urlencode({**base_query, "page": page + 1})}>; rel="next"'
            )
        headers["Link"] = ", ".join(links)
        return chunk, headers

    def _fields(self, request: Request, data: dict[str, Any]) -> dict[str, Any]:
        fields = self._list_arg(request, "_fields")
        if not fields:
            return data
        wanted = {f.split(".")[0] for f in fields} | {"id"}
        return {k: v for k, v in data.items() if k in wanted}

    def _sort(
        self,
        request: Request,
        items: list[dict[str, Any]],
        default: str,
        default_order: str,
        *,
        shuffle_modified_ties: random.Random | None = None,
    ) -> None:
        orderby = self._arg(request, "orderby") or default
        order = (self._arg(request, "order") or default_order).lower()
        keys: dict[str, Callable[[dict[str, Any]], Any]] = {
            "id": lambda r: r["id"],
            "include": lambda r: r["id"],
            "date": lambda r: (r["created"], r["id"]),
            "registered_date": lambda r: (r["created"], r["id"]),
            "modified": lambda r: (r["modified"], r["id"]),
            "title": lambda r: (r.get("name", ""), r["id"]),
            "name": lambda r: (r.get("name") or r.get("last_name", ""), r["id"]),
            "slug": lambda r: (r.get("slug", ""), r["id"]),
        }
        if orderby not in keys:
            raise invalid_param(
                "orderby", f"orderby is not one of {', '.join(sorted(keys))}.", "rest_not_in_enum"
            )
        if order not in ("asc", "desc"):
            raise invalid_param("order", "order is not one of asc and desc.", "rest_not_in_enum")
        if shuffle_modified_ties is not None and orderby == "modified":
            ties = {r["id"]: shuffle_modified_ties.random() for r in items}
            keys["modified"] = lambda r: (r["modified"], ties[r["id"]])
        items.sort(key=keys[orderby], reverse=order == "desc")

    def _filter_ids(self, request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``include`` / ``exclude``: ``post__in`` / ``post__not_in`` (ids, comma list or repeated)."""
        include = {int(i) for i in self._list_arg(request, "include") if is_int(i)}
        if include:
            items = [r for r in items if r["id"] in include]
        exclude = {int(i) for i in self._list_arg(request, "exclude") if is_int(i)}
        if exclude:
            items = [r for r in items if r["id"] not in exclude]
        return items

    def _filter_status(self, request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``status`` (one value, products and variations): ``any`` (the default) is WP_Query's
        ``post_status=any``, every status but ``trash`` and ``auto-draft``; ``trash`` lists the trash."""
        status = self._arg(request, "status") or "any"
        if status == "any":
            return [r for r in items if r["status"] not in ("trash", "auto-draft")]
        return [r for r in items if r["status"] == status]

    def _filter_modified(self, request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        gmt = truthy(self._arg(request, "dates_are_gmt"))
        after = self._arg(request, "modified_after")
        before = self._arg(request, "modified_before")
        if after:
            bound = self._parse_date_filter(after, gmt)
            items = [r for r in items if r["modified"] > bound]
        if before:
            bound = self._parse_date_filter(before, gmt)
            items = [r for r in items if r["modified"] < bound]
        return items

    def _batch(
        self,
        request: Request,
        create: Callable[[dict[str, Any]], dict[str, Any]],
        update: Callable[[int, dict[str, Any]], dict[str, Any]],
        delete: Callable[[int], dict[str, Any]],
    ) -> dict[str, Any]:
        body = self._body(request)
        total = sum(len(body.get(k) or []) for k in ("create", "update", "delete"))
        if total > BATCH_LIMIT:
            raise WooApiError(
                "woocommerce_rest_request_entity_too_large",
                f"Unable to accept more than {BATCH_LIMIT} items for this request.",
                413,
            )
        out: dict[str, Any] = {}
        if "create" in body:
            out["create"] = []
            for item in body["create"] or []:
                try:
                    out["create"].append(create(item))
                except WooApiError as exc:
                    out["create"].append({"id": 0, "error": exc.body()})
        if "update" in body:
            out["update"] = []
            for item in body["update"] or []:
                item_id = item.get("id") if isinstance(item, dict) else None
                try:
                    if not is_int(item_id):
                        raise WooApiError("woocommerce_rest_invalid_id", "Invalid ID.", 400)
                    fields = {k: v for k, v in item.items() if k != "id"}
                    out["update"].append(update(int(item_id), fields))  # type: ignore[arg-type]
                except WooApiError as exc:
                    out["update"].append({"id": item_id or 0, "error": exc.body()})
        if "delete" in body:
            out["delete"] = []
            for item_id in body["delete"] or []:
                try:
                    out["delete"].append(delete(int(item_id)))
                except (WooApiError, ValueError, TypeError) as exc:
                    error = (
                        exc.body()
                        if isinstance(exc, WooApiError)
                        else {"code": "woocommerce_rest_invalid_id"}
                    )
                    out["delete"].append({"id": item_id, "error": error})
        return out
