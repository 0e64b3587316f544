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
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from itertools import chain
from typing import Any, Literal

import requests
from woocommerce import API

from adapters.base import (
    AdapterError,
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
from adapters.spool import CatalogSpool, SpooledItem
from adapters.woocommerce_wire import (
    DATE_FMT,
    checked_order,
    checked_refunds,
    has_id,
    listing,
    product_issue,
    unkeyed_issue,
)
from bridge.models import (
    ChannelCustomer,
    ChannelLocation,
    ChannelProduct,
    ChannelVariant,
    Effect,
    Money,
    ProductStatus,
    StockEvent,
    StockEventKind,
    StockLevel,
    WebhookEvent,
    content_hash,
    normalise_phone,
)

__all__ = ["WooCommerceAdapter"]

log = logging.getLogger(__name__)

PER_PAGE = 100
CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a TCP connection: an unreachable shop is reported in seconds, not minutes."""
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
REDUCED_STOCK = "_reduced_stock"
"""Line-item meta where WooCommerce keeps the units it holds reduced (``wc-stock-functions.php``)."""
HOLDS_NOTHING = {"pending", "cancelled", "failed", "checkout-draft", "auto-draft"}
"""Statuses whose orders hold no reduced stock on WooCommerce's standard paths (used only when a
payload lacks the line meta)."""
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
_RESOURCES: dict[str, Literal["product", "order", "customer"]] = {
    "product": "product",
    "order": "order",
    "customer": "customer",
}
PING_BODY = re.compile(rb"webhook_id=(\d+)")
_BY_ID: dict[str, str] = {"orderby": "id", "order": "asc"}
"""Listing order for reads that page through a whole collection (stable while it is read)."""
MARKER = "_shopbridge_key"
"""Meta key of the products we create: the outbox key of the create (see ``_post_creates``)."""
_TRASH: dict[str, str] = {"status": "trash"}
"""Listing parameter for the trash, which the default ``status=any`` leaves out."""
_SERVED = "_shopbridge_served"
"""Key under which an item read carries when its answer was served (the ``Date`` header, ISO): the
moment its ``stock_quantity`` describes (see ``ChannelVariant.counted_at``)."""


def _trashed(item: Mapping[str, Any]) -> bool:
    return item.get("status") == "trash"


def _parse_gmt(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.strptime(value, DATE_FMT).replace(tzinfo=UTC)


def _meta_number(meta: Sequence[Any], key: str) -> int | None:
    """The whole number a line meta ``key`` holds: 0 when the line has no such meta (WooCommerce's
    own reading of an absent ``_reduced_stock``), None when its value is not a number."""
    for item in meta:
        if isinstance(item, Mapping) and item.get("key") == key:
            try:
                return int(Decimal(str(item.get("value") or 0)))
            except (InvalidOperation, ValueError, OverflowError):
                return None
    return 0


def _money_str(money: Money | Decimal | str) -> str:
    """WooCommerce wants decimals as JSON strings ("12.50"), never numbers."""
    amount = money.amount if isinstance(money, Money) else Decimal(money)
    return str(amount.quantize(Decimal("0.01")))


def _hash(item: Mapping[str, Any]) -> str:
    # parent_id is only added by /wc/v3/variations: leave it out so both listings hash alike.
    return content_hash({k: v for k, v in item.items() if k not in ("_links", "parent_id", _SERVED)})[:12]


def _server_time(response: requests.Response) -> datetime | None:
    """The shop's clock at the time of ``response`` (its ``Date`` header, to the second)."""
    try:
        return parsedate_to_datetime(response.headers["Date"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        return None


def _identity(key: str) -> str:
    """``kind:id`` of a cursor key ``kind:id@date#hash``."""
    return key.split("@", 1)[0]


@dataclass
class _Cursor:
    """Polling state: the newest ``date_modified_gmt`` seen and the keys seen near it.

    Serialised as JSON; ``seen`` holds ``kind:id@date#hash`` for items whose date is within the
    overlap window of ``t``, so an item changed in the same second as ``t`` is reported (its hash
    differs) while one already reported is not.
    """

    t: datetime | None = None
    seen: dict[str, str] = field(default_factory=dict)
    #: ``kind:id`` -> its latest key in ``seen``: an item that changes and changes back inside one
    #: second (our write, then our next write restoring what an earlier read saw) has a key seen
    #: before, yet it differs from what we last read, so only the latest key of an item counts.
    latest: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for key, _date in sorted(self.seen.items(), key=lambda kd: kd[1]):
            self.latest[_identity(key)] = key

    @classmethod
    def load(cls, raw: str | None) -> _Cursor:
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            return cls(t=_parse_gmt(data.get("t")), seen=dict(data.get("seen") or {}))
        except (ValueError, TypeError, AttributeError):
            log.warning("unreadable WooCommerce cursor, starting from the beginning")
            return cls()

    def dump(self, overlap: timedelta) -> str:
        keep = {}
        if self.t is not None:
            floor = (self.t - overlap).strftime(DATE_FMT)
            keep = {k: d for k, d in self.seen.items() if d >= floor}
        return json.dumps({"t": self.t.strftime(DATE_FMT) if self.t else None, "seen": keep}, sort_keys=True)

    def is_new(self, key: str) -> bool:
        """Whether ``key`` differs from the last version of its item we read (within the window)."""
        return self.latest.get(_identity(key)) != key

    def caught_up(self, server_time: datetime | None) -> None:
        """Everything modified before the read started has been read: move ``t`` up to then, less a
        second for the dates' resolution, so a quiet shop's poll does not re-read its last burst of
        changes forever (the overlap window trails ``t``, not the newest change)."""
        if server_time is None:
            return
        floor = server_time - timedelta(seconds=1)
        if self.t is None or floor > self.t:
            self.t = floor

    def record(self, key: str, date: str | None) -> None:
        if not date:
            return
        previous = self.latest.get(identity := _identity(key))
        if previous is not None and previous != key:
            self.seen.pop(previous, None)
        self.seen[key] = date
        self.latest[identity] = key
        when = _parse_gmt(date)
        if when is not None and (self.t is None or when > self.t):
            self.t = when


class WooCommerceAdapter(ChannelAdapter):
    """A WooCommerce store through wc/v3. Stateless between calls apart from the call counter, the
    shop's clock and the creates in doubt (``_uncertain``)."""

    name = "woocommerce"
    capabilities = Capabilities(
        stock_mode="absolute",
        has_locations=False,
        max_batch=100,
        date_resolution=timedelta(seconds=1),
        write_version="modified_date",
    )

    def __init__(
        self,
        url: str,
        consumer_key: str,
        consumer_secret: str,
        webhook_secret: str,
        *,
        timeout: float = 30.0,
        max_attempts: int = 5,
        default_location: str = "default",
        currency: str = "USD",
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        overlap_seconds: int = 2,
        verify_tls: bool = True,
    ) -> None:
        self.url = url.rstrip("/")
        self.webhook_secret = webhook_secret
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.default_location = default_location
        self.currency = currency
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.overlap = timedelta(seconds=overlap_seconds)
        self.calls = 0
        """HTTP requests made so far (every attempt counts)."""
        self._read_started: datetime | None = None
        """The shop's clock at the first answer of the current read (the cursor catches up to it)."""
        self._last_served: datetime | None = None
        """The shop's clock (``Date``) in the newest answer received: a moment known to be past
        before any later request is sent."""
        self._uncertain: set[str] = set()
        """Keys of creates that may have reached the shop without our hearing (looked up first)."""
        self._api = API(
            url=self.url,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            wp_api=True,
            version="wc/v3",
            timeout=(min(CONNECT_TIMEOUT, timeout), timeout),  # a dead host fails fast; a slow shop may read
            verify_ssl=verify_tls,
        )

    # -- transport -------------------------------------------------------------------------------

    def _request(
        self, method: str, endpoint: str, *, params: Mapping[str, Any] | None = None, data: Any = None
    ) -> requests.Response:
        """One API call with bounded, jittered retries on network errors, 429 and 5xx."""
        return retrying(self.max_attempts, self.backoff_base, self.backoff_max)(
            self._once, method, endpoint, dict(params or {}), data
        )

    def _once(self, method: str, endpoint: str, params: dict[str, Any], data: Any) -> requests.Response:
        self.calls += 1
        try:
            if method == "GET":
                response = self._api.get(endpoint, params=params)
            elif method == "POST":
                response = self._api.post(endpoint, data, params=params)
            elif method == "PUT":
                response = self._api.put(endpoint, data, params=params)
            else:
                response = self._api.delete(endpoint, params=params)
        except requests.RequestException as exc:
            raise TransientError(f"WooCommerce unreachable: {exc.__class__.__name__}") from exc
        if not isinstance(response, requests.Response):  # the client is untyped
            raise TransientError("unexpected answer from the WooCommerce client")
        status = response.status_code
        if status < 400:
            served = _server_time(response)
            if self._read_started is None:
                self._read_started = served
            self._last_served = served or self._last_served
            return response
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        message = str(body.get("message") or response.reason or f"HTTP {status}")
        code = body.get("code")
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise TransientError(message, code=code, status=status, retry_after=retry_after)
        if status in (401, 403):
            raise AuthError(message, code=code, status=status)
        raise PermanentError(message, code=code, status=status)

    def _get_all(self, endpoint: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every item of a collection (see :meth:`_pages`)."""
        return [item for items in self._pages(endpoint, params) for item in items]

    def _pages(self, endpoint: str, params: Mapping[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """A collection a page (one call) at a time, stopping at ``X-WP-TotalPages`` (no wasted
        empty call)."""
        page = 1
        while True:
            response = self._request("GET", endpoint, params={**params, "per_page": PER_PAGE, "page": page})
            items = listing(response, endpoint)
            yield items
            total_pages = int(response.headers.get("X-WP-TotalPages") or 0)
            if page >= total_pages or len(items) < PER_PAGE:
                return
            page += 1

    _OVERLAP = 5
    """Items of the previous page that each offset page asks for again (see ``_get_since``)."""
    _MATCH = 4
    """How many of them an offset page must open with (so one may have moved away)."""

    def _get_since(
        self,
        endpoint: str,
        params: Mapping[str, Any],
    ) -> Iterator[list[dict[str, Any]]]:
        """Everything modified after ``params["modified_after"]``, in ``orderby=modified`` order, a
        page (the part of a call's items that can be trusted) at a time, so nothing is held.

        The list moves while it is read: an item modified meanwhile leaves its place for the end,
        so plain pages skip what moves up across a page boundary. Restarting every page at the last
        date read minus a second (``modified_after`` is strict, to the second) cannot skip, but
        every page then re-reads the items of its last second: after a mass write (50-90 items a
        second) up to most of a page. So pages are asked for by ``offset``, each overlapping the
        previous one by ``_OVERLAP`` items, and a page is trusted only if it picks up where the last
        one stopped (``_continues``): it opens with at least ``_MATCH`` of those items, unchanged and
        in order, and nothing else comes before them. An item that moved away from before the page
        (or out of the overlap) only shifts the page; up to ``_OVERLAP - _MATCH`` of them are absorbed.

        An item changed after a page was read sorts after every item of that page, except when it
        is changed within the page's last second: ties are ordered by id, so it may land before the
        next offset, unseen. So a page is followed by an offset page only if its last second was
        over before the page was asked for, judged by a ``Date`` header received before the request
        (``self._last_served`` seeds it, the newest answer of any earlier call of this adapter: a
        first call of the process has none and pays one restart).

        Otherwise, or when a page does not continue the last one, the read restarts at the start of
        the newest second read (``_restart``), which cannot skip anything: everything older has been
        read, anything changed meanwhile sorts after it. When that second is the one the window
        starts with, the same window is read again without the ids already read (``exclude``),
        from offset 0, which needs no tie order at all; the window is left at the end of that second
        (an excluded item changed meanwhile has a later date, so it is read again).

        Assumptions: dates come from a clock that does not go backwards. Variations and orders
        order ``modified`` ties by id (the CRUD controller appends ``ID``). The V3 products controller
        lower-cases that to ``"modified id"`` through ``WC_Query::get_catalog_ordering_args`` and
        WP_Query drops a lower-case ``id`` (read from source, not seen on a live store), so tied
        products may come back in a different order on every request. A reorder fails
        ``_continues`` and restarts unless it happens to leave ``_MATCH`` overlap items in place and
        in order; only then could it skip a product (simulated with random tie orders: about 2e-5
        per page boundary inside a second of 20 tied products, under 1e-6 for 60). An item may come
        more than once (a restart reads part of the window again): callers keep its latest copy.
        """
        after = str(params["modified_after"])
        skip: set[Any] = set()  # ids left out of the window: all were read at second `after` + 1 s
        read: list[Any] = []  # ids read in this window
        tail: list[tuple[Any, Any]] = []  # (id, date) of the last items read, for the overlap
        pos = 0  # offset of the first unread item of the window
        seen = self._last_served  # any answer so far came before this listing's first request
        clock = seen.strftime(DATE_FMT) if seen else None
        while True:
            start = pos - len(tail)
            query = {**params, "modified_after": after, "per_page": PER_PAGE, "offset": start}
            if skip:
                query["exclude"] = ",".join(str(i) for i in sorted(i for i in skip if i is not None))
            response = self._request("GET", endpoint, params=query)
            items = listing(response, endpoint)
            served = _server_time(response)
            if tail and not self._continues(items, tail):
                after, skip = self._restart(after, read, tail[-1][1])  # the list moved under us
                pos, read, tail = 0, [], []
            else:
                if items:
                    yield items
                if skip:
                    # Reading the window's first second without what was read of it, from offset 0.
                    second = self._shifted(after, 1)
                    beyond = [i for i in items if (i.get("date_modified_gmt") or "") > second]
                    if beyond or len(items) < PER_PAGE:  # that second is done: go on just after it
                        after, skip = second, set()
                        read = [i.get("id") for i in beyond]
                        pos, tail = len(beyond), self._tail(beyond)
                    elif skip.issuperset(i.get("id") for i in items):  # would loop for ever
                        raise PermanentError(f"WooCommerce ignored exclude= on {endpoint}")
                    else:
                        skip.update(i.get("id") for i in items)
                elif len(items) < PER_PAGE:
                    return
                else:
                    read.extend(i.get("id") for i in items)
                    pos, tail = start + len(items), self._tail(items)
                last = tail[-1][1] if tail else None
                if tail and (clock is None or last is None or last >= clock):
                    # The last second may still be changing: offsets could miss what lands in it.
                    after, skip = self._restart(after, read, last)
                    pos, read, tail = 0, [], []
            if served is not None:
                clock = max(clock or "", served.strftime(DATE_FMT))

    @classmethod
    def _tail(cls, items: Sequence[Mapping[str, Any]]) -> list[tuple[Any, Any]]:
        return [(i.get("id"), i.get("date_modified_gmt")) for i in items[-cls._OVERLAP :]]

    @classmethod
    def _continues(cls, items: Sequence[Mapping[str, Any]], tail: Sequence[tuple[Any, Any]]) -> bool:
        """Whether a page asked for so as to overlap ``tail`` (the last items read, as ``(id, date)``)
        carries on from it: it opens with at least ``_MATCH`` of them (all, for a shorter tail),
        unchanged and in their order, and none of them shows up later in the page."""
        index = {key: n for n, key in enumerate(tail)}
        keys = [(i.get("id"), i.get("date_modified_gmt")) for i in items]
        run, last = 0, -1
        for key in keys:
            n = index.get(key, -1)
            if n <= last:
                break
            run, last = run + 1, n
        return run >= min(cls._MATCH, len(tail)) and not any(key in index for key in keys[run:])

    @staticmethod
    def _restart(after: str, read: Sequence[Any], last: str | None) -> tuple[str, set[Any]]:
        """The window to read on from when offsets cannot be trusted: items modified after the second
        before ``last`` (the newest date read); or, when that is where the window already starts
        (everything read so far is in its first second), the same window without the ids read."""
        if last:
            restart = WooCommerceAdapter._shifted(last, -1)
            if restart > after:
                return restart, set()
        return after, set(read)

    @staticmethod
    def _shifted(date: str, seconds: int) -> str:
        """``date`` (``DATE_FMT``, GMT) moved by ``seconds``."""
        return (datetime.strptime(date, DATE_FMT).replace(tzinfo=UTC) + timedelta(seconds=seconds)).strftime(
            DATE_FMT
        )

    # -- simple reads --------------------------------------------------------------------------

    def check(self) -> str:
        """One call, no retries (a check answers now), which must be the REST API's JSON."""
        url = f"{self.url}/wp-json/wc/v3/products"
        try:
            response = self._once("GET", "products", {"per_page": 1, "_fields": "id"}, None)
        except TransientError as exc:
            if exc.status is None:
                raise TransientError(f"{url}: unreachable: {network_reason(exc.__cause__ or exc)}") from exc
            raise type(exc)(f"{url}: HTTP {exc.status}: {exc}", code=exc.code, status=exc.status) from exc
        except PermanentError as exc:  # AuthError included
            raise type(exc)(f"{url}: HTTP {exc.status}: {exc}", code=exc.code, status=exc.status) from exc
        listing(response, "products")  # a web page answering instead of the REST API is no success
        return f"{self.url}: {response.headers.get('X-WP-Total', '?')} products"

    def list_locations(self) -> list[ChannelLocation]:
        return [ChannelLocation(channel=self.name, channel_id=self.default_location, name="Online store")]

    # -- catalogue -------------------------------------------------------------------------------

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
            version=data.get("date_modified_gmt"),
            modified_at=_parse_gmt(data.get("date_modified_gmt")),
            counted_at=datetime.fromisoformat(data[_SERVED]) if data.get(_SERVED) else None,
        )

    def _stamped(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """``item`` with the time its answer was served: called as the answer is read, before the
        next request (the newest answer is the one that carried it)."""
        return {**item, _SERVED: self._served()}

    def _served(self) -> str | None:
        return self._last_served.isoformat() if self._last_served else None

    def to_product(
        self, data: Mapping[str, Any], variations: Sequence[Mapping[str, Any]] = ()
    ) -> ChannelProduct:
        """A wc/v3 product (and, for a variable product, its variations) as a :class:`ChannelProduct`."""
        variable = data.get("type") == "variable"
        variants = (
            tuple(self._variant(v, data) for v in variations) if variable else (self._variant(data, None),)
        )
        modified = [data.get("date_modified_gmt") or ""] + [
            v.get("date_modified_gmt") or "" for v in variations
        ]
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
            pool_counted_at=datetime.fromisoformat(data[_SERVED])
            if pool is not None and data.get(_SERVED)
            else None,
            version=max(modified) or None,
            modified_at=_parse_gmt(data.get("date_modified_gmt")),
        )

    def _variations_of(self, product: Mapping[str, Any]) -> list[dict[str, Any]]:
        if product.get("type") != "variable":
            return []
        # A trashed product's variations went to the trash with it: status=any would not list them.
        status = _TRASH if _trashed(product) else {}
        return self._get_all(f"products/{product['id']}/variations", {**status, **_BY_ID})

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
        state = _Cursor.load(cursor)
        if state.t is not None:
            yield from self._iter_catalog_since(state)
            return
        self._read_started = None
        calls = self.calls
        with CatalogSpool() as spool:
            variable = False
            trashed: list[SpooledItem] = []  # trashed variable products (they list no variations)
            for items in chain(self._pages("products", _BY_ID), self._pages("products", _TRASH | _BY_ID)):
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
                        state.record(self._key("p", product), product.get("date_modified_gmt"))
                spool.add_products(waiting)
                variable = variable or bool(waiting)
                yield Page(items=ready, cursor=None, calls=self.calls - calls, issues=issues)
                calls = self.calls
            try:
                for items in self._pages("variations", _BY_ID) if variable else ():
                    spool.add_variations(
                        (self._spooled("v", v, _VARIATION_FIELDS), False, False)
                        for v in self._keyed("variation", items, [])  # reported with their product
                    )
                if len(trashed) > 1:  # else one call for the product's own trashed variations
                    self._spool_trashed_variations(spool, trashed)
            except PermanentError as exc:
                if exc.status != 404:
                    raise
            for products, issues in self._pass_on(spool, state):
                yield Page(items=products, cursor=None, calls=self.calls - calls, issues=issues)
                calls = self.calls
        state.caught_up(self._read_started)
        yield Page(items=[], cursor=state.dump(self.overlap), calls=self.calls - calls)

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
        for page in self._pages("variations", _TRASH | _BY_ID):
            items = [v for v in self._keyed("variation", page, []) if has_id({"id": v.get("parent_id")})]
            spool.add_variations((self._spooled("v", v, _VARIATION_FIELDS), False, False) for v in items)
            for v in items:
                children.setdefault(int(v["parent_id"]), []).append(int(v["id"]))
        spool.add_products(
            (SpooledItem({**p.data, "variations": children.get(int(p.data["id"]), [])}, p.key, p.date), True)
            for p in trashed
        )

    def _iter_catalog_since(self, state: _Cursor) -> Iterator[Page[ChannelProduct]]:
        """What changed since the cursor: products and variations modified after it (less the
        overlap window), passed on product by product once a product's variations are all in. A
        product is passed on if it or one of its variations is new to the cursor; a changed
        variable product's unchanged variations come 100 a call from ``/variations?include=``, and
        the parents of changed variations (whose dates a variation's change does not touch) 100 a
        call from ``/products?include=``. Products trashed since come from ``status=trash`` (trashing
        moves the modified date), a trashed variable product with its trashed variations."""
        assert state.t is not None
        self._read_started = None
        calls = self.calls
        after = (state.t - self.overlap).strftime(DATE_FMT)  # naive GMT + dates_are_gmt (timezone trap)
        since = {"modified_after": after, "dates_are_gmt": "true", "orderby": "modified", "order": "asc"}
        product_fields = (*_PRODUCT_FIELDS, *_VARIATION_FIELDS)  # a simple product is its own variant
        with CatalogSpool() as spool:
            unkeyed: list[ReadIssue] = []
            for items in chain(
                self._get_since("products", since), self._get_since("products", _TRASH | since)
            ):
                spooled = [
                    self._spooled("p", p, product_fields) for p in self._keyed("product", items, unkeyed)
                ]
                spool.add_products((item, state.is_new(item.key)) for item in spooled)
            try:
                for items in self._get_since("variations", since):
                    keyed = self._keyed("variation", items, unkeyed)
                    spooled = [self._spooled("v", v, _VARIATION_FIELDS) for v in keyed]
                    spool.add_variations((item, True, state.is_new(item.key)) for item in spooled)
            except PermanentError as exc:
                if exc.status != 404:
                    raise
                # WooCommerce < 10.3 has no /variations: a variation's change cannot be seen from its
                # parent, so only a full read is correct. Report everything (dedupe happens downstream).
                log.warning("WooCommerce has no /wc/v3/variations; falling back to a full catalogue read")
                yield from self.iter_catalog(None)
                return
            spool.want_parents_of_new_variations()
            for ids in spool.missing_parents(PER_PAGE):
                for page in self._pages("products", self._including(ids)):
                    keyed = self._keyed("product", page, unkeyed)
                    spool.add_products((self._spooled("p", p, product_fields), True) for p in keyed)
            for ids in spool.missing_children(PER_PAGE):
                for page in self._pages("variations", self._including(ids)):
                    spool.add_variations(
                        (self._spooled("v", v, _VARIATION_FIELDS), False, False)
                        for v in self._keyed("variation", page, unkeyed)
                    )
            yield Page(items=[], cursor=None, calls=0, issues=unkeyed)
            for products, issues in self._pass_on(spool, state):
                yield Page(items=products, cursor=None, calls=self.calls - calls, issues=issues)
                calls = self.calls
            for key, date in spool.changed_variations():
                state.record(key, date)
        state.caught_up(self._read_started)
        yield Page(items=[], cursor=state.dump(self.overlap), calls=self.calls - calls)

    @staticmethod
    def _including(ids: Sequence[int]) -> dict[str, Any]:
        return {"include": ",".join(str(i) for i in ids), **_BY_ID}

    def _spooled(self, kind: str, item: Mapping[str, Any], fields: Sequence[str]) -> SpooledItem:
        """What a read keeps of an item: the ``fields`` it needs, and its cursor key (computed on the
        whole item, so a full and an incremental read agree on it)."""
        data = {k: item.get(k) for k in fields} | {_SERVED: self._served()}
        return SpooledItem(data, self._key(kind, item), item.get("date_modified_gmt"))

    def _pass_on(
        self, spool: CatalogSpool, state: _Cursor
    ) -> Iterator[tuple[list[ChannelProduct], list[ReadIssue]]]:
        """The spool's wanted products, 100 at a time, each with its variations, recorded in the
        cursor as they go, and the issues of those that could not be read. A variable product
        missing one of the variations it lists (added while we read, or a store without
        ``/variations``) is asked for them."""
        for batch in spool.wanted(PER_PAGE):
            products: list[ChannelProduct] = []
            issues: list[ReadIssue] = []
            for product, variations in batch:
                data = product.data
                keys = [(v.key, v.date) for v in variations]
                if data.get("type") == "variable" and (
                    len(variations) < len(data.get("variations") or []) or (_trashed(data) and not variations)
                ):
                    fetched = [self._stamped(v) for v in self._variations_of(data)]
                    keys = [(self._key("v", v), v.get("date_modified_gmt")) for v in fetched if has_id(v)]
                    products.extend(self._converted(data, fetched, issues))
                else:
                    products.extend(self._converted(data, [v.data for v in variations], issues))
                state.record(product.key, product.date)
                for key, date in keys:
                    state.record(key, date)
            yield products, issues

    @staticmethod
    def _key(kind: str, item: Mapping[str, Any]) -> str:
        return f"{kind}:{item['id']}@{item.get('date_modified_gmt')}#{_hash(item)}"

    def missing(self, product_ids: Sequence[str]) -> set[str]:
        """Products deleted for good: in neither the listing nor the trash (``include=``, 100 a call)."""
        ids = sorted({int(p) for p in product_ids if p.isdigit()})
        seen: set[str] = set()
        for start in range(0, len(ids), PER_PAGE):
            include = ",".join(str(i) for i in ids[start : start + PER_PAGE])
            for status in ({}, _TRASH):
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

    # -- stock events from orders ----------------------------------------------------------------

    def order_events(
        self, order: Mapping[str, Any], refunds: Sequence[Mapping[str, Any]] = ()
    ) -> list[StockEvent]:
        """Per order line, the stock WooCommerce holds reduced for it *now*, as an :class:`Effect`.

        WooCommerce's own bookkeeping is the line's ``_reduced_stock`` meta, which the REST API
        returns in ``line_items[].meta_data``: set to the quantity when stock is reduced
        (``wc_reduce_stock_levels``), lowered by each restocking refund (``wc_restock_refunded_items``),
        deleted when stock is restored (``wc_increase_stock_levels``). The line's effect is minus that
        value (no meta: nothing reduced), whatever path the order took; the sync records only its
        change (:mod:`bridge.effects`). A payload without ``meta_data`` falls back to the status:
        pending, cancelled, failed and draft hold nothing, any other status holds the whole quantity
        (refunds taken as not restocked, the reading that can only under-promise); a trashed order
        without it is not read. ``refunds`` only name the ids older versions recorded refund lines
        under (``_refunded_item_id``), so that those entries count as part of the effect.
        """
        status = str(order.get("status") or "")
        oid = order["id"]
        paid = _parse_gmt(order.get("date_paid_gmt"))
        modified = (
            _parse_gmt(order.get("date_modified_gmt")) or paid or _parse_gmt(order.get("date_created_gmt"))
        )
        assert modified is not None
        legacy = self._refund_line_ids(refunds)
        events: list[StockEvent] = []
        for line in order.get("line_items") or []:
            amount = self._line_effect(line, status)
            qty = int(line.get("quantity") or 0)
            if amount is None or (qty <= 0 and not amount):
                continue
            key = f"woocommerce:order:{oid}:line:{line['id']}"
            events.append(
                StockEvent(
                    source_id=key,
                    channel=self.name,
                    kind=StockEventKind.SALE,
                    delta=amount,
                    occurred_at=modified,
                    variant_id=str(line.get("variation_id") or line.get("product_id")),
                    sku=line.get("sku") or None,
                    reason=f"woocommerce order {oid} line {line['id']} ({status})",
                    effect=Effect(
                        key=key,
                        amount=amount,
                        taken=max(qty - self._restocked(line), 0),
                        taken_at=paid,
                        legacy=tuple(legacy.get(str(line["id"]), ())),
                    ),
                )
            )
        return events

    @staticmethod
    def _line_effect(line: Mapping[str, Any], status: str) -> int | None:
        """Minus the units WooCommerce holds reduced for ``line`` (None: not knowable from the payload).

        Without readable line meta, the status decides (see :meth:`order_events`)."""
        meta = line.get("meta_data")
        if isinstance(meta, list):
            reduced = _meta_number(meta, REDUCED_STOCK)
            if reduced is not None:
                return -reduced
        if status == "trash":
            return None
        return 0 if status in HOLDS_NOTHING else -int(line.get("quantity") or 0)

    @staticmethod
    def _restocked(line: Mapping[str, Any]) -> int:
        """Units restocked by refunds (``_restock_refunded_items``): a count taken before any change
        seen later is assumed to hold the paid quantity less these, which can only under-promise."""
        meta = line.get("meta_data")
        return (_meta_number(meta, "_restock_refunded_items") or 0) if isinstance(meta, list) else 0

    @staticmethod
    def _refund_line_ids(refunds: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
        """Order line id → the ids older versions gave its refund lines (``woocommerce:refund:…``)."""
        out: dict[str, list[str]] = {}
        for refund in refunds:
            for line in refund.get("line_items") or []:
                for item in line.get("meta_data") or []:
                    if isinstance(item, Mapping) and item.get("key") == "_refunded_item_id":
                        source = f"woocommerce:refund:{refund['id']}:line:{line['id']}"
                        out.setdefault(str(item.get("value")), []).append(source)
        return out

    def events_cursor_at(self, when: datetime) -> str | None:
        return _Cursor(t=when.astimezone(UTC)).dump(self.overlap)

    def read_stock_events(self, cursor: str | None = None) -> Page[StockEvent]:
        start = self.calls
        state = _Cursor.load(cursor)
        params: dict[str, Any] = {"orderby": "modified", "order": "asc"}
        if state.t is not None:
            params.update(modified_after=(state.t - self.overlap).strftime(DATE_FMT), dates_are_gmt="true")
        events: list[StockEvent] = []
        issues: list[ReadIssue] = []
        self._read_started = None
        pages = self._get_since("orders", params) if state.t else self._pages("orders", params)
        for raw in (order for page in pages for order in page):
            order, skipped = checked_order(raw)
            if order is None or not state.is_new(key := self._key("o", raw)):
                issues.extend(skipped if order is None else ())
                continue
            issues.extend(skipped)
            refunds: list[dict[str, Any]] = []
            if order.get("refunds"):
                refunds, skipped = checked_refunds(
                    order["id"], self._get_all(f"orders/{order['id']}/refunds", {})
                )
                issues.extend(skipped)
            events.extend(self.order_events(order, refunds))
            state.record(key, order.get("date_modified_gmt"))
        state.caught_up(self._read_started)
        # The counts of the catalogue read before this one were served before its first answer:
        # every sale in them is in this read (or an earlier one).
        return Page(
            items=events,
            cursor=state.dump(self.overlap),
            calls=self.calls - start,
            issues=issues,
            read_until=self._read_started,
        )

    # -- customers -------------------------------------------------------------------------------

    def to_customer(self, data: Mapping[str, Any]) -> ChannelCustomer:
        billing = data.get("billing") or {}
        region = str(billing.get("country") or "US")
        return ChannelCustomer(
            channel=self.name,
            channel_id=str(data["id"]),
            email=data.get("email") or billing.get("email") or None,
            phone=normalise_phone(billing.get("phone") or (data.get("shipping") or {}).get("phone"), region),
            given_name=data.get("first_name") or billing.get("first_name") or None,
            family_name=data.get("last_name") or billing.get("last_name") or None,
            company=billing.get("company") or None,
            version=data.get("date_modified_gmt"),
            modified_at=_parse_gmt(data.get("date_modified_gmt")),
        )

    def read_customers(self, cursor: str | None = None) -> Page[ChannelCustomer]:
        """Customers changed since ``cursor``.

        ``/customers`` has no ``modified_after``, so every customer is listed and filtered here on
        ``date_modified_gmt`` and the cursor's seen keys. ``role=all`` includes every account.
        """
        start = self.calls
        state = _Cursor.load(cursor)
        floor = (state.t - self.overlap) if state.t else None
        out = []
        for data in self._get_all("customers", {**_BY_ID, "role": "all"}):
            when = _parse_gmt(data.get("date_modified_gmt"))
            key = self._key("c", data)
            if floor is not None and (when is None or when < floor or not state.is_new(key)):
                continue
            out.append(self.to_customer(data))
            state.record(key, data.get("date_modified_gmt"))
        return Page(items=out, cursor=state.dump(self.overlap), calls=self.calls - start)

    # -- writes ----------------------------------------------------------------------------------

    def apply(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        product_items: list[tuple[int, str, dict[str, Any]]] = []
        variation_items: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}
        stock_probe: dict[int, SetStock] = {}
        for index, op in enumerate(ops):
            if isinstance(op, CreateProduct):
                product_items.append((index, "create", self._create_body(op.product)))
            elif isinstance(op, UpdateProduct):
                product_items.append(
                    (index, "update", {"id": int(op.product_id), **self._product_fields(op.fields)})
                )
            elif isinstance(op, ArchiveProduct):
                product_items.append(
                    (
                        index,
                        "update",
                        {"id": int(op.product_id), "status": STATUS_OUT[ProductStatus.ARCHIVED]},
                    )
                )
            elif isinstance(op, UpdateVariant):
                body = self._variant_fields(op.fields, simple=op.product_id == op.variant_id)
                if op.product_id == op.variant_id:
                    product_items.append((index, "update", {"id": int(op.product_id), **body}))
                else:
                    variation_items.setdefault(op.product_id, []).append(
                        (index, "update", {"id": int(op.variant_id), **body})
                    )
            elif isinstance(op, SetStock):
                if op.product_id == op.variant_id:
                    body = {"id": int(op.product_id), "manage_stock": True, "stock_quantity": op.quantity}
                    product_items.append((index, "update", body))
                else:
                    # First try the variation as it is; its answer tells us where the stock lives.
                    stock_probe[index] = op
                    variation_items.setdefault(op.product_id, []).append(
                        (index, "update", {"id": int(op.variant_id), "stock_quantity": op.quantity})
                    )
            elif isinstance(op, AdjustStock):
                results[index] = WriteResult(
                    key=op.key, ok=False, error="WooCommerce has no relative stock write", code="unsupported"
                )
        raw = self._run_batches(ops, product_items, variation_items, results)
        self._follow_up_stock(ops, stock_probe, raw, results)
        self._create_variations(ops, raw, results)
        self._uncertain.difference_update(r.key for r in results.values() if not r.retryable)
        return [results[i] for i in range(len(ops))]

    def _run_batches(
        self,
        ops: Sequence[WriteOp],
        product_items: list[tuple[int, str, dict[str, Any]]],
        variation_items: Mapping[str, list[tuple[int, str, dict[str, Any]]]],
        results: dict[int, WriteResult],
    ) -> dict[int, dict[str, Any]]:
        """Send items in batches of 100; fill ``results`` and return each op's raw answer."""
        raw: dict[int, dict[str, Any]] = {}
        # Creates go in batches of their own (see _post_creates), each carrying our marker.
        creates = [(i, a, self._marked(item, ops[i].key)) for i, a, item in product_items if a == "create"]
        updates = [entry for entry in product_items if entry[1] != "create"]
        jobs: list[tuple[str, list[tuple[int, str, dict[str, Any]]]]] = [("products/batch", updates)]
        jobs.append(("products/batch", creates))
        jobs += [(f"products/{pid}/variations/batch", items) for pid, items in variation_items.items()]
        for endpoint, items in jobs:
            for offset in range(0, len(items), self.capabilities.max_batch):
                chunk = items[offset : offset + self.capabilities.max_batch]
                self._send_batch(ops, endpoint, chunk, raw, results)
        return raw

    def _send_batch(
        self,
        ops: Sequence[WriteOp],
        endpoint: str,
        chunk: list[tuple[int, str, dict[str, Any]]],
        raw: dict[int, dict[str, Any]],
        results: dict[int, WriteResult],
    ) -> None:
        try:
            if any(action == "create" for _, action, _ in chunk):
                answer, chunk = self._post_creates(ops, endpoint, chunk, raw, results)
            else:
                answer = self._request("POST", endpoint, data=self._batch_body(chunk)).json()
        except AuthError:
            raise
        except AdapterError as exc:
            for index, _, _ in chunk:
                results[index] = WriteResult(
                    key=ops[index].key,
                    ok=False,
                    retryable=isinstance(exc, TransientError),
                    error=str(exc),
                    code=getattr(exc, "code", None),
                )
            return
        order: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for index, action, item in chunk:
            order.setdefault(action, []).append((index, item))
        for action, entries in order.items():
            answers = answer.get(action) or []
            for (index, sent), got in zip(entries, answers, strict=False):
                raw[index] = got
                results[index] = self._result(ops[index], sent, got)
            for index, _ in entries[len(answers) :]:
                results[index] = WriteResult(key=ops[index].key, ok=False, retryable=True, error="no answer")

    def _result(self, op: WriteOp, sent: Mapping[str, Any], got: Mapping[str, Any]) -> WriteResult:
        error = got.get("error")
        if error:
            status = int((error.get("data") or {}).get("status") or 400)
            return WriteResult(
                key=op.key,
                ok=False,
                retryable=status >= 500 or status == 429,
                error=str(error.get("message")),
                code=error.get("code"),
                # a duplicate SKU names the holder: the caller can link instead of creating
                channel_id=str(got.get("id") or (error.get("data") or {}).get("resource_id") or "") or None,
            )
        written = {k: got.get(k) for k in sent if k not in ("id", "variations", "attributes", "meta_data")}
        ids = {}
        if isinstance(op, CreateProduct) and got.get("sku"):
            ids[str(got["sku"])] = str(got["id"])
        return WriteResult(
            key=op.key,
            ok=True,
            channel_id=str(got.get("id")),
            version=got.get("date_modified_gmt"),
            ids=ids,
            written=written,
        )

    def _follow_up_stock(
        self,
        ops: Sequence[WriteOp],
        probes: Mapping[int, SetStock],
        raw: Mapping[int, dict[str, Any]],
        results: dict[int, WriteResult],
    ) -> None:
        """Second pass for variation stock: enable it where the variation does not manage it.

        A variation that draws on its parent's pool (``manage_stock: "parent"``; WooCommerce kept
        the value on the variation, where nothing shows it) is refused, never written on the parent:
        the parent holds its siblings' units too. The next read plans the pool (``bridge.pools``)."""
        own: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}
        for index, op in probes.items():
            got = raw.get(index)
            if not got or got.get("error"):
                continue
            if got.get("manage_stock") == "parent":
                results[index] = WriteResult(
                    key=op.key,
                    ok=False,
                    error=f"variation {op.variant_id} draws on the stock pool of product {op.product_id}: "
                    "not written (the pool is written as a whole)",
                    code="stock_pooled",
                )
            elif got.get("manage_stock") is not True:
                own.setdefault(op.product_id, []).append(
                    (
                        index,
                        "update",
                        {"id": int(op.variant_id), "manage_stock": True, "stock_quantity": op.quantity},
                    )
                )
        if own:
            self._run_batches(ops, [], own, results)

    def _create_variations(
        self, ops: Sequence[WriteOp], raw: Mapping[int, dict[str, Any]], results: dict[int, WriteResult]
    ) -> None:
        """Second pass for variable products: their variations, once the parent exists."""
        for index, op in enumerate(ops):
            if not isinstance(op, CreateProduct) or op.product.kind != "variable":
                continue
            got = raw.get(index)
            if not got or got.get("error"):
                continue
            pid = str(got["id"])
            # A parent found by lookup (our create's answer was lost) may hold some already.
            ids = self._variation_ids(pid) if got.get("variations") else {}
            bodies = [self._variation_body(v) for v in op.product.variants if v.sku not in ids]
            errors: list[str] = []
            transient = False
            for offset in range(0, len(bodies), self.capabilities.max_batch):
                try:
                    errors += self._post_variations(
                        pid, bodies[offset : offset + self.capabilities.max_batch], ids
                    )
                except AuthError:
                    raise
                except AdapterError as exc:
                    errors.append(str(exc))
                    transient = transient or isinstance(exc, TransientError)
            results[index] = WriteResult(
                key=op.key,
                ok=not errors,
                retryable=transient,
                error="; ".join(errors) or None,
                code="variation_error" if errors else None,
                channel_id=pid,
                version=got.get("date_modified_gmt"),
                ids=ids,
                written={"name": got.get("name"), "status": got.get("status")},
            )

    # creates: never sent twice ----------------------------------------------------------------
    #
    # A POST that creates is not idempotent, and WooCommerce has no idempotency keys: resending one
    # whose answer was lost (a timeout, a 5xx after the product was saved) makes a second product;
    # for a variable product, whose parent has no SKU to refuse it, an empty published one (the
    # official Square plugin's most reported bug). So a create is never retried blindly: each
    # product we create carries our marker (meta ``_shopbridge_key`` = the outbox key), and before
    # a create is sent again (a retry here, or after a restart: :meth:`mark_uncertain`) it is looked
    # up, by SKU for a simple product, by name and marker for a variable one; variations by SKU.

    def mark_uncertain(self, keys: Iterable[str]) -> None:
        """Look these creates up before sending them again (an earlier attempt may have landed)."""
        self._uncertain.update(keys)

    @staticmethod
    def _marked(body: Mapping[str, Any], key: str) -> dict[str, Any]:
        return {**body, "meta_data": [{"key": MARKER, "value": key}]}

    @staticmethod
    def _batch_body(chunk: Sequence[tuple[int, str, dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
        body: dict[str, list[dict[str, Any]]] = {}
        for _, action, item in chunk:
            body.setdefault(action, []).append(item)
        return body

    def _post_creates(
        self,
        ops: Sequence[WriteOp],
        endpoint: str,
        chunk: list[tuple[int, str, dict[str, Any]]],
        raw: dict[int, dict[str, Any]],
        results: dict[int, WriteResult],
    ) -> tuple[dict[str, Any], list[tuple[int, str, dict[str, Any]]]]:
        """Send a batch of creates under the usual retry policy, but look each create in doubt up
        before every attempt; those found are answered from what the shop holds. Returns the last
        answer and the creates it answers."""
        pending = list(chunk)
        tries = 0

        def attempt() -> Any:
            nonlocal pending, tries
            pending = [
                entry
                for entry in pending
                if not (
                    (tries or ops[entry[0]].key in self._uncertain)
                    and self._adopt(ops[entry[0]], entry, raw, results)
                )
            ]
            tries += 1
            if not pending:
                return {}
            self._uncertain.update(ops[i].key for i, _, _ in pending)  # in doubt once sent
            return self._once("POST", endpoint, {}, self._batch_body(pending)).json()

        answer: dict[str, Any] = retrying(self.max_attempts, self.backoff_base, self.backoff_max)(attempt)
        return answer, pending

    def _adopt(
        self,
        op: WriteOp,
        entry: tuple[int, str, dict[str, Any]],
        raw: dict[int, dict[str, Any]],
        results: dict[int, WriteResult],
    ) -> bool:
        """Whether the product ``op`` creates is in the shop already (then its answer is recorded)."""
        found = self._find_created(op) if isinstance(op, CreateProduct) else None
        if found is None:
            return False
        index, _, sent = entry
        raw[index] = found
        results[index] = self._result(op, sent, found)
        return True

    def _find_created(self, op: CreateProduct) -> dict[str, Any] | None:
        """The shop's product made by ``op``: for a simple product the one holding its SKU; for a
        variable one (no SKU until its variations exist) the one carrying our marker, searched by
        name, then among the newest products."""
        skus = [v.sku for v in op.product.variants if v.sku]
        if op.product.kind == "simple" and skus:
            held = self._request("GET", "products", params={"sku": skus[0]}).json()
            return next((p for p in held if p.get("sku") == skus[0] and not p.get("parent_id")), None)
        kind = {"type": op.product.kind}
        searched = self._request("GET", "products", params={**kind, "search": op.product.name}).json()
        newest = self._request("GET", "products", params={**kind, "orderby": "id", "order": "desc"}).json()
        for product in chain(searched, newest):
            if any(
                m.get("key") == MARKER and m.get("value") == op.key for m in product.get("meta_data") or []
            ):
                return dict(product)
        return None

    def _variation_ids(self, pid: str) -> dict[str, str]:
        """SKU -> id of the variations product ``pid`` holds."""
        return {
            str(v["sku"]): str(v["id"])
            for v in self._get_all(f"products/{pid}/variations", {})
            if v.get("sku")
        }

    def _post_variations(self, pid: str, bodies: list[dict[str, Any]], ids: dict[str, str]) -> list[str]:
        """Create variations of ``pid`` (their ids into ``ids``); a retry first drops those the
        shop already holds (a lost answer), so no variation is made twice. Returns refusals."""
        pending = list(bodies)
        tries = 0

        def attempt() -> Any:
            nonlocal pending, tries
            if tries:
                ids.update(self._variation_ids(pid))
                pending = [body for body in pending if body["sku"] not in ids]
            tries += 1
            if not pending:
                return {}
            return self._once("POST", f"products/{pid}/variations/batch", {}, {"create": pending}).json()

        answer = retrying(self.max_attempts, self.backoff_base, self.backoff_max)(attempt)
        errors: list[str] = []
        for created in answer.get("create") or []:
            if created.get("error"):
                errors.append(str(created["error"].get("message")))
            elif created.get("sku"):
                ids[str(created["sku"])] = str(created["id"])
        return errors

    def _create_body(self, product: ChannelProduct) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": product.name,
            "type": product.kind,
            "status": STATUS_OUT[product.status],
            "description": product.description or "",
        }
        if product.kind == "simple" and product.variants:
            body.update(self._variation_body(product.variants[0]))
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

    @staticmethod
    def _variation_body(variant: ChannelVariant) -> dict[str, Any]:
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

    @staticmethod
    def _product_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "name" in fields:
            out["name"] = str(fields["name"])
        if "description" in fields:
            out["description"] = str(fields["description"] or "")
        if "status" in fields:
            out["status"] = STATUS_OUT[ProductStatus(fields["status"])]
        return out

    @staticmethod
    def _variant_fields(fields: Mapping[str, Any], *, simple: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "sku" in fields:
            out["sku"] = str(fields["sku"] or "")
        if "gtin" in fields:
            out["global_unique_id"] = str(fields["gtin"] or "")
        if "price" in fields and fields["price"] is not None:
            price = fields["price"]
            out["regular_price"] = _money_str(
                price if isinstance(price, Money) else Money.model_validate(price)
            )
        if "status" in fields:
            out["status"] = STATUS_OUT[ProductStatus(fields["status"])]
        if "name" in fields and simple:
            out["name"] = str(fields["name"])
        if "description" in fields:
            out["description"] = str(fields["description"] or "")
        return out

    # -- webhooks --------------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, url: str) -> WebhookEvent:
        lower = {k.lower(): v for k, v in headers.items()}
        signature = lower.get("x-wc-webhook-signature")
        if not signature:
            ping = PING_BODY.fullmatch(body.strip())
            if ping:  # deliver_ping(): unsigned form body, nothing to act on
                return WebhookEvent(
                    channel=self.name,
                    event_id=f"woocommerce:ping:{ping.group(1).decode()}",
                    topic="ping",
                    resource="ping",
                    resource_id=ping.group(1).decode(),
                )
            raise WebhookRejected("missing X-WC-Webhook-Signature")
        mine = base64.b64encode(
            hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).digest()
        ).decode()
        if not hmac.compare_digest(mine.encode(), signature.strip().encode()):
            raise WebhookRejected("bad X-WC-Webhook-Signature")
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise WebhookRejected("webhook body is not JSON") from exc
        if not isinstance(payload, dict):
            raise WebhookRejected("webhook body is not a JSON object")
        topic = lower.get("x-wc-webhook-topic", "")
        resource = topic.partition(".")[0] or lower.get("x-wc-webhook-resource", "")
        webhook_id = lower.get("x-wc-webhook-id", "")
        # X-WC-Webhook-Delivery-ID repeats within a second, so the id is derived from the content.
        digest = hashlib.sha256(f"{webhook_id}|{topic}|".encode() + body).hexdigest()[:32]
        return WebhookEvent(
            channel=self.name,
            event_id=f"woocommerce:{digest}",
            topic=topic,
            resource=_RESOURCES.get(resource, "other"),
            resource_id=str(payload["id"]) if payload.get("id") is not None else None,
            occurred_at=_parse_gmt(payload.get("date_modified_gmt")),
            payload=payload,
        )

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
