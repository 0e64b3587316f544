"""What WooCommerce writes send and what their answers mean: pure translation, no I/O.

Canonical products, variants and sparse field updates become wc/v3 request bodies (decimals as
JSON strings, statuses mapped both ways), and a batch answer's item becomes a
:class:`~adapters.base.WriteResult`. :data:`FIELD_SPLIT` declares which catalogue fields live on
the product and which on each variation (the adapter's capabilities carry it to the engine).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from adapters.base import CreateProduct, WriteOp, WriteResult
from adapters.woocommerce_wire import modified_version
from bridge.capabilities import FieldSplit
from bridge.models import ChannelProduct, ChannelVariant, Money, ProductStatus

__all__ = [
    "FIELD_SPLIT",
    "MARKER",
    "STATUS_IN",
    "STATUS_OUT",
    "BatchEntry",
    "batch_body",
    "create_body",
    "marked",
    "product_fields",
    "result_of",
    "variant_fields",
    "variation_body",
]

STATUS_IN = {
    "publish": ProductStatus.ACTIVE,
    "draft": ProductStatus.DRAFT,
    "pending": ProductStatus.DRAFT,
    "future": ProductStatus.DRAFT,
    "private": ProductStatus.ARCHIVED,
    "trash": ProductStatus.ARCHIVED,
}
# Archive = "private": hidden from the shop and from search, still editable, still holding its
# SKU and stock, and distinct from "draft" (a product not yet launched) so the round trip
# ARCHIVED -> private -> ARCHIVED is lossless. "draft" would merge two meanings.
STATUS_OUT = {
    ProductStatus.ACTIVE: "publish",
    ProductStatus.DRAFT: "draft",
    ProductStatus.ARCHIVED: "private",
}
FIELD_SPLIT = FieldSplit(
    product=frozenset({"name", "description", "status"}),
    variant=frozenset({"price", "gtin"}),
)
"""Where WooCommerce keeps the catalogue fields: a product's ``name``, ``description`` and
``status`` (``publish``/``private``...) once per product, written by :func:`product_fields`; each
variation's ``regular_price`` and ``global_unique_id``, written by :func:`variant_fields` (a
simple product is its own variation: both land on the product). A variation's own description
and status exist too, but the product's are what the shop shows and what we read."""

MARKER = "_shopbridge_key"
"""Meta key of the products we create: the outbox key of the create (see ``_post_creates``)."""


def _money_str(money: Money | Decimal | str) -> str:
    """WooCommerce wants decimals as JSON strings ("12.50"), never numbers."""
    amount = money.amount if isinstance(money, Money) else Decimal(money)
    return str(amount.quantize(Decimal("0.01")))


def marked(body: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {**body, "meta_data": [{"key": MARKER, "value": key}]}


BatchEntry = tuple[int, str, dict[str, Any]]
"""One item of a batch request: the index of its op, the action (``create``/``update``), the item."""


def batch_body(chunk: Sequence[BatchEntry]) -> dict[str, list[dict[str, Any]]]:
    body: dict[str, list[dict[str, Any]]] = {}
    for _, action, item in chunk:
        body.setdefault(action, []).append(item)
    return body


def result_of(op: WriteOp, sent: Mapping[str, Any], answered: Mapping[str, Any]) -> WriteResult:
    error = answered.get("error")
    if error:
        status = int((error.get("data") or {}).get("status") or 400)
        return WriteResult(
            key=op.key,
            ok=False,
            retryable=status >= 500 or status == 429,
            error=str(error.get("message")),
            code=error.get("code"),
            # a duplicate SKU names the holder: the caller can link instead of creating
            channel_id=str(answered.get("id") or (error.get("data") or {}).get("resource_id") or "") or None,
        )
    written = {k: answered.get(k) for k in sent if k not in ("id", "variations", "attributes", "meta_data")}
    ids = {}
    if isinstance(op, CreateProduct) and answered.get("sku"):
        ids[str(answered["sku"])] = str(answered["id"])
    return WriteResult(
        key=op.key,
        ok=True,
        channel_id=str(answered.get("id")),
        version=modified_version(answered),
        ids=ids,
        written=written,
    )


def create_body(product: ChannelProduct) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": product.name,
        "type": product.kind,
        "status": STATUS_OUT[product.status],
        "description": product.description or "",
    }
    if product.kind == "simple" and product.variants:
        body.update(variation_body(product.variants[0]))
        body.pop("attributes", None)
        body["status"] = STATUS_OUT[product.status]  # the product's, not its only variant's
    else:
        axes: dict[str, list[str]] = {}
        for v in product.variants:
            for key, value in v.options.items():
                axes.setdefault(key, [])
                if value not in axes[key]:
                    axes[key].append(value)
        body["attributes"] = [
            {"name": k, "options": vals, "variation": True, "visible": True} for k, vals in axes.items()
        ]
    return body


def variation_body(variant: ChannelVariant) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sku": variant.sku or "",
        "status": STATUS_OUT[variant.status],
        "manage_stock": variant.stock is not None or variant.manage_stock,
        "attributes": [{"name": k, "option": v} for k, v in variant.options.items()],
    }
    if variant.price is not None:
        body["regular_price"] = _money_str(variant.price)
    if variant.gtin:
        body["global_unique_id"] = variant.gtin
    if variant.stock is not None:
        body["stock_quantity"] = variant.stock
    return body


def product_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in fields:
        out["name"] = str(fields["name"])
    if "description" in fields:
        out["description"] = str(fields["description"] or "")
    if "status" in fields:
        out["status"] = STATUS_OUT[ProductStatus(fields["status"])]
    return out


def variant_fields(fields: Mapping[str, Any], *, simple: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "sku" in fields:
        out["sku"] = str(fields["sku"] or "")
    if "gtin" in fields:
        out["global_unique_id"] = str(fields["gtin"] or "")
    if "price" in fields and fields["price"] is not None:
        price = fields["price"]
        out["regular_price"] = _money_str(price if isinstance(price, Money) else Money.model_validate(price))
    if "status" in fields:
        out["status"] = STATUS_OUT[ProductStatus(fields["status"])]
    if "name" in fields and simple:
        out["name"] = str(fields["name"])
    if "description" in fields:
        out["description"] = str(fields["description"] or "")
    return out
