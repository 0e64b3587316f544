"""The WooCommerce catalogue read: products with their variations, full or since a cursor.

Change detection is coarse: ``modified_after`` is strict and dates have one-second resolution, so
reads poll with an overlap window and de-duplicate on ``(id, date_modified_gmt, content hash)`` kept
in the opaque cursor (:mod:`adapters.woocommerce_cursor`). A variation's change does not reliably
touch its parent, so incremental reads also ask ``/wc/v3/variations`` (WooCommerce >= 10.3) and fall
back to a full read on older stores. Products and variations come from different listings in
different orders: they wait in a :class:`~adapters.spool.CatalogSpool` (on disk) until paired. The
trash is read too, so that a trashed product comes back ``ARCHIVED``.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from itertools import chain
from typing import Any

from adapters.base import Page, PermanentError
from adapters.issues import ReadIssue
from adapters.spool import CatalogSpool, SpooledItem
from adapters.woocommerce_bodies import STATUS_IN
from adapters.woocommerce_client import BY_ID, PER_PAGE, TRASH, WooCommerceClient
from adapters.woocommerce_cursor import SERVED, PollCursor, item_key, parse_gmt
from adapters.woocommerce_parents import ParentsAhead
from adapters.woocommerce_since import Listed
from adapters.woocommerce_wire import DATE_FMT, has_id, modified_version, product_issue, unkeyed_issue
from bridge.models import ChannelProduct, ChannelVariant, Money, ProductStatus, StockLevel

__all__ = ["WooCommerceCatalog"]

log = logging.getLogger("adapters.woocommerce")

_PRODUCT_FIELDS = (
    "id",
    "type",
    "name",
    "description",
    "status",
    "date_modified_gmt",
    "variations",
    "manage_stock",
    "stock_quantity",
)
"""What a variable product waiting for its variations keeps (all that ``to_product`` reads; its
stock is the pool of its variations whose ``manage_stock`` is ``"parent"``)."""
_VARIATION_FIELDS = (
    "id",
    "parent_id",
    "sku",
    "global_unique_id",
    "name",
    "attributes",
    "regular_price",
    "price",
    "status",
    "manage_stock",
    "stock_quantity",
    "date_modified_gmt",
)
"""What a variation waiting for its siblings keeps (all that ``_variant`` reads)."""
_SINCE_PRODUCT_FIELDS = (*_PRODUCT_FIELDS, *_VARIATION_FIELDS)
"""What an incremental read keeps of a product (a simple product is its own variant)."""


_ENDED = Listed([], None)
"""Passed on after a product listing's last page (the variations listing ends unmarked)."""


def _ending(pages: Iterator[Listed]) -> Iterator[Listed | None]:
    yield from pages
    yield _ENDED


def _trashed(item: Mapping[str, Any]) -> bool:
    return item.get("status") == "trash"


class WooCommerceCatalog(WooCommerceClient):
    """Catalogue reads of :class:`adapters.woocommerce.WooCommerceAdapter`."""

    def _variant(self, data: Mapping[str, Any], parent: Mapping[str, Any] | None) -> ChannelVariant:
        managed = data.get("manage_stock")
        price_raw = data.get("regular_price") or data.get("price") or ""
        try:
            price = Money(amount=Decimal(price_raw), currency=self.currency) if price_raw else None
        except InvalidOperation:
            price = None
        options = {
            str(a.get("name")): str(a.get("option")) for a in data.get("attributes") or [] if "option" in a
        }
        name = data.get("name")
        if parent is not None:
            name = f"{parent.get('name')} - {', '.join(options.values())}" if options else parent.get("name")
        stock = data.get("stock_quantity")
        return ChannelVariant(
            channel_id=str(data["id"]),
            sku=data.get("sku") or None,
            gtin=data.get("global_unique_id") or None,
            name=name,
            options=options,
            price=price,
            status=STATUS_IN.get(str(data.get("status")), ProductStatus.DRAFT),
            manage_stock=managed is True or managed == "parent",
            stock_managed_by_parent=managed == "parent",
            # A parent-managed variation shows the parent's whole pool: not a count of its own.
            stock=int(stock) if stock is not None and managed is True else None,
            version=modified_version(data),
            modified_at=parse_gmt(data.get("date_modified_gmt")),
            counted_at=datetime.fromisoformat(data[SERVED]) if data.get(SERVED) else None,
        )

    def to_product(
        self, data: Mapping[str, Any], variations: Sequence[Mapping[str, Any]] = ()
    ) -> ChannelProduct:
        """A wc/v3 product (and, for a variable product, its variations) as a :class:`ChannelProduct`."""
        variable = data.get("type") == "variable"
        variants = (
            tuple(self._variant(v, data) for v in variations) if variable else (self._variant(data, None),)
        )
        # The product's version: the newest modification date of it and its variations.
        modified = [modified_version(data) or ""] + [modified_version(v) or "" for v in variations]
        pool = data.get("stock_quantity") if variable and data.get("manage_stock") is True else None
        return ChannelProduct(
            channel=self.name,
            channel_id=str(data["id"]),
            kind="variable" if variable else "simple",
            name=str(data.get("name") or ""),
            description=data.get("description") or None,
            status=STATUS_IN.get(str(data.get("status")), ProductStatus.DRAFT),
            variants=variants,
            pool_stock=int(pool) if pool is not None else None,
            pool_counted_at=datetime.fromisoformat(data[SERVED])
            if pool is not None and data.get(SERVED)
            else None,
            version=max(modified) or None,
            modified_at=parse_gmt(data.get("date_modified_gmt")),
        )

    def _variations_of(self, product: Mapping[str, Any]) -> list[dict[str, Any]]:
        if product.get("type") != "variable":
            return []
        # A trashed product's variations went to the trash with it: status=any would not list them.
        status = TRASH if _trashed(product) else {}
        return self._get_all(f"products/{product['id']}/variations", {**status, **BY_ID})

    def read_catalog(self, cursor: str | None = None) -> Page[ChannelProduct]:
        return Page.concat(self.iter_catalog(cursor))

    def iter_catalog(self, cursor: str | None = None) -> Iterator[Page[ChannelProduct]]:
        """A full read (no ``cursor``) or what changed since ``cursor``, a page at a time; the last
        page carries the new cursor.

        Simple products are passed on as their page arrives. A variable product needs all its
        variations, which come from another listing (``/wc/v3/variations``, 100 a call, instead of
        one call per product), so products and variations wait in a :class:`CatalogSpool` (on disk,
        not in memory) and are passed on together once read. Without ``/variations``
        (WooCommerce < 10.3), or for a variation added while we read, the product is asked."""
        poll = PollCursor.load(cursor)
        if poll.newest is not None:
            yield from self._iter_catalog_since(poll)
            return
        self._read_started = None
        calls = self.calls
        with CatalogSpool() as spool:
            variable = False
            trashed: list[SpooledItem] = []  # trashed variable products (they list no variations)
            for items in chain(self._pages("products", BY_ID), self._pages("products", TRASH | BY_ID)):
                ready: list[ChannelProduct] = []
                waiting: list[tuple[SpooledItem, bool]] = []
                issues: list[ReadIssue] = []
                for product in self._keyed("product", items, issues):
                    if product.get("type") == "variable" and (product.get("variations") or _trashed(product)):
                        waiting.append((self._spooled("p", product, _PRODUCT_FIELDS), True))
                        if _trashed(product):
                            trashed.append(waiting[-1][0])
                    else:
                        ready.extend(self._converted(self._stamped(product), [], issues))
                        poll.record(item_key("p", product), product.get("date_modified_gmt"))
                spool.add_products(waiting)
                variable = variable or bool(waiting)
                yield Page(items=ready, cursor=None, calls=self.calls - calls, issues=issues)
                calls = self.calls
            try:
                for items in self._pages("variations", BY_ID) if variable else ():
                    spool.add_variations(
                        (self._spooled("v", v, _VARIATION_FIELDS), False, False)
                        for v in self._keyed("variation", items, [])  # reported with their product
                    )
                if len(trashed) > 1:  # else one call for the product's own trashed variations
                    self._spool_trashed_variations(spool, trashed)
            except PermanentError as exc:
                if exc.status != 404:
                    raise
            for products, issues in self._pass_on(spool, poll):
                yield Page(items=products, cursor=None, calls=self.calls - calls, issues=issues)
                calls = self.calls
        poll.caught_up(self._read_started)
        yield Page(items=[], cursor=poll.dump(self.overlap), calls=self.calls - calls)

    def _keyed(self, kind: str, items: Sequence[Any], issues: list[ReadIssue]) -> list[dict[str, Any]]:
        """The items that have a usable ``id``; an issue for each one that has not (validation
        only: what is wrong with the rest is found when it is converted)."""
        issues.extend(unkeyed_issue(kind, item) for item in items if not has_id(item))
        return [item for item in items if has_id(item)]

    def _converted(
        self, data: Mapping[str, Any], variations: Sequence[Mapping[str, Any]], issues: list[ReadIssue]
    ) -> list[ChannelProduct]:
        """``[to_product(data, variations)]``, or nothing and an issue when they cannot be read."""
        issue = product_issue(data, variations)
        if issue is not None:
            issues.append(issue)
            return []
        return [self.to_product(data, variations)]

    def _spool_trashed_variations(self, spool: CatalogSpool, trashed: Sequence[SpooledItem]) -> None:
        """The trash's variations (``/variations?status=trash``, 100 a call), spooled with the
        trashed variable products listing them, instead of one call per trashed product."""
        children: dict[int, list[int]] = {}
        for page in self._pages("variations", TRASH | BY_ID):
            items = [v for v in self._keyed("variation", page, []) if has_id({"id": v.get("parent_id")})]
            spool.add_variations((self._spooled("v", v, _VARIATION_FIELDS), False, False) for v in items)
            for v in items:
                children.setdefault(int(v["parent_id"]), []).append(int(v["id"]))
        spool.add_products(
            (SpooledItem({**p.data, "variations": children.get(int(p.data["id"]), [])}, p.key, p.date), True)
            for p in trashed
        )

    def _iter_catalog_since(self, poll: PollCursor) -> Iterator[Page[ChannelProduct]]:
        """What changed since the cursor: products and variations modified after it (less the
        overlap window), passed on product by product once a product's variations are all in. A
        product is passed on if it or one of its variations is new to the cursor; a changed
        variable product's unchanged variations come 100 a call from ``/variations?include=``, and
        the parents of changed variations (whose dates a variation's change does not touch) 100 a
        call from ``/products?include=``. Products trashed since come from ``status=trash`` (trashing
        moves the modified date), a trashed variable product with its trashed variations.

        The three listings (products, trash, variations) do not depend on each other: they are read
        side by side, and the ``include=`` reads of each kind are sent together, within the
        adapter's ``concurrency``; each item is stamped with the clock of the answer that carried it."""
        assert poll.newest is not None
        self._read_started = None
        calls = self.calls
        after = (poll.newest - self.overlap).strftime(DATE_FMT)  # naive GMT + dates_are_gmt (timezone trap)
        since = {"modified_after": after, "dates_are_gmt": "true", "orderby": "modified", "order": "asc"}
        with CatalogSpool() as spool:
            unkeyed: list[ReadIssue] = []
            listings = self._spool_since(spool, poll, since, unkeyed)
            while True:
                try:
                    products, issues = next(listings)
                except StopIteration as ended:
                    found: bool = ended.value
                    break
                yield Page(items=products, cursor=None, calls=self.calls - calls, issues=issues)
                calls = self.calls
            if not found:
                # WooCommerce < 10.3 has no /variations: a variation's change cannot be seen from its
                # parent, so only a full read is correct. Report everything (dedupe happens downstream).
                log.warning("WooCommerce has no /wc/v3/variations; falling back to a full catalogue read")
                yield from self.iter_catalog(None)
                return
            spool.want_parents_of_new_variations()
            self._spool_missing(spool, unkeyed)
            yield Page(items=[], cursor=None, calls=0, issues=unkeyed)
            for products, issues in self._pass_on(spool, poll):
                yield Page(items=products, cursor=None, calls=self.calls - calls, issues=issues)
                calls = self.calls
            for key, date in spool.changed_variations():
                poll.record(key, date)
        poll.caught_up(self._read_started)
        yield Page(items=[], cursor=poll.dump(self.overlap), calls=self.calls - calls)

    def _spool_since(
        self, spool: CatalogSpool, poll: PollCursor, since: Mapping[str, Any], unkeyed: list[ReadIssue]
    ) -> Generator[tuple[list[ChannelProduct], list[ReadIssue]], None, bool]:
        """The products, trash and variations modified since into ``spool`` (the listings side by
        side), marked new or not to ``poll``; returns False for a store without ``/variations``.

        Meanwhile, each wanted product is passed on (yielded) as soon as it is whole in the spool
        (:meth:`CatalogSpool.ready`), once the variations listing has answered (a store without it
        is read in full instead): at 10,000 changed prices the listings are 13 s of waiting on
        calls, and the sync can stage, count and plan what arrived meanwhile. A product passed on
        whose copy, or one of whose variations' copy, is newer in a later page is passed on again."""
        listings = {
            "products": lambda: _ending(self._since("products", since)),
            "trash": lambda: _ending(self._since("products", {**TRASH, **since})),
            "variations": lambda: self._variations_since(since),
        }
        found, listed, ended = True, False, set()
        touched: set[int] = set()
        with self._parents_ahead(spool, unkeyed, touched) as parents:
            for name, got in self._side_by_side(listings):
                if got is _ENDED:
                    ended.add(name)
                    if ended >= {"products", "trash"} and self.concurrency > 1:
                        parents.open()
                elif got is None:
                    found = False
                elif name == "variations":
                    listed = True
                    keyed = self._keyed("variation", got.items, unkeyed)
                    spooled = [self._spooled("v", v, _VARIATION_FIELDS, got.served) for v in keyed]
                    marked = [(item, True, poll.is_new(item.key)) for item in spooled]
                    spool.add_variations(marked)
                    touched.update(int(item.data["parent_id"]) for item, _, _ in marked)
                    parents.consider(int(item.data["parent_id"]) for item, _, new in marked if new)
                else:
                    keyed = self._keyed("product", got.items, unkeyed)
                    spooled = [self._spooled("p", p, _SINCE_PRODUCT_FIELDS, got.served) for p in keyed]
                    spool.add_products((item, poll.is_new(item.key)) for item in spooled)
                    touched.update(int(item.data["id"]) for item in spooled)
                if listed and found and touched:
                    ready = spool.ready(touched)
                    touched.clear()
                    for start in range(0, len(ready), PER_PAGE):
                        yield self._passed(ready[start : start + PER_PAGE], poll)
            parents.finish()
        return found

    def _parents_ahead(
        self, spool: CatalogSpool, unkeyed: list[ReadIssue], touched: set[int]
    ) -> ParentsAhead:
        """The parents of new variations asked for while the variations are listed (one call in
        flight at a time at most: the listing keeps the other slots). Opened only at a concurrency
        above 1: at 1 the listings are read one after the other, and there is no free slot. The
        parents spooled are added to ``touched`` (to be passed on when whole)."""

        def keep(got: Listed) -> None:
            self._heard(got.served)
            keyed = self._keyed("product", got.items, unkeyed)
            spooled = [self._spooled("p", p, _SINCE_PRODUCT_FIELDS, got.served) for p in keyed]
            spool.add_products((item, True) for item in spooled)
            touched.update(int(item.data["id"]) for item in spooled)

        return ParentsAhead(
            spool,
            lambda ids: self._listed("products", self._including(ids)),
            keep,
            per_call=PER_PAGE,
            workers=1,
        )

    def _spool_missing(self, spool: CatalogSpool, unkeyed: list[ReadIssue]) -> None:
        """The parents of new variations, then the unchanged variations of wanted variable products,
        into ``spool`` (``include=``, 100 a call, the calls of each kind sent together)."""
        parents = map(self._including, spool.missing_parents(PER_PAGE))
        for got in self._each_listed("products", parents):
            keyed = self._keyed("product", got.items, unkeyed)
            spool.add_products(
                (self._spooled("p", p, _SINCE_PRODUCT_FIELDS, got.served), True) for p in keyed
            )
        children = map(self._including, spool.missing_children(PER_PAGE))
        for got in self._each_listed("variations", children):
            keyed = self._keyed("variation", got.items, unkeyed)
            spool.add_variations(
                (self._spooled("v", v, _VARIATION_FIELDS, got.served), False, False) for v in keyed
            )

    def _variations_since(self, since: Mapping[str, Any]) -> Iterator[Listed | None]:
        """The variations modified since, or ``None`` from a store without ``/variations``."""
        try:
            yield from self._since("variations", since)
        except PermanentError as exc:
            if exc.status != 404:
                raise
            yield None

    @staticmethod
    def _including(ids: Sequence[int]) -> dict[str, Any]:
        return {"include": ",".join(str(i) for i in ids), **BY_ID}

    def _spooled(
        self, kind: str, item: Mapping[str, Any], fields: Sequence[str], served: datetime | None = None
    ) -> SpooledItem:
        """What a read keeps of an item: the ``fields`` it needs, the clock of the answer that
        carried it (``served``, by default this thread's newest), and its cursor key (computed on
        the whole item, so a full and an incremental read agree on it)."""
        data = {k: item.get(k) for k in fields} | {SERVED: self._served(served)}
        return SpooledItem(data, item_key(kind, item), item.get("date_modified_gmt"))

    def _pass_on(
        self, spool: CatalogSpool, poll: PollCursor
    ) -> Iterator[tuple[list[ChannelProduct], list[ReadIssue]]]:
        """The spool's wanted products, 100 at a time, each with its variations, recorded in the
        cursor as they go, and the issues of those that could not be read. A variable product
        missing one of the variations it lists (added while we read, or a store without
        ``/variations``) is asked for them."""
        for batch in spool.wanted(PER_PAGE):
            yield self._passed(batch, poll)

    def _passed(
        self, batch: Sequence[tuple[SpooledItem, list[SpooledItem]]], poll: PollCursor
    ) -> tuple[list[ChannelProduct], list[ReadIssue]]:
        """Spooled products with their variations, converted and recorded in the cursor (see
        :meth:`_pass_on`), and the issues of those that could not be read."""
        products: list[ChannelProduct] = []
        issues: list[ReadIssue] = []
        for product, variations in batch:
            data = product.data
            keys = [(v.key, v.date) for v in variations]
            if data.get("type") == "variable" and (
                len(variations) < len(data.get("variations") or []) or (_trashed(data) and not variations)
            ):
                fetched = [self._stamped(v) for v in self._variations_of(data)]
                keys = [(item_key("v", v), v.get("date_modified_gmt")) for v in fetched if has_id(v)]
                products.extend(self._converted(data, fetched, issues))
            else:
                products.extend(self._converted(data, [v.data for v in variations], issues))
            poll.record(product.key, product.date)
            for key, date in keys:
                poll.record(key, date)
        return products, issues

    def missing(self, product_ids: Sequence[str]) -> set[str]:
        """Products deleted for good: in neither the listing nor the trash (``include=``, 100 a call)."""
        ids = sorted({int(p) for p in product_ids if p.isdigit()})
        seen: set[str] = set()
        for start in range(0, len(ids), PER_PAGE):
            include = ",".join(str(i) for i in ids[start : start + PER_PAGE])
            for status in ({}, TRASH):
                seen.update(
                    str(p.get("id")) for p in self._get_all("products", {"include": include, **status})
                )
        return {p for p in product_ids if p.isdigit() and p not in seen}

    def read_stock_levels(self, variant_ids: Sequence[str] | None = None) -> list[StockLevel]:
        now = datetime.now(UTC)
        wanted = set(variant_ids) if variant_ids is not None else None
        levels = []
        for product in self.read_catalog(None).items:
            for variant in product.variants:
                if variant.stock is None or (wanted is not None and variant.channel_id not in wanted):
                    continue  # unmanaged, or drawing on its parent's pool (no count of its own)
                levels.append(
                    StockLevel(
                        channel=self.name,
                        variant_id=variant.channel_id,
                        location_id=self.default_location,
                        quantity=variant.stock,
                        observed_at=variant.counted_at or now,
                    )
                )
        return levels
