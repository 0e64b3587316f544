"""The Square catalogue objects the Square adapter reads, as pydantic models: its validation boundary.

An ``ITEM`` (with its nested ``ITEM_VARIATION`` objects) that would make the conversion fail, such
as a variation without ``id`` or a SKU that is not a string, is caught here, skipped whole and
reported (:class:`adapters.issues.ReadIssue`) instead of stopping the sync. Fields read leniently
(prices, times, versions) are left lenient; unknown fields are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import Field

from adapters.issues import ReadIssue, WireModel, catalog_item_issue

__all__ = ["change_issue", "count_issue", "item_issue", "unkeyed_issue"]

CHANNEL = "square"
FIX = "fix it in the Square Dashboard; it syncs again once it is saved"


class _VariationData(WireModel):
    sku: str | None = None
    upc: str | None = None
    name: str | None = None


class SquareVariation(WireModel):
    id: str = Field(min_length=1)
    item_variation_data: _VariationData = Field(default_factory=_VariationData)


class _ItemData(WireModel):
    name: str | None = None
    description: str | None = None
    description_plaintext: str | None = None
    variations: list[Any] = Field(default_factory=list)


class SquareItem(WireModel):
    id: str = Field(min_length=1)
    item_data: _ItemData = Field(default_factory=_ItemData)


def _id(obj: Any) -> str | None:
    value = obj.get("id") if isinstance(obj, Mapping) else None
    return value if isinstance(value, str) and value else None


def item_issue(item: Any) -> ReadIssue | None:
    """Why ``item`` (an ``ITEM`` with its variations) cannot be read, or ``None``."""
    data = item.get("item_data") if isinstance(item, Mapping) else None
    nested = data.get("variations") if isinstance(data, Mapping) else None
    variations = [v for v in nested or [] if isinstance(v, Mapping)] if isinstance(nested, list) else []
    skus = tuple(
        str(sku)
        for v in variations
        if isinstance(sku := (v.get("item_variation_data") or {}).get("sku"), str) and sku.strip()
    )
    ids = tuple(vid for v in variations if (vid := _id(v)))
    return catalog_item_issue(
        CHANNEL,
        item,
        variations,
        kinds=("item", "variation"),
        models=(SquareItem, SquareVariation),
        object_id=_id,
        skus=skus,
        variant_ids=ids,
        hint=FIX,
    )


def unkeyed_issue(obj: Any) -> ReadIssue:
    """A catalogue object without a usable ``id``."""
    kind = (
        str(obj.get("type") or "object").lower().replace("_", " ") if isinstance(obj, Mapping) else "object"
    )
    return ReadIssue(CHANNEL, kind, None, "id", "is missing", hint=FIX, holds=True)


def _not_a_quantity(raw: Any) -> str | None:
    """What is wrong with a ``quantity`` (a decimal string in the spec), or ``None``."""
    try:
        if isinstance(raw, str | int) and Decimal(str(raw)).is_finite():
            return None
    except InvalidOperation:
        pass
    return f"is {raw!r}, not a number"


def count_issue(count: Any) -> ReadIssue | None:
    """Why an inventory count cannot be read, or ``None``. A ``quantity`` that is not a number
    (``"abc"``, ``"NaN"``) read as 0 would look like a shelf emptied by hand and be written to every
    channel; skipped, it holds its SKU back for the round."""
    if not isinstance(count, Mapping) or _id({"id": count.get("catalog_object_id")}) is None:
        return ReadIssue(CHANNEL, "inventory count", None, "catalog_object_id", "is missing", hint=FIX)
    vid, where = str(count["catalog_object_id"]), f"location {count.get('location_id')}"
    what = _not_a_quantity(count.get("quantity"))
    if what is None:
        return None
    return ReadIssue(
        CHANNEL, "inventory count", vid, "quantity", what, where, variant_ids=(vid,), hint=FIX, holds=True
    )


def change_issue(change: Any, part: Mapping[str, Any]) -> ReadIssue | None:
    """Why an inventory change (``part``: its ``physical_count`` or ``adjustment``) cannot be
    read, or ``None``. Skipped, it moves nothing: a count of ``"abc"`` is not a count of 0. (It
    holds nothing back: the next readable count is judged as usual.)"""
    what = _not_a_quantity(part.get("quantity"))
    if what is None:
        return None
    kind = (
        str(change.get("type") or "change").lower().replace("_", " ") if isinstance(change, Mapping) else ""
    )
    parent = f"variation {part.get('catalog_object_id')} at location {part.get('location_id')}"
    hint = "Square keeps its change log as is: its next readable count is taken as the shelf"
    return ReadIssue(CHANNEL, f"inventory {kind}", _id(part), "quantity", what, parent, hint=hint)
