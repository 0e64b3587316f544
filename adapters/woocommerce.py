"""The WooCommerce channel: wc/v3 REST reads and writes translated to and from the canonical models.

WooCommerce is the awkward channel for a sync daemon, and this adapter exists to contain that:

* **Stock is absolute only.** REST writes set ``stock_quantity``; there is no atomic relative write,
  so sales are read as events from orders (the ledger's source of truth) and stock is written as an
  absolute value computed from the ledger. Variations whose stock is kept on the parent
  (``manage_stock: "parent"``) draw on one pool: they are read without a count of their own (the
  REST API shows the parent's whole pool on each), the pool is the product's ``pool_stock``, and
  it is written on the parent product, once (see ``bridge.pools``).
* **Change detection is coarse.** ``modified_after`` is strict and dates have one-second
  resolution, so reads poll with an overlap window and de-duplicate on
  ``(id, date_modified_gmt, content hash)`` kept in the opaque cursor. A variation's change does not
  reliably touch its parent, so incremental reads also ask ``/wc/v3/variations`` (WooCommerce
  >= 10.3) and fall back to a full read on older stores.
* **The trash is read too.** Deleting a product without ``force`` moves it, and a variable
  product's variations, to the trash, and the listings' default ``status=any`` leaves the trash
  out. ``status`` takes one value, so every catalogue read lists ``status=trash`` as well (one more
  call per read, per 100 trashed products): a trashed product comes back ``ARCHIVED``, so that
  deleting on the owner archives the other channels' copies. A trashed variable product lists no
  variations; its trashed ones are asked for (``status=trash``).
* **Orders are read as current effects.** Each order line's ``_reduced_stock`` meta (shown in the
  REST ``meta_data``) is what WooCommerce holds reduced for it, whatever path the order took; the
  sync records only its change (:mod:`bridge.effects`), not a sale, cancel or return per event.
* **Creates are never sent twice.** A POST that creates is not idempotent and WooCommerce has no
  idempotency keys, so a create whose answer was lost is looked up (our ``_shopbridge_key`` meta,
  SKUs) before it is sent again, never retried blindly (see ``_post_creates``).
* **Webhooks are hints.** They are signed (HMAC-SHA256 of the raw body) but never retried, and the
  delivery id is not unique, so the event id is derived from the body and polling stays mandatory.

The ``woocommerce`` client is used for transport because it signs OAuth 1.0a correctly on http://
URLs and uses Basic auth on https://, exactly as WooCommerce expects. It has no retries and no
error mapping, so both are added here (tenacity, honouring ``Retry-After``).

The adapter is assembled from modules of one job each: :mod:`adapters.woocommerce_client`
(transport, listings), :mod:`adapters.woocommerce_since` (listings read while they move),
:mod:`adapters.woocommerce_cursor` (the poll cursor), :mod:`adapters.woocommerce_catalog`,
:mod:`adapters.woocommerce_orders` (stock effects), :mod:`adapters.woocommerce_writes` with
:mod:`adapters.woocommerce_creates` and :mod:`adapters.woocommerce_bodies`, and
:mod:`adapters.woocommerce_webhooks`; customers are in
:mod:`adapters.woocommerce_customers`; the checks are here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from adapters.base import (
    Capabilities,
    ChannelAdapter,
    CreateCustomer,
    TransientError,
    UpdateCustomer,
    WriteOp,
    WriteResult,
)
from adapters.diagnose import naming_url
from adapters.woocommerce_bodies import FIELD_SPLIT
from adapters.woocommerce_catalog import WooCommerceCatalog
from adapters.woocommerce_cursor import PollCursor
from adapters.woocommerce_customers import WooCommerceCustomers
from adapters.woocommerce_orders import WooCommerceOrders
from adapters.woocommerce_targets import WooCommerceTargets
from adapters.woocommerce_webhooks import claimed_counts, verify_webhook
from adapters.woocommerce_wire import listing
from adapters.woocommerce_writes import WooCommerceWrites
from bridge.models import ChannelLocation, StockLevel, WebhookEvent

__all__ = ["WooCommerceAdapter"]

_Cursor = PollCursor
"""The cursor under the name it had here before it got a module of its own."""


class WooCommerceAdapter(
    WooCommerceTargets,
    WooCommerceCatalog,
    WooCommerceOrders,
    WooCommerceWrites,
    WooCommerceCustomers,
    ChannelAdapter,
):
    """A WooCommerce store through wc/v3 (see the module docstring for how it behaves)."""

    name = "woocommerce"
    capabilities = Capabilities(
        stock_mode="absolute",
        has_locations=False,
        max_batch=100,
        date_resolution=timedelta(seconds=1),
        write_version="modified_date",
        fields=FIELD_SPLIT,
        customers=True,
        # A WooCommerce account has no note and no birthday: never send them there.
        customer_fields=frozenset(("given_name", "family_name", "email", "phone", "company", "address")),
    )

    def check(self) -> str:
        """One call, no retries (a check answers now), which must be the REST API's JSON."""
        url = f"{self.url}/wp-json/wc/v3/products"
        with naming_url(url):
            response = self._once("GET", "products", {"per_page": 1, "_fields": "id"}, None)
        listing(response, "products")  # a web page answering instead of the REST API is no success
        return f"{self.url}: {response.headers.get('X-WP-Total', '?')} products"

    def list_locations(self) -> list[ChannelLocation]:
        return [ChannelLocation(channel=self.name, channel_id=self.default_location, name="Online store")]

    # -- writes --------------------------------------------------------------------------------

    def apply(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Customer writes one call each (:mod:`adapters.woocommerce_customers`), the rest in
        batches (:mod:`adapters.woocommerce_writes`); one result per op, in order."""
        customer_ops = [
            (n, op) for n, op in enumerate(ops) if isinstance(op, CreateCustomer | UpdateCustomer)
        ]
        if not customer_ops:
            return super().apply(ops)
        rest = [(n, op) for n, op in enumerate(ops) if not isinstance(op, CreateCustomer | UpdateCustomer)]
        results = dict(
            zip((n for n, _ in rest), super().apply([op for _, op in rest]) if rest else [], strict=True)
        )
        for n, op in customer_ops:
            try:
                results.update(self.apply_customer_ops([(n, op)]))
            except TransientError as exc:
                results[n] = WriteResult(key=op.key, ok=False, retryable=True, error=str(exc), code=exc.code)
        return [results[n] for n in range(len(ops))]

    # -- webhooks --------------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, url: str) -> WebhookEvent:
        return verify_webhook(self.webhook_secret, headers, body)

    def claimed_counts(self, body: bytes) -> list[StockLevel] | None:
        return claimed_counts(body, self.default_location)

    def register_webhooks(self, delivery_url: str, topics: Sequence[str]) -> list[str]:
        """Create or re-activate our webhooks (one per topic, matched on topic + delivery URL)."""
        existing = self._get_all("webhooks", {})
        ids = []
        for topic in topics:
            name = f"shopbridge {topic}"
            match = next(
                (w for w in existing if w.get("topic") == topic and w.get("delivery_url") == delivery_url),
                None,
            )
            wanted = {"name": name, "status": "active", "secret": self.webhook_secret}
            if match is None:
                created = self._request(
                    "POST", "webhooks", data={**wanted, "topic": topic, "delivery_url": delivery_url}
                ).json()
                ids.append(str(created["id"]))
            else:
                # The secret is not readable back in view context: always (re)write it.
                self._request("PUT", f"webhooks/{match['id']}", data=wanted)
                ids.append(str(match["id"]))
        return ids
