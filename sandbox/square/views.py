"""Wire views: the JSON Square answers for stored catalogue objects, counts and changes."""

from __future__ import annotations

from decimal import Decimal

from sandbox.square.state import SquareState
from sandbox.square.wire import JSON, fmt_ms, fmt_qty


class SquareViews(SquareState):
    """Render stored objects, counts and inventory changes as the API shows them."""

    @staticmethod
    def _envelope(kind: str, obj_id: str, version: int, stamp: str) -> JSON:
        return {
            "type": kind,
            "id": obj_id,
            "updated_at": stamp,
            "version": version,
            "is_deleted": False,
            "present_at_all_locations": True,
        }

    def _render(self, obj: JSON) -> JSON:
        """The wire form of a stored object; an ITEM carries its variations (tombstones only when deleted)."""
        out = dict(obj)
        if obj["type"] == "ITEM":
            data = dict(obj["item_data"])
            deleted = bool(obj["is_deleted"])
            data["variations"] = [
                dict(self._objects[v])
                for v in self._children.get(obj["id"], [])
                if bool(self._objects[v]["is_deleted"]) == deleted
            ]
            out["item_data"] = data
        return out

    def _count_json(self, key: tuple[str, str]) -> JSON:
        qty, calculated = self._counts.get(key, (Decimal(0), self._last_ms))
        return {
            "catalog_object_id": key[0],
            "catalog_object_type": "ITEM_VARIATION",
            "state": "IN_STOCK",
            "location_id": key[1],
            "quantity": fmt_qty(qty),
            "calculated_at": fmt_ms(calculated),
        }

    @staticmethod
    def _public(change: JSON) -> JSON:
        return {k: v for k, v in change.items() if not k.startswith("_")}
