"""The wc/v3 payloads the WooCommerce adapter reads, as pydantic models: its validation boundary.

The adapter converts raw dicts (it keeps only some fields of each, on disk, while a read goes on);
these models say which of those fields must hold what, so that an item that would make the
conversion fail (``stock_quantity: "abc"``, no ``id``, an attribute that is not an object) is caught
before it, skipped and reported (:class:`adapters.issues.ReadIssue`) instead of stopping the sync.
Fields the adapter reads leniently (prices, names, statuses) are left lenient. Unknown fields are
ignored: WooCommerce and its extensions add many.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Annotated, Any, Literal

import requests
from pydantic import BeforeValidator, Field, PositiveInt, model_validator

from adapters.base import PermanentError
from adapters.issues import ReadIssue, WireModel, catalog_item_issue, validate_item

__all__ = [
    "DATE_FMT",
    "WooLineItem",
    "WooOrder",
    "WooProduct",
    "WooRefund",
    "WooVariation",
    "checked_order",
    "checked_refunds",
    "has_id",
    "listing",
    "modified_version",
    "product_issue",
    "server_time",
    "unkeyed_issue",
]

DATE_FMT = "%Y-%m-%dT%H:%M:%S"
"""How wc/v3 writes ``*_gmt`` dates (no zone: they are GMT)."""


def modified_version(item: Mapping[str, Any]) -> str | None:
    """What stands for an item's version: WooCommerce numbers no versions, so it is the item's
    ``date_modified_gmt`` (to the second; a Square object's version is an integer)."""
    version: str | None = item.get("date_modified_gmt")
    return version


def _gmt_date(value: Any) -> Any:
    """A ``*_gmt`` date as WooCommerce writes it (``2024-05-01T12:00:00``), or empty."""
    if value in (None, ""):
        return value
    if not isinstance(value, str):
        raise ValueError("a date must be a string like 2024-05-01T12:00:00")
    datetime.strptime(value, DATE_FMT).replace(tzinfo=UTC)  # a ValueError names the format
    return value


GmtDate = Annotated[str, BeforeValidator(_gmt_date)]
"""A ``*_gmt`` field: a string in ``DATE_FMT`` (or empty)."""
MaybeGmtDate = Annotated[str | None, BeforeValidator(_gmt_date)]
"""A ``*_gmt`` field that may be ``null`` (checked before the union, so a bad date is one error)."""


class _Item(WireModel):
    """What a product and a variation share: the fields ``_variant`` reads."""

    id: PositiveInt
    sku: str | None = None
    global_unique_id: str | None = None
    manage_stock: bool | Literal["parent"] | None = None
    stock_quantity: int | None = None
    attributes: list[dict[str, Any]] = Field(default_factory=list)
    date_modified_gmt: MaybeGmtDate = None

    @model_validator(mode="before")
    @classmethod
    def _count_only_when_managed(cls, data: Any) -> Any:
        # The adapter ignores the count of an item whose stock is not managed.
        if isinstance(data, dict) and not data.get("manage_stock"):
            return {**data, "stock_quantity": None}
        return data


class WooVariation(_Item):
    parent_id: PositiveInt | None = None


class WooProduct(_Item):
    type: str | None = None
    variations: list[PositiveInt] = Field(default_factory=list)


class WooLineItem(WireModel):
    id: PositiveInt
    quantity: int = 0
    product_id: int | None = None
    variation_id: int | None = None
    sku: str | None = None


class WooOrder(WireModel):
    id: PositiveInt
    status: str
    date_created_gmt: GmtDate
    date_paid_gmt: MaybeGmtDate = None
    date_modified_gmt: MaybeGmtDate = None
    line_items: list[dict[str, Any]] = Field(default_factory=list)
    refunds: list[Any] = Field(default_factory=list)


class WooRefund(WireModel):
    id: PositiveInt
    date_created_gmt: MaybeGmtDate = None
    line_items: list[WooLineItem] = Field(default_factory=list)


# -- checks: a whole listing, a product with its variations, an order ----------------------------

CHANNEL = "woocommerce"


class _Id(WireModel):
    id: PositiveInt


def has_id(item: Any) -> bool:
    """Whether ``item`` is an object with a usable ``id`` (it can be keyed, spooled, excluded)."""
    return validate_item(_Id, item) is None


def listing(response: requests.Response, endpoint: str) -> list[dict[str, Any]]:
    """A listing's items, or a :class:`PermanentError` a shop owner can act on when the answer is
    not a JSON list of objects (a web page from a misconfigured site, a plugin rewriting answers):
    it names the URL (without its query, which may carry credentials), the content type, the first
    bytes and what is probably wrong. That channel's read fails for the round; nothing is skipped
    silently (the items of a page that cannot be read are unknown)."""
    url = (response.url or endpoint).split("?")[0]
    kind = response.headers.get("Content-Type", "no content type")
    start = " ".join(response.content[:80].decode("utf-8", "replace").split())
    try:
        items = response.json()
    except ValueError:
        hint = (
            "the shop answered with a web page, not its REST API: check channels.woocommerce.url is "
            "the WordPress site's address, that permalinks are not 'Plain', and that no maintenance, "
            "security or cache plugin answers /wp-json/ requests"
            if "html" in kind
            else "a plugin, proxy or PHP warning may be corrupting the REST API's answers"
        )
        raise PermanentError(f"GET {url} answered {kind}, not JSON (starts {start!r}): {hint}") from None
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise PermanentError(
            f"GET {url} answered JSON that is not a list of objects (starts {start!r}): a plugin or "
            "proxy may be rewriting the REST API's answers"
        )
    return items


def server_time(response: requests.Response) -> datetime | None:
    """The shop's clock at the time of ``response`` (its ``Date`` header, to the second)."""
    try:
        return parsedate_to_datetime(response.headers["Date"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        return None


def _object_id(item: Any) -> str | None:
    """The item's ``id`` as text, when it has a usable one."""
    return str(item["id"]) if has_id(item) else None


def _skus(*items: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(i["sku"]) for i in items if isinstance(i.get("sku"), str) and i["sku"].strip())


def _ids(*items: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(i["id"]) for i in items if has_id(i))


FIX = "fix it in WooCommerce; it syncs again once it is saved"


def product_issue(data: Mapping[str, Any], variations: Sequence[Any]) -> ReadIssue | None:
    """Why ``data`` (with its ``variations``) cannot be read as a product, or ``None``. A product
    with one bad variation is skipped whole (a product is created and linked whole)."""
    pid = _object_id(data)
    good = [v for v in variations if isinstance(v, Mapping)]
    skus, ids = _skus(data, *good), (*_ids(*good), *([pid] if pid else []))
    issue = catalog_item_issue(
        CHANNEL,
        data,
        variations,
        kinds=("product", "variation"),
        models=(WooProduct, WooVariation),
        object_id=_object_id,
        skus=skus,
        variant_ids=ids,
        hint=FIX,
    )
    if issue is not None:
        return issue
    if data.get("type") == "variable" and not variations and data.get("status") != "trash":
        return ReadIssue(
            CHANNEL,
            "product",
            pid,
            "variations",
            "is empty: a variable product without variations has nothing to sell",
            skus=skus,
            variant_ids=ids,
            hint="add its variations in WooCommerce, or make it a simple product",
            holds=True,
        )
    return None


def unkeyed_issue(kind: str, item: Any) -> ReadIssue:
    """An item of a listing that has no usable ``id`` (it cannot even be told apart)."""
    field, what = validate_item(_Id, item) or ("id", "is missing")
    parent = item.get("parent_id") if isinstance(item, Mapping) else None
    return ReadIssue(
        CHANNEL,
        kind,
        None,
        field,
        what,
        f"product {parent}" if parent else None,
        skus=_skus(item) if isinstance(item, Mapping) else (),
        hint=FIX,
        holds=True,
    )


def checked_order(order: Any) -> tuple[dict[str, Any] | None, list[ReadIssue]]:
    """The order with the lines that can be read (``None`` if the order itself cannot), and an
    issue for each part skipped. A line without a product moved no stock (WooCommerce reduces
    stock for product lines only): it is reported, never counted against some product."""
    problem = validate_item(WooOrder, order)
    if problem is not None:
        oid = _object_id(order)
        hint = "its sales are not counted until it is fixed in WooCommerce"
        field, what = problem
        return None, [ReadIssue(CHANNEL, "order", oid, field, what, hint=hint)]
    issues: list[ReadIssue] = []
    lines: list[dict[str, Any]] = []
    for line in order["line_items"]:
        problem = validate_item(WooLineItem, line)
        lid = _object_id(line)
        parent, skus = f"order {order['id']}", _skus(line)
        if problem is not None:
            hint = "its stock is not counted until the order is fixed in WooCommerce"
            field, what = problem
            issues.append(ReadIssue(CHANNEL, "order line", lid, field, what, parent, skus=skus, hint=hint))
        elif not (line.get("variation_id") or line.get("product_id")):
            issues.append(
                ReadIssue(
                    CHANNEL,
                    "order line",
                    lid,
                    "product_id",
                    "is 0: the line is not one of the shop's products (a custom line, or a product "
                    "deleted for good), so no stock moved",
                    parent,
                    skus=skus,
                    hint="nothing to do unless it should have been a product: then count that stock by hand",
                )
            )
        else:
            lines.append(line)
    return {**order, "line_items": lines}, issues


def checked_refunds(order_id: Any, refunds: Sequence[Any]) -> tuple[list[dict[str, Any]], list[ReadIssue]]:
    """The refunds that can be read, and an issue for each one skipped."""
    good: list[dict[str, Any]] = []
    issues: list[ReadIssue] = []
    for refund in refunds:
        problem = validate_item(WooRefund, refund)
        if problem is None:
            good.append(refund)
            continue
        rid = _object_id(refund)
        hint = "its returned stock is not counted until it is fixed in WooCommerce"
        field, what = problem
        issues.append(ReadIssue(CHANNEL, "refund", rid, field, what, f"order {order_id}", hint=hint))
    return good, issues
