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
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import httpx
from square import Square
from square.core.http_client import HttpClient
from square.utils.webhooks_helper import verify_signature

from adapters.base import (
    AdjustStock,
    ArchiveProduct,
    AuthError,
    Capabilities,
    ChannelAdapter,
    CreateProduct,
    Page,
    PermanentError,
    SetStock,
    TransientError,
    UpdateProduct,
    UpdateVariant,
    WebhookRejected,
    WriteOp,
    WriteResult,
    parse_retry_after,
    retrying,
)
from adapters.diagnose import network_reason
from adapters.issues import ReadIssue
from adapters.square_webhooks import SubscriptionResult, ensure_subscription
from adapters.square_wire import change_issue, count_issue, item_issue, unkeyed_issue
from bridge.models import (
    ChannelCustomer,
    ChannelLocation,
    ChannelProduct,
    ChannelVariant,
    Money,
    ProductStatus,
    StockEvent,
    StockEventKind,
    StockLevel,
    WebhookEvent,
    normalise_phone,
)

__all__ = ["OWN_REFERENCE_PREFIX", "SquareAdapter"]

JSON = dict[str, Any]

OWN_REFERENCE_PREFIX = "shopbridge:"
SQUARE_VERSION = "2025-08-20"
EPOCH = "1970-01-01T00:00:00Z"
_NO_SDK_RETRIES: Any = {"max_retries": 0}
CHECK_TIMEOUT = 5.0
"""Seconds a check (``doctor``) waits for Square: it should answer now, not after a read's timeout."""
_RETURN_STATES = {"UNLINKED_RETURN", "SOLD", "RETURNED_BY_CUSTOMER"}
_CATALOG_BATCH = 1000
_STOCK_BATCH = 100
_VERSION_RETRIES = 3
_SKU_SEARCH = 250  # values a set_query may hold (CatalogQuerySet.attribute_values)
_LOOKBACK_S = 48 * 3600  # adjustments are written with occurred_at <= 24 h old; look back further


def _object_id(obj: Any) -> bool:
    """Whether a catalogue object has a usable ``id``."""
    return isinstance(obj, dict) and isinstance(obj.get("id"), str) and bool(obj["id"])


def _parse_time(value: str | None) -> datetime | None:
    """RFC 3339 to an aware datetime; nanosecond fractions (webhooks) are cut to microseconds."""
    if not value:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.replace("z", "Z"))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _later(candidate: str, current: str | None) -> bool:
    """Whether timestamp ``candidate`` is after ``current`` (``None`` is before everything)."""
    if current is None:
        return True
    a, b = _parse_time(candidate), _parse_time(current)
    return a is not None and (b is None or a > b)


_RESOURCES: dict[str, Literal["product", "inventory", "customer", "order"]] = {
    "catalog": "product",
    "inventory": "inventory",
    "customer": "customer",
    "order": "order",
}


def _rfc3339_ms(when: datetime) -> str:
    """``when`` in UTC as Square writes timestamps: RFC 3339 to the millisecond, ``Z``."""
    at = when.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _now_rfc3339() -> str:
    return _rfc3339_ms(datetime.now(tz=UTC))


def _qty(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)


def _error_info(body: Any) -> tuple[str | None, str, str | None]:
    """(code, message, field) of the first error in Square's ``{"errors": [...]}`` body."""
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        first = body["errors"][0]
        if isinstance(first, dict):
            code = first.get("code")
            detail = first.get("detail") or code or "Square error"
            return (str(code) if code else None), str(detail), first.get("field")
    return None, str(body)[:300] if body else "Square error", None


class SquareRequestError(PermanentError):
    """A 4xx refusal; ``field`` is the request field Square blamed (``changes[3].adjustment...``)."""

    def __init__(self, message: str, *, code: str | None, status: int, field: str | None) -> None:
        super().__init__(message, code=code, status=status)
        self.field = field


def map_status_error(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Exception:
    """Square error response -> adapter error: 401/403 auth, 408/429/5xx transient, other 4xx permanent."""
    code, message, field = _error_info(body)
    if status in (401, 403):
        return AuthError(message, code=code, status=status)
    if status in (408, 429) or status >= 500:
        raw = (headers or {}).get("retry-after") or (headers or {}).get("Retry-After")
        return TransientError(message, code=code, status=status, retry_after=parse_retry_after(raw))
    return SquareRequestError(message, code=code, status=status, field=field)


class SquareAdapter(ChannelAdapter):
    """Square POS as a channel. See the module docstring for the representation choices."""

    name = "square"
    capabilities = Capabilities(
        stock_mode="relative",
        has_locations=True,
        max_batch=_STOCK_BATCH,
    )

    def __init__(
        self,
        access_token: str,
        *,
        base_url: str,
        signature_key: str | None = None,
        notification_url: str | None = None,
        location_ids: Sequence[str] | None = None,
        timeout: float = 30.0,
        max_attempts: int = 5,
        backoff: float = 0.5,
        backoff_cap: float = 30.0,
    ) -> None:
        self.sdk = Square(
            token=access_token, base_url=base_url.rstrip("/"), timeout=timeout, version=SQUARE_VERSION
        )
        self._http: HttpClient = self.sdk._client_wrapper.httpx_client
        self._base_url = base_url.rstrip("/")
        self.signature_key = signature_key
        self.notification_url = notification_url
        self.location_ids = list(location_ids) if location_ids else None
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self.calls = 0
        """HTTP requests sent (retries included), counted by ``_once``; each read reports in
        ``Page.calls`` how far this moved during it, so a refused and retried attempt is counted."""
        self.location_prices: dict[str, dict[str, Money]] = {}
        """Variation id -> location id -> price, from ``location_overrides`` seen by the last reads."""
        self._stock_bodies: dict[str, JSON] = {}
        self._uncertain: set[str] = set()

    # -- transport -------------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: JSON | None = None, params: JSON | None = None) -> JSON:
        """One Square call with bounded retries on transient failures; the same body on every attempt."""
        result: JSON = retrying(self.max_attempts, self.backoff, self.backoff_cap)(
            self._once, method, path, body, params
        )
        return result

    def _once(
        self, method: str, path: str, body: JSON | None, params: JSON | None, *, timeout: float | None = None
    ) -> JSON:
        """One request, no SDK retries; ``timeout`` overrides the client's for this request only."""
        self.calls += 1
        options: Any = dict(_NO_SDK_RETRIES)
        if timeout is not None:
            options["timeout_in_seconds"] = timeout
        try:
            response = self._http.request(
                path.lstrip("/"), method=method, json=body, params=params, request_options=options
            )
        except httpx.TimeoutException as exc:
            raise TransientError(f"Square timed out: {exc}") from exc
        except httpx.TransportError as exc:
            raise TransientError(f"Square unreachable: {exc}") from exc
        try:
            data = response.json() if response.content else {}
        except ValueError:
            data = response.text
        if response.status_code >= 400:
            raise map_status_error(response.status_code, data, dict(response.headers))
        if not isinstance(data, dict):
            raise TransientError(
                f"unexpected Square response: {str(data)[:200]}", status=response.status_code
            )
        return data

    # -- basic reads -----------------------------------------------------------------------------

    def check(self) -> str:
        """One call, no retries (a check answers now); the caller names the channel."""
        url = f"{self._base_url}/v2/locations"
        try:
            data = self._once("GET", "v2/locations", None, None, timeout=CHECK_TIMEOUT)
        except TransientError as exc:
            if exc.status is None:
                raise TransientError(f"{url}: unreachable: {network_reason(exc.__cause__ or exc)}") from exc
            raise type(exc)(f"{url}: HTTP {exc.status}: {exc}", code=exc.code, status=exc.status) from exc
        except PermanentError as exc:  # AuthError included
            raise type(exc)(f"{url}: HTTP {exc.status}: {exc}", code=exc.code, status=exc.status) from exc
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

    # -- catalogue -------------------------------------------------------------------------------

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
            version=str(var.get("version")) if var.get("version") is not None else None,
            modified_at=_parse_time(var.get("updated_at")),
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
            version=str(item.get("version")) if item.get("version") is not None else None,
            modified_at=_parse_time(item.get("updated_at")),
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
        cursor: str | None = None
        while True:
            page_body = dict(body)
            if cursor:
                page_body["cursor"] = cursor
            data = self._request("POST", "v2/catalog/search", page_body)
            yield list(data.get("objects") or []), data.get("latest_time")
            cursor = data.get("cursor")
            if not cursor:
                return

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

    # -- stock -----------------------------------------------------------------------------------

    def read_stock_levels(self, variant_ids: Sequence[str] | None = None) -> list[StockLevel]:
        return list(self._read_counts(variant_ids, []))

    def read_stock_counts(self, variant_ids: Sequence[str]) -> Page[StockLevel]:
        issues: list[ReadIssue] = []
        return Page(items=self._read_counts(variant_ids, issues), cursor=None, issues=issues)

    def _read_counts(self, variant_ids: Sequence[str] | None, issues: list[ReadIssue]) -> list[StockLevel]:
        """IN_STOCK counts; one whose quantity or variation is unreadable goes to ``issues``
        (holding its SKU back for the round) instead of being read as 0."""
        levels: list[StockLevel] = []
        id_chunks: list[list[str] | None] = (
            [list(variant_ids[i : i + 1000]) for i in range(0, len(variant_ids), 1000)]
            if variant_ids is not None
            else [None]
        )
        for ids in id_chunks:
            body: JSON = {"states": ["IN_STOCK"], "limit": 1000}
            if ids is not None:
                if not ids:
                    continue
                body["catalog_object_ids"] = ids
            if self.location_ids:
                body["location_ids"] = self.location_ids
            cursor: str | None = None
            while True:
                page = dict(body, cursor=cursor) if cursor else body
                data = self._request("POST", "v2/inventory/counts/batch-retrieve", page)
                for count in data.get("counts") or []:
                    if count.get("state", "IN_STOCK") != "IN_STOCK":
                        continue
                    issue = count_issue(count)
                    if issue is not None:
                        issues.append(issue)
                        continue
                    levels.append(
                        StockLevel(
                            channel=self.name,
                            variant_id=str(count["catalog_object_id"]),
                            location_id=count.get("location_id"),
                            quantity=int(_qty(count.get("quantity"))),
                            observed_at=_parse_time(count.get("calculated_at")) or datetime.now(tz=UTC),
                        )
                    )
                cursor = data.get("cursor")
                if not cursor:
                    break
        return levels

    def _changes(self, body: JSON) -> tuple[list[JSON], int]:
        changes: list[JSON] = []
        start = self.calls
        cursor: str | None = None
        while True:
            page = dict(body, cursor=cursor) if cursor else body
            data = self._request("POST", "v2/inventory/changes/batch-retrieve", page)
            changes.extend(data.get("changes") or [])
            cursor = data.get("cursor")
            if not cursor:
                return changes, self.calls - start

    @staticmethod
    def _part(change: JSON) -> JSON:
        part = (
            change.get("physical_count")
            if change.get("type") == "PHYSICAL_COUNT"
            else change.get("adjustment")
        )
        return part if isinstance(part, dict) else {}

    @classmethod
    def square_count(cls, changes: Iterable[JSON]) -> Decimal:
        """Square's rule: the last IN_STOCK physical count (by ``occurred_at``) plus later adjustments."""
        ordered = sorted(
            changes,
            key=lambda c: (
                _parse_time(cls._part(c).get("occurred_at")) or datetime.min.replace(tzinfo=UTC),
                _parse_time(cls._part(c).get("created_at")) or datetime.min.replace(tzinfo=UTC),
            ),
        )
        qty = Decimal(0)
        for change in ordered:
            part = cls._part(change)
            if change.get("type") == "PHYSICAL_COUNT":
                if part.get("state") == "IN_STOCK":
                    qty = _qty(part.get("quantity"))
            elif change.get("type") == "ADJUSTMENT":
                if part.get("to_state") == "IN_STOCK":
                    qty += _qty(part.get("quantity"))
                if part.get("from_state") == "IN_STOCK":
                    qty -= _qty(part.get("quantity"))
        return qty

    def events_cursor_at(self, when: datetime) -> str | None:
        return _rfc3339_ms(when)

    def read_stock_events(self, cursor: str | None = None) -> Page[StockEvent]:
        body: JSON = {"types": ["PHYSICAL_COUNT", "ADJUSTMENT"], "limit": 1000}
        if self.location_ids:
            body["location_ids"] = self.location_ids
        if cursor:
            body["updated_after"] = cursor
        new, calls = self._changes(body)
        issues: list[ReadIssue] = []
        new = self._readable(new, issues)
        if not new:
            return Page(
                items=[],
                cursor=cursor,
                calls=calls,
                read_until=_parse_time(cursor) if cursor else None,
                issues=issues,
            )
        cursor_time = _parse_time(cursor) if cursor else None
        by_key: dict[tuple[str, str], list[JSON]] = {}
        for change in new:
            part = self._part(change)
            by_key.setdefault((str(part.get("catalog_object_id")), str(part.get("location_id"))), []).append(
                change
            )
        # Older history only where it can change the answer (see module docstring).
        need: set[tuple[str, str]] = set()
        if cursor_time is not None:
            for key, changes in by_key.items():
                for change in changes:
                    occurred = _parse_time(self._part(change).get("occurred_at"))
                    if change.get("type") == "PHYSICAL_COUNT" or (
                        occurred is not None and occurred <= cursor_time
                    ):
                        need.add(key)
                        break
        old: dict[tuple[str, str], list[JSON]] = {}
        if need and cursor:
            variations = sorted({k[0] for k in need})
            locations = sorted({k[1] for k in need})
            for start in range(0, len(variations), 100):
                history, more = self._changes(
                    {
                        "types": ["PHYSICAL_COUNT", "ADJUSTMENT"],
                        "catalog_object_ids": variations[start : start + 100],
                        "location_ids": locations,
                        "updated_before": self._just_after(cursor),
                        "limit": 1000,
                    }
                )
                calls += more
                for change in self._readable(history, []):
                    part = self._part(change)
                    key = (str(part.get("catalog_object_id")), str(part.get("location_id")))
                    if key in need:
                        old.setdefault(key, []).append(change)
        events: list[StockEvent] = []
        newest = cursor
        for key, changes in by_key.items():
            received = list(old.get(key, []))
            changes.sort(
                key=lambda c: (self._part(c).get("created_at") or "", self._part(c).get("occurred_at") or "")
            )
            count = self.square_count(received)
            for change in changes:
                part = self._part(change)
                # Recounted whole each time: a backdated count can land before earlier changes.
                received.append(change)
                before, count = count, self.square_count(received)
                delta = int(count - before)
                created = part.get("created_at")
                if created and _later(str(created), newest):
                    newest = str(created)
                if delta == 0 or str(part.get("reference_id") or "").startswith(OWN_REFERENCE_PREFIX):
                    continue
                events.append(self._event(change, part, delta))
        events.sort(key=lambda e: (e.occurred_at, e.source_id))
        # Every change received up to the newest one read has been read: a count calculated at or
        # before it holds only changes of this read or earlier ones.
        return Page(items=events, cursor=newest, calls=calls, read_until=_parse_time(newest), issues=issues)

    @classmethod
    def _readable(cls, changes: Sequence[JSON], issues: list[ReadIssue]) -> list[JSON]:
        """The changes whose quantity can be read; each other one goes to ``issues``."""
        out: list[JSON] = []
        for change in changes:
            issue = change_issue(change, cls._part(change))
            if issue is None:
                out.append(change)
            else:
                issues.append(issue)
        return out

    @staticmethod
    def _just_after(cursor: str) -> str:
        """``updated_before`` is exclusive: one millisecond after the cursor includes the cursor itself."""
        stamp = _parse_time(cursor)
        if stamp is None:
            return cursor
        return _rfc3339_ms(datetime.fromtimestamp(stamp.timestamp() + 0.001, tz=UTC))

    def _event(self, change: JSON, part: JSON, delta: int) -> StockEvent:
        where = part.get("location_id")
        if change.get("type") == "PHYSICAL_COUNT":
            kind = StockEventKind.ADJUSTMENT
            reason = f"square count at {where}: {part.get('quantity')} ({delta:+d})"
        else:
            src, dst = part.get("from_state"), part.get("to_state")
            if src == "IN_STOCK" and dst == "SOLD":
                kind = StockEventKind.SALE
                reason = f"square sale at {where} sold {-delta}"
            elif dst == "IN_STOCK" and src in _RETURN_STATES:
                kind = StockEventKind.RETURN
                reason = f"square return at {where}: {delta:+d}"
            else:
                kind = StockEventKind.ADJUSTMENT
                reason = f"square adjustment {src}->{dst} at {where}: {delta:+d}"
        return StockEvent(
            source_id=f"square:change:{part.get('id')}",
            channel=self.name,
            kind=kind,
            delta=delta,
            occurred_at=_parse_time(part.get("occurred_at")) or datetime.now(tz=UTC),
            variant_id=str(part.get("catalog_object_id")),
            location_id=part.get("location_id"),
            reason=reason,
            order_id=str(part["transaction_id"]) if part.get("transaction_id") else None,
            received_at=_parse_time(part.get("created_at")),
        )

    # -- customers -------------------------------------------------------------------------------

    def read_customers(self, cursor: str | None = None) -> Page[ChannelCustomer]:
        query: JSON = {"sort": {"field": "CREATED_AT", "order": "ASC"}}
        if cursor:
            query["filter"] = {"updated_at": {"start_at": cursor}}
        customers: list[ChannelCustomer] = []
        newest = cursor
        start = self.calls
        page_cursor: str | None = None
        while True:
            body: JSON = {"limit": 100, "query": query}
            if page_cursor:
                body["cursor"] = page_cursor
            data = self._request("POST", "v2/customers/search", body)
            for raw in data.get("customers") or []:
                updated = raw.get("updated_at")
                if updated and _later(str(updated), newest):
                    newest = str(updated)
                customers.append(
                    ChannelCustomer(
                        channel=self.name,
                        channel_id=str(raw["id"]),
                        email=raw.get("email_address"),
                        phone=normalise_phone(raw.get("phone_number")),
                        given_name=raw.get("given_name"),
                        family_name=raw.get("family_name"),
                        company=raw.get("company_name"),
                        version=str(raw.get("version", 0)),
                        modified_at=_parse_time(updated),
                    )
                )
            page_cursor = data.get("cursor")
            if not page_cursor:
                return Page(items=customers, cursor=newest, calls=self.calls - start)

    # -- writes ----------------------------------------------------------------------------------

    def mark_uncertain(self, keys: Iterable[str]) -> None:
        """Check Square's change log (by ``reference_id``) before resending these stock ops."""
        self._uncertain.update(keys)

    def apply(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        stock = [(n, op) for n, op in enumerate(ops) if isinstance(op, AdjustStock)]
        catalog = [
            (n, op)
            for n, op in enumerate(ops)
            if isinstance(op, CreateProduct | UpdateProduct | UpdateVariant | ArchiveProduct)
        ]
        for n, op in enumerate(ops):
            if isinstance(op, SetStock):
                results[n] = WriteResult(
                    key=op.key,
                    ok=False,
                    code="UNSUPPORTED",
                    error="Square stock is relative and per location: use AdjustStock",
                )
        for start in range(0, len(stock), _STOCK_BATCH):
            chunk = stock[start : start + _STOCK_BATCH]
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

    def _already_applied(self, ops: Sequence[tuple[int, AdjustStock]]) -> set[str]:
        """Op keys whose adjustment Square already holds (found by our ``reference_id``).

        Used only for ops whose earlier attempt ended in doubt (a transient failure after our
        retries), because the outbox may resend them grouped differently, under another batch key.
        """
        references = {self._reference(op.key): op.key for _, op in ops}
        since = datetime.fromtimestamp(time.time() - _LOOKBACK_S, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        changes, _ = self._changes(
            {
                "types": ["ADJUSTMENT"],
                "catalog_object_ids": sorted({op.variant_id for _, op in ops}),
                "location_ids": sorted({op.location_id for _, op in ops}),
                "updated_after": since,
                "limit": 1000,
            }
        )
        found = set()
        for change in changes:
            ref = self._part(change).get("reference_id")
            if ref in references:
                found.add(references[ref])
        return found

    @staticmethod
    def idempotency_key(keys: Iterable[str], salt: str = "") -> str:
        """Deterministic key for a batch: the same operations always send the same key."""
        digest = hashlib.sha256(("\n".join(sorted(keys)) + salt).encode()).hexdigest()
        return "sb-" + digest[:60]

    @staticmethod
    def _reference(key: str) -> str:
        ref = key if key.startswith(OWN_REFERENCE_PREFIX) else OWN_REFERENCE_PREFIX + key
        return ref[:255]

    def _apply_stock(self, batch: list[tuple[int, AdjustStock]]) -> dict[int, WriteResult]:
        results: dict[int, WriteResult] = {}
        pending = []
        for n, op in batch:
            if op.delta == 0:
                results[n] = WriteResult(key=op.key, ok=True, channel_id=op.variant_id)
            else:
                pending.append((n, op))
        doubtful = [(n, op) for n, op in pending if op.key in self._uncertain]
        if doubtful:
            done = self._already_applied(doubtful)
            for n, op in doubtful:
                if op.key in done:
                    results[n] = WriteResult(key=op.key, ok=True, channel_id=op.variant_id)
            pending = [(n, op) for n, op in pending if n not in results]
        while pending:
            key = self.idempotency_key(op.key for _, op in pending)
            body = self._stock_bodies.get(key)
            if body is None:
                occurred = _now_rfc3339()
                body = {
                    "idempotency_key": key,
                    "ignore_unchanged_counts": True,
                    "changes": [
                        {
                            "type": "ADJUSTMENT",
                            "adjustment": {
                                "catalog_object_id": op.variant_id,
                                "location_id": op.location_id,
                                "from_state": "NONE" if op.delta > 0 else "IN_STOCK",
                                "to_state": "IN_STOCK" if op.delta > 0 else "SOLD",
                                "quantity": str(abs(op.delta)),
                                "occurred_at": occurred,
                                "reference_id": self._reference(op.key),
                            },
                        }
                        for _, op in pending
                    ],
                }
                self._stock_bodies[key] = body
            try:
                data = self._request("POST", "v2/inventory/changes/batch-create", body)
            except PermanentError as exc:
                if isinstance(exc, AuthError):
                    raise
                if exc.code == "IDEMPOTENCY_KEY_REUSED":
                    # Square keeps a key only for a successful request: these changes were applied
                    # by an earlier attempt whose body (occurred_at) this process no longer has.
                    self._uncertain.difference_update(op.key for _, op in pending)
                    for n, op in pending:
                        results[n] = WriteResult(key=op.key, ok=True, channel_id=op.variant_id)
                    self._stock_bodies.pop(key, None)
                    return results
                self._stock_bodies.pop(key, None)
                bad = self._bad_index(exc)
                if bad is None or len(pending) == 1:
                    for n, op in pending if bad is None else [pending[0]]:
                        results[n] = WriteResult(key=op.key, ok=False, error=str(exc), code=exc.code)
                    if bad is None:
                        return results
                    pending = pending[1:]
                    continue
                n, op = pending.pop(bad)
                results[n] = WriteResult(key=op.key, ok=False, error=str(exc), code=exc.code)
                continue
            self._stock_bodies.pop(key, None)
            self._uncertain.difference_update(op.key for _, op in pending)
            counts = {
                (str(c.get("catalog_object_id")), str(c.get("location_id"))): c
                for c in data.get("counts") or []
                if c.get("state", "IN_STOCK") == "IN_STOCK"
            }
            for n, op in pending:
                count = counts.get((op.variant_id, op.location_id))
                written = {"quantity": int(_qty(count.get("quantity")))} if count else {}
                results[n] = WriteResult(key=op.key, ok=True, channel_id=op.variant_id, written=written)
            pending = []
        return results

    @staticmethod
    def _bad_index(exc: PermanentError) -> int | None:
        """Index of the change Square blamed (``field: changes[3].adjustment...``), if it said."""
        match = re.match(
            r"changes\[(\d+)\]", (exc.field if isinstance(exc, SquareRequestError) else None) or ""
        )
        return int(match.group(1)) if match else None

    # catalogue ------------------------------------------------------------------------------------

    def _catalog_request(self, objects: list[JSON], key: str) -> JSON:
        return self._request(
            "POST", "v2/catalog/batch-upsert", {"idempotency_key": key, "batches": [{"objects": objects}]}
        )

    def _apply_catalog(self, ops: Sequence[tuple[int, WriteOp]]) -> dict[int, WriteResult]:
        creates = [(n, op) for n, op in ops if isinstance(op, CreateProduct)]
        results = self._already_created(creates)
        claimed: set[str] = set()
        for n, op in creates:
            skus = (
                {str(v.sku) for v in op.product.variants if v.sku} if isinstance(op, CreateProduct) else set()
            )
            if n not in results and skus & claimed:
                # Two creates of one SKU (the product changed while the first was in doubt): the
                # second waits, and its lookup will find what the first one made.
                results[n] = WriteResult(
                    key=op.key, ok=False, retryable=True, error="another create holds its SKU"
                )
            claimed |= skus
        creates = [(n, op) for n, op in creates if n not in results]
        updates = [(n, op) for n, op in ops if not isinstance(op, CreateProduct)]
        # Creates: batches of whole items (item + its variations <= 1000 objects).
        batch: list[tuple[int, CreateProduct]] = []
        size = 0
        for n, op in creates:
            assert isinstance(op, CreateProduct)
            weight = 1 + len(op.product.variants)
            if batch and size + weight > _CATALOG_BATCH:
                results.update(self._create_batch(batch))
                batch, size = [], 0
            batch.append((n, op))
            size += weight
        if batch:
            results.update(self._create_batch(batch))
        if updates:
            results.update(self._update_items(updates))
        return results

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

    def _already_created(self, creates: Sequence[tuple[int, WriteOp]]) -> dict[int, WriteResult]:
        """Creates that must not be sent: their SKUs are on Square already.

        A create whose answer was lost (a 5xx or a timeout after Square applied it) may be sent
        again grouped with other creates, so under another batch key, perhaps by another process:
        Square's idempotency cannot recognise it. So every create is looked up by its SKUs first
        (one search per 250 SKUs). All of them in one item: that item is the product (our lost
        create, or one made meanwhile), reported as created. Some of them anywhere else: creating
        would put a SKU on Square twice, so the create is refused, naming what holds them."""
        ops = [(n, op) for n, op in creates if isinstance(op, CreateProduct)]
        if not ops:
            return {}
        held = self._live_variations([str(v.sku) for _, op in ops for v in op.product.variants if v.sku])
        results: dict[int, WriteResult] = {}
        for n, op in ops:
            skus = [str(v.sku) for v in op.product.variants if v.sku]
            holders = {sku: held[sku] for sku in skus if sku in held}
            if not holders:
                continue
            items = {
                str((v.get("item_variation_data") or {}).get("item_id"))
                for vs in holders.values()
                for v in vs
            }
            if len(holders) == len(skus) and len(items) == 1 and all(len(vs) == 1 for vs in holders.values()):
                results[n] = WriteResult(
                    key=op.key,
                    ok=True,
                    channel_id=items.pop(),
                    ids={sku: str(vs[0]["id"]) for sku, vs in holders.items()},
                    written={"name": op.product.name},
                )
                continue
            where = ", ".join(
                f"{sku}: {', '.join(str(v['id']) for v in vs)}" for sku, vs in sorted(holders.items())
            )
            results[n] = WriteResult(
                key=op.key,
                ok=False,
                code="DUPLICATE_SKU",
                error=f"not created: SKU already on Square ({where}); link it or fix the SKUs by hand",
            )
        return results

    def _create_batch(self, batch: list[tuple[int, CreateProduct]]) -> dict[int, WriteResult]:
        objects: list[JSON] = []
        for i, (_, op) in enumerate(batch):
            product = op.product
            item_id = f"#item{i}"
            item_data: JSON = {
                "name": product.name,
                "is_archived": product.status == ProductStatus.ARCHIVED,
                "variations": [
                    {
                        "type": "ITEM_VARIATION",
                        "id": f"#item{i}var{j}",
                        "item_variation_data": self._variation_data(item_id, variant),
                    }
                    for j, variant in enumerate(product.variants)
                ],
            }
            if product.description:
                item_data["description"] = product.description
            objects.append({"type": "ITEM", "id": item_id, "item_data": item_data})
        key = self.idempotency_key(op.key for _, op in batch)
        try:
            data = self._catalog_request(objects, key)
        except PermanentError as exc:
            if isinstance(exc, AuthError):
                raise
            if len(batch) > 1:  # all-or-nothing: isolate the culprit
                out: dict[int, WriteResult] = {}
                for one in batch:
                    out.update(self._create_batch([one]))
                return out
            return {n: WriteResult(key=op.key, ok=False, error=str(exc), code=exc.code) for n, op in batch}
        batch_errors = data.get("errors") or []
        mapping: dict[str, str] = {
            str(m["client_object_id"]): str(m["object_id"]) for m in data.get("id_mappings") or []
        }
        versions = {str(o["id"]): o for o in data.get("objects") or []}
        results: dict[int, WriteResult] = {}
        for i, (n, op) in enumerate(batch):
            new_id = mapping.get(f"#item{i}")
            if new_id is None:
                code, message, _ = _error_info({"errors": batch_errors})
                results[n] = WriteResult(key=op.key, ok=False, error=message, code=code)
                continue
            ids = {
                str(variant.sku): mapping[f"#item{i}var{j}"]
                for j, variant in enumerate(op.product.variants)
                if variant.sku and f"#item{i}var{j}" in mapping
            }
            item = versions.get(new_id, {})
            results[n] = WriteResult(
                key=op.key,
                ok=True,
                channel_id=new_id,
                ids=ids,
                version=str(item.get("version")) if item.get("version") is not None else None,
                written={"name": op.product.name},
            )
        return results

    @staticmethod
    def _variation_data(item_id: str, variant: ChannelVariant) -> JSON:
        data: JSON = {
            "item_id": item_id,
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

    @staticmethod
    def _item_id(op: WriteOp) -> str:
        if isinstance(op, UpdateVariant | UpdateProduct | ArchiveProduct):
            return op.product_id
        raise TypeError(op)

    def _mutate(self, item: JSON, op: WriteOp) -> tuple[str, JSON]:
        """Apply ``op`` to the retrieved ``item`` in place; returns (touched object id, what we wrote)."""
        data = item.setdefault("item_data", {})
        if isinstance(op, ArchiveProduct):
            data["is_archived"] = True
            return str(item["id"]), {"status": ProductStatus.ARCHIVED.value}
        if isinstance(op, UpdateProduct):
            written: JSON = {}
            for name, value in op.fields.items():
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
            return str(item["id"]), written
        assert isinstance(op, UpdateVariant)
        for var in data.get("variations") or []:
            if str(var.get("id")) == op.variant_id:
                vdata = var.setdefault("item_variation_data", {})
                written = {}
                for name, value in op.fields.items():
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
                return op.variant_id, written
        raise PermanentError(f"variation {op.variant_id} not in item {op.product_id}", code="NOT_FOUND")

    def _update_items(self, ops: Sequence[tuple[int, WriteOp]]) -> dict[int, WriteResult]:
        """Re-read the items, apply the ops, upsert the full items with their versions."""
        results: dict[int, WriteResult] = {}
        pending = list(ops)
        for attempt in range(_VERSION_RETRIES + 1):
            item_ids = sorted({self._item_id(op) for _, op in pending})
            current, _ = self._retrieve(item_ids, include_deleted=False)
            items = {str(o["id"]): o for o in current if o.get("type") == "ITEM"}
            touched: dict[str, list[tuple[int, WriteOp, str, JSON]]] = {}
            for n, op in pending:
                item = items.get(self._item_id(op))
                if item is None:
                    results[n] = WriteResult(key=op.key, ok=False, code="NOT_FOUND", error="item not found")
                    continue
                try:
                    obj_id, written = self._mutate(item, op)
                except (PermanentError, ValueError) as exc:
                    results[n] = WriteResult(
                        key=op.key,
                        ok=False,
                        error=str(exc),
                        code=getattr(exc, "code", None) or "INVALID_VALUE",
                    )
                    continue
                touched.setdefault(str(item["id"]), []).append((n, op, obj_id, written))
            retry: list[tuple[int, WriteOp]] = []
            batches = self._pack([items[i] for i in touched])
            for objects in batches:
                group = [entry for obj in objects for entry in touched[str(obj["id"])]]
                key = self.idempotency_key((op.key for _, op, _, _ in group), salt=f":{attempt}")
                try:
                    data = self._catalog_request(objects, key)
                    errors = data.get("errors") or []
                    if errors and not data.get("objects"):
                        code, message, _ = _error_info(data)
                        raise PermanentError(message, code=code, status=400)
                except PermanentError as exc:
                    if isinstance(exc, AuthError):
                        raise
                    if exc.code == "IDEMPOTENCY_KEY_REUSED":  # applied by an earlier call
                        for n, op, obj_id, written in group:
                            results[n] = WriteResult(key=op.key, ok=True, channel_id=obj_id, written=written)
                        continue
                    if exc.code == "VERSION_MISMATCH" and attempt < _VERSION_RETRIES:
                        retry.extend((n, op) for n, op, _, _ in group)
                        continue
                    for n, op, _, _ in group:
                        results[n] = WriteResult(key=op.key, ok=False, error=str(exc), code=exc.code)
                    continue
                stored = self._versions(data.get("objects") or [])
                for n, op, obj_id, written in group:
                    results[n] = WriteResult(
                        key=op.key, ok=True, channel_id=obj_id, version=stored.get(obj_id), written=written
                    )
            if not retry:
                break
            pending = retry
        return results

    @staticmethod
    def _versions(objects: Iterable[JSON]) -> dict[str, str]:
        out: dict[str, str] = {}
        for obj in objects:
            out[str(obj["id"])] = str(obj.get("version"))
            for var in (obj.get("item_data") or {}).get("variations") or []:
                out[str(var["id"])] = str(var.get("version"))
        return out

    @staticmethod
    def _pack(items: list[JSON]) -> list[list[JSON]]:
        """Whole items into batches of at most 1,000 objects (an item counts with its variations)."""
        batches: list[list[JSON]] = []
        size = 0
        for item in items:
            weight = 1 + len((item.get("item_data") or {}).get("variations") or [])
            if not batches or size + weight > _CATALOG_BATCH:
                batches.append([])
                size = 0
            batches[-1].append(item)
            size += weight
        return batches

    # -- webhooks --------------------------------------------------------------------------------

    def ensure_webhook_subscription(self, notification_url: str) -> SubscriptionResult:
        """Create or update our webhook subscription (see adapters/square_webhooks.py)."""
        return ensure_subscription(self._request, notification_url, SQUARE_VERSION)

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, url: str) -> WebhookEvent:
        lowered = {k.lower(): v for k, v in headers.items()}
        signature = lowered.get("x-square-hmacsha256-signature")
        notification_url = url or self.notification_url
        if not self.signature_key or not notification_url:
            raise WebhookRejected("no signature key or notification URL configured")
        if not signature or not body:
            raise WebhookRejected("missing signature or body")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WebhookRejected("body is not UTF-8") from exc
        if not verify_signature(  # the SDK's check: HMAC-SHA256 of URL + body, constant-time compare
            request_body=text,
            signature_header=signature.strip(),
            signature_key=self.signature_key,
            notification_url=notification_url,
        ):
            raise WebhookRejected("signature mismatch")
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise WebhookRejected("body is not JSON") from exc
        if not isinstance(payload, dict) or not payload.get("event_id") or not payload.get("type"):
            raise WebhookRejected("not a Square event")
        topic = str(payload["type"])
        data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
        resource_id: str | None = None
        prefix = topic.split(".", 1)[0]
        kind: Literal["product", "inventory", "customer", "order", "other"] = _RESOURCES.get(prefix, "other")
        if kind in ("customer", "order") and data:
            resource_id = str(data.get("id")) if data.get("id") else None
        elif kind == "inventory" and data:
            counts = ((data.get("object") or {}).get("inventory_counts")) or []
            if counts and isinstance(counts[0], dict):
                resource_id = counts[0].get("catalog_object_id")
        return WebhookEvent(
            channel=self.name,
            event_id=str(payload["event_id"]),
            topic=topic,
            resource=kind,
            resource_id=resource_id,
            occurred_at=_parse_time(payload.get("created_at")),
            payload=payload,
        )
