"""Reading the catalogue: ``ListCatalog``, ``SearchCatalogObjects`` (with its query kinds and
``begin_time``), retrieve one or a batch; pages in (version, id) keyset order.
"""

from __future__ import annotations

import base64
import bisect
import json
from collections.abc import Callable
from typing import Any

from sandbox.http import Request
from sandbox.square.errors import SquareError
from sandbox.square.paging import time_filter
from sandbox.square.views import SquareViews
from sandbox.square.wire import JSON, fmt_ms


class SquareCatalogSearch(SquareViews):
    """Catalogue reads: list, search, retrieve."""

    def _catalog_info(self, request: Request) -> JSON:
        return {
            "limits": {
                "batch_delete_max_object_ids": 200,
                "batch_retrieve_max_object_ids": 1000,
                "batch_upsert_max_objects_per_batch": 1000,
                "batch_upsert_max_total_objects": 10000,
                "search_max_page_limit": 1000,
            }
        }

    @staticmethod
    def _decode_cursor(cursor: str | None) -> tuple[int, str] | None:
        if not cursor:
            return None
        try:
            version, _, obj_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
            return int(version), obj_id
        except (ValueError, UnicodeDecodeError) as exc:
            raise SquareError(400, "INVALID_CURSOR", "The cursor is not valid.", field="cursor") from exc

    @staticmethod
    def _encode_cursor(obj: JSON) -> str:
        return base64.urlsafe_b64encode(f"{obj['version']}:{obj['id']}".encode()).decode()

    def _page_objects(
        self,
        *,
        types: set[str],
        include_deleted: bool,
        begin_ms: int | None,
        cursor: str | None,
        limit: int,
        match: Callable[[JSON], bool] | None = None,
        match_key: str = "",
    ) -> tuple[list[JSON], str | None]:
        """Objects ordered by (version, id): a keyset order, so pages stay consistent under writes."""
        after = self._decode_cursor(cursor)

        def build() -> list[JSON]:
            found = [
                obj
                for obj in self._objects.values()
                if obj["type"] in types
                and (include_deleted or not obj["is_deleted"])
                and (begin_ms is None or obj["version"] > begin_ms)
                and (match is None or match(obj))
            ]
            found.sort(key=lambda o: (o["version"], o["id"]))
            return found

        ordered = self._cached(("catalog", frozenset(types), include_deleted, begin_ms, match_key), build)
        start = (
            0 if after is None else bisect.bisect_right(ordered, after, key=lambda o: (o["version"], o["id"]))
        )
        found = ordered[start:]
        page = found[:limit]
        next_cursor = self._encode_cursor(page[-1]) if len(found) > limit else None
        return [self._render(o) for o in page], next_cursor

    def _list_catalog(self, request: Request) -> JSON:
        raw_types = request.arg("types") or "ITEM,CATEGORY,TAX,DISCOUNT,MODIFIER_LIST"
        types = {t.strip().upper() for t in raw_types.split(",") if t.strip()}
        objects, cursor = self._page_objects(
            types=types, include_deleted=False, begin_ms=None, cursor=request.arg("cursor"), limit=100
        )
        out: JSON = {}
        if objects:
            out["objects"] = objects
        if cursor:
            out["cursor"] = cursor
        return out

    def _latest_ms(self) -> int:
        return max((o["version"] for o in self._objects.values()), default=0)

    def _search_catalog(self, request: Request) -> JSON:
        body: JSON = request.json()
        types = {str(t).upper() for t in body.get("object_types") or []} or {
            "ITEM",
            "ITEM_VARIATION",
            "CATEGORY",
            "TAX",
            "DISCOUNT",
            "MODIFIER_LIST",
            "MODIFIER",
            "IMAGE",
        }
        begin_ms = time_filter(body, "begin_time")
        limit = body.get("limit")
        if not isinstance(limit, int) or limit <= 0 or limit > 1000:
            limit = 100
        match = self._catalog_query(body.get("query"))
        objects, cursor = self._page_objects(
            types=types,
            include_deleted=bool(body.get("include_deleted_objects")),
            begin_ms=begin_ms,
            cursor=body.get("cursor"),
            limit=limit,
            match=match,
            match_key=json.dumps(body.get("query"), sort_keys=True),
        )
        out: JSON = {}
        if objects:
            out["objects"] = objects
        if cursor:
            out["cursor"] = cursor
        latest = self._latest_ms()
        if latest:
            out["latest_time"] = fmt_ms(latest)
        if body.get("include_related_objects") and objects:
            related = []
            for obj in objects:
                if obj["type"] == "ITEM_VARIATION":
                    parent = self._objects.get(obj["item_variation_data"].get("item_id", ""))
                    if parent is not None:
                        related.append(self._render(parent))
            if related:
                out["related_objects"] = related
        return out

    @staticmethod
    def _attribute(obj: JSON, name: str) -> str | None:
        data = obj.get(f"{str(obj['type']).lower()}_data") or {}
        value = data.get(name)
        return None if value is None else str(value)

    def _catalog_query(self, query: Any) -> Callable[[JSON], bool] | None:
        """``exact_query``, ``set_query``, ``prefix_query`` and ``text_query`` (case-insensitive)."""
        if not isinstance(query, dict) or not query:
            return None
        tests: list[Callable[[JSON], bool]] = []
        if isinstance(query.get("exact_query"), dict):
            name, value = query["exact_query"]["attribute_name"], str(query["exact_query"]["attribute_value"])
            tests.append(lambda o: (self._attribute(o, name) or "").lower() == value.lower())
        if isinstance(query.get("set_query"), dict):
            name = query["set_query"]["attribute_name"]
            values = {str(v).lower() for v in query["set_query"]["attribute_values"]}
            tests.append(lambda o: (self._attribute(o, name) or "").lower() in values)
        if isinstance(query.get("prefix_query"), dict):
            pname = query["prefix_query"]["attribute_name"]
            prefix = str(query["prefix_query"]["attribute_prefix"]).lower()
            tests.append(lambda o: (self._attribute(o, pname) or "").lower().startswith(prefix))
        if isinstance(query.get("text_query"), dict):
            words = [str(k).lower() for k in query["text_query"].get("keywords", [])]

            def text(o: JSON) -> bool:
                hay = " ".join(
                    self._attribute(o, a) or "" for a in ("name", "description", "sku", "upc", "abbreviation")
                ).lower()
                return all(w in hay for w in words)

            tests.append(text)
        return lambda o: all(t(o) for t in tests)

    def _batch_retrieve(self, request: Request) -> JSON:
        body: JSON = request.json()
        ids = body.get("object_ids")
        if not isinstance(ids, list) or not ids:
            raise SquareError(
                400, "MISSING_REQUIRED_PARAMETER", "object_ids is required.", field="object_ids"
            )
        if len(ids) > 1000:
            raise SquareError(400, "ARRAY_LENGTH_TOO_LONG", "At most 1000 object ids.", field="object_ids")
        include_deleted = bool(body.get("include_deleted_objects"))
        objects = [
            self._render(self._objects[str(i)])
            for i in ids
            if str(i) in self._objects and (include_deleted or not self._objects[str(i)]["is_deleted"])
        ]
        return {"objects": objects} if objects else {}

    def _retrieve_object(self, request: Request) -> JSON:
        obj = self._objects.get(request.params["id"])
        if obj is None or obj["is_deleted"]:
            raise SquareError(404, "NOT_FOUND", "Object not found.")
        return {"object": self._render(obj)}
