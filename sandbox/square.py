"""A Square emulator: the ``/v2`` endpoints shopbridge uses, over real HTTP on loopback.

Why an emulator rather than the Square sandbox: tests and benchmarks must be fast, offline,
deterministic and able to misbehave on demand (429 after a partially applied write, duplicated and
reordered webhooks, stale catalogue versions). The adapter talks to it through the official
``squareup`` SDK exactly as it talks to Square, so wire formats here follow Square's OpenAPI spec
(``specs/square/api.json``) and ``reference/square-api.md``; the conformance test validates every
response against the spec's response schemas.

What is modelled (see :class:`SquareEmulator`): locations; catalogue list/search/batch
upsert/retrieve/delete with versions, ``#temp`` ids, all-or-nothing batches and tombstones; the
inventory change log (counts = last physical count + later adjustments, ordered by ``occurred_at``);
customers; orders (a COMPLETED order decrements tracked stock as an ``IN_STOCK -> SOLD`` adjustment);
idempotency keys; bearer auth; Square-shaped errors; signed outgoing webhooks.

Deliberately not modelled: the per-seller single catalogue writer (concurrent writes are serialised
by one lock instead of answering 429), search propagation delays, TRANSFER changes, WASTE/SOLD count
rows (only ``IN_STOCK`` counts are reported), the synthetic difference adjustment Square derives from
a physical count, order updates/returns, and catalogue object types beyond storing them verbatim.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from sandbox.http import EmulatorServer, Request, Response, Router, WebhookDispatcher, json_response
from sandbox.seed import SeedProduct

__all__ = ["RecordedExchange", "SquareEmulator", "Subscription"]

JSON = dict[str, Any]

_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WRITABLE_STATES = {"IN_STOCK", "SOLD", "WASTE", "NONE", "UNLINKED_RETURN"}
_CATEGORY_FOR_STATUS = {
    400: ("INVALID_REQUEST_ERROR", "BAD_REQUEST"),
    401: ("AUTHENTICATION_ERROR", "UNAUTHORIZED"),
    403: ("AUTHENTICATION_ERROR", "FORBIDDEN"),
    404: ("INVALID_REQUEST_ERROR", "NOT_FOUND"),
    405: ("INVALID_REQUEST_ERROR", "METHOD_NOT_ALLOWED"),
    409: ("INVALID_REQUEST_ERROR", "CONFLICT"),
    429: ("RATE_LIMIT_ERROR", "RATE_LIMITED"),
    500: ("API_ERROR", "INTERNAL_SERVER_ERROR"),
    503: ("API_ERROR", "SERVICE_UNAVAILABLE"),
    504: ("API_ERROR", "GATEWAY_TIMEOUT"),
}
MAX_OCCURRED_AGE_MS = 24 * 3600 * 1000


def fmt_ms(ms: int) -> str:
    """RFC 3339 with millisecond precision in UTC, as Square's servers write timestamps."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_ms(value: str) -> int:
    """Milliseconds since the epoch of an RFC 3339 timestamp (offsets honoured); ValueError if invalid."""
    dt = datetime.fromisoformat(value.replace("z", "Z"))
    if dt.tzinfo is None:
        raise ValueError("timestamp without offset")
    return int(dt.timestamp() * 1000)


def _fmt_qty(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _remap(value: Any, mapping: dict[str, str]) -> Any:
    """``value`` with every string equal to a ``#temp`` id of the batch replaced by its real id."""
    if isinstance(value, str):
        return mapping.get(value, value)
    if isinstance(value, list):
        return [_remap(v, mapping) for v in value]
    if isinstance(value, dict):
        return {k: _remap(v, mapping) for k, v in value.items()}
    return value


def _new_id() -> str:
    return base64.b32encode(secrets.token_bytes(15)).decode()


class SquareError(Exception):
    """Raised inside handlers; becomes Square's ``{"errors": [...]}`` body."""

    def __init__(
        self, status: int, code: str, detail: str, *, field: str | None = None, category: str | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field
        self.category = category or _CATEGORY_FOR_STATUS.get(status, ("INVALID_REQUEST_ERROR", ""))[0]

    def as_error(self) -> JSON:
        err: JSON = {"category": self.category, "code": self.code, "detail": self.detail}
        if self.field:
            err["field"] = self.field
        return err


def error_response(status: int, errors: Sequence[JSON]) -> Response:
    return json_response({"errors": list(errors)}, status)


def square_error_body(status: int, message: str) -> Response:
    """Square-shaped error for a bare status (404/405/injected faults)."""
    category, code = _CATEGORY_FOR_STATUS.get(status, ("API_ERROR", "INTERNAL_SERVER_ERROR"))
    return error_response(status, [{"category": category, "code": code, "detail": message}])


@dataclass(frozen=True)
class Subscription:
    """A webhook subscription: where to POST, the key to sign with, and which event types (None: all)."""

    id: str
    url: str
    signature_key: str
    event_types: frozenset[str] | None = None


@dataclass(frozen=True)
class RecordedExchange:
    """One answered request, kept when recording is on (for the spec conformance test)."""

    operation_id: str
    method: str
    path: str
    status: int
    body: Any


class SquareEmulator:
    """Square ``/v2`` emulator on a loopback port.

    ``SquareEmulator(access_token=..., signature_key=..., retry_schedule=(...))`` then
    :meth:`start` (or use it as a context manager). Seed with :meth:`seed`, point the adapter at
    :meth:`connection_info`, subscribe a receiver with :meth:`subscribe`. ``server.faults`` injects
    faults; ``webhooks.duplicate`` / ``webhooks.hold_back`` switch duplicate and out-of-order
    delivery. Set ``recorded = []`` to keep every response for conformance checks.
    """

    def __init__(
        self,
        *,
        access_token: str | None = None,
        signature_key: str | None = None,
        merchant_id: str = "ML4JYBS1S3B5X",
        retry_schedule: Iterable[float] = (0.2, 0.5, 1.0),
        max_inventory_changes: int = 100,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.access_token = access_token or "EAAA" + secrets.token_hex(16)
        self.signature_key = signature_key or secrets.token_urlsafe(16)
        self.merchant_id = merchant_id
        self.max_inventory_changes = max_inventory_changes
        self.application_id = "sq0idp-shopbridge-emulator"
        self.lock = threading.RLock()
        self.recorded: list[RecordedExchange] | None = None
        self.after_request: Callable[[str], None] | None = None
        """Called with the operation id after each API request is handled (outside the store lock),
        before its response is sent: tests use it to land a sale between two reads of a sync."""
        self.webhooks = WebhookDispatcher(retry_schedule=retry_schedule)
        self.subscriptions: list[Subscription] = []
        self._last_ms = 0
        self._cache: dict[tuple[Any, ...], list[Any]] = {}
        self._locations: list[JSON] = []
        self._objects: dict[str, JSON] = {}
        self._children: dict[str, list[str]] = {}
        self._changes: list[JSON] = []
        self._changes_by_key: dict[tuple[str, str], list[JSON]] = {}
        self._counts: dict[tuple[str, str], tuple[Decimal, int]] = {}
        self._customers: dict[str, JSON] = {}
        self._orders: dict[str, JSON] = {}
        self._idempotency: dict[tuple[str, str], tuple[str, Response]] = {}
        self.router = Router()
        self._routes()
        self.server = EmulatorServer(
            self.router, error_body=square_error_body, before=self._authenticate, host=host, port=port
        )

    # -- lifecycle and test API ------------------------------------------------------------------

    def start(self) -> SquareEmulator:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
        self.webhooks.close()

    def __enter__(self) -> SquareEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self.server.url

    def connection_info(self) -> JSON:
        """What an adapter needs: ``base_url`` (host root, no ``/v2``), token, signing key, locations."""
        with self.lock:
            return {
                "base_url": self.base_url,
                "access_token": self.access_token,
                "signature_key": self.signature_key,
                "location_ids": [loc["id"] for loc in self._locations],
            }

    def subscribe(
        self, url: str, *, signature_key: str | None = None, event_types: Iterable[str] | None = None
    ) -> Subscription:
        """Deliver events to ``url`` signed with ``signature_key`` (default: the emulator's key)."""
        sub = Subscription(
            id="wbhk_" + uuid.uuid4().hex,
            url=url,
            signature_key=signature_key or self.signature_key,
            event_types=frozenset(event_types) if event_types is not None else None,
        )
        with self.lock:
            self.subscriptions.append(sub)
        return sub

    def add_locations(self, names: Sequence[str]) -> list[str]:
        """Create locations directly in state; returns their ids."""
        ids = []
        with self.lock:
            now = self._tick()
            for name in names:
                loc_id = "L" + _new_id()[:12]
                self._locations.append(
                    {
                        "id": loc_id,
                        "name": name,
                        "status": "ACTIVE",
                        "type": "PHYSICAL",
                        "merchant_id": self.merchant_id,
                        "country": "US",
                        "currency": "USD",
                        "timezone": "America/Los_Angeles",
                        "created_at": fmt_ms(now),
                        "business_name": "Shopbridge Test Shop",
                    }
                )
                ids.append(loc_id)
            self._locations.sort(key=lambda loc: str(loc["name"]))
        return ids

    def seed(
        self,
        products: Sequence[SeedProduct],
        locations: int | Sequence[str] = 3,
        *,
        currency: str = "USD",
    ) -> dict[str, str]:
        """Put items, variations and stock straight into state (no HTTP, no webhooks).

        ``locations`` is a number of locations to create when none exist, or explicit names. Each
        variation gets ``stock`` as a physical count at *every* location (``None`` stock: not tracked).
        Returns SKU -> variation id (variations without SKU are left out).
        """
        with self.lock:
            if not self._locations or not isinstance(locations, int):
                names = (
                    [f"Location {n + 1}" for n in range(locations)]
                    if isinstance(locations, int)
                    else list(locations)
                )
                self.add_locations(names)
            loc_ids = [loc["id"] for loc in self._locations]
            now = self._tick()
            stamp = fmt_ms(now)
            # Counts are taken an hour ago, so test changes "in the last hour" land after them.
            counted = now - 3600 * 1000
            counted_stamp = fmt_ms(counted)
            sku_map: dict[str, str] = {}
            for product in products:
                item_id = _new_id()
                var_ids: list[str] = []
                for n, variant in enumerate(product.variants):
                    var_id = _new_id()
                    data: JSON = {
                        "item_id": item_id,
                        "name": " / ".join(variant.options.values()) or "Regular",
                        "ordinal": n,
                        "pricing_type": "FIXED_PRICING",
                        "price_money": {
                            "amount": int((variant.price * 100).to_integral_value()),
                            "currency": currency,
                        },
                        "track_inventory": variant.stock is not None,
                        "sellable": True,
                        "stockable": True,
                    }
                    if variant.sku:
                        data["sku"] = variant.sku
                        sku_map[variant.sku] = var_id
                    if variant.gtin:
                        data["upc"] = variant.gtin
                    self._objects[var_id] = self._envelope("ITEM_VARIATION", var_id, now, stamp) | {
                        "item_variation_data": data
                    }
                    var_ids.append(var_id)
                    if variant.stock is not None:
                        qty = Decimal(variant.stock)
                        for loc_id in loc_ids:
                            change = {
                                "type": "PHYSICAL_COUNT",
                                "physical_count": {
                                    "id": _new_id(),
                                    "catalog_object_id": var_id,
                                    "catalog_object_type": "ITEM_VARIATION",
                                    "state": "IN_STOCK",
                                    "location_id": loc_id,
                                    "quantity": _fmt_qty(qty),
                                    "occurred_at": counted_stamp,
                                    "created_at": counted_stamp,
                                    "source": {"product": "DASHBOARD", "name": "Seed"},
                                },
                                "_occurred": counted,
                                "_created": counted,
                            }
                            self._changes.append(change)
                            self._changes_by_key[(var_id, loc_id)] = [change]
                            self._counts[(var_id, loc_id)] = (qty, counted)
                item_data: JSON = {"name": product.name, "product_type": "REGULAR", "is_archived": False}
                if product.description:
                    item_data["description"] = product.description
                    item_data["description_html"] = f"<p>{product.description}</p>"
                self._objects[item_id] = self._envelope("ITEM", item_id, now, stamp) | {
                    "item_data": item_data
                }
                self._children[item_id] = var_ids
            return sku_map

    def location_ids(self) -> list[str]:
        with self.lock:
            return [loc["id"] for loc in self._locations]

    def count(self, variation_id: str, location_id: str) -> int:
        """The current IN_STOCK count (0 when never counted), read straight from state."""
        with self.lock:
            qty = self._counts.get((variation_id, location_id), (Decimal(0), 0))[0]
            return int(qty)

    def variation_by_sku(self, sku: str) -> JSON | None:
        with self.lock:
            for obj in self._objects.values():
                if obj["type"] == "ITEM_VARIATION" and obj["item_variation_data"].get("sku") == sku:
                    return self._render(obj)
        return None

    def _call(self, method: str, path: str, body: JSON) -> JSON:
        answer = requests.request(
            method,
            self.base_url + path,
            json=body,
            headers={"Authorization": f"Bearer {self.access_token}"},
            timeout=10,
        )
        result: JSON = answer.json()
        if answer.status_code >= 400:
            raise RuntimeError(f"emulator call failed: {answer.status_code} {result}")
        return result

    def simulate_sale(self, variation_id: str, quantity: int = 1, *, location_id: str | None = None) -> JSON:
        """A POS sale: a COMPLETED order created through the API (stock drops by ``quantity``)."""
        loc = location_id or self.location_ids()[0]
        body = {
            "idempotency_key": uuid.uuid4().hex,
            "order": {
                "location_id": loc,
                "state": "COMPLETED",
                "source": {"name": "Square Point of Sale"},
                "line_items": [{"catalog_object_id": variation_id, "quantity": str(quantity)}],
            },
        }
        order: JSON = self._call("POST", "/v2/orders", body)["order"]
        return order

    def manual_count(
        self,
        variation_id: str,
        quantity: int,
        *,
        location_id: str | None = None,
        occurred_at: str | None = None,
    ) -> JSON:
        """A stock count typed in by staff: a PHYSICAL_COUNT through the API."""
        loc = location_id or self.location_ids()[0]
        body = {
            "idempotency_key": uuid.uuid4().hex,
            "ignore_unchanged_counts": False,
            "changes": [
                {
                    "type": "PHYSICAL_COUNT",
                    "physical_count": {
                        "catalog_object_id": variation_id,
                        "location_id": loc,
                        "state": "IN_STOCK",
                        "quantity": str(quantity),
                        "reference_id": "manual-" + uuid.uuid4().hex[:8],
                        "occurred_at": occurred_at or fmt_ms(int(time.time() * 1000)),
                    },
                }
            ],
        }
        return self._call("POST", "/v2/inventory/changes/batch-create", body)

    # -- plumbing --------------------------------------------------------------------------------

    def _tick(self) -> int:
        """A strictly increasing ms clock: catalogue versions and ``updated_at`` come from it."""
        now = int(time.time() * 1000)
        self._last_ms = max(now, self._last_ms + 1)
        self._cache.clear()  # every state change takes a tick: cached query results are stale now
        return self._last_ms

    def _cached(self, key: tuple[Any, ...], build: Callable[[], list[Any]]) -> list[Any]:
        """A query's full sorted result, reused while paging through it (until the next state change)."""
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    @staticmethod
    def _envelope(kind: str, obj_id: str, version: int, stamp: str) -> JSON:
        return {
            "type": kind,
            "id": obj_id,
            "updated_at": stamp,
            "version": version,
            "is_deleted": False,
            "present_at_all_locations": True,
        }

    def _authenticate(self, request: Request, path: str) -> Response | None:
        if not path.startswith("/v2/"):
            return None
        auth = request.headers.get("authorization", "")
        if not hmac.compare_digest(auth.encode(), f"Bearer {self.access_token}".encode()):
            return error_response(
                401,
                [
                    {
                        "category": "AUTHENTICATION_ERROR",
                        "code": "UNAUTHORIZED",
                        "detail": "This request could not be authorized.",
                    }
                ],
            )
        version = request.headers.get("square-version")
        if version is not None and not _VERSION_RE.match(version):
            return error_response(
                400,
                [
                    {
                        "category": "INVALID_REQUEST_ERROR",
                        "code": "INVALID_SQUARE_VERSION_FORMAT",
                        "detail": f"Invalid Square-Version format: {version}",
                    }
                ],
            )
        return None

    def _add(
        self,
        method: str,
        pattern: str,
        operation_id: str,
        handler: Callable[[Request], JSON],
        *,
        idempotent: bool = False,
    ) -> None:
        """Register ``handler`` with JSON parsing, idempotency, error mapping, version echo and recording."""

        def wrapped(request: Request) -> Response:
            response = self._handle(request, operation_id, handler, idempotent)
            if self.after_request is not None:
                self.after_request(operation_id)
            version = request.headers.get("square-version")
            if version:
                response.headers["Square-Version"] = version
            if self.recorded is not None:
                try:
                    body = json.loads(response.body) if response.body else None
                except ValueError:
                    body = response.body.decode(errors="replace")
                with self.lock:
                    self.recorded.append(
                        RecordedExchange(operation_id, method, request.path, response.status, body)
                    )
            return response

        self.router.add(method, pattern, wrapped, name=operation_id)

    def _handle(
        self, request: Request, operation_id: str, handler: Callable[[Request], JSON], idempotent: bool
    ) -> Response:
        try:
            body = request.json() if request.method in ("POST", "PUT") else None
        except ValueError:
            return error_response(
                400,
                [
                    {
                        "category": "INVALID_REQUEST_ERROR",
                        "code": "EXPECTED_JSON_BODY",
                        "detail": "The body is not valid JSON.",
                    }
                ],
            )
        if request.method in ("POST", "PUT") and not isinstance(body, dict):
            return error_response(
                400,
                [
                    {
                        "category": "INVALID_REQUEST_ERROR",
                        "code": "EXPECTED_JSON_BODY",
                        "detail": "Expected a JSON object body.",
                    }
                ],
            )
        with self.lock:
            key = body.get("idempotency_key") if idempotent and isinstance(body, dict) else None
            digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
            if key:
                stored = self._idempotency.get((operation_id, str(key)))
                if stored is not None:
                    if stored[0] == digest:
                        return Response(stored[1].status, stored[1].body, dict(stored[1].headers))
                    return error_response(
                        400,
                        [
                            {
                                "category": "INVALID_REQUEST_ERROR",
                                "code": "IDEMPOTENCY_KEY_REUSED",
                                "detail": "The idempotency key was already used for a different request.",
                                "field": "idempotency_key",
                            }
                        ],
                    )
            try:
                result = handler(request)
                response = json_response(result, int(result.pop("__status__", 200)))
            except SquareError as exc:
                response = error_response(exc.status, [exc.as_error()])
            if key and response.status < 300:  # Square replays the first *successful* response
                self._idempotency[(operation_id, str(key))] = (digest, response)
            return Response(response.status, response.body, dict(response.headers))

    def _emit(self, event_type: str, data: JSON, *, location_id: str | None = None) -> None:
        """Queue ``event_type`` to every matching subscription (signed over URL + raw body)."""
        for sub in self.subscriptions:
            if sub.event_types is not None and event_type not in sub.event_types:
                continue
            envelope: JSON = {
                "merchant_id": self.merchant_id,
                "type": event_type,
                "event_id": str(uuid.uuid4()),
                "created_at": datetime.now(tz=UTC).isoformat().replace("+00:00", "Z"),
                "data": data,
            }
            if location_id:
                envelope["location_id"] = location_id
            raw = json.dumps(envelope).encode()
            digest = hmac.new(sub.signature_key.encode(), sub.url.encode() + raw, hashlib.sha256).digest()
            headers = {
                "Content-Type": "application/json",
                "x-square-hmacsha256-signature": base64.b64encode(digest).decode(),
                "square-environment": "Sandbox",
                "square-initial-delivery-timestamp": envelope["created_at"],
                "square-subscription-id": sub.id,
                "square-version": "2025-08-20",
                "User-Agent": "Square Connect v2",
            }
            self.webhooks.send(sub.url, raw, headers)

    # -- routes ----------------------------------------------------------------------------------

    def _routes(self) -> None:
        add = self._add
        add("GET", r"/v2/locations", "ListLocations", self._list_locations)
        add("GET", r"/v2/catalog/info", "CatalogInfo", self._catalog_info)
        add("GET", r"/v2/catalog/list", "ListCatalog", self._list_catalog)
        add("POST", r"/v2/catalog/search", "SearchCatalogObjects", self._search_catalog)
        add(
            "POST",
            r"/v2/catalog/batch-upsert",
            "BatchUpsertCatalogObjects",
            self._batch_upsert,
            idempotent=True,
        )
        add("POST", r"/v2/catalog/object", "UpsertCatalogObject", self._upsert_one, idempotent=True)
        add("POST", r"/v2/catalog/batch-retrieve", "BatchRetrieveCatalogObjects", self._batch_retrieve)
        add("POST", r"/v2/catalog/batch-delete", "BatchDeleteCatalogObjects", self._batch_delete)
        add("GET", r"/v2/catalog/object/(?P<id>[^/]+)", "RetrieveCatalogObject", self._retrieve_object)
        add("DELETE", r"/v2/catalog/object/(?P<id>[^/]+)", "DeleteCatalogObject", self._delete_object)
        add(
            "POST",
            r"/v2/inventory/changes/batch-create",
            "BatchChangeInventory",
            self._batch_change,
            idempotent=True,
        )
        add(
            "POST", r"/v2/inventory/counts/batch-retrieve", "BatchRetrieveInventoryCounts", self._batch_counts
        )
        add(
            "POST",
            r"/v2/inventory/changes/batch-retrieve",
            "BatchRetrieveInventoryChanges",
            self._batch_changes,
        )
        add("GET", r"/v2/customers", "ListCustomers", self._list_customers)
        add("POST", r"/v2/customers", "CreateCustomer", self._create_customer, idempotent=True)
        add("POST", r"/v2/customers/search", "SearchCustomers", self._search_customers)
        add("GET", r"/v2/customers/(?P<id>[^/]+)", "RetrieveCustomer", self._retrieve_customer)
        add("PUT", r"/v2/customers/(?P<id>[^/]+)", "UpdateCustomer", self._update_customer)
        add("DELETE", r"/v2/customers/(?P<id>[^/]+)", "DeleteCustomer", self._delete_customer)
        add("POST", r"/v2/orders", "CreateOrder", self._create_order, idempotent=True)
        add("POST", r"/v2/orders/search", "SearchOrders", self._search_orders)
        add("GET", r"/v2/orders/(?P<id>[^/]+)", "RetrieveOrder", self._retrieve_order)

    # -- locations -------------------------------------------------------------------------------

    def _list_locations(self, request: Request) -> JSON:
        return {"locations": [dict(loc) for loc in self._locations]}

    # -- catalogue -------------------------------------------------------------------------------

    def _catalog_info(self, request: Request) -> JSON:
        return {
            "limits": {
                "batch_delete_max_object_ids": 200,
                "batch_retrieve_max_object_ids": 1000,
                "batch_upsert_max_objects_per_batch": 1000,
                "batch_upsert_max_total_objects": 10000,
                "search_max_page_limit": 1000,
            }
        }

    def _render(self, obj: JSON) -> JSON:
        """The wire form of a stored object; an ITEM carries its variations (tombstones only when deleted)."""
        out = dict(obj)
        if obj["type"] == "ITEM":
            data = dict(obj["item_data"])
            deleted = bool(obj["is_deleted"])
            data["variations"] = [
                dict(self._objects[v])
                for v in self._children.get(obj["id"], [])
                if bool(self._objects[v]["is_deleted"]) == deleted
            ]
            out["item_data"] = data
        return out

    @staticmethod
    def _decode_cursor(cursor: str | None) -> tuple[int, str] | None:
        if not cursor:
            return None
        try:
            version, _, obj_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
            return int(version), obj_id
        except (ValueError, UnicodeDecodeError) as exc:
            raise SquareError(400, "INVALID_CURSOR", "The cursor is not valid.", field="cursor") from exc

    @staticmethod
    def _encode_cursor(obj: JSON) -> str:
        return base64.urlsafe_b64encode(f"{obj['version']}:{obj['id']}".encode()).decode()

    def _page_objects(
        self,
        *,
        types: set[str],
        include_deleted: bool,
        begin_ms: int | None,
        cursor: str | None,
        limit: int,
        match: Callable[[JSON], bool] | None = None,
        match_key: str = "",
    ) -> tuple[list[JSON], str | None]:
        """Objects ordered by (version, id): a keyset order, so pages stay consistent under writes."""
        after = self._decode_cursor(cursor)

        def build() -> list[JSON]:
            found = [
                obj
                for obj in self._objects.values()
                if obj["type"] in types
                and (include_deleted or not obj["is_deleted"])
                and (begin_ms is None or obj["version"] > begin_ms)
                and (match is None or match(obj))
            ]
            found.sort(key=lambda o: (o["version"], o["id"]))
            return found

        ordered = self._cached(("catalog", frozenset(types), include_deleted, begin_ms, match_key), build)
        start = (
            0 if after is None else bisect.bisect_right(ordered, after, key=lambda o: (o["version"], o["id"]))
        )
        found = ordered[start:]
        page = found[:limit]
        next_cursor = self._encode_cursor(page[-1]) if len(found) > limit else None
        return [self._render(o) for o in page], next_cursor

    def _list_catalog(self, request: Request) -> JSON:
        raw_types = request.arg("types") or "ITEM,CATEGORY,TAX,DISCOUNT,MODIFIER_LIST"
        types = {t.strip().upper() for t in raw_types.split(",") if t.strip()}
        objects, cursor = self._page_objects(
            types=types, include_deleted=False, begin_ms=None, cursor=request.arg("cursor"), limit=100
        )
        out: JSON = {}
        if objects:
            out["objects"] = objects
        if cursor:
            out["cursor"] = cursor
        return out

    def _latest_ms(self) -> int:
        return max((o["version"] for o in self._objects.values()), default=0)

    def _search_catalog(self, request: Request) -> JSON:
        body: JSON = request.json()
        types = {str(t).upper() for t in body.get("object_types") or []} or {
            "ITEM",
            "ITEM_VARIATION",
            "CATEGORY",
            "TAX",
            "DISCOUNT",
            "MODIFIER_LIST",
            "MODIFIER",
            "IMAGE",
        }
        begin_ms = self._time_filter(body, "begin_time")
        limit = body.get("limit")
        if not isinstance(limit, int) or limit <= 0 or limit > 1000:
            limit = 100
        match = self._catalog_query(body.get("query"))
        objects, cursor = self._page_objects(
            types=types,
            include_deleted=bool(body.get("include_deleted_objects")),
            begin_ms=begin_ms,
            cursor=body.get("cursor"),
            limit=limit,
            match=match,
            match_key=json.dumps(body.get("query"), sort_keys=True),
        )
        out: JSON = {}
        if objects:
            out["objects"] = objects
        if cursor:
            out["cursor"] = cursor
        latest = self._latest_ms()
        if latest:
            out["latest_time"] = fmt_ms(latest)
        if body.get("include_related_objects") and objects:
            related = []
            for obj in objects:
                if obj["type"] == "ITEM_VARIATION":
                    parent = self._objects.get(obj["item_variation_data"].get("item_id", ""))
                    if parent is not None:
                        related.append(self._render(parent))
            if related:
                out["related_objects"] = related
        return out

    @staticmethod
    def _attribute(obj: JSON, name: str) -> str | None:
        data = obj.get(f"{str(obj['type']).lower()}_data") or {}
        value = data.get(name)
        return None if value is None else str(value)

    def _catalog_query(self, query: Any) -> Callable[[JSON], bool] | None:
        """``exact_query``, ``set_query``, ``prefix_query`` and ``text_query`` (case-insensitive)."""
        if not isinstance(query, dict) or not query:
            return None
        tests: list[Callable[[JSON], bool]] = []
        if isinstance(query.get("exact_query"), dict):
            name, value = query["exact_query"]["attribute_name"], str(query["exact_query"]["attribute_value"])
            tests.append(lambda o: (self._attribute(o, name) or "").lower() == value.lower())
        if isinstance(query.get("set_query"), dict):
            name = query["set_query"]["attribute_name"]
            values = {str(v).lower() for v in query["set_query"]["attribute_values"]}
            tests.append(lambda o: (self._attribute(o, name) or "").lower() in values)
        if isinstance(query.get("prefix_query"), dict):
            pname = query["prefix_query"]["attribute_name"]
            prefix = str(query["prefix_query"]["attribute_prefix"]).lower()
            tests.append(lambda o: (self._attribute(o, pname) or "").lower().startswith(prefix))
        if isinstance(query.get("text_query"), dict):
            words = [str(k).lower() for k in query["text_query"].get("keywords", [])]

            def text(o: JSON) -> bool:
                hay = " ".join(
                    self._attribute(o, a) or "" for a in ("name", "description", "sku", "upc", "abbreviation")
                ).lower()
                return all(w in hay for w in words)

            tests.append(text)
        return lambda o: all(t(o) for t in tests)

    def _upsert_one(self, request: Request) -> JSON:
        body: JSON = request.json()
        if not body.get("idempotency_key"):
            raise SquareError(
                400, "MISSING_REQUIRED_PARAMETER", "idempotency_key is required.", field="idempotency_key"
            )
        obj = body.get("object")
        if not isinstance(obj, dict):
            raise SquareError(400, "MISSING_REQUIRED_PARAMETER", "object is required.", field="object")
        objects, mappings, updated = self._apply_batch([obj])
        out: JSON = {"catalog_object": objects[0]}
        if mappings:
            out["id_mappings"] = mappings
        self._emit_catalog(updated)
        return out

    def _batch_upsert(self, request: Request) -> JSON:
        body: JSON = request.json()
        if not body.get("idempotency_key"):
            raise SquareError(
                400, "MISSING_REQUIRED_PARAMETER", "idempotency_key is required.", field="idempotency_key"
            )
        batches = body.get("batches")
        if not isinstance(batches, list) or not batches:
            raise SquareError(400, "MISSING_REQUIRED_PARAMETER", "batches is required.", field="batches")
        total = 0
        for n, batch in enumerate(batches):
            objects = batch.get("objects") if isinstance(batch, dict) else None
            if not isinstance(objects, list) or not objects:
                raise SquareError(
                    400, "ARRAY_EMPTY", "A batch has no objects.", field=f"batches[{n}].objects"
                )
            size = sum(
                1 + len((o.get("item_data") or {}).get("variations") or [])
                for o in objects
                if isinstance(o, dict)
            )
            if size > 1000:
                raise SquareError(
                    400,
                    "ARRAY_LENGTH_TOO_LONG",
                    "A batch may hold up to 1000 objects.",
                    field=f"batches[{n}]",
                )
            total += size
        if total > 10000:
            raise SquareError(
                400, "ARRAY_LENGTH_TOO_LONG", "A request may hold up to 10000 objects.", field="batches"
            )
        all_objects: list[JSON] = []
        all_mappings: list[JSON] = []
        errors: list[JSON] = []
        updated_at = None
        for batch in batches:
            try:
                objects, mappings, updated = self._apply_batch(batch["objects"])
            except SquareError as exc:
                errors.append(exc.as_error())
                continue
            all_objects.extend(objects)
            all_mappings.extend(mappings)
            updated_at = updated
        if errors and not all_objects:
            return {"errors": errors, "__status__": 400}
        out: JSON = {"objects": all_objects}
        if updated_at is not None:
            out["updated_at"] = fmt_ms(updated_at)
            self._emit_catalog(updated_at)
        if all_mappings:
            out["id_mappings"] = all_mappings
        if errors:
            out["errors"] = errors
        return out

    def _emit_catalog(self, updated_ms: int) -> None:
        self._emit(
            "catalog.version.updated",
            {
                "type": "catalog_version",
                "id": str(uuid.uuid4()),
                "object": {"catalog_version": {"updated_at": fmt_ms(updated_ms)}},
            },
        )

    def _apply_batch(self, objects: list[Any]) -> tuple[list[JSON], list[JSON], int]:
        """Validate then apply one all-or-nothing batch; returns (objects, id_mappings, version)."""
        flat: list[tuple[JSON, str | None]] = []  # (object, parent temp/real id for nested variations)
        for obj in objects:
            if not isinstance(obj, dict) or not obj.get("type") or not obj.get("id"):
                raise SquareError(400, "MISSING_REQUIRED_PARAMETER", "Objects need type and id.", field="id")
            flat.append((obj, None))
            if obj["type"] == "ITEM":
                for var in (obj.get("item_data") or {}).get("variations") or []:
                    if not isinstance(var, dict) or var.get("type") != "ITEM_VARIATION" or not var.get("id"):
                        raise SquareError(
                            400, "INVALID_VALUE", "Invalid nested variation.", field="variations"
                        )
                    flat.append((var, str(obj["id"])))
        mapping: dict[str, str] = {}
        for obj, _ in flat:
            obj_id = str(obj["id"])
            if obj.get("is_deleted") is True:
                raise SquareError(
                    400, "INVALID_VALUE", "is_deleted must not be true on upsert.", field="is_deleted"
                )
            if obj_id.startswith("#"):
                if obj_id in mapping:
                    raise SquareError(400, "INVALID_VALUE", f"Duplicate temporary id {obj_id}.", field="id")
                mapping[obj_id] = _new_id()
                continue
            stored = self._objects.get(obj_id)
            if stored is None or stored["is_deleted"]:
                raise SquareError(400, "NOT_FOUND", f"Object {obj_id} not found.", field="id")
            if stored["type"] != obj["type"]:
                raise SquareError(
                    400, "INVALID_VALUE", f"Object {obj_id} has type {stored['type']}.", field="type"
                )
            if obj.get("version") is not None and int(obj["version"]) != int(stored["version"]):
                raise SquareError(
                    400,
                    "VERSION_MISMATCH",
                    "Object version does not match latest database version.",
                    field="version",
                )
        for obj, parent in flat:
            if obj["type"] == "ITEM_VARIATION":
                data = obj.get("item_variation_data") or {}
                item_ref = parent or data.get("item_id")
                if not item_ref:
                    raise SquareError(
                        400, "MISSING_REQUIRED_PARAMETER", "item_id is required.", field="item_id"
                    )
                real = mapping.get(str(item_ref), str(item_ref))
                target = self._objects.get(real)
                if (real not in mapping.values()) and (target is None or target["type"] != "ITEM"):
                    raise SquareError(400, "INVALID_VALUE", f"Item {item_ref} not found.", field="item_id")
                price = data.get("price_money")
                if price is not None and (
                    not isinstance(price, dict) or not isinstance(price.get("amount"), int)
                ):
                    raise SquareError(
                        400, "INVALID_VALUE", "price_money.amount must be an integer.", field="price_money"
                    )
            if obj["type"] == "ITEM" and not (obj.get("item_data") or {}).get("name"):
                stored = self._objects.get(str(obj["id"]))
                if stored is None:
                    raise SquareError(
                        400, "MISSING_REQUIRED_PARAMETER", "item_data.name is required.", field="name"
                    )
        # All checks passed: apply.
        now = self._tick()
        stamp = fmt_ms(now)
        out_ids: list[str] = []
        for obj, parent in flat:
            obj_id = mapping.get(str(obj["id"]), str(obj["id"]))
            record = _remap(
                {k: v for k, v in obj.items() if k not in ("updated_at", "version", "is_deleted", "id")},
                mapping,
            )
            record.update(self._envelope(str(obj["type"]), obj_id, now, stamp))
            if "present_at_all_locations" in obj:
                record["present_at_all_locations"] = bool(obj["present_at_all_locations"])
            if obj["type"] == "ITEM":
                data = dict(record.get("item_data") or {})
                nested = data.pop("variations", None)
                previous = self._objects.get(obj_id)
                if previous is not None and not data.get("name"):
                    data["name"] = previous["item_data"].get("name")
                record["item_data"] = data
                if nested is not None:
                    keep = [mapping.get(str(v["id"]), str(v["id"])) for v in nested]
                    for old in self._children.get(obj_id, []):
                        if old not in keep and not self._objects[old]["is_deleted"]:
                            self._tombstone(old, now, stamp)
                    self._children[obj_id] = keep + [
                        old for old in self._children.get(obj_id, []) if old not in keep
                    ]
                else:
                    self._children.setdefault(obj_id, [])
                out_ids.append(obj_id)
            elif obj["type"] == "ITEM_VARIATION":
                data = dict(record.get("item_variation_data") or {})
                item_ref = parent or str(data.get("item_id"))
                item_id = mapping.get(item_ref, item_ref)
                data["item_id"] = item_id
                record["item_variation_data"] = data
                children = self._children.setdefault(item_id, [])
                if obj_id not in children:
                    children.append(obj_id)
                if parent is None:
                    out_ids.append(obj_id)
            else:
                out_ids.append(obj_id)
            self._objects[obj_id] = record
        mappings = [{"client_object_id": k, "object_id": v} for k, v in mapping.items()]
        return [self._render(self._objects[i]) for i in out_ids], mappings, now

    def _tombstone(self, obj_id: str, now: int, stamp: str) -> list[str]:
        obj = self._objects[obj_id]
        obj.update({"is_deleted": True, "version": now, "updated_at": stamp})
        deleted = [obj_id]
        if obj["type"] == "ITEM":
            for child in self._children.get(obj_id, []):
                if not self._objects[child]["is_deleted"]:
                    self._objects[child].update({"is_deleted": True, "version": now, "updated_at": stamp})
                    deleted.append(child)
        return deleted

    def _delete_ids(self, ids: Sequence[str]) -> JSON:
        now = self._tick()
        stamp = fmt_ms(now)
        deleted: list[str] = []
        for obj_id in ids:
            obj = self._objects.get(obj_id)
            if obj is None or obj["is_deleted"]:
                continue
            deleted.extend(self._tombstone(obj_id, now, stamp))
        out: JSON = {"deleted_at": stamp}
        if deleted:
            out["deleted_object_ids"] = deleted
            self._emit_catalog(now)
        return out

    def _batch_delete(self, request: Request) -> JSON:
        ids = request.json().get("object_ids") or []
        if len(ids) > 200:
            raise SquareError(400, "ARRAY_LENGTH_TOO_LONG", "At most 200 object ids.", field="object_ids")
        return self._delete_ids([str(i) for i in ids])

    def _delete_object(self, request: Request) -> JSON:
        obj = self._objects.get(request.params["id"])
        if obj is None or obj["is_deleted"]:
            raise SquareError(404, "NOT_FOUND", "Object not found.")
        return self._delete_ids([request.params["id"]])

    def _batch_retrieve(self, request: Request) -> JSON:
        body: JSON = request.json()
        ids = body.get("object_ids")
        if not isinstance(ids, list) or not ids:
            raise SquareError(
                400, "MISSING_REQUIRED_PARAMETER", "object_ids is required.", field="object_ids"
            )
        if len(ids) > 1000:
            raise SquareError(400, "ARRAY_LENGTH_TOO_LONG", "At most 1000 object ids.", field="object_ids")
        include_deleted = bool(body.get("include_deleted_objects"))
        objects = [
            self._render(self._objects[str(i)])
            for i in ids
            if str(i) in self._objects and (include_deleted or not self._objects[str(i)]["is_deleted"])
        ]
        return {"objects": objects} if objects else {}

    def _retrieve_object(self, request: Request) -> JSON:
        obj = self._objects.get(request.params["id"])
        if obj is None or obj["is_deleted"]:
            raise SquareError(404, "NOT_FOUND", "Object not found.")
        return {"object": self._render(obj)}

    # -- inventory -------------------------------------------------------------------------------

    def _tracked(self, var_id: str, loc_id: str) -> bool:
        obj = self._objects.get(var_id)
        if obj is None or obj["type"] != "ITEM_VARIATION":
            return False
        data = obj["item_variation_data"]
        for override in data.get("location_overrides") or []:
            if override.get("location_id") == loc_id and "track_inventory" in override:
                return bool(override["track_inventory"])
        return bool(data.get("track_inventory"))

    def _recount(self, key: tuple[str, str]) -> None:
        """Square's rule: the last PHYSICAL_COUNT (by occurred_at) plus the adjustments after it."""
        changes = self._changes_by_key.get(key, [])
        changes.sort(key=lambda c: (c["_occurred"], c["_created"]))
        qty = Decimal(0)
        for change in changes:
            if change["type"] == "PHYSICAL_COUNT":
                if change["physical_count"]["state"] == "IN_STOCK":
                    qty = Decimal(change["physical_count"]["quantity"])
            else:
                adj = change["adjustment"]
                if adj["to_state"] == "IN_STOCK":
                    qty += Decimal(adj["quantity"])
                if adj["from_state"] == "IN_STOCK":
                    qty -= Decimal(adj["quantity"])
        calculated = max((c["_created"] for c in changes), default=0)
        self._counts[key] = (qty, calculated)

    def _count_json(self, key: tuple[str, str]) -> JSON:
        qty, calculated = self._counts.get(key, (Decimal(0), self._last_ms))
        return {
            "catalog_object_id": key[0],
            "catalog_object_type": "ITEM_VARIATION",
            "state": "IN_STOCK",
            "location_id": key[1],
            "quantity": _fmt_qty(qty),
            "calculated_at": fmt_ms(calculated),
        }

    def _validate_change(self, n: int, change: Any, now: int) -> tuple[JSON, str]:
        if not isinstance(change, dict):
            raise SquareError(400, "INVALID_VALUE", "Invalid change.", field=f"changes[{n}]")
        kind = change.get("type")
        part_name = {"PHYSICAL_COUNT": "physical_count", "ADJUSTMENT": "adjustment"}.get(str(kind))
        if part_name is None:
            raise SquareError(
                400, "INVALID_ENUM_VALUE", f"Unsupported change type {kind}.", field=f"changes[{n}].type"
            )
        part = change.get(part_name)
        if not isinstance(part, dict):
            raise SquareError(
                400, "MISSING_REQUIRED_PARAMETER", f"{part_name} is required.", field=f"changes[{n}]"
            )
        field = f"changes[{n}].{part_name}"
        obj = self._objects.get(str(part.get("catalog_object_id")))
        if obj is None or obj["is_deleted"] or obj["type"] != "ITEM_VARIATION":
            raise SquareError(
                400, "INVALID_VALUE", "Unknown catalog_object_id.", field=f"{field}.catalog_object_id"
            )
        if part.get("location_id") not in {loc["id"] for loc in self._locations}:
            raise SquareError(400, "INVALID_VALUE", "Unknown location_id.", field=f"{field}.location_id")
        try:
            qty = Decimal(str(part.get("quantity")))
        except InvalidOperation as exc:
            raise SquareError(400, "INVALID_VALUE", "Invalid quantity.", field=f"{field}.quantity") from exc
        if qty < 0 or (kind == "ADJUSTMENT" and qty == 0) or not qty.is_finite():
            raise SquareError(400, "INVALID_VALUE", "Invalid quantity.", field=f"{field}.quantity")
        if not part.get("occurred_at"):
            raise SquareError(
                400, "MISSING_REQUIRED_PARAMETER", "occurred_at is required.", field=f"{field}.occurred_at"
            )
        try:
            occurred = parse_ms(str(part["occurred_at"]))
        except ValueError as exc:
            raise SquareError(
                400, "INVALID_TIME", "Invalid occurred_at.", field=f"{field}.occurred_at"
            ) from exc
        if occurred > now + 1000 or occurred < now - MAX_OCCURRED_AGE_MS:
            raise SquareError(
                400,
                "INVALID_VALUE",
                "occurred_at must be within the last 24 hours and not in the future.",
                field=f"{field}.occurred_at",
            )
        if kind == "PHYSICAL_COUNT":
            if part.get("state") not in ("IN_STOCK", "WASTE"):
                raise SquareError(400, "INVALID_VALUE", "Invalid state.", field=f"{field}.state")
        else:
            for attr in ("from_state", "to_state"):
                if part.get(attr) not in _WRITABLE_STATES:
                    raise SquareError(400, "INVALID_VALUE", f"Invalid {attr}.", field=f"{field}.{attr}")
            if part["from_state"] == part["to_state"]:
                raise SquareError(
                    400, "INVALID_VALUE", "from_state equals to_state.", field=f"{field}.to_state"
                )
        return part, str(kind)

    def _record_change(
        self, kind: str, part: JSON, now: int, source: JSON, extra: JSON | None = None
    ) -> JSON:
        part_name = "physical_count" if kind == "PHYSICAL_COUNT" else "adjustment"
        occurred = parse_ms(str(part["occurred_at"]))
        stored: JSON = {
            "id": _new_id(),
            "catalog_object_id": part["catalog_object_id"],
            "catalog_object_type": "ITEM_VARIATION",
            "location_id": part["location_id"],
            "quantity": _fmt_qty(Decimal(str(part["quantity"]))),
            "occurred_at": fmt_ms(occurred),
            "created_at": fmt_ms(now),
            "source": source,
        }
        if kind == "PHYSICAL_COUNT":
            stored["state"] = part["state"]
        else:
            stored["from_state"] = part["from_state"]
            stored["to_state"] = part["to_state"]
        for attr in ("reference_id", "team_member_id", "employee_id"):
            if part.get(attr):
                stored[attr] = str(part[attr])
        stored.update(extra or {})
        change = {"type": kind, part_name: stored, "_occurred": occurred, "_created": now}
        self._changes.append(change)
        key = (str(part["catalog_object_id"]), str(part["location_id"]))
        self._changes_by_key.setdefault(key, []).append(change)
        return change

    def _emit_counts(self, keys: Iterable[tuple[str, str]]) -> None:
        counts = [self._count_json(k) for k in keys]
        for start in range(0, len(counts), 100):
            self._emit(
                "inventory.count.updated",
                {
                    "type": "inventory_counts",
                    "id": str(uuid.uuid4()),
                    "object": {"inventory_counts": counts[start : start + 100]},
                },
            )

    @staticmethod
    def _public(change: JSON) -> JSON:
        return {k: v for k, v in change.items() if not k.startswith("_")}

    def _batch_change(self, request: Request) -> JSON:
        body: JSON = request.json()
        if not body.get("idempotency_key"):
            raise SquareError(
                400, "MISSING_REQUIRED_PARAMETER", "idempotency_key is required.", field="idempotency_key"
            )
        changes = body.get("changes") or []
        if not isinstance(changes, list):
            raise SquareError(400, "EXPECTED_ARRAY", "changes must be an array.", field="changes")
        if len(changes) > self.max_inventory_changes:
            raise SquareError(
                400,
                "ARRAY_LENGTH_TOO_LONG",
                f"At most {self.max_inventory_changes} changes per request.",
                field="changes",
            )
        now = self._tick()
        validated = [self._validate_change(n, change, now) for n, change in enumerate(changes)]
        ignore_unchanged = body.get("ignore_unchanged_counts", True) is not False
        source = {"product": "EXTERNAL_API", "application_id": self.application_id, "name": "API"}
        created: list[JSON] = []
        keys: list[tuple[str, str]] = []
        for part, kind in validated:
            key = (str(part["catalog_object_id"]), str(part["location_id"]))
            if key not in keys:
                keys.append(key)
            if (
                kind == "PHYSICAL_COUNT"
                and ignore_unchanged
                and key in self._counts
                and self._counts[key][0] == Decimal(str(part["quantity"]))
            ):
                continue
            created.append(self._record_change(kind, part, now, source))
            self._recount(key)
        out: JSON = {"counts": [self._count_json(k) for k in keys]}
        if created:
            out["changes"] = [self._public(c) for c in created]
            self._emit_counts(keys)
        return out

    @staticmethod
    def _offset(cursor: Any) -> int:
        if not cursor:
            return 0
        try:
            return int(base64.urlsafe_b64decode(str(cursor).encode()).decode())
        except (ValueError, UnicodeDecodeError) as exc:
            raise SquareError(400, "INVALID_CURSOR", "The cursor is not valid.", field="cursor") from exc

    @staticmethod
    def _next_cursor(offset: int, limit: int, total: int) -> str | None:
        end = offset + limit
        return base64.urlsafe_b64encode(str(end).encode()).decode() if end < total else None

    @staticmethod
    def _limit(value: Any, default: int, maximum: int) -> int:
        if value is None:
            return default
        if not isinstance(value, int) or value < 1:
            raise SquareError(400, "VALUE_TOO_LOW", "limit is too low.", field="limit")
        if value > maximum:
            raise SquareError(400, "VALUE_TOO_HIGH", f"limit must be at most {maximum}.", field="limit")
        return value

    def _time_filter(self, body: JSON, name: str) -> int | None:
        if not body.get(name):
            return None
        try:
            return parse_ms(str(body[name]))
        except ValueError as exc:
            raise SquareError(400, "INVALID_TIME", f"Invalid {name}.", field=name) from exc

    def _batch_counts(self, request: Request) -> JSON:
        body: JSON = request.json()
        ids = set(body.get("catalog_object_ids") or [])
        locs = set(body.get("location_ids") or [])
        states = set(body.get("states") or [])
        after = self._time_filter(body, "updated_after")
        limit = self._limit(body.get("limit"), 1000, 1000)
        offset = self._offset(body.get("cursor"))
        if states and "IN_STOCK" not in states:
            return {}

        def build() -> list[tuple[tuple[str, str], int]]:
            found = [
                (key, calc)
                for key, (_, calc) in self._counts.items()
                if (not ids or key[0] in ids)
                and (not locs or key[1] in locs)
                and (after is None or calc > after)
                and self._tracked(*key)
                and not self._objects[key[0]]["is_deleted"]
            ]
            found.sort(key=lambda r: (-r[1], r[0]))
            return found

        rows = self._cached(("counts", frozenset(ids), frozenset(locs), after), build)
        page = rows[offset : offset + limit]
        out: JSON = {}
        if page:
            out["counts"] = [self._count_json(key) for key, _ in page]
        cursor = self._next_cursor(offset, limit, len(rows))
        if cursor:
            out["cursor"] = cursor
        return out

    def _batch_changes(self, request: Request) -> JSON:
        body: JSON = request.json()
        ids = set(body.get("catalog_object_ids") or [])
        locs = set(body.get("location_ids") or [])
        types = set(body.get("types") or ["PHYSICAL_COUNT", "ADJUSTMENT"])
        if "TRANSFER" in types:
            raise SquareError(400, "INVALID_VALUE", "TRANSFER is not a valid filter.", field="types")
        states = set(body.get("states") or [])
        after = self._time_filter(body, "updated_after")
        before = self._time_filter(body, "updated_before")
        limit = self._limit(body.get("limit"), 100, 1000)
        offset = self._offset(body.get("cursor"))

        def keep(change: JSON) -> bool:
            if change["type"] not in types:
                return False
            part = change["physical_count"] if change["type"] == "PHYSICAL_COUNT" else change["adjustment"]
            if ids and part["catalog_object_id"] not in ids:
                return False
            if locs and part["location_id"] not in locs:
                return False
            if (
                states
                and change["type"] == "ADJUSTMENT"
                and not ({part["from_state"], part["to_state"]} & states)
            ):
                return False
            if after is not None and change["_created"] <= after:
                return False
            return before is None or change["_created"] < before

        def build() -> list[JSON]:
            found = [c for c in self._changes if keep(c)]
            found.sort(key=lambda c: (c["_occurred"], c["_created"]))
            return found

        rows = self._cached(
            ("changes", frozenset(ids), frozenset(locs), frozenset(types), frozenset(states), after, before),
            build,
        )
        page = rows[offset : offset + limit]
        out: JSON = {}
        if page:
            out["changes"] = [self._public(c) for c in page]
        cursor = self._next_cursor(offset, limit, len(rows))
        if cursor:
            out["cursor"] = cursor
        return out

    # -- customers -------------------------------------------------------------------------------

    _CUSTOMER_FIELDS = (
        "given_name",
        "family_name",
        "company_name",
        "nickname",
        "email_address",
        "phone_number",
        "reference_id",
        "note",
        "birthday",
        "address",
        "tax_ids",
    )

    def _check_customer(self, data: JSON) -> None:
        email = data.get("email_address")
        if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", str(email)):
            raise SquareError(400, "INVALID_EMAIL_ADDRESS", "Invalid email address.", field="email_address")
        phone = data.get("phone_number")
        if phone is not None and not re.fullmatch(r"\+?[\d\s().-]{9,24}", str(phone)):
            raise SquareError(400, "INVALID_PHONE_NUMBER", "Invalid phone number.", field="phone_number")
        for name, limit in (
            ("given_name", 300),
            ("family_name", 300),
            ("company_name", 500),
            ("email_address", 254),
        ):
            if data.get(name) is not None and len(str(data[name])) > limit:
                raise SquareError(400, "VALUE_TOO_LONG", f"{name} is too long.", field=name)

    def _list_customers(self, request: Request) -> JSON:
        limit = self._limit(int(request.arg("limit") or 100), 100, 100)
        offset = self._offset(request.arg("cursor"))
        rows = sorted(self._customers.values(), key=lambda c: (c["created_at"], c["id"]))
        if request.arg("sort_order", "ASC") == "DESC":
            rows.reverse()
        page = rows[offset : offset + limit]
        out: JSON = {}
        if page:
            out["customers"] = [dict(c) for c in page]
        cursor = self._next_cursor(offset, limit, len(rows))
        if cursor:
            out["cursor"] = cursor
        return out

    def _create_customer(self, request: Request) -> JSON:
        body: JSON = request.json()
        data = {k: body[k] for k in self._CUSTOMER_FIELDS if body.get(k) is not None}
        if not any(
            data.get(k)
            for k in ("given_name", "family_name", "company_name", "email_address", "phone_number")
        ):
            raise SquareError(
                400,
                "MISSING_REQUIRED_PARAMETER",
                "At least one of name, company, email or phone is required.",
            )
        self._check_customer(data)
        now = fmt_ms(self._tick())
        customer: JSON = {
            "id": _new_id()[:26],
            "created_at": now,
            "updated_at": now,
            **data,
            "preferences": {"email_unsubscribed": False},
            "creation_source": "THIRD_PARTY",
            "version": 0,
        }
        self._customers[customer["id"]] = customer
        self._emit(
            "customer.created",
            {"type": "customer", "id": customer["id"], "object": {"customer": dict(customer)}},
        )
        return {"customer": dict(customer)}

    def _customer(self, customer_id: str) -> JSON:
        customer = self._customers.get(customer_id)
        if customer is None:
            raise SquareError(404, "NOT_FOUND", f"Customer with ID `{customer_id}` not found.")
        return customer

    def _retrieve_customer(self, request: Request) -> JSON:
        return {"customer": dict(self._customer(request.params["id"]))}

    def _update_customer(self, request: Request) -> JSON:
        customer = self._customer(request.params["id"])
        body: JSON = request.json()
        if body.get("version") is not None and int(body["version"]) != int(customer["version"]):
            raise SquareError(
                400, "VERSION_MISMATCH", "Customer version does not match latest version.", field="version"
            )
        changes = {k: body[k] for k in self._CUSTOMER_FIELDS if k in body}
        self._check_customer({k: v for k, v in changes.items() if v is not None})
        for name, value in changes.items():
            if value is None:
                customer.pop(name, None)
            else:
                customer[name] = value
        customer["version"] = int(customer["version"]) + 1
        customer["updated_at"] = fmt_ms(self._tick())
        self._emit(
            "customer.updated",
            {"type": "customer", "id": customer["id"], "object": {"customer": dict(customer)}},
        )
        return {"customer": dict(customer)}

    def _delete_customer(self, request: Request) -> JSON:
        customer = self._customer(request.params["id"])
        version = request.arg("version")
        if version is not None and int(version) != int(customer["version"]):
            raise SquareError(400, "VERSION_MISMATCH", "Customer version does not match.", field="version")
        del self._customers[customer["id"]]
        self._emit("customer.deleted", {"type": "customer", "id": customer["id"], "deleted": True})
        return {}

    def _search_customers(self, request: Request) -> JSON:
        body: JSON = request.json()
        limit = self._limit(body.get("limit"), 100, 100)
        offset = self._offset(body.get("cursor"))
        query = body.get("query") or {}
        flt = query.get("filter") or {}
        rows = [c for c in self._customers.values() if self._customer_matches(c, flt)]
        sort = query.get("sort") or {}
        if sort.get("field") == "CREATED_AT":
            rows.sort(key=lambda c: (c["created_at"], c["id"]))
        else:
            rows.sort(key=lambda c: (c.get("given_name", ""), c.get("family_name", ""), c["created_at"]))
        if sort.get("order") == "DESC":
            rows.reverse()
        page = rows[offset : offset + limit]
        out: JSON = {}
        if page:
            out["customers"] = [dict(c) for c in page]
        cursor = self._next_cursor(offset, limit, len(rows))
        if cursor:
            out["cursor"] = cursor
        if body.get("count"):
            out["count"] = len(rows)
        return out

    @staticmethod
    def _customer_matches(customer: JSON, flt: JSON) -> bool:
        def tokens(value: str) -> set[str]:
            return {t for t in re.split(r"[\s.@_+-]+", value.lower()) if t}

        for name in ("email_address", "phone_number", "reference_id"):
            text_filter = flt.get(name)
            if not text_filter:
                continue
            value = str(customer.get(name) or "")
            if name == "phone_number":
                digits = re.sub(r"\D", "", value)
                if "exact" in text_filter and digits != re.sub(r"\D", "", str(text_filter["exact"])):
                    return False
                if "fuzzy" in text_filter and re.sub(r"\D", "", str(text_filter["fuzzy"])) not in digits:
                    return False
                continue
            if "exact" in text_filter and value.lower() != str(text_filter["exact"]).lower():
                return False
            if "fuzzy" in text_filter and not tokens(str(text_filter["fuzzy"])) <= tokens(value):
                return False
        for name in ("created_at", "updated_at"):
            time_range = flt.get(name)
            if not time_range:
                continue
            stamp = parse_ms(str(customer[name]))
            if time_range.get("start_at") and stamp < parse_ms(str(time_range["start_at"])):
                return False
            if time_range.get("end_at") and stamp > parse_ms(str(time_range["end_at"])):
                return False
        return True

    # -- orders ----------------------------------------------------------------------------------

    def _create_order(self, request: Request) -> JSON:
        body: JSON = request.json()
        order_in = body.get("order")
        if not isinstance(order_in, dict):
            raise SquareError(400, "MISSING_REQUIRED_PARAMETER", "order is required.", field="order")
        loc_id = order_in.get("location_id")
        if loc_id not in {loc["id"] for loc in self._locations}:
            raise SquareError(400, "INVALID_VALUE", "Unknown location_id.", field="order.location_id")
        state = order_in.get("state", "OPEN")
        if state not in ("OPEN", "COMPLETED", "DRAFT"):
            raise SquareError(400, "INVALID_VALUE", "Invalid state.", field="order.state")
        now = self._tick()
        stamp = fmt_ms(now)
        order_id = _new_id()
        lines: list[JSON] = []
        total = 0
        currency = "USD"
        for n, line in enumerate(order_in.get("line_items") or []):
            try:
                qty = Decimal(str(line.get("quantity")))
            except InvalidOperation as exc:
                raise SquareError(
                    400, "INVALID_VALUE", "Invalid quantity.", field=f"order.line_items[{n}].quantity"
                ) from exc
            out_line: JSON = {"uid": uuid.uuid4().hex[:22], "quantity": _fmt_qty(qty)}
            var_id = line.get("catalog_object_id")
            price = line.get("base_price_money")
            if var_id:
                var = self._objects.get(str(var_id))
                if var is None or var["is_deleted"] or var["type"] != "ITEM_VARIATION":
                    raise SquareError(
                        400, "INVALID_VALUE", "Unknown catalog_object_id.", field=f"order.line_items[{n}]"
                    )
                data = var["item_variation_data"]
                item = self._objects.get(str(data.get("item_id")))
                out_line.update(
                    {
                        "catalog_object_id": var_id,
                        "catalog_version": var["version"],
                        "variation_name": data.get("name", ""),
                        "name": item["item_data"].get("name", "") if item else line.get("name", ""),
                        "item_type": "ITEM",
                    }
                )
                price = price or data.get("price_money")
            else:
                out_line.update({"name": line.get("name", "Custom amount"), "item_type": "CUSTOM_AMOUNT"})
            price = price or {"amount": 0, "currency": currency}
            currency = str(price.get("currency", currency))
            line_total = int(Decimal(price["amount"]) * qty)
            total += line_total
            out_line["base_price_money"] = price
            out_line["total_money"] = {"amount": line_total, "currency": currency}
            lines.append(out_line)
        order: JSON = {
            "id": order_id,
            "location_id": loc_id,
            "line_items": lines,
            "state": state,
            "version": 1,
            "created_at": stamp,
            "updated_at": stamp,
            "total_money": {"amount": total, "currency": currency},
            "source": {"name": str((order_in.get("source") or {}).get("name", "API"))},
        }
        for attr in ("reference_id", "customer_id"):
            if order_in.get(attr):
                order[attr] = order_in[attr]
        if state == "COMPLETED":
            order["closed_at"] = stamp
            keys = []
            for line in lines:
                var_id = line.get("catalog_object_id")
                if var_id and self._tracked(str(var_id), str(loc_id)):
                    part = {
                        "catalog_object_id": var_id,
                        "location_id": loc_id,
                        "from_state": "IN_STOCK",
                        "to_state": "SOLD",
                        "quantity": line["quantity"],
                        "occurred_at": stamp,
                    }
                    source = {
                        "product": "SQUARE_POS",
                        "application_id": "sq0idp-pos",
                        "name": "Square Point of Sale",
                    }
                    self._record_change(
                        "ADJUSTMENT",
                        part,
                        now,
                        source,
                        {"transaction_id": order_id, "total_price_money": line["total_money"]},
                    )
                    key = (str(var_id), str(loc_id))
                    self._recount(key)
                    keys.append(key)
            if keys:
                self._emit_counts(keys)
        self._orders[order_id] = order
        summary = {
            "order_id": order_id,
            "version": 1,
            "location_id": loc_id,
            "state": state,
            "created_at": stamp,
        }
        self._emit(
            "order.created",
            {"type": "order_created", "id": order_id, "object": {"order_created": summary}},
            location_id=str(loc_id),
        )
        return {"order": dict(order)}

    def _retrieve_order(self, request: Request) -> JSON:
        order = self._orders.get(request.params["id"])
        if order is None:
            raise SquareError(404, "NOT_FOUND", "Order not found.")
        return {"order": dict(order)}

    def _search_orders(self, request: Request) -> JSON:
        body: JSON = request.json()
        locs = set(body.get("location_ids") or [])
        if len(locs) > 10:
            raise SquareError(400, "ARRAY_LENGTH_TOO_LONG", "At most 10 location ids.", field="location_ids")
        limit = self._limit(body.get("limit"), 500, 1000)
        offset = self._offset(body.get("cursor"))
        query = body.get("query") or {}
        flt = query.get("filter") or {}
        sort = query.get("sort") or {}
        sort_field = str(sort.get("sort_field", "CREATED_AT")).lower()
        time_filter = flt.get("date_time_filter") or {}
        if len(time_filter) > 1:
            raise SquareError(400, "INVALID_VALUE", "Only one date_time_filter field at a time.")
        for name in time_filter:
            if name != sort_field:
                raise SquareError(
                    400, "INVALID_VALUE", f"Sort by {name} when filtering on it.", field="query.sort"
                )
        states = set((flt.get("state_filter") or {}).get("states") or [])

        def keep(order: JSON) -> bool:
            if locs and order["location_id"] not in locs:
                return False
            if states and order["state"] not in states:
                return False
            for name, rng in time_filter.items():
                if name not in order:
                    return False
                stamp = parse_ms(str(order[name]))
                if rng.get("start_at") and stamp < parse_ms(str(rng["start_at"])):
                    return False
                if rng.get("end_at") and stamp > parse_ms(str(rng["end_at"])):
                    return False
            return True

        rows = [o for o in self._orders.values() if keep(o)]
        rows.sort(
            key=lambda o: (str(o.get(sort_field, "")), o["id"]),
            reverse=sort.get("sort_order", "DESC") == "DESC",
        )
        page = rows[offset : offset + limit]
        out: JSON = {}
        if page:
            if body.get("return_entries"):
                out["order_entries"] = [
                    {"order_id": o["id"], "location_id": o["location_id"], "version": o["version"]}
                    for o in page
                ]
            else:
                out["orders"] = [dict(o) for o in page]
        cursor = self._next_cursor(offset, limit, len(rows))
        if cursor:
            out["cursor"] = cursor
        return out
