"""The eBay adapter: an eBay store as a single-pool channel that never owns the catalogue.

eBay keys inventory by seller SKU: each inventory item with a published offer is a listed variant
(variant id = SKU; product id = SKU, or for a multi-variation listing its group's key:
:mod:`adapters.ebay_groups`), linked to the catalogue by SKU like any other channel's. Its count
is what the listing shows buyers (:mod:`adapters.ebay_catalog`), written with
``bulkUpdatePriceQuantity`` (:mod:`adapters.ebay_stock_writes`), or, on an account that refuses a
quantity of 0, a sell-out ends the listing and a restock lists it again
(:mod:`adapters.ebay_sell_outs`, :mod:`adapters.ebay_listing_ends`); sales come from the Fulfillment
API's orders (:mod:`adapters.ebay_orders`); notifications only wake the loop
(:mod:`adapters.ebay_notifications`).

What eBay never gets: new listings (they need business policies and categories: out of scope),
names, descriptions or statuses (eBay is never the system of record; its field split holds none of
them), and prices unless ``sync_price`` is on. A SKU in the catalogue without an eBay listing is
simply not on eBay; the SKUs with an inventory item but no live listing are logged once per change
of that set, not every sync (the catalogue cursor remembers it).

eBay has no "modified since" read of inventory items, so the catalogue cursor is a digest of what
the last read showed, per SKU: an incremental read is a full read that returns only what differs
from it (and the SKUs whose listing ended, archived), so the sync handles it like any other
channel's incremental read.
"""

from __future__ import annotations

import base64
import json
import logging
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.base import (
    ArchiveProduct,
    Capabilities,
    ChannelAdapter,
    CreateProduct,
    EndedListings,
    Page,
    SetStock,
    UpdateProduct,
    UpdateVariant,
    WriteCounts,
    WriteOp,
    WriteResult,
)
from adapters.ebay_catalog import Listings, read_listings
from adapters.ebay_client import EbayClient
from adapters.ebay_diagnose import describe
from adapters.ebay_groups import GroupCache
from adapters.ebay_listing_ends import ZeroQuantity
from adapters.ebay_notifications import NotificationVerifier, challenge_answer
from adapters.ebay_orders import cursor_at, read_order_events
from adapters.ebay_revisions import RevisionBudget
from adapters.ebay_sell_outs import SellOuts
from adapters.ebay_stock_writes import (
    BATCH,
    LIMIT_REACHED,
    coalesce,
)
from bridge.capabilities import FieldSplit
from bridge.models import (
    ChannelCustomer,
    ChannelLocation,
    ChannelProduct,
    ChannelVariant,
    ProductStatus,
    StockEvent,
    StockLevel,
    WebhookEvent,
    content_hash,
)

__all__ = ["EbayAdapter"]

log = logging.getLogger(__name__)

DEFAULT_LOCATION = "default"
CURSOR_PREFIX = "ebay1:"
NOTHING_HELD = FieldSplit(product=frozenset(), variant=frozenset())
PRICE_ONLY = FieldSplit(product=frozenset(), variant=frozenset({"price"}))
NOT_OURS = (
    "eBay is never the system of record: shopbridge does not create listings or change their "
    "name, description or status there (only their quantity, and price with sync_price)"
)


def _digest(product: ChannelProduct) -> str:
    return content_hash(product.model_dump(mode="json", exclude={"variants": {"__all__": {"counted_at"}}}))[
        :12
    ]


def _encode(state: Mapping[str, object]) -> str:
    raw = json.dumps(state, sort_keys=True, separators=(",", ":")).encode()
    return CURSOR_PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode()


def _decode(cursor: str | None) -> dict[str, object] | None:
    if not cursor or not cursor.startswith(CURSOR_PREFIX):
        return None
    try:
        state = json.loads(zlib.decompress(base64.urlsafe_b64decode(cursor[len(CURSOR_PREFIX) :])))
    except (ValueError, zlib.error):
        return None
    return state if isinstance(state, dict) else None


def _archived(product_id: str, skus: Sequence[str] = ()) -> ChannelProduct:
    """A listing that ended since the last read (a SKU's, or a group's with its variants ``skus``):
    not for sale on eBay any more."""
    variants = tuple(
        ChannelVariant(channel_id=sku, sku=sku, status=ProductStatus.ARCHIVED) for sku in skus or [product_id]
    )
    return ChannelProduct(
        channel="ebay",
        channel_id=product_id,
        name=product_id,
        status=ProductStatus.ARCHIVED,
        variants=variants,
    )


class EbayAdapter(ChannelAdapter):
    """eBay's Sell Inventory and Fulfillment APIs for one seller (see the module's docstring)."""

    name = "ebay"
    capabilities = Capabilities(
        stock_mode="absolute",
        has_locations=False,
        max_batch=BATCH,
        date_resolution=timedelta(milliseconds=1),
        fields=NOTHING_HELD,
        creates_products=False,
        may_own=False,
    )

    def __init__(
        self,
        client: EbayClient,
        *,
        sync_price: bool = False,
        currency: str = "USD",
        budget: RevisionBudget | None = None,
        verification_token: str | None = None,
        listed_caps: Mapping[str, int] | None = None,
        zero_quantity: ZeroQuantity = "auto",
    ) -> None:
        self.client = client

        self.verification_token = verification_token
        self.budget = budget or RevisionBudget()
        self._shown: dict[str, int] = {}
        """What each listing showed when last read or written (near the limit, a change from 0
        matters)."""
        self.sync_price = sync_price
        self.currency = currency
        self.capabilities = replace(
            EbayAdapter.capabilities,
            fields=PRICE_ONLY if sync_price else NOTHING_HELD,
            listed_caps=tuple(sorted((listed_caps or {}).items())),
        )
        self._offer_ids: dict[str, list[str]] = {}
        self.groups = GroupCache()
        self._group_of: dict[str, str] = {}
        """A grouped SKU -> its group (whose one listing shares the revision budget)."""
        self.sell_outs = SellOuts(client, zero_quantity, self._offer_ids, self._group_of, self._shown)
        """What a sell-out does (:mod:`adapters.ebay_sell_outs`): write 0, or end the listing."""
        self.verifier = NotificationVerifier(client)

    # -- reads ---------------------------------------------------------------------------------

    def check(self) -> str:
        return describe(self.client)  # the doctor's line: items, token expiry, scopes granted

    def list_locations(self) -> list[ChannelLocation]:
        return [ChannelLocation(channel=self.name, channel_id=DEFAULT_LOCATION, name="eBay store")]

    def _listings(self) -> tuple[Listings, int]:
        before = self.client.calls
        found = self._read(None)
        return found, self.client.calls - before

    def _read(self, items: Iterable[dict[str, Any]] | None) -> Listings:
        """The listings (those of ``items``), our ended ones showing 0; a listing found live again
        closes its ended record."""
        found = read_listings(self.client, items, self.ends.ended(), self.groups)
        self._group_of.update(found.group_of)
        for sku, listing_id in found.relisted.items():
            self.ends.relist(sku, listing_id)
        self._offer_ids.update(found.offer_ids)
        self._remember_shown(found.products)
        return found

    def _remember_shown(self, products: Sequence[ChannelProduct]) -> None:
        for product in products:
            for variant in product.variants:
                if variant.stock is not None:
                    self._shown[variant.channel_id] = variant.stock

    def read_catalog(self, cursor: str | None = None) -> Page[ChannelProduct]:
        found, calls = self._listings()
        digests = {p.channel_id: _digest(p) for p in found.products}
        held = {sku for issue in found.issues for sku in issue.skus} | found.held
        members = {
            p.channel_id: [v.channel_id for v in p.variants] for p in found.products if p.kind == "variable"
        }
        last = _decode(cursor)
        unlisted = sorted(found.unlisted)
        if last is None or last.get("unlisted") != unlisted:
            self._report_unlisted(unlisted)
        state = {"skus": digests, "unlisted": unlisted, "groups": members}
        if last is None:
            return Page(items=found.products, cursor=_encode(state), calls=calls, issues=found.issues)
        before = last.get("skus")
        before = before if isinstance(before, dict) else {}
        changed = [p for p in found.products if before.get(p.channel_id) != digests[p.channel_id]]
        grouped = last.get("groups")
        grouped = grouped if isinstance(grouped, dict) else {}
        gone = [_archived(pid, grouped.get(pid) or ()) for pid in sorted(set(before) - set(digests) - held)]
        for pid in held:  # a skipped item keeps its last digest (and members): not gone, nor changed
            if pid in before:
                digests[pid] = str(before[pid])
            if pid in grouped:
                members[pid] = grouped[pid]
        return Page(items=[*changed, *gone], cursor=_encode(state), calls=calls, issues=found.issues)

    def _report_unlisted(self, unlisted: Sequence[str]) -> None:
        if unlisted:
            shown = ", ".join(unlisted[:10]) + (", ..." if len(unlisted) > 10 else "")
            log.info(
                "ebay: %d inventory items have no live listing (not on eBay; listings are made in "
                "Seller Hub): %s",
                len(unlisted),
                shown,
            )

    def read_stock_levels(self, variant_ids: Sequence[str] | None = None) -> list[StockLevel]:
        wanted = set(variant_ids) if variant_ids is not None else None
        levels = []
        for product in self._read(None).products:
            for variant in product.variants:
                if wanted is not None and variant.channel_id not in wanted:
                    continue
                levels.append(
                    StockLevel(
                        channel=self.name,
                        variant_id=variant.channel_id,
                        location_id=DEFAULT_LOCATION,
                        quantity=variant.stock,
                        observed_at=variant.counted_at or datetime.now(UTC),
                    )
                )
        return levels

    def read_stock_events(self, cursor: str | None = None) -> Page[StockEvent]:
        return read_order_events(self.client, cursor)

    def events_cursor_at(self, when: datetime) -> str | None:
        return cursor_at(when)

    def read_customers(self, cursor: str | None = None) -> Page[ChannelCustomer]:
        return Page(items=[], cursor=None)  # eBay's buyers are not shared with sellers' tools

    # -- writes --------------------------------------------------------------------------------

    def apply(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Quantities (and prices, with ``sync_price``) in batches of 25 SKUs, within the daily
        revision budget (:mod:`adapters.ebay_revisions`); everything else is refused, not retried:
        eBay does not take catalogue changes from us."""
        results: dict[int, WriteResult] = {}
        writes: list[tuple[int, SetStock | UpdateVariant]] = []
        for n, op in enumerate(ops):
            if isinstance(op, SetStock):
                writes.append((n, op))
            elif isinstance(op, UpdateVariant) and self.sync_price and set(op.fields) <= {"price"}:
                writes.append((n, op))
            else:
                results[n] = self._refused(op)
        if writes:
            results.update(self._write(writes))
        return [results[n] for n in range(len(ops))]

    def _write(self, writes: Sequence[tuple[int, SetStock | UpdateVariant]]) -> dict[int, WriteResult]:
        wanted = coalesce([op for _, op in writes])
        day, send, held = self.budget.split(
            {sku: w.quantity for sku, w in wanted.items()}, self._shown, self._group_of
        )
        if held:
            log.warning(
                "ebay: %d updates held back by the daily revision limit: %s",
                len(held),
                "; ".join(held.values()),
            )
        out: dict[int, WriteResult] = {}
        going = [(n, op) for n, op in writes if op.variant_id in send]
        for n, op in writes:
            if op.variant_id in held:
                why = held[op.variant_id]
                out[n] = WriteResult(
                    key=op.key,
                    ok=False,
                    retryable=True,
                    code="REVISION_BUDGET",
                    error=why,
                    held_until=self.budget.resets_at(),
                )
        if not going:
            return out
        self._ensure_offers([op.variant_id for _, op in going])
        by_sku = self.sell_outs.send(
            {op.variant_id: wanted[op.variant_id] for _, op in going}, [op for _, op in going]
        )
        for n, op in going:
            got = by_sku[op.variant_id]
            out[n] = WriteResult(
                key=op.key, ok=got.ok, retryable=got.retryable, code=got.code, error=got.error
            )
        self.budget.sent(day, [sku for sku, r in by_sku.items() if r.ok], self._group_of)
        self.budget.spent(day, [sku for sku, r in by_sku.items() if r.code == LIMIT_REACHED], self._group_of)
        for sku, result in by_sku.items():
            quantity = wanted[sku].quantity
            if result.ok and quantity is not None:
                self._shown[sku] = quantity
        return out

    def mark_uncertain(self, keys: Iterable[str]) -> None:
        """Writes tried before: a withdraw or publish for them reads the offer before sending."""
        self.sell_outs.uncertain.update(keys)

    def keep_ended_in(self, listings: EndedListings) -> None:
        self.sell_outs.ends = listings

    @property
    def ends(self) -> EndedListings:
        """The listings ended at a sell-out (the store's, once handed over)."""
        return self.sell_outs.ends

    def count_writes_in(self, counts: WriteCounts) -> None:
        self.budget.counts = counts

    @staticmethod
    def _refused(op: WriteOp) -> WriteResult:
        what = "create listings" if isinstance(op, CreateProduct) else "change this"
        if isinstance(op, UpdateProduct | ArchiveProduct | UpdateVariant):
            what = "change listings' catalogue fields"
        return WriteResult(key=op.key, ok=False, code="NOT_SUPPORTED", error=f"cannot {what}: {NOT_OURS}")

    def _ensure_offers(self, skus: Sequence[str]) -> None:
        """The published offers of SKUs not read yet by this adapter (a restarted relay)."""
        missing = [sku for sku in dict.fromkeys(skus) if sku not in self._offer_ids]
        if not missing:
            return
        self._read({"sku": sku} for sku in missing)

    # -- webhooks ------------------------------------------------------------------------------

    def answer_challenge(self, query: Mapping[str, str], url: str) -> dict[str, str] | None:
        """eBay's endpoint validation: ``challenge_code`` hashed with our verification token and
        the endpoint URL eBay was given (without a token configured there is nothing to answer)."""
        code = query.get("challenge_code")
        if not code or not self.verification_token:
            return None
        return challenge_answer(code, self.verification_token, url)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, url: str) -> WebhookEvent:
        note = self.verifier.verify(headers, body)
        order_id = note.data.get("orderId")
        return WebhookEvent(
            channel=self.name,
            event_id=note.notification_id,
            topic=note.topic,
            resource="order" if note.topic == "ORDER_CONFIRMATION" else "other",
            resource_id=str(order_id) if order_id else None,
            payload={k: v for k, v in note.data.items() if k in ("orderId", "lineItemId")},
        )
