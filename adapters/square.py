"""The Square channel: catalogue, per-location stock, customers and webhooks through Square's ``/v2`` API.

Why it is shaped this way:

* **Transport.** The official ``squareup`` SDK supplies the HTTP client, auth and ``Square-Version``
  headers, the base URL handling and the webhook signature helper. Its typed response models are
  *not* used on the hot paths: Fern's model construction costs about 20-40 ms per catalogue object
  (measured: 22 s to parse one 1,000-item search page), so requests go through the SDK's own
  ``HttpClient`` and the JSON is read as Square documents it. SDK retries are switched off
  (``max_retries: 0``) so that only our bounded, jittered, ``Retry-After``-honouring tenacity
  retries run; a retry always resends the same body and idempotency key.
* **Catalogue reads.** A full read is ``SearchCatalogObjects`` over ``ITEM`` (variations come nested)
  at 1,000 objects a page; the cursor is the ``latest_time`` of the first page, and an incremental
  read is a search with ``begin_time`` = cursor and ``include_deleted_objects``. Variations changed
  on their own pull in their parent item (batch retrieve). Deleted or ``is_archived`` items come
  back as ``ARCHIVED`` products. Per-location price overrides cannot live on
  :class:`~bridge.models.ChannelVariant`; they are kept in :attr:`SquareAdapter.location_prices`.
* **Stock events** come from ``BatchRetrieveInventoryChanges`` filtered on receipt time
  (``updated_after``), cursor = newest ``created_at`` seen. Every event's ``delta`` is *the change
  it made to Square's count when it arrived*: Square's count is the last physical count plus the
  adjustments after it in ``occurred_at`` order, so the adapter replays the log of each touched
  (variation, location) and takes count-after minus count-before. Consequences:

  - a ``PHYSICAL_COUNT`` (absolute) becomes kind ``ADJUSTMENT`` with ``delta`` = counted quantity
    minus the count just before it; ``reason`` is ``"physical_count:<quantity>"``;
  - a sale uploaded late by an offline POS whose ``occurred_at`` precedes a later physical count
    changes nothing (delta 0) and is not emitted, since the count already reflects it;
  - events with delta 0 are not emitted.

  The older history of a key is fetched (one extra call per 100 keys) only when it can matter: when
  the new changes hold a physical count, or an adjustment that occurred before the previous cursor.
* **Own writes** carry ``reference_id = "shopbridge:<op key>"``; such changes are replayed (they
  move the count) but never emitted, so the engine does not re-import its own adjustments.
* **Stock writes** are relative ``ADJUSTMENT``\\ s: +n is ``NONE -> IN_STOCK`` (receiving stock),
  -n is ``IN_STOCK -> SOLD`` (stock sold on another channel; the same states woocommerce-square
  uses), at most 100 per request, with an idempotency key hashed from the sorted op keys so a
  retried batch is never applied twice (the body, including ``occurred_at``, is kept and resent
  byte for byte). If a batch still fails transiently after our retries, its ops come back
  ``retryable`` and are marked "in doubt": before they are sent again (possibly grouped with other
  ops, hence under another key) the adapter looks for their ``reference_id`` in Square's change log
  and reports those already there as done. ``IDEMPOTENCY_KEY_REUSED`` means an earlier call with the
  same ops succeeded, and is reported as success. The in-doubt set lives in memory only.
* **Creates are looked up first.** Every ``CreateProduct`` is searched by its SKUs (``set_query``)
  before it is sent: a create whose answer was lost may be resent grouped otherwise, so under
  another batch key, which Square's idempotency cannot recognise. Found in one item: that item is
  reported as created. Found elsewhere: refused (it would put a SKU on Square twice).
* **Catalogue writes** re-read the items they touch, apply the operations and upsert the full
  items with their versions (Square upserts replace objects), up to 1,000 objects per batch;
  ``VERSION_MISMATCH`` triggers a re-read and a retry (bounded). Archiving sets
  ``item_data.is_archived``: nothing is ever deleted.

The adapter is assembled from modules of one job each: :mod:`adapters.square_client` (transport,
errors), :mod:`adapters.square_values` (times, quantities), :mod:`adapters.square_catalog`,
:mod:`adapters.square_stock` with :mod:`adapters.square_changes` (the change log replayed),
:mod:`adapters.square_stock_writes`, :mod:`adapters.square_catalog_writes` and
:mod:`adapters.square_deliveries` (webhook verification; :mod:`adapters.square_webhooks` keeps our
subscription); locations, customers and the split of a write batch are here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from adapters.base import (
    AdjustStock,
    ArchiveProduct,
    Capabilities,
    ChannelAdapter,
    CreateCustomer,
    CreateProduct,
    SetStock,
    TransientError,
    UpdateCustomer,
    UpdateProduct,
    UpdateVariant,
    WriteOp,
    WriteResult,
)
from adapters.diagnose import naming_url
from adapters.square_bodies import FIELD_SPLIT
from adapters.square_catalog_writes import SquareCatalogWrites
from adapters.square_changes import OWN_REFERENCE_PREFIX
from adapters.square_client import SQUARE_VERSION
from adapters.square_customers import SquareCustomers
from adapters.square_deliveries import claimed_counts, delivery_targets, verify_webhook
from adapters.square_stock import SquareStock
from adapters.square_stock_writes import STOCK_BATCH, SquareStockWrites
from adapters.square_targets import SquareTargets
from adapters.square_webhooks import SubscriptionResult, ensure_subscription
from bridge.models import ChannelLocation, StockLevel, WebhookEvent
from bridge.targets import TargetRef

__all__ = ["CHECK_TIMEOUT", "OWN_REFERENCE_PREFIX", "SquareAdapter"]

CHECK_TIMEOUT = 5.0
"""Seconds a check (``doctor``) waits for Square: it should answer now, not after a read's timeout."""


CATALOG_LANE = 250
"""Catalogue edits per lane of the relay: 250 variations' items fit one re-read and, for items of
a few variations, one upsert (10,000 price changes: about 80 calls, where lanes of 62 made 250)."""


class SquareAdapter(
    SquareTargets, SquareCatalogWrites, SquareStock, SquareStockWrites, SquareCustomers, ChannelAdapter
):
    """Square POS as a channel. See the module docstring for the representation choices."""

    name = "square"
    capabilities = Capabilities(
        stock_mode="relative",
        has_locations=True,
        max_batch=STOCK_BATCH,
        fields=FIELD_SPLIT,
        customers=True,
    )

    # -- basic reads -----------------------------------------------------------------------------

    def check(self) -> str:
        """One call, no retries (a check answers now); the caller names the channel."""
        url = f"{self._base_url}/v2/locations"
        with naming_url(url):
            data = self._once("GET", "v2/locations", None, None, timeout=CHECK_TIMEOUT)
        locations = [
            str(loc.get("name") or loc.get("id"))
            for loc in data.get("locations") or []
            if self.location_ids is None or loc.get("id") in self.location_ids
        ]
        return f"{len(locations)} location(s): " + ", ".join(locations)

    def list_locations(self) -> list[ChannelLocation]:
        data = self._request("GET", "v2/locations")
        return [
            ChannelLocation(
                channel=self.name,
                channel_id=str(loc["id"]),
                name=str(loc.get("name") or loc["id"]),
                active=loc.get("status", "ACTIVE") == "ACTIVE",
            )
            for loc in data.get("locations") or []
            if self.location_ids is None or loc["id"] in self.location_ids
        ]

    # -- writes ----------------------------------------------------------------------------------

    def writes_per_call(self, ops: Sequence[WriteOp]) -> int:
        """Catalogue edits alone go :data:`CATALOG_LANE` a lane (re-read by id, 1,000 a call, and
        upserted as whole items, 1,000 objects a call); anything else the inventory's 100."""
        if ops and all(isinstance(op, UpdateProduct | UpdateVariant | ArchiveProduct) for op in ops):
            return CATALOG_LANE
        return STOCK_BATCH

    def apply(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        stock = [(n, op) for n, op in enumerate(ops) if isinstance(op, AdjustStock)]
        catalog = [
            (n, op)
            for n, op in enumerate(ops)
            if isinstance(op, CreateProduct | UpdateProduct | UpdateVariant | ArchiveProduct)
        ]
        for n, op in enumerate(ops):
            if isinstance(op, CreateCustomer | UpdateCustomer):
                try:
                    results[n] = self.apply_customer_op(op)
                except TransientError as exc:
                    results.update(self._retryable([(n, op)], exc))
            elif isinstance(op, SetStock):
                results[n] = WriteResult(
                    key=op.key,
                    ok=False,
                    code="UNSUPPORTED",
                    error="Square stock is relative and per location: use AdjustStock",
                )
        for start in range(0, len(stock), STOCK_BATCH):
            chunk = stock[start : start + STOCK_BATCH]
            try:
                results.update(self._apply_stock(chunk))
            except TransientError as exc:
                # The outcome is unknown: keep the ops queued, and check Square before resending them.
                self._uncertain.update(op.key for _, op in chunk)
                results.update(self._retryable(chunk, exc))
        if catalog:
            try:
                results.update(self._apply_catalog(catalog))
            except TransientError as exc:
                results.update(self._retryable([(n, op) for n, op in catalog if n not in results], exc))
        return [results[n] for n in range(len(ops))]

    @staticmethod
    def _retryable(ops: Iterable[tuple[int, WriteOp]], exc: TransientError) -> dict[int, WriteResult]:
        return {
            n: WriteResult(key=op.key, ok=False, retryable=True, error=str(exc), code=exc.code)
            for n, op in ops
        }

    # -- webhooks --------------------------------------------------------------------------------

    def ensure_webhook_subscription(self, notification_url: str) -> SubscriptionResult:
        """Create or update our webhook subscription (see adapters/square_webhooks.py)."""
        return ensure_subscription(self._request, notification_url, SQUARE_VERSION)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, url: str) -> WebhookEvent:
        return verify_webhook(self.signature_key, url or self.notification_url, headers, body)

    def claimed_counts(self, body: bytes) -> list[StockLevel] | None:
        return claimed_counts(body)

    def delivery_targets(self, body: bytes) -> list[TargetRef] | None:
        return delivery_targets(body)
