"""An eBay emulator: the Sell Inventory, Fulfillment and Notification endpoints shopbridge uses and
eBay's OAuth token endpoint, over real HTTP on loopback.

Checked against eBay's own OpenAPI contracts (trimmed copies in ``tests/data/ebay``; the conformance
tests validate every answer). What is modelled: inventory items by SKU (one, pages by limit/offset,
bulk get of up to 25), offers by SKU with their listings, ``bulkUpdatePriceQuantity`` (at most 25
entries, per-entry results with 207 Multi-Status, quantity at both the item and the offer level, the
listing showing the smaller), the 250 revisions per listing per calendar day, quantity 0 in both
account behaviours (``zero_quantity``: ``out_of_stock`` keeps the listing alive as OUT_OF_STOCK, the
default; ``refuse`` answers error 25004), orders (only completed checkouts listed; getOrders with the
``lastmodifieddate``/``creationdate`` and ``orderfulfillmentstatus`` filters and paging; cancellations
give units back once), OAuth (authorization-code and refresh-token grants, expiring access tokens,
401 on expired ones), and ECDSA-signed ``ORDER_CONFIRMATION`` notifications with ``getPublicKey`` and
the ``challenge_code`` endpoint validation.

Multi-variation listings: a seeded product with options is an inventory item group (items name it
in ``groupIds``; ``getInventoryItemGroup``); its variants' offers share one listing.

Deliberately not modelled: auctions (and error 25759, their allocation), creating groups by API,
creating offers (listings are seeded; an offer can be withdrawn and published again, a new
listing id each time), business policies, the daily call quotas, the ``cancelRequests``
getOrders leaves empty anyway, and refunds.

Layout, as ``sandbox/square``: ``state`` (data and clock), ``views`` (JSON answered), ``inventory``
(item and offer reads), ``listings`` (withdrawing and publishing offers), ``price_quantity`` (bulk
writes and revisions), ``order_filter`` and ``orders``, ``notifications`` (signing key,
destinations), ``oauth`` (token endpoint, bearer check), ``routes`` (route table, recording),
``emulator`` (the server and test API); ``wire``, ``errors`` and ``paging`` are the shared formats.
"""

from __future__ import annotations

from sandbox.ebay.emulator import EbayEmulator
from sandbox.ebay.notifications import EndpointRefused, challenge_response
from sandbox.http import RecordedExchange

__all__ = ["EbayEmulator", "EndpointRefused", "RecordedExchange", "challenge_response"]
