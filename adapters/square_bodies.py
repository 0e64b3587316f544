"""What Square catalogue writes send and what their answers mean: pure translation, no I/O.

A create sends new ``ITEM`` objects with their variations under temporary ``#`` ids, answered by
``id_mappings``; an update edits the retrieved item in place (Square upserts replace whole
objects) and is answered with the objects' new versions. :data:`FIELD_SPLIT` declares which
catalogue fields live on the ``ITEM`` and which on each ``ITEM_VARIATION``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from adapters.base import (
    ArchiveProduct,
    CreateProduct,
    PermanentError,
    UpdateProduct,
    UpdateVariant,
    WriteOp,
    WriteResult,
)
from adapters.square_client import error_info
from adapters.square_values import JSON, object_version
from bridge.capabilities import FieldSplit
from bridge.models import ChannelVariant, Money, ProductStatus

__all__ = [
    "CATALOG_BATCH",
    "FIELD_SPLIT",
    "Edit",
    "created",
    "edited",
    "item_id",
    "new_items",
    "pack",
    "versions",
]

FIELD_SPLIT = FieldSplit(
    product=frozenset({"name", "description", "status"}),
    variant=frozenset({"price", "gtin"}),
)
"""Where Square keeps the catalogue fields: the ``ITEM``'s ``name``, ``description`` and
``is_archived`` (:func:`_edit_item`); each ``ITEM_VARIATION``'s ``price_money`` and ``upc``
(:func:`_edit_variation`). A variation's ``name`` is its option label ("Regular", "Large"), not
the product's name: a name written on the variation would rename the wrong thing."""

CATALOG_BATCH = 1000
"""Objects one ``BatchUpsertCatalogObjects`` may carry (an item counts with its variations)."""

Edit = tuple[int, WriteOp, str, JSON]
"""An op applied to a retrieved item: its index, the op, the object it touched and what it wrote."""


def new_items(batch: Sequence[tuple[int, CreateProduct]]) -> list[JSON]:
    """The ``ITEM`` objects (variations nested) that create ``batch``: ``#item{i}``, ``#item{i}var{j}``."""
    objects: list[JSON] = []
    for i, (_, op) in enumerate(batch):
        product = op.product
        client_id = f"#item{i}"
        item_data: JSON = {
            "name": product.name,
            "is_archived": product.status == ProductStatus.ARCHIVED,
            "variations": [
                {
                    "type": "ITEM_VARIATION",
                    "id": f"#item{i}var{j}",
                    "item_variation_data": _variation_data(client_id, variant),
                }
                for j, variant in enumerate(product.variants)
            ],
        }
        if product.description:
            item_data["description"] = product.description
        objects.append({"type": "ITEM", "id": client_id, "item_data": item_data})
    return objects


def created(batch: Sequence[tuple[int, CreateProduct]], data: JSON) -> dict[int, WriteResult]:
    """Each create of ``batch`` as Square's answer ``data`` tells it: its new ids and version."""
    batch_errors = data.get("errors") or []
    mapping: dict[str, str] = {
        str(m["client_object_id"]): str(m["object_id"]) for m in data.get("id_mappings") or []
    }
    stored = {str(o["id"]): o for o in data.get("objects") or []}
    results: dict[int, WriteResult] = {}
    for i, (n, op) in enumerate(batch):
        new_id = mapping.get(f"#item{i}")
        if new_id is None:
            code, message, _ = error_info({"errors": batch_errors})
            results[n] = WriteResult(key=op.key, ok=False, error=message, code=code)
            continue
        ids = {
            str(variant.sku): mapping[f"#item{i}var{j}"]
            for j, variant in enumerate(op.product.variants)
            if variant.sku and f"#item{i}var{j}" in mapping
        }
        item = stored.get(new_id, {})
        results[n] = WriteResult(
            key=op.key,
            ok=True,
            channel_id=new_id,
            ids=ids,
            version=object_version(item),
            written={"name": op.product.name},
        )
    return results


def _variation_data(parent: str, variant: ChannelVariant) -> JSON:
    data: JSON = {
        "item_id": parent,
        "name": variant.name or "Regular",
        "track_inventory": variant.manage_stock,
    }
    if variant.sku:
        data["sku"] = variant.sku
    if variant.gtin:
        data["upc"] = variant.gtin
    if variant.price is not None:
        data["pricing_type"] = "FIXED_PRICING"
        data["price_money"] = {"amount": variant.price.minor_units(), "currency": variant.price.currency}
    else:
        data["pricing_type"] = "VARIABLE_PRICING"
    return data


def item_id(op: WriteOp) -> str:
    if isinstance(op, UpdateVariant | UpdateProduct | ArchiveProduct):
        return op.product_id
    raise TypeError(op)


def edited(
    pending: Sequence[tuple[int, WriteOp]], items: Mapping[str, JSON], results: dict[int, WriteResult]
) -> dict[str, list[Edit]]:
    """Apply each op to its retrieved item (in place): item id -> the edits it carries. An op whose
    item is gone or whose value Square cannot hold is answered into ``results`` instead."""
    touched: dict[str, list[Edit]] = {}
    for n, op in pending:
        item = items.get(item_id(op))
        if item is None:
            results[n] = WriteResult(key=op.key, ok=False, code="NOT_FOUND", error="item not found")
            continue
        try:
            obj_id, written = _mutate(item, op)
        except (PermanentError, ValueError) as exc:
            results[n] = WriteResult(
                key=op.key,
                ok=False,
                error=str(exc),
                code=getattr(exc, "code", None) or "INVALID_VALUE",
            )
            continue
        touched.setdefault(str(item["id"]), []).append((n, op, obj_id, written))
    return touched


def _mutate(item: JSON, op: WriteOp) -> tuple[str, JSON]:
    """Apply ``op`` to the retrieved ``item`` in place; returns (touched object id, what we wrote)."""
    data = item.setdefault("item_data", {})
    if isinstance(op, ArchiveProduct):
        data["is_archived"] = True
        return str(item["id"]), {"status": ProductStatus.ARCHIVED.value}
    if isinstance(op, UpdateProduct):
        return str(item["id"]), _edit_item(data, op.fields)
    assert isinstance(op, UpdateVariant)
    for var in data.get("variations") or []:
        if str(var.get("id")) == op.variant_id:
            return op.variant_id, _edit_variation(var.setdefault("item_variation_data", {}), op.fields)
    raise PermanentError(f"variation {op.variant_id} not in item {op.product_id}", code="NOT_FOUND")


def _edit_item(data: JSON, fields: Mapping[str, Any]) -> JSON:
    """Write product ``fields`` into ``item_data``; returns what was written."""
    written: JSON = {}
    for name, value in fields.items():
        if name == "name":
            data["name"] = str(value)
        elif name == "description":
            data["description"] = value
            data.pop("description_html", None)
        elif name == "status":
            data["is_archived"] = ProductStatus(value) == ProductStatus.ARCHIVED
        else:
            raise PermanentError(f"unsupported product field {name!r}", code="UNSUPPORTED_FIELD")
        written[name] = value
    return written


def _edit_variation(vdata: JSON, fields: Mapping[str, Any]) -> JSON:
    """Write variant ``fields`` into ``item_variation_data``; returns what was written."""
    written: JSON = {}
    for name, value in fields.items():
        if name == "sku":
            vdata["sku"] = value
        elif name == "gtin":
            vdata["upc"] = value
        elif name == "name":
            vdata["name"] = value
        elif name == "price":
            money = value if isinstance(value, Money) else Money.model_validate(value)
            vdata["pricing_type"] = "FIXED_PRICING"
            vdata["price_money"] = {"amount": money.minor_units(), "currency": money.currency}
            value = {"amount": str(money.amount), "currency": money.currency}
        elif name == "status":
            vdata["sellable"] = ProductStatus(value) != ProductStatus.ARCHIVED
        elif name == "manage_stock":
            vdata["track_inventory"] = bool(value)
        else:
            raise PermanentError(f"unsupported variant field {name!r}", code="UNSUPPORTED_FIELD")
        written[name] = value
    return written


def versions(objects: Iterable[JSON]) -> dict[str, str]:
    out: dict[str, str] = {}
    for obj in objects:
        out[str(obj["id"])] = str(obj.get("version"))
        for var in (obj.get("item_data") or {}).get("variations") or []:
            out[str(var["id"])] = str(var.get("version"))
    return out


def pack(items: list[JSON]) -> list[list[JSON]]:
    """Whole items into batches of at most 1,000 objects (an item counts with its variations)."""
    batches: list[list[JSON]] = []
    size = 0
    for item in items:
        weight = 1 + len((item.get("item_data") or {}).get("variations") or [])
        if not batches or size + weight > CATALOG_BATCH:
            batches.append([])
            size = 0
        batches[-1].append(item)
        size += weight
    return batches
