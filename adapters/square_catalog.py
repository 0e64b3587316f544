"""The Square catalogue read: ``ITEM`` objects with their nested variations, full or since a cursor.

A full read is ``SearchCatalogObjects`` over ``ITEM`` (variations come nested) at 1,000 objects a
page; the cursor is the ``latest_time`` of the first page, and an incremental read is a search with
``begin_time`` = cursor and ``include_deleted_objects``. Variations changed on their own pull in
their parent item (batch retrieve). Deleted or ``is_archived`` items come back as ``ARCHIVED``
products. Per-location price overrides cannot live on :class:`~bridge.models.ChannelVariant`; they
are kept in :attr:`SquareCatalog.location_prices`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from adapters.base import Page
from adapters.issues import ReadIssue
from adapters.square_client import SquareClient
from adapters.square_values import JSON, object_version, parse_time
from adapters.square_wire import item_issue, unkeyed_issue
from bridge.models import ChannelProduct, ChannelVariant, Money, ProductStatus

__all__ = ["SquareCatalog"]

EPOCH = "1970-01-01T00:00:00Z"
_SKU_SEARCH = 250  # values a set_query may hold (CatalogQuerySet.attribute_values)


def _object_id(obj: Any) -> bool:
    """Whether a catalogue object has a usable ``id``."""
    return isinstance(obj, dict) and isinstance(obj.get("id"), str) and bool(obj["id"])


class SquareCatalog(SquareClient):
    """Catalogue reads of :class:`adapters.square.SquareAdapter` (and the SKU search creates use)."""

    def _variant(self, var: JSON, item_status: ProductStatus) -> ChannelVariant:
        data = var.get("item_variation_data") or {}
        price = None
        money = data.get("price_money")
        if isinstance(money, dict) and isinstance(money.get("amount"), int):
            price = Money.from_minor_units(money["amount"], str(money.get("currency") or "USD"))
        overrides: dict[str, Money] = {}
        for override in data.get("location_overrides") or []:
            lmoney = override.get("price_money")
            if (
                isinstance(lmoney, dict)
                and override.get("location_id")
                and isinstance(lmoney.get("amount"), int)
            ):
                overrides[str(override["location_id"])] = Money.from_minor_units(
                    lmoney["amount"], str(lmoney.get("currency") or "USD")
                )
        if overrides:
            self.location_prices[str(var["id"])] = overrides
        else:
            self.location_prices.pop(str(var["id"]), None)
        status = ProductStatus.ARCHIVED if var.get("is_deleted") else item_status
        if data.get("sellable") is False:
            status = ProductStatus.ARCHIVED
        return ChannelVariant(
            channel_id=str(var["id"]),
            sku=data.get("sku"),
            gtin=data.get("upc"),
            name=data.get("name"),
            price=price,
            status=status,
            manage_stock=bool(data.get("track_inventory")),
            version=object_version(var),
            modified_at=parse_time(var.get("updated_at")),
        )

    def _product(self, item: JSON) -> ChannelProduct:
        data = item.get("item_data") or {}
        archived = bool(item.get("is_deleted")) or bool(data.get("is_archived"))
        status = ProductStatus.ARCHIVED if archived else ProductStatus.ACTIVE
        variations = [v for v in data.get("variations") or [] if isinstance(v, dict)]
        variants = tuple(self._variant(v, status) for v in variations)
        return ChannelProduct(
            channel=self.name,
            channel_id=str(item["id"]),
            kind="variable" if sum(not v.get("is_deleted") for v in variations) > 1 else "simple",
            name=str(data.get("name") or ""),
            description=data.get("description_plaintext") or data.get("description"),
            status=status,
            variants=variants,
            version=object_version(item),
            modified_at=parse_time(item.get("updated_at")),
        )

    def _search_all(self, body: JSON) -> tuple[list[JSON], str | None, int]:
        """Every object of a catalogue search (following cursors); the first page's ``latest_time``."""
        objects: list[JSON] = []
        latest: str | None = None
        start = self.calls
        for page, page_latest in self._search_pages(body):
            latest = latest or page_latest
            objects.extend(page)
        return objects, latest, self.calls - start

    def _search_pages(self, body: JSON) -> Iterator[tuple[list[JSON], str | None]]:
        """A catalogue search a page (one call) at a time, with each page's ``latest_time``."""
        for data in self._paged("v2/catalog/search", body):
            yield list(data.get("objects") or []), data.get("latest_time")

    def _retrieve(self, ids: Sequence[str], include_deleted: bool = True) -> tuple[list[JSON], int]:
        objects: list[JSON] = []
        before = self.calls
        for start in range(0, len(ids), 1000):
            data = self._request(
                "POST",
                "v2/catalog/batch-retrieve",
                {"object_ids": list(ids[start : start + 1000]), "include_deleted_objects": include_deleted},
            )
            objects.extend(data.get("objects") or [])
        return objects, self.calls - before

    def iter_catalog(self, cursor: str | None = None) -> Iterator[Page[ChannelProduct]]:
        if cursor is not None:
            yield self.read_catalog(cursor)
            return
        latest: str | None = None
        calls = self.calls  # each page reports the requests since the last one: retries included
        for objects, page_latest in self._search_pages({"object_types": ["ITEM"], "limit": 1000}):
            latest = latest or page_latest
            issues: list[ReadIssue] = []
            products = self._products([o for o in objects if o.get("type") == "ITEM"], issues)
            yield Page(items=products, cursor=None, calls=self.calls - calls, issues=issues)
            calls = self.calls
        yield Page(items=[], cursor=latest or EPOCH, calls=self.calls - calls)

    def read_catalog(self, cursor: str | None = None) -> Page[ChannelProduct]:
        if cursor is None:
            return Page.concat(self.iter_catalog(None))
        objects, latest, calls = self._search_all(
            {
                "object_types": ["ITEM", "ITEM_VARIATION"],
                "include_deleted_objects": True,
                "begin_time": cursor,
                "limit": 1000,
            }
        )
        issues = [unkeyed_issue(o) for o in objects if not _object_id(o)]
        objects = [o for o in objects if _object_id(o)]
        items: dict[str, JSON] = {str(o["id"]): o for o in objects if o.get("type") == "ITEM"}
        missing = sorted(
            {
                str((o.get("item_variation_data") or {}).get("item_id"))
                for o in objects
                if o.get("type") == "ITEM_VARIATION" and (o.get("item_variation_data") or {}).get("item_id")
            }
            - set(items)
        )
        if missing:
            parents, more = self._retrieve(missing)
            calls += more
            items.update({str(o["id"]): o for o in parents if o.get("type") == "ITEM" and _object_id(o)})
        # A variation deleted on its own is no longer nested in its live item: report it archived.
        for obj in objects:
            parent = items.get(str((obj.get("item_variation_data") or {}).get("item_id")))
            if obj.get("type") != "ITEM_VARIATION" or not obj.get("is_deleted") or parent is None:
                continue
            nested = parent.setdefault("item_data", {}).setdefault("variations", [])
            if all(str(v.get("id")) != str(obj["id"]) for v in nested):
                nested.append(obj)
        products = self._products(list(items.values()), issues)
        return Page(items=products, cursor=latest or cursor, calls=calls, issues=issues)

    def _products(self, items: Sequence[JSON], issues: list[ReadIssue]) -> list[ChannelProduct]:
        """``ITEM`` objects as products; an issue instead for each one that cannot be read."""
        products: list[ChannelProduct] = []
        for item in items:
            issue = item_issue(item)
            if issue is None:
                products.append(self._product(item))
            else:
                issues.append(issue)
        return products

    def _live_variations(self, skus: Sequence[str]) -> dict[str, list[JSON]]:
        """SKU -> the live variations carrying exactly that SKU (a ``set_query`` search matches
        case-insensitively, at most 250 values a call)."""
        found: dict[str, list[JSON]] = {}
        unique = sorted(set(skus))
        for start in range(0, len(unique), _SKU_SEARCH):
            chunk = unique[start : start + _SKU_SEARCH]
            body: JSON = {
                "object_types": ["ITEM_VARIATION"],
                "query": {"set_query": {"attribute_name": "sku", "attribute_values": chunk}},
                "limit": 1000,
            }
            for objects, _ in self._search_pages(body):
                for obj in objects:
                    sku = (obj.get("item_variation_data") or {}).get("sku")
                    if sku in chunk and not obj.get("is_deleted"):
                        found.setdefault(str(sku), []).append(obj)
        return found
