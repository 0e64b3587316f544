"""What a sell-out and a restock send to eBay (see :mod:`adapters.ebay_listing_ends` for why):
quantities by ``bulkUpdatePriceQuantity``, a listing ended where the account refuses a quantity of
0 (a SKU's by ``withdrawOffer``; a multi-variation listing's only once every variation is at 0, by
``withdrawOfferByInventoryItemGroup``), and an ended listing listed again at its restock.

:class:`SellOuts` shares the adapter's own maps (offers per SKU, groups, what each listing shows),
which the adapter's reads keep up to date, and holds the store's record of ended listings.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from adapters.base import SetStock, UpdateVariant
from adapters.ebay_client import EbayClient
from adapters.ebay_listing_ends import (
    Acted,
    MemoryEnded,
    ZeroQuantity,
    publish,
    publish_group,
    withdraw,
    withdraw_group,
)
from adapters.ebay_stock_writes import ZERO_REFUSED, PriceQuantity, write_price_quantity
from bridge.writes import EndedListing, EndedListings

__all__ = ["SellOuts"]

log = logging.getLogger("adapters.ebay")


class SellOuts:
    """The writes of one eBay adapter, sell-outs and restocks included (see the module)."""

    def __init__(
        self,
        client: EbayClient,
        zero_quantity: ZeroQuantity,
        offer_ids: Mapping[str, Sequence[str]],
        group_of: Mapping[str, str],
        shown: Mapping[str, int],
    ) -> None:
        self.client = client
        self.zero_quantity: ZeroQuantity = zero_quantity
        self.offer_ids = offer_ids
        self.group_of = group_of
        self.shown = shown
        self.ends: EndedListings = MemoryEnded()
        self.uncertain: set[str] = set()
        """Keys of writes tried before (perhaps applied): their withdraw or publish looks first."""

    def send(
        self, wanted: Mapping[str, PriceQuantity], ops: Sequence[SetStock | UpdateVariant]
    ) -> dict[str, Acted]:
        """Per SKU, what became of its writes: quantities and prices by ``bulkUpdatePriceQuantity``,
        a sell-out on an account refusing 0 by ending the listing, the restock of an ended one by
        writing its quantity and listing it again (:mod:`adapters.ebay_listing_ends`)."""
        ended = self.ends.ended()
        zero = [s for s, w in wanted.items() if w.quantity == 0]
        idle = {s for s in zero if s in ended}  # ended already: nothing to write
        ending = [s for s in zero if s not in ended and s not in self.group_of and self._ends_at_zero()]
        groups = self._groups_ending(wanted, ended) if self._ends_at_zero() else set()
        skip = idle | set(ending) | {s for s in zero if self.group_of.get(s) in groups}
        bulk = [op for op in ops if op.variant_id not in skip]
        done = {s: Acted(True) for s in idle}
        for op, result in zip(bulk, write_price_quantity(self.client, bulk, self.offer_ids), strict=True):
            done[op.variant_id] = Acted(result.ok, None, result.retryable, result.code, result.error)
        refused = [s for s, r in done.items() if r.code == ZERO_REFUSED and self.zero_quantity == "auto"]
        if refused:
            log.warning("ebay: this account refuses a quantity of 0 (25004): sold-out listings are ended")
            self.ends.learn_refuses_zero()
            groups |= {self.group_of[s] for s in refused if s in self.group_of}
        for sku in [*ending, *(s for s in refused if s not in self.group_of)]:
            done[sku] = self._end(sku, wanted[sku])
        for key in sorted(groups):
            done.update(self._end_group(key, wanted))
        relisting = [s for s, w in wanted.items() if s in ended and w.quantity and done[s].ok]
        for key in sorted({self.group_of[s] for s in relisting if s in self.group_of}):
            done.update(self._relist_group(key, ended, wanted))
        for sku in relisting:
            if sku not in self.group_of:
                done[sku] = self._relist(sku, ended[sku].offer_id, wanted[sku])
        return done

    def _members(self, key: str) -> list[str]:
        return sorted(sku for sku, group in self.group_of.items() if group == key)

    def _groups_ending(
        self, wanted: Mapping[str, PriceQuantity], ended: Mapping[str, EndedListing]
    ) -> set[str]:
        """The groups every variation of which is at 0 after these writes (and not all ended)."""
        keys = {self.group_of[s] for s, w in wanted.items() if w.quantity == 0 and s in self.group_of}
        out = set()
        for key in keys:
            members = self._members(key)
            at_zero = all(self._at_zero_after(m, wanted) for m in members)
            if at_zero and not all(m in ended for m in members):
                out.add(key)
        return out

    def _at_zero_after(self, sku: str, wanted: Mapping[str, PriceQuantity]) -> bool:
        """Whether ``sku`` is at 0 once these writes land (its write, else what it shows)."""
        quantity = wanted[sku].quantity if sku in wanted else None
        return quantity == 0 if quantity is not None else self.shown.get(sku) == 0

    def _end_group(self, key: str, wanted: Mapping[str, PriceQuantity]) -> dict[str, Acted]:
        members = [m for m in self._members(key) if self.offer_ids.get(m)]
        if not members:
            return {}
        uncertain = any(not self.uncertain.isdisjoint(wanted[m].keys) for m in members if m in wanted)
        acted = withdraw_group(self.client, key, self.offer_ids[members[0]][0], uncertain=uncertain)
        if acted.ok:
            for m in members:
                self.ends.end(m, self.offer_ids[m][0], acted.listing_id)
            log.info("ebay: every variation of %s sold out: its listing is ended until restocked", key)
        return {m: acted for m in members if m in wanted}

    def _relist_group(
        self, key: str, ended: Mapping[str, EndedListing], wanted: Mapping[str, PriceQuantity]
    ) -> dict[str, Acted]:
        members = [m for m in self._members(key) if m in ended]
        if not members:
            return {}
        uncertain = any(not self.uncertain.isdisjoint(wanted[m].keys) for m in members if m in wanted)
        acted = publish_group(self.client, key, ended[members[0]].offer_id, uncertain=uncertain)
        if acted.ok:
            for m in members:
                self.ends.relist(m, acted.listing_id)
            log.info("ebay: %s is in stock again: listed as listing %s", key, acted.listing_id)
        return {m: acted for m in members if m in wanted and wanted[m].quantity}

    def _ends_at_zero(self) -> bool:
        return self.zero_quantity == "end_listing" or (
            self.zero_quantity == "auto" and self.ends.refuses_zero()
        )

    def _end(self, sku: str, wanted: PriceQuantity) -> Acted:
        offers = self.offer_ids.get(sku)
        if not offers:
            return Acted(False, code="NOT_LISTED", error=f"{sku} has no live eBay listing")
        acted = withdraw(self.client, offers[0], uncertain=not self.uncertain.isdisjoint(wanted.keys))
        if acted.ok:
            self.ends.end(sku, offers[0], acted.listing_id)
            log.info("ebay: %s sold out: its listing is ended until it is in stock again", sku)
        return acted

    def _relist(self, sku: str, offer_id: str, wanted: PriceQuantity) -> Acted:
        acted = publish(self.client, offer_id, uncertain=not self.uncertain.isdisjoint(wanted.keys))
        if acted.ok:
            self.ends.relist(sku, acted.listing_id)
            log.info("ebay: %s is in stock again: listed as listing %s", sku, acted.listing_id)
        return acted
