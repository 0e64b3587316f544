"""Writing the catalogue: upserts with versions, ``#temp`` ids and all-or-nothing batches, and
deletes that leave tombstones (an item's variations go with it).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sandbox.http import Request
from sandbox.square.errors import SquareError
from sandbox.square.views import SquareViews
from sandbox.square.webhooks import SquareWebhooks
from sandbox.square.wire import JSON, fmt_ms, new_id


def _remap(value: Any, mapping: dict[str, str]) -> Any:
    """``value`` with every string equal to a ``#temp`` id of the batch replaced by its real id."""
    if isinstance(value, str):
        return mapping.get(value, value)
    if isinstance(value, list):
        return [_remap(v, mapping) for v in value]
    if isinstance(value, dict):
        return {k: _remap(v, mapping) for k, v in value.items()}
    return value


class SquareCatalog(SquareViews, SquareWebhooks):
    """Catalogue writes: upsert one or in batches, delete one or in batches."""

    def _upsert_one(self, request: Request) -> JSON:
        body: JSON = request.json()
        if not body.get("idempotency_key"):
            raise SquareError(
                400, "MISSING_REQUIRED_PARAMETER", "idempotency_key is required.", field="idempotency_key"
            )
        obj = body.get("object")
        if not isinstance(obj, dict):
            raise SquareError(400, "MISSING_REQUIRED_PARAMETER", "object is required.", field="object")
        objects, mappings, updated = self._apply_batch([obj])
        out: JSON = {"catalog_object": objects[0]}
        if mappings:
            out["id_mappings"] = mappings
        self._emit_catalog(updated)
        return out

    def _batch_upsert(self, request: Request) -> JSON:
        body: JSON = request.json()
        if not body.get("idempotency_key"):
            raise SquareError(
                400, "MISSING_REQUIRED_PARAMETER", "idempotency_key is required.", field="idempotency_key"
            )
        batches = body.get("batches")
        if not isinstance(batches, list) or not batches:
            raise SquareError(400, "MISSING_REQUIRED_PARAMETER", "batches is required.", field="batches")
        total = 0
        for n, batch in enumerate(batches):
            objects = batch.get("objects") if isinstance(batch, dict) else None
            if not isinstance(objects, list) or not objects:
                raise SquareError(
                    400, "ARRAY_EMPTY", "A batch has no objects.", field=f"batches[{n}].objects"
                )
            size = sum(
                1 + len((o.get("item_data") or {}).get("variations") or [])
                for o in objects
                if isinstance(o, dict)
            )
            if size > 1000:
                raise SquareError(
                    400,
                    "ARRAY_LENGTH_TOO_LONG",
                    "A batch may hold up to 1000 objects.",
                    field=f"batches[{n}]",
                )
            total += size
        if total > 10000:
            raise SquareError(
                400, "ARRAY_LENGTH_TOO_LONG", "A request may hold up to 10000 objects.", field="batches"
            )
        all_objects: list[JSON] = []
        all_mappings: list[JSON] = []
        errors: list[JSON] = []
        updated_at = None
        for batch in batches:
            try:
                objects, mappings, updated = self._apply_batch(batch["objects"])
            except SquareError as exc:
                errors.append(exc.as_error())
                continue
            all_objects.extend(objects)
            all_mappings.extend(mappings)
            updated_at = updated
        if errors and not all_objects:
            return {"errors": errors, "__status__": 400}
        out: JSON = {"objects": all_objects}
        if updated_at is not None:
            out["updated_at"] = fmt_ms(updated_at)
            self._emit_catalog(updated_at)
        if all_mappings:
            out["id_mappings"] = all_mappings
        if errors:
            out["errors"] = errors
        return out

    def _emit_catalog(self, updated_ms: int) -> None:
        self._emit(
            "catalog.version.updated",
            {
                "type": "catalog_version",
                "id": str(uuid.uuid4()),
                "object": {"catalog_version": {"updated_at": fmt_ms(updated_ms)}},
            },
        )

    def _apply_batch(self, objects: list[Any]) -> tuple[list[JSON], list[JSON], int]:
        """Validate then apply one all-or-nothing batch; returns (objects, id_mappings, version)."""
        flat = self._flatten_batch(objects)
        mapping = self._map_batch_ids(flat)
        self._check_batch_references(flat, mapping)
        # All checks passed: apply.
        now = self._tick()
        stamp = fmt_ms(now)
        out_ids: list[str] = []
        for obj, parent in flat:
            obj_id = mapping.get(str(obj["id"]), str(obj["id"]))
            record = _remap(
                {k: v for k, v in obj.items() if k not in ("updated_at", "version", "is_deleted", "id")},
                mapping,
            )
            record.update(self._envelope(str(obj["type"]), obj_id, now, stamp))
            if "present_at_all_locations" in obj:
                record["present_at_all_locations"] = bool(obj["present_at_all_locations"])
            if obj["type"] == "ITEM":
                self._store_item_data(obj_id, record, mapping, now, stamp)
                out_ids.append(obj_id)
            elif obj["type"] == "ITEM_VARIATION":
                self._attach_variation(obj_id, record, parent, mapping)
                if parent is None:
                    out_ids.append(obj_id)
            else:
                out_ids.append(obj_id)
            self._objects[obj_id] = record
        mappings = [{"client_object_id": k, "object_id": v} for k, v in mapping.items()]
        return [self._render(self._objects[i]) for i in out_ids], mappings, now

    @staticmethod
    def _flatten_batch(objects: list[Any]) -> list[tuple[JSON, str | None]]:
        """Each object, then an ITEM's nested variations, paired with their parent's (temp or real) id."""
        flat: list[tuple[JSON, str | None]] = []  # (object, parent temp/real id for nested variations)
        for obj in objects:
            if not isinstance(obj, dict) or not obj.get("type") or not obj.get("id"):
                raise SquareError(400, "MISSING_REQUIRED_PARAMETER", "Objects need type and id.", field="id")
            flat.append((obj, None))
            if obj["type"] == "ITEM":
                for var in (obj.get("item_data") or {}).get("variations") or []:
                    if not isinstance(var, dict) or var.get("type") != "ITEM_VARIATION" or not var.get("id"):
                        raise SquareError(
                            400, "INVALID_VALUE", "Invalid nested variation.", field="variations"
                        )
                    flat.append((var, str(obj["id"])))
        return flat

    def _map_batch_ids(self, flat: list[tuple[JSON, str | None]]) -> dict[str, str]:
        """A new id for every ``#temp`` id; every real id must name a live object of that type and,
        when a version is given, that object's current version."""
        mapping: dict[str, str] = {}
        for obj, _ in flat:
            obj_id = str(obj["id"])
            if obj.get("is_deleted") is True:
                raise SquareError(
                    400, "INVALID_VALUE", "is_deleted must not be true on upsert.", field="is_deleted"
                )
            if obj_id.startswith("#"):
                if obj_id in mapping:
                    raise SquareError(400, "INVALID_VALUE", f"Duplicate temporary id {obj_id}.", field="id")
                mapping[obj_id] = new_id()
                continue
            stored = self._objects.get(obj_id)
            if stored is None or stored["is_deleted"]:
                raise SquareError(400, "NOT_FOUND", f"Object {obj_id} not found.", field="id")
            if stored["type"] != obj["type"]:
                raise SquareError(
                    400, "INVALID_VALUE", f"Object {obj_id} has type {stored['type']}.", field="type"
                )
            if obj.get("version") is not None and int(obj["version"]) != int(stored["version"]):
                raise SquareError(
                    400,
                    "VERSION_MISMATCH",
                    "Object version does not match latest database version.",
                    field="version",
                )
        return mapping

    def _check_batch_references(self, flat: list[tuple[JSON, str | None]], mapping: dict[str, str]) -> None:
        """A variation needs an item (in the batch or stored) and an integer price; a new item a name."""
        for obj, parent in flat:
            if obj["type"] == "ITEM_VARIATION":
                data = obj.get("item_variation_data") or {}
                item_ref = parent or data.get("item_id")
                if not item_ref:
                    raise SquareError(
                        400, "MISSING_REQUIRED_PARAMETER", "item_id is required.", field="item_id"
                    )
                real = mapping.get(str(item_ref), str(item_ref))
                target = self._objects.get(real)
                if (real not in mapping.values()) and (target is None or target["type"] != "ITEM"):
                    raise SquareError(400, "INVALID_VALUE", f"Item {item_ref} not found.", field="item_id")
                price = data.get("price_money")
                if price is not None and (
                    not isinstance(price, dict) or not isinstance(price.get("amount"), int)
                ):
                    raise SquareError(
                        400, "INVALID_VALUE", "price_money.amount must be an integer.", field="price_money"
                    )
            if obj["type"] == "ITEM" and not (obj.get("item_data") or {}).get("name"):
                stored = self._objects.get(str(obj["id"]))
                if stored is None:
                    raise SquareError(
                        400, "MISSING_REQUIRED_PARAMETER", "item_data.name is required.", field="name"
                    )

    def _store_item_data(
        self, obj_id: str, record: JSON, mapping: dict[str, str], now: int, stamp: str
    ) -> None:
        """An ITEM's data without its nested variations (an upsert without a name keeps the old one);
        when variations are given, the item's old variations missing from them are deleted."""
        data = dict(record.get("item_data") or {})
        nested = data.pop("variations", None)
        previous = self._objects.get(obj_id)
        if previous is not None and not data.get("name"):
            data["name"] = previous["item_data"].get("name")
        record["item_data"] = data
        if nested is not None:
            keep = [mapping.get(str(v["id"]), str(v["id"])) for v in nested]
            for old in self._children.get(obj_id, []):
                if old not in keep and not self._objects[old]["is_deleted"]:
                    self._tombstone(old, now, stamp)
            self._children[obj_id] = keep + [old for old in self._children.get(obj_id, []) if old not in keep]
        else:
            self._children.setdefault(obj_id, [])

    def _attach_variation(
        self, obj_id: str, record: JSON, parent: str | None, mapping: dict[str, str]
    ) -> None:
        """A variation's ``item_id`` is its (mapped) parent's; the item lists it among its children."""
        data = dict(record.get("item_variation_data") or {})
        item_ref = parent or str(data.get("item_id"))
        item_id = mapping.get(item_ref, item_ref)
        data["item_id"] = item_id
        record["item_variation_data"] = data
        children = self._children.setdefault(item_id, [])
        if obj_id not in children:
            children.append(obj_id)

    def _tombstone(self, obj_id: str, now: int, stamp: str) -> list[str]:
        obj = self._objects[obj_id]
        obj.update({"is_deleted": True, "version": now, "updated_at": stamp})
        deleted = [obj_id]
        if obj["type"] == "ITEM":
            for child in self._children.get(obj_id, []):
                if not self._objects[child]["is_deleted"]:
                    self._objects[child].update({"is_deleted": True, "version": now, "updated_at": stamp})
                    deleted.append(child)
        return deleted

    def _delete_ids(self, ids: Sequence[str]) -> JSON:
        now = self._tick()
        stamp = fmt_ms(now)
        deleted: list[str] = []
        for obj_id in ids:
            obj = self._objects.get(obj_id)
            if obj is None or obj["is_deleted"]:
                continue
            deleted.extend(self._tombstone(obj_id, now, stamp))
        out: JSON = {"deleted_at": stamp}
        if deleted:
            out["deleted_object_ids"] = deleted
            self._emit_catalog(now)
        return out

    def _batch_delete(self, request: Request) -> JSON:
        ids = request.json().get("object_ids") or []
        if len(ids) > 200:
            raise SquareError(400, "ARRAY_LENGTH_TOO_LONG", "At most 200 object ids.", field="object_ids")
        return self._delete_ids([str(i) for i in ids])

    def _delete_object(self, request: Request) -> JSON:
        obj = self._objects.get(request.params["id"])
        if obj is None or obj["is_deleted"]:
            raise SquareError(404, "NOT_FOUND", "Object not found.")
        return self._delete_ids([request.params["id"]])
