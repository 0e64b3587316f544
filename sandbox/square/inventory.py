"""Inventory: the change log and the counts Square derives from it.

A count is the last ``PHYSICAL_COUNT`` by ``occurred_at`` plus the adjustments after it;
``BatchChangeInventory`` validates every change first (known variation and location,
``occurred_at`` within 24 hours) and skips unchanged counts unless told otherwise.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.http import Request
from sandbox.square.errors import SquareError
from sandbox.square.paging import next_cursor, page_limit, page_offset, time_filter
from sandbox.square.views import SquareViews
from sandbox.square.webhooks import SquareWebhooks
from sandbox.square.wire import JSON, fmt_ms, fmt_qty, new_id, parse_ms

_WRITABLE_STATES = {"IN_STOCK", "SOLD", "WASTE", "NONE", "UNLINKED_RETURN"}


MAX_OCCURRED_AGE_MS = 24 * 3600 * 1000


class SquareInventory(SquareViews, SquareWebhooks):
    """Inventory changes in, counts and changes out."""

    def _tracked(self, var_id: str, loc_id: str) -> bool:
        obj = self._objects.get(var_id)
        if obj is None or obj["type"] != "ITEM_VARIATION":
            return False
        data = obj["item_variation_data"]
        for override in data.get("location_overrides") or []:
            if override.get("location_id") == loc_id and "track_inventory" in override:
                return bool(override["track_inventory"])
        return bool(data.get("track_inventory"))

    def _recount(self, key: tuple[str, str]) -> None:
        """Square's rule: the last PHYSICAL_COUNT (by occurred_at) plus the adjustments after it."""
        changes = self._changes_by_key.get(key, [])
        changes.sort(key=lambda c: (c["_occurred"], c["_created"]))
        qty = Decimal(0)
        for change in changes:
            if change["type"] == "PHYSICAL_COUNT":
                if change["physical_count"]["state"] == "IN_STOCK":
                    qty = Decimal(change["physical_count"]["quantity"])
            else:
                adj = change["adjustment"]
                if adj["to_state"] == "IN_STOCK":
                    qty += Decimal(adj["quantity"])
                if adj["from_state"] == "IN_STOCK":
                    qty -= Decimal(adj["quantity"])
        calculated = max((c["_created"] for c in changes), default=0)
        self._counts[key] = (qty, calculated)

    def _validate_change(self, n: int, change: Any, now: int) -> tuple[JSON, str]:
        if not isinstance(change, dict):
            raise SquareError(400, "INVALID_VALUE", "Invalid change.", field=f"changes[{n}]")
        kind = change.get("type")
        part_name = {"PHYSICAL_COUNT": "physical_count", "ADJUSTMENT": "adjustment"}.get(str(kind))
        if part_name is None:
            raise SquareError(
                400, "INVALID_ENUM_VALUE", f"Unsupported change type {kind}.", field=f"changes[{n}].type"
            )
        part = change.get(part_name)
        if not isinstance(part, dict):
            raise SquareError(
                400, "MISSING_REQUIRED_PARAMETER", f"{part_name} is required.", field=f"changes[{n}]"
            )
        field = f"changes[{n}].{part_name}"
        obj = self._objects.get(str(part.get("catalog_object_id")))
        if obj is None or obj["is_deleted"] or obj["type"] != "ITEM_VARIATION":
            raise SquareError(
                400, "INVALID_VALUE", "Unknown catalog_object_id.", field=f"{field}.catalog_object_id"
            )
        if part.get("location_id") not in {loc["id"] for loc in self._locations}:
            raise SquareError(400, "INVALID_VALUE", "Unknown location_id.", field=f"{field}.location_id")
        try:
            qty = Decimal(str(part.get("quantity")))
        except InvalidOperation as exc:
            raise SquareError(400, "INVALID_VALUE", "Invalid quantity.", field=f"{field}.quantity") from exc
        if qty < 0 or (kind == "ADJUSTMENT" and qty == 0) or not qty.is_finite():
            raise SquareError(400, "INVALID_VALUE", "Invalid quantity.", field=f"{field}.quantity")
        if not part.get("occurred_at"):
            raise SquareError(
                400, "MISSING_REQUIRED_PARAMETER", "occurred_at is required.", field=f"{field}.occurred_at"
            )
        try:
            occurred = parse_ms(str(part["occurred_at"]))
        except ValueError as exc:
            raise SquareError(
                400, "INVALID_TIME", "Invalid occurred_at.", field=f"{field}.occurred_at"
            ) from exc
        if occurred > now + 1000 or occurred < now - MAX_OCCURRED_AGE_MS:
            raise SquareError(
                400,
                "INVALID_VALUE",
                "occurred_at must be within the last 24 hours and not in the future.",
                field=f"{field}.occurred_at",
            )
        if kind == "PHYSICAL_COUNT":
            if part.get("state") not in ("IN_STOCK", "WASTE"):
                raise SquareError(400, "INVALID_VALUE", "Invalid state.", field=f"{field}.state")
        else:
            for attr in ("from_state", "to_state"):
                if part.get(attr) not in _WRITABLE_STATES:
                    raise SquareError(400, "INVALID_VALUE", f"Invalid {attr}.", field=f"{field}.{attr}")
            if part["from_state"] == part["to_state"]:
                raise SquareError(
                    400, "INVALID_VALUE", "from_state equals to_state.", field=f"{field}.to_state"
                )
        return part, str(kind)

    def _record_change(
        self, kind: str, part: JSON, now: int, source: JSON, extra: JSON | None = None
    ) -> JSON:
        part_name = "physical_count" if kind == "PHYSICAL_COUNT" else "adjustment"
        occurred = parse_ms(str(part["occurred_at"]))
        stored: JSON = {
            "id": new_id(),
            "catalog_object_id": part["catalog_object_id"],
            "catalog_object_type": "ITEM_VARIATION",
            "location_id": part["location_id"],
            "quantity": fmt_qty(Decimal(str(part["quantity"]))),
            "occurred_at": fmt_ms(occurred),
            "created_at": fmt_ms(now),
            "source": source,
        }
        if kind == "PHYSICAL_COUNT":
            stored["state"] = part["state"]
        else:
            stored["from_state"] = part["from_state"]
            stored["to_state"] = part["to_state"]
        for attr in ("reference_id", "team_member_id", "employee_id"):
            if part.get(attr):
                stored[attr] = str(part[attr])
        stored.update(extra or {})
        change = {"type": kind, part_name: stored, "_occurred": occurred, "_created": now}
        self._changes.append(change)
        key = (str(part["catalog_object_id"]), str(part["location_id"]))
        self._changes_by_key.setdefault(key, []).append(change)
        return change

    def _emit_counts(self, keys: Iterable[tuple[str, str]]) -> None:
        counts = [self._count_json(k) for k in keys]
        for start in range(0, len(counts), 100):
            self._emit(
                "inventory.count.updated",
                {
                    "type": "inventory_counts",
                    "id": str(uuid.uuid4()),
                    "object": {"inventory_counts": counts[start : start + 100]},
                },
            )

    def _batch_change(self, request: Request) -> JSON:
        body: JSON = request.json()
        if not body.get("idempotency_key"):
            raise SquareError(
                400, "MISSING_REQUIRED_PARAMETER", "idempotency_key is required.", field="idempotency_key"
            )
        changes = body.get("changes") or []
        if not isinstance(changes, list):
            raise SquareError(400, "EXPECTED_ARRAY", "changes must be an array.", field="changes")
        if len(changes) > self.max_inventory_changes:
            raise SquareError(
                400,
                "ARRAY_LENGTH_TOO_LONG",
                f"At most {self.max_inventory_changes} changes per request.",
                field="changes",
            )
        now = self._tick()
        validated = [self._validate_change(n, change, now) for n, change in enumerate(changes)]
        ignore_unchanged = body.get("ignore_unchanged_counts", True) is not False
        source = {"product": "EXTERNAL_API", "application_id": self.application_id, "name": "API"}
        created: list[JSON] = []
        keys: list[tuple[str, str]] = []
        for part, kind in validated:
            key = (str(part["catalog_object_id"]), str(part["location_id"]))
            if key not in keys:
                keys.append(key)
            if (
                kind == "PHYSICAL_COUNT"
                and ignore_unchanged
                and key in self._counts
                and self._counts[key][0] == Decimal(str(part["quantity"]))
            ):
                continue
            created.append(self._record_change(kind, part, now, source))
            self._recount(key)
        out: JSON = {"counts": [self._count_json(k) for k in keys]}
        if created:
            out["changes"] = [self._public(c) for c in created]
            self._emit_counts(keys)
        return out

    def _batch_counts(self, request: Request) -> JSON:
        body: JSON = request.json()
        ids = set(body.get("catalog_object_ids") or [])
        locs = set(body.get("location_ids") or [])
        states = set(body.get("states") or [])
        after = time_filter(body, "updated_after")
        limit = page_limit(body.get("limit"), 1000, 1000)
        offset = page_offset(body.get("cursor"))
        if states and "IN_STOCK" not in states:
            return {}

        def build() -> list[tuple[tuple[str, str], int]]:
            found = [
                (key, calc)
                for key, (_, calc) in self._counts.items()
                if (not ids or key[0] in ids)
                and (not locs or key[1] in locs)
                and (after is None or calc > after)
                and self._tracked(*key)
                and not self._objects[key[0]]["is_deleted"]
            ]
            found.sort(key=lambda r: (-r[1], r[0]))
            return found

        rows = self._cached(("counts", frozenset(ids), frozenset(locs), after), build)
        page = rows[offset : offset + limit]
        out: JSON = {}
        if page:
            out["counts"] = [self._count_json(key) for key, _ in page]
        cursor = next_cursor(offset, limit, len(rows))
        if cursor:
            out["cursor"] = cursor
        return out

    def _batch_changes(self, request: Request) -> JSON:
        body: JSON = request.json()
        ids = set(body.get("catalog_object_ids") or [])
        locs = set(body.get("location_ids") or [])
        types = set(body.get("types") or ["PHYSICAL_COUNT", "ADJUSTMENT"])
        if "TRANSFER" in types:
            raise SquareError(400, "INVALID_VALUE", "TRANSFER is not a valid filter.", field="types")
        states = set(body.get("states") or [])
        after = time_filter(body, "updated_after")
        before = time_filter(body, "updated_before")
        limit = page_limit(body.get("limit"), 100, 1000)
        offset = page_offset(body.get("cursor"))

        def keep(change: JSON) -> bool:
            if change["type"] not in types:
                return False
            part = change["physical_count"] if change["type"] == "PHYSICAL_COUNT" else change["adjustment"]
            if ids and part["catalog_object_id"] not in ids:
                return False
            if locs and part["location_id"] not in locs:
                return False
            if (
                states
                and change["type"] == "ADJUSTMENT"
                and not ({part["from_state"], part["to_state"]} & states)
            ):
                return False
            if after is not None and change["_created"] <= after:
                return False
            return before is None or change["_created"] < before

        def build() -> list[JSON]:
            found = [c for c in self._changes if keep(c)]
            found.sort(key=lambda c: (c["_occurred"], c["_created"]))
            return found

        rows = self._cached(
            ("changes", frozenset(ids), frozenset(locs), frozenset(types), frozenset(states), after, before),
            build,
        )
        page = rows[offset : offset + limit]
        out: JSON = {}
        if page:
            out["changes"] = [self._public(c) for c in page]
        cursor = next_cursor(offset, limit, len(rows))
        if cursor:
            out["cursor"] = cursor
        return out
