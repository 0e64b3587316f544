"""A local WooCommerce (``wp-json/wc/v3``) emulator, so the WooCommerce adapter is tested over real HTTP.

The adapter must cope with WooCommerce as it actually behaves, not as we would like it to: prices
are strings, ``stock_quantity`` is null unless stock is managed, variations may report
``manage_stock: "parent"``, dates have no zone (plus ``_gmt`` twins) and one-second resolution,
``modified_after`` is strict, batches are capped at 100 and not atomic, webhooks are signed but
never retried, and errors come as ``{"code", "message", "data": {"status"}}``.  This module
reproduces those behaviours (see ``shared/reference/woocommerce-api.md``) on top of the shared
:class:`~sandbox.http.EmulatorServer`, with an in-memory store behind one lock.

Deliberate simplifications (documented so nobody mistakes them for WooCommerce facts):

* totals ignore taxes, shipping and coupons; ``price`` of a line item is ``total / quantity``;
* Basic auth and ``consumer_key``/``consumer_secret`` query auth are accepted over plain http
  (real WooCommerce accepts them only over https); OAuth 1.0a is verified as WooCommerce does;
* webhook payloads are built when the event happens (WooCommerce builds them at delivery time
  and coalesces repeated updates); several ``Link`` relations are joined in one header;
* ``GET /wc/v3/variations`` (WooCommerce >= 10.3) is available, with ``modified_after``.

Listing order and paging, as the adapter's incremental reads depend on them:

* ``orderby=modified`` (and ``date``) breaks ties by id, in the same direction. That is what the
  CRUD controller asks for (it appends ``ID``) and what variations and orders get. The V3 products
  controller passes the ``orderby`` through ``WC_Query::get_catalog_ordering_args``, which lower-cases
  ``"modified ID"`` and WP_Query ignores a lower-case ``id`` (read from source, not seen on a live
  store), so a real store may return tied products in any order. Setting ``shuffle_product_ties``
  to a ``random.Random`` reproduces that: tied products come back in a new order on every request.
* ``offset`` (a number of items) overrides ``page``, as in ``WP_Query``; ``X-WP-Total`` is still the
  whole filtered count, and ``Link`` is still built from ``page``. A page that comes back empty
  reports ``X-WP-Total: 0`` (``WP_Query`` counts nothing when it finds nothing, and the CRUD
  controller only re-counts for ``page`` > 1 without ``offset``); customers and webhooks, which
  WooCommerce counts another way, are treated the same here.
* ``include`` and ``exclude`` (ids, comma-separated or repeated) filter every listing that pages.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from sandbox.http import (
    EmulatorServer,
    Request,
    Response,
    Router,
    WebhookDispatcher,
    json_response,
)
from sandbox.seed import SeedProduct

__all__ = ["WooApiError", "WooCommerceEmulator"]

PREFIX = "/wp-json/wc/v3"
BATCH_LIMIT = 100
REDUCING_STATUSES = {"processing", "on-hold", "completed"}
"""``wc_maybe_reduce_stock_levels`` is hooked on these ``woocommerce_order_status_<to>`` actions (and
``woocommerce_payment_complete``), ``wc-stock-functions.php``."""
RESTORING_STATUSES = {"cancelled", "pending"}
"""``wc_maybe_increase_stock_levels`` is hooked on these; ``failed`` and ``refunded`` restore nothing."""
REDUCED_STOCK = "_reduced_stock"
RESTOCKED = "_restock_refunded_items"
ORDER_STATUSES = {
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "trash",
    "checkout-draft",
}
PRODUCT_STATUSES = {"draft", "pending", "private", "publish", "future"}
WEBHOOK_RESOURCES = {"coupon", "customer", "order", "product"}
WEBHOOK_EVENTS = {"created", "updated", "deleted", "restored"}
TOPIC_HOOKS = {
    "customer.created": ["user_register", "woocommerce_created_customer", "woocommerce_new_customer"],
    "customer.updated": ["profile_update", "woocommerce_update_customer"],
    "customer.deleted": ["delete_user"],
    "order.created": ["woocommerce_new_order"],
    "order.updated": [
        "woocommerce_update_order",
        "woocommerce_order_refunded",
        "woocommerce_delete_order_refund",
    ],
    "order.deleted": ["wp_trash_post", "woocommerce_trash_order"],
    "order.restored": ["untrashed_post", "woocommerce_untrash_order"],
    "product.created": [
        "woocommerce_process_product_meta",
        "woocommerce_new_product",
        "woocommerce_new_product_variation",
    ],
    "product.updated": [
        "woocommerce_process_product_meta",
        "woocommerce_update_product",
        "woocommerce_update_product_variation",
    ],
    "product.deleted": ["wp_trash_post"],
    "product.restored": ["untrashed_post"],
}
DATE_FMT = "%Y-%m-%dT%H:%M:%S"
AUTH_REALM = (
    'Basic realm="WooCommerce API. Use a consumer key in the username field and a consumer secret '
    'in the password field."'
)


_BILLING_KEYS = (
    *("first_name", "last_name", "company", "address_1", "address_2", "city", "state"),
    *("postcode", "country", "email", "phone"),
)
"""An address block's keys (``billing``; ``shipping`` has all but ``email``)."""


class WooApiError(Exception):
    """A WooCommerce REST error; rendered as ``{"code", "message", "data": {"status", ...}}``."""

    def __init__(self, code: str, message: str, status: int = 400, **data: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.data = data

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}}

    def response(self, headers: dict[str, str] | None = None) -> Response:
        return json_response(self.body(), self.status, headers)


def invalid_param(name: str, message: str, detail_code: str, detail_data: Any = None) -> WooApiError:
    """WP core's ``rest_invalid_param`` (schema validation) error."""
    return WooApiError(
        "rest_invalid_param",
        f"Invalid parameter(s): {name}",
        400,
        params={name: message},
        details={name: {"code": detail_code, "message": message, "data": detail_data}},
    )


def _woo_error_body(status: int, message: str) -> Response:
    """Error bodies for routing failures and injected faults, in WordPress' shape."""
    if status in (404, 405):
        return WooApiError(
            "rest_no_route", "No route was found matching the URL and request method.", 404
        ).response()
    if status == 401:
        return WooApiError(
            "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401
        ).response()
    if status == 429:
        return WooApiError("too_many_requests", "Too many requests. " + message, 429).response()
    if status >= 500:
        return WooApiError(
            "internal_server_error", "There has been a critical error on this website. " + message, status
        ).response()
    return WooApiError("rest_error", message, status).response()


def php_rawurlencode(value: str) -> str:
    """PHP ``rawurlencode`` (RFC 3986): what WooCommerce uses to build the OAuth base string."""
    return quote(value, safe="-_.~")


def _money(value: Decimal | str | None) -> str:
    if value is None or value == "":
        return ""
    return f"{Decimal(value):.2f}"


def _fmt(dt: datetime | None) -> str | None:
    return dt.strftime(DATE_FMT) if dt else None


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in {"1", "true", "yes"}


def _php_truthy(value: str) -> bool:
    """PHP's truthiness of a meta string: ``""`` and ``"0"`` are false, anything else is true."""
    return value not in ("", "0")


def _meta_int(value: str) -> int:
    return int(Decimal(value or "0"))


_STOPWORDS = frozenset(
    "about an are as at be by com for from how in is it of on or that the this to was what when where "
    "who will with www".split()
)
"""WordPress's default search stopwords (``WP_Query::get_search_stopwords``)."""


def _search_terms(text: str) -> list[str]:
    """``search`` as WordPress splits it (``WP_Query::parse_search``): quoted phrases or runs of
    anything but tab, space, quote, comma and plus; single letters and stopwords dropped
    (``parse_search_terms``); more than nine terms are searched as one phrase."""
    found = [t.strip('"').strip() for t in re.findall(r'".*?(?:"|$)|[^\t ",+]+', text)]
    if len(found) > 9:
        return [text.strip()] if text.strip() else []
    return [
        t
        for t in found
        if t and not (len(t) == 1 and re.fullmatch(r"[a-z\-]", t, re.I)) and t.lower() not in _STOPWORDS
    ]


def _searched(record: dict[str, Any], terms: list[str]) -> bool:
    """Every term in the title, excerpt or content (``LIKE %term%``, case-insensitive collation)."""
    fields = [str(record.get(name) or "").lower() for name in ("name", "short_description", "description")]
    return all(any(term.lower() in text for text in fields) for term in terms)


class WooCommerceEmulator:
    """An in-memory WooCommerce store served over loopback HTTP.

    Use as a context manager (or ``start()``/``stop()``). ``connection_info()`` gives the adapter
    its settings; ``seed()`` fills the catalogue quickly; ``simulate_sale()`` places a paid order
    through the REST API as the shop front would; ``manual_stock_edit()`` is a shop manager
    typing a new count in wp-admin. ``freeze_time()``/``advance()`` control the clock.
    """

    def __init__(
        self,
        *,
        consumer_key: str = "ck_sandbox_0123456789abcdef0123456789abcdef01234567",
        consumer_secret: str = "cs_sandbox_0123456789abcdef0123456789abcdef01234567",  # noqa: S107 (sandbox)
        webhook_secret: str = "whsec-sandbox-woocommerce",  # noqa: S107 (sandbox)
        utc_offset_hours: float = -3.0,
        currency: str = "USD",
        port: int = 0,
        verify_oauth: bool = True,
    ) -> None:
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.webhook_secret = webhook_secret
        self.offset = timedelta(hours=utc_offset_hours)
        self.currency = currency
        self.verify_oauth = verify_oauth
        self.lock = threading.RLock()
        self._frozen: datetime | None = None
        self._skew = timedelta()
        self._next_post_id = 10
        self._next_item_id = 1
        self._next_customer_id = 2
        self._next_meta_id = 1
        self.custom_order_statuses: set[str] = set()
        """Statuses a plugin registered (``wc_order_statuses`` filter): accepted, with no stock rule."""
        self.payment_complete_status = "processing"
        """What ``payment_complete`` moves an order to (``woocommerce_payment_complete_order_status``)."""
        self.products: dict[int, dict[str, Any]] = {}
        """Products and variations by id (variations have ``parent_id`` > 0), internal form."""
        self.sku_index: dict[str, int] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.refunds: dict[int, dict[str, Any]] = {}
        self.customers: dict[int, dict[str, Any]] = {}
        self.webhooks: dict[int, dict[str, Any]] = {}
        self._nonces: dict[str, float] = {}
        self.webhook_log: list[dict[str, Any]] = []
        """Every webhook delivery queued: ``{"topic", "webhook_id", "body", "headers"}``."""
        self.dispatcher = WebhookDispatcher(retry_schedule=())
        self.after_request: Callable[[Request], None] | None = None
        """Called (under the store lock) after each REST request is handled, before its response is
        sent: tests use it to change the store between two pages of a read."""
        self.shuffle_product_ties: random.Random | None = None
        """When set, products tied on ``orderby=modified`` come back in an order drawn from it, anew
        on every request (see the module docstring)."""
        router = Router()
        self._routes(router)
        self.server = EmulatorServer(
            router,
            error_body=_woo_error_body,
            before=self._authenticate,
            port=port,
            clock=lambda: self.now().replace(tzinfo=UTC).timestamp(),
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> WooCommerceEmulator:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
        self.dispatcher.close()

    def __enter__(self) -> WooCommerceEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self.server.url

    def connection_info(self) -> dict[str, str]:
        """What the adapter needs: site URL, REST API keys and the secret our webhooks are signed with."""
        return {
            "url": self.url,
            "consumer_key": self.consumer_key,
            "consumer_secret": self.consumer_secret,
            "webhook_secret": self.webhook_secret,
        }

    # -- clock ---------------------------------------------------------------------------------

    def now(self) -> datetime:
        """Current GMT time as a naive datetime at one-second resolution (like MySQL ``DATETIME``)."""
        base = self._frozen if self._frozen is not None else datetime.now(UTC).replace(tzinfo=None)
        return (base + self._skew).replace(microsecond=0)

    def freeze_time(self, at: datetime | None = None) -> datetime:
        """Stop the clock (at ``at``, naive GMT, or now); ``unfreeze_time()`` lets it run again."""
        self._frozen = (at or datetime.now(UTC).replace(tzinfo=None)).replace(microsecond=0)
        self._skew = timedelta()
        return self._frozen

    def unfreeze_time(self) -> None:
        self._frozen = None
        self._skew = timedelta()

    def advance(self, seconds: float) -> None:
        self._skew += timedelta(seconds=seconds)

    def _local(self, dt: datetime | None) -> str | None:
        return _fmt(dt + self.offset) if dt else None

    # -- ids -------------------------------------------------------------------------------------

    def _post_id(self) -> int:
        self._next_post_id += 1
        return self._next_post_id

    def _item_id(self) -> int:
        self._next_item_id += 1
        return self._next_item_id

    # -- seeding and test helpers --------------------------------------------------------------

    def seed(self, products: Iterable[SeedProduct], *, manage_stock: bool = True) -> list[int]:
        """Insert products straight into memory (no HTTP, no webhooks); returns the new product ids.

        A one-variant product without options becomes a simple product; others become variable
        products whose variations manage their own stock.
        """
        ids: list[int] = []
        with self.lock:
            now = self.now()
            for seed in products:
                pid = self._post_id()
                simple = seed.is_simple
                product = self._new_product_record(pid, seed.name, "simple" if simple else "variable", now)
                product["description"] = seed.description
                if simple:
                    v = seed.variants[0]
                    product.update(
                        sku=v.sku or "",
                        regular_price=_money(v.price),
                        gtin=v.gtin or "",
                        manage_stock=manage_stock and v.stock is not None,
                        stock_quantity=v.stock if manage_stock and v.stock is not None else None,
                    )
                    if v.sku:
                        self.sku_index[v.sku] = pid
                else:
                    axes: dict[str, list[str]] = {}
                    for v in seed.variants:
                        for key, value in v.options.items():
                            axes.setdefault(key, [])
                            if value not in axes[key]:
                                axes[key].append(value)
                    product["attributes"] = [
                        {
                            "id": 0,
                            "name": key,
                            "slug": key.lower(),
                            "position": n,
                            "visible": True,
                            "variation": True,
                            "options": values,
                        }
                        for n, (key, values) in enumerate(axes.items())
                    ]
                    for v in seed.variants:
                        vid = self._post_id()
                        var = self._new_variation_record(vid, pid, now)
                        var.update(
                            sku=v.sku or "",
                            regular_price=_money(v.price),
                            gtin=v.gtin or "",
                            manage_stock=manage_stock and v.stock is not None,
                            stock_quantity=v.stock if manage_stock and v.stock is not None else None,
                            attributes=[{"id": 0, "name": k, "option": o} for k, o in v.options.items()],
                        )
                        self.products[vid] = var
                        product["variations"].append(vid)
                        if v.sku:
                            self.sku_index[v.sku] = vid
                self.products[pid] = product
                ids.append(pid)
        return ids

    def add_customer(self, email: str, first_name: str = "", last_name: str = "", phone: str = "") -> int:
        """Insert a customer directly (no HTTP; fires customer.created like a sign-up); returns its id."""
        with self.lock:
            record = self._new_customer_record(
                {"email": email, "first_name": first_name, "last_name": last_name}
            )
            record["billing"]["phone"] = phone
            return int(record["id"])

    def simulate_sale(
        self, items: list[tuple[str, int]], *, status: str = "processing", email: str = "shopper@example.com"
    ) -> dict[str, Any]:
        """A checkout on the shop front: a paid order for ``[(sku, qty), ...]``, made via the REST API.

        Goes through HTTP (so it is counted, signed and fires webhooks like any order) and
        returns the order JSON. Raises :class:`WooApiError` when WooCommerce would refuse it.
        """
        import requests

        body = {
            "status": status,
            "billing": {"email": email, "first_name": "Shop", "last_name": "Per"},
            "line_items": [{"sku": sku, "quantity": qty} for sku, qty in items],
        }
        answer = requests.post(
            f"{self.url}{PREFIX}/orders",
            json=body,
            auth=(self.consumer_key, self.consumer_secret),
            timeout=10,
        )
        data: dict[str, Any] = answer.json()
        if answer.status_code >= 400:
            raise WooApiError(data["code"], data["message"], answer.status_code)
        return data

    def manual_stock_edit(self, sku: str, quantity: int) -> None:
        """A shop manager typing a new stock count in wp-admin (bumps ``date_modified``, fires webhooks)."""
        with self.lock:
            target = self.products[self.sku_index[sku]]
            if target.get("parent_id") and not target["manage_stock"]:
                target = self.products[target["parent_id"]]
            target["manage_stock"] = True
            target["stock_quantity"] = int(quantity)
            self._touch(target)
            self._product_event(target, "updated")

    def share_parent_stock(self, product_id: int, quantity: int, skus: Iterable[str] | None = None) -> None:
        """A shop manager setting stock at product level in wp-admin: the variable product manages
        ``quantity`` units and its variations (those with ``skus``, default all) stop managing their
        own, so they inherit the parent's pool (``manage_stock: "parent"``)."""
        with self.lock:
            parent = self.products[product_id]
            parent["manage_stock"] = True
            parent["stock_quantity"] = int(quantity)
            self._touch(parent)
            wanted = set(skus) if skus is not None else None
            for vid in parent["variations"]:
                variation = self.products[vid]
                if wanted is None or variation["sku"] in wanted:
                    variation["manage_stock"] = False
                    variation["stock_quantity"] = None
                    self._touch(variation)

    def parent_stock(self, sku: str) -> int | None:
        """The ``stock_quantity`` of the product holding variation ``sku`` (its pool, if it keeps one)."""
        with self.lock:
            parent = self.products[self.products[self.sku_index[sku]]["parent_id"]]
            return parent["stock_quantity"] if parent["manage_stock"] else None

    def product_by_sku(self, sku: str) -> dict[str, Any]:
        """The REST representation of the product or variation with ``sku``."""
        with self.lock:
            return self._as_product_json(self.products[self.sku_index[sku]])

    def stock_of(self, sku: str) -> int | None:
        """The ``stock_quantity`` the REST API would show for ``sku``."""
        with self.lock:
            record = self.products[self.sku_index[sku]]
            return self._effective_stock(record)

    # -- internal records ---------------------------------------------------------------------

    def _new_product_record(self, pid: int, name: str, kind: str, now: datetime) -> dict[str, Any]:
        return {
            "id": pid,
            "parent_id": 0,
            "name": name,
            "slug": re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or f"product-{pid}",
            "type": kind,
            "status": "publish",
            "description": "",
            "short_description": "",
            "sku": "",
            "gtin": "",
            "regular_price": "",
            "sale_price": "",
            "manage_stock": False,
            "stock_quantity": None,
            "stock_status_override": "instock",
            "backorders": "no",
            "low_stock_amount": None,
            "attributes": [],
            "default_attributes": [],
            "variations": [],
            "categories": [],
            "tags": [],
            "images": [],
            "meta_data": [],
            "total_sales": 0,
            "menu_order": 0,
            "created": now,
            "modified": now,
        }

    def _new_variation_record(self, vid: int, pid: int, now: datetime) -> dict[str, Any]:
        return {
            "id": vid,
            "parent_id": pid,
            "description": "",
            "sku": "",
            "gtin": "",
            "regular_price": "",
            "sale_price": "",
            "status": "publish",
            "manage_stock": False,
            "stock_quantity": None,
            "stock_status_override": "instock",
            "backorders": "no",
            "low_stock_amount": None,
            "attributes": [],
            "meta_data": [],
            "menu_order": 0,
            "created": now,
            "modified": now,
        }

    def _touch(self, record: dict[str, Any]) -> None:
        record["modified"] = self.now()

    # -- rendering -------------------------------------------------------------------------------

    def _link(self, path: str) -> list[dict[str, str]]:
        return [{"href": f"{self.url}{PREFIX}{path}"}]

    def _effective_manage(self, record: dict[str, Any]) -> bool | str:
        if record.get("parent_id"):
            if record["manage_stock"]:
                return True
            parent = self.products.get(record["parent_id"])
            if parent and parent["manage_stock"]:
                return "parent"
            return False
        return bool(record["manage_stock"])

    def _stock_owner(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """The record whose ``_stock`` moves for ``record`` (itself, its parent, or none)."""
        managed = self._effective_manage(record)
        if managed is True:
            return record
        if managed == "parent":
            return self.products[record["parent_id"]]
        return None

    def _effective_stock(self, record: dict[str, Any]) -> int | None:
        owner = self._stock_owner(record)
        return None if owner is None else owner["stock_quantity"]

    def _stock_status(self, record: dict[str, Any]) -> str:
        if record.get("type") == "variable":
            children = [self.products[v] for v in record["variations"] if v in self.products]
            statuses = {self._stock_status(c) for c in children}
            if "instock" in statuses or not children:
                return "instock"
            return "onbackorder" if "onbackorder" in statuses else "outofstock"
        qty = self._effective_stock(record)
        if qty is None:
            return str(record["stock_status_override"])
        if qty > 0:
            return "instock"
        return "onbackorder" if record["backorders"] != "no" else "outofstock"

    def _price(self, record: dict[str, Any]) -> str:
        if record.get("type") == "variable":
            prices = [
                Decimal(self._price(self.products[v]))
                for v in record["variations"]
                if v in self.products and self._price(self.products[v])
            ]
            return _money(min(prices)) if prices else ""
        return str(record["sale_price"] or record["regular_price"])

    def _product_json(self, p: dict[str, Any]) -> dict[str, Any]:
        variable = p["type"] == "variable"
        price = self._price(p)
        stock_status = self._stock_status(p)
        return {
            "id": p["id"],
            "name": p["name"],
            "slug": p["slug"],
            "permalink": f"{self.url}/product/{p['slug']}/",
            "date_created": self._local(p["created"]),
            "date_created_gmt": _fmt(p["created"]),
            "date_modified": self._local(p["modified"]),
            "date_modified_gmt": _fmt(p["modified"]),
            "type": p["type"],
            "status": p["status"],
            "featured": False,
            "catalog_visibility": "visible",
            "description": p["description"],
            "short_description": p["short_description"],
            "sku": p["sku"],
            "price": price,
            "regular_price": "" if variable else p["regular_price"],
            "sale_price": "" if variable else p["sale_price"],
            "date_on_sale_from": None,
            "date_on_sale_from_gmt": None,
            "date_on_sale_to": None,
            "date_on_sale_to_gmt": None,
            "price_html": f'<span class="woocommerce-Price-amount amount">{price}</span>' if price else "",
            "on_sale": bool(p["sale_price"]) and not variable,
            "purchasable": bool(price),
            "total_sales": p["total_sales"],
            "virtual": False,
            "downloadable": False,
            "downloads": [],
            "download_limit": -1,
            "download_expiry": -1,
            "external_url": "",
            "button_text": "",
            "tax_status": "taxable",
            "tax_class": "",
            "manage_stock": bool(p["manage_stock"]),
            "stock_quantity": p["stock_quantity"] if p["manage_stock"] else None,
            "backorders": p["backorders"],
            "backorders_allowed": p["backorders"] != "no",
            "backordered": False,
            "low_stock_amount": p["low_stock_amount"],
            "sold_individually": False,
            "weight": "",
            "dimensions": {"length": "", "width": "", "height": ""},
            "shipping_required": True,
            "shipping_taxable": True,
            "shipping_class": "",
            "shipping_class_id": 0,
            "reviews_allowed": True,
            "average_rating": "0.00",
            "rating_count": 0,
            "related_ids": [],
            "upsell_ids": [],
            "cross_sell_ids": [],
            "parent_id": 0,
            "purchase_note": "",
            "categories": copy.deepcopy(p["categories"]),
            "tags": copy.deepcopy(p["tags"]),
            "brands": [],
            "images": copy.deepcopy(p["images"]),
            "attributes": copy.deepcopy(p["attributes"]),
            "default_attributes": copy.deepcopy(p["default_attributes"]),
            # get_children(): published and private variations only (a trashed one is not listed)
            "variations": [v for v in p["variations"] if self._live_child(v)],
            "grouped_products": [],
            "menu_order": p["menu_order"],
            "meta_data": copy.deepcopy(p["meta_data"]),
            "stock_status": stock_status,
            "has_options": variable,
            "post_password": "",
            "global_unique_id": p["gtin"],
            "_links": {"self": self._link(f"/products/{p['id']}"), "collection": self._link("/products")},
        }

    def _variation_json(self, v: dict[str, Any]) -> dict[str, Any]:
        parent = v["parent_id"]
        managed = self._effective_manage(v)
        price = self._price(v)
        options = "&".join(f"attribute_{a['name'].lower()}={a['option']}" for a in v["attributes"])
        return {
            "id": v["id"],
            "date_created": self._local(v["created"]),
            "date_created_gmt": _fmt(v["created"]),
            "date_modified": self._local(v["modified"]),
            "date_modified_gmt": _fmt(v["modified"]),
            "description": v["description"],
            "permalink": f"{self.url}/product/{self.products[parent]['slug']}/?{options}",
            "sku": v["sku"],
            "global_unique_id": v["gtin"],
            "price": price,
            "regular_price": v["regular_price"],
            "sale_price": v["sale_price"],
            "date_on_sale_from": None,
            "date_on_sale_from_gmt": None,
            "date_on_sale_to": None,
            "date_on_sale_to_gmt": None,
            "on_sale": bool(v["sale_price"]),
            "status": v["status"],
            "purchasable": bool(price),
            "virtual": False,
            "downloadable": False,
            "downloads": [],
            "download_limit": -1,
            "download_expiry": -1,
            "tax_status": "taxable",
            "tax_class": "",
            "manage_stock": managed,
            "stock_quantity": self._effective_stock(v),
            "stock_status": self._stock_status(v),
            "backorders": v["backorders"],
            "backorders_allowed": v["backorders"] != "no",
            "backordered": False,
            "low_stock_amount": v["low_stock_amount"],
            "weight": "",
            "dimensions": {"length": "", "width": "", "height": ""},
            "shipping_class": "",
            "shipping_class_id": 0,
            "image": None,
            "attributes": copy.deepcopy(v["attributes"]),
            "menu_order": v["menu_order"],
            "meta_data": copy.deepcopy(v["meta_data"]),
            "_links": {
                "self": self._link(f"/products/{parent}/variations/{v['id']}"),
                "collection": self._link(f"/products/{parent}/variations"),
                "up": self._link(f"/products/{parent}"),
            },
        }

    def _live_child(self, vid: int) -> bool:
        child = self.products.get(vid)
        return child is not None and child["status"] != "trash"

    def _as_product_json(self, record: dict[str, Any]) -> dict[str, Any]:
        """``/products/<id>`` for any id: a variation comes back product-shaped with ``type: variation``."""
        if not record.get("parent_id"):
            return self._product_json(record)
        parent = self.products[record["parent_id"]]
        data = self._variation_json(record)
        base = self._product_json(parent)
        base.update({k: data[k] for k in data if k in base or k == "image"})
        base.pop("image", None)
        base.update(
            id=record["id"],
            name=f"{parent['name']} - {', '.join(a['option'] for a in record['attributes'])}",
            type="variation",
            parent_id=parent["id"],
            variations=[],
            attributes=[
                {"id": a["id"], "name": a["name"], "option": a["option"]} for a in record["attributes"]
            ],
            _links={
                "self": self._link(f"/products/{record['id']}"),
                "up": self._link(f"/products/{parent['id']}"),
            },
        )
        return base

    def _customer_json(self, c: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": c["id"],
            "date_created": self._local(c["created"]),
            "date_created_gmt": _fmt(c["created"]),
            "date_modified": self._local(c["modified"]),
            "date_modified_gmt": _fmt(c["modified"]),
            "email": c["email"],
            "first_name": c["first_name"],
            "last_name": c["last_name"],
            "role": "customer",
            "username": c["username"],
            "billing": dict(c["billing"]),
            "shipping": dict(c["shipping"]),
            "is_paying_customer": c["is_paying_customer"],
            "avatar_url": "https://secure.gravatar.com/avatar/"
            + hashlib.md5(c["email"].encode(), usedforsecurity=False).hexdigest()
            + "?s=96",
            "meta_data": copy.deepcopy(c["meta_data"]),
            "_links": {"self": self._link(f"/customers/{c['id']}"), "collection": self._link("/customers")},
        }

    def _order_json(self, o: dict[str, Any]) -> dict[str, Any]:
        total = sum((Decimal(li["total"]) for li in o["line_items"]), Decimal(0))
        return {
            "id": o["id"],
            "parent_id": 0,
            "number": str(o["id"]),
            "order_key": o["order_key"],
            "created_via": o["created_via"],
            "version": "9.8.0",
            "status": o["status"],
            "currency": o["currency"],
            "date_created": self._local(o["created"]),
            "date_created_gmt": _fmt(o["created"]),
            "date_modified": self._local(o["modified"]),
            "date_modified_gmt": _fmt(o["modified"]),
            "discount_total": "0.00",
            "discount_tax": "0.00",
            "shipping_total": "0.00",
            "shipping_tax": "0.00",
            "cart_tax": "0.00",
            "total": _money(total),
            "total_tax": "0.00",
            "prices_include_tax": False,
            "customer_id": o["customer_id"],
            "customer_ip_address": "",
            "customer_user_agent": "",
            "customer_note": o["customer_note"],
            "billing": dict(o["billing"]),
            "shipping": dict(o["shipping"]),
            "payment_method": o["payment_method"],
            "payment_method_title": o["payment_method_title"],
            "transaction_id": o["transaction_id"],
            "date_paid": self._local(o["date_paid"]),
            "date_paid_gmt": _fmt(o["date_paid"]),
            "date_completed": self._local(o["date_completed"]),
            "date_completed_gmt": _fmt(o["date_completed"]),
            "cart_hash": "",
            "meta_data": copy.deepcopy(o["meta_data"]),
            "line_items": [self._line_json(li) for li in o["line_items"]],
            "tax_lines": [],
            "shipping_lines": [],
            "fee_lines": [],
            "coupon_lines": [],
            "refunds": [
                {
                    "id": rid,
                    "reason": self.refunds[rid]["reason"],
                    "total": "-" + _money(self.refunds[rid]["amount"]),
                }
                for rid in o["refunds"]
                if rid in self.refunds
            ],
            "_links": {"self": self._link(f"/orders/{o['id']}"), "collection": self._link("/orders")},
        }

    @staticmethod
    def _line_json(li: dict[str, Any]) -> dict[str, Any]:
        qty = li["quantity"]
        total = Decimal(li["total"])
        price: int | float = float(total / qty) if qty else 0
        if price == int(price):
            price = int(price)
        return {
            "id": li["id"],
            "name": li["name"],
            "product_id": li["product_id"],
            "variation_id": li["variation_id"],
            "quantity": qty,
            "tax_class": "",
            "subtotal": li["total"],
            "subtotal_tax": "0.00",
            "total": li["total"],
            "total_tax": "0.00",
            "taxes": [],
            "meta_data": [
                {**m, "display_key": m["key"], "display_value": m["value"]} for m in li.get("meta_data", [])
            ],
            "sku": li["sku"],
            "price": price,
            "image": {"id": "", "src": ""},
            "parent_name": li["parent_name"],
        }

    def _refund_json(self, r: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": r["id"],
            "date_created": self._local(r["created"]),
            "date_created_gmt": _fmt(r["created"]),
            "amount": _money(r["amount"]),
            "reason": r["reason"],
            "refunded_by": 1,
            "refunded_payment": False,
            "meta_data": [],
            "line_items": [self._line_json(li) for li in r["line_items"]],
            "_links": {
                "self": self._link(f"/orders/{r['order_id']}/refunds/{r['id']}"),
                "collection": self._link(f"/orders/{r['order_id']}/refunds"),
                "up": self._link(f"/orders/{r['order_id']}"),
            },
        }

    def _webhook_json(self, w: dict[str, Any], *, edit: bool = False) -> dict[str, Any]:
        resource, _, event = w["topic"].partition(".")
        data = {
            "id": w["id"],
            "name": w["name"],
            "status": w["status"],
            "topic": w["topic"],
            "resource": resource,
            "event": event,
            "hooks": TOPIC_HOOKS.get(w["topic"], []),
            "delivery_url": w["delivery_url"],
            "date_created": self._local(w["created"]),
            "date_created_gmt": _fmt(w["created"]),
            "date_modified": self._local(w["modified"]),
            "date_modified_gmt": _fmt(w["modified"]),
            "_links": {"self": self._link(f"/webhooks/{w['id']}"), "collection": self._link("/webhooks")},
        }
        if edit:
            data["secret"] = w["secret"]
        return data

    # -- authentication --------------------------------------------------------------------------

    def _authenticate(self, request: Request, path: str) -> Response | None:
        if not path.startswith(PREFIX):
            return None
        try:
            self._check_credentials(request)
        except WooApiError as exc:
            headers = (
                {"WWW-Authenticate": AUTH_REALM} if exc.message == "Consumer secret is invalid." else None
            )
            return exc.response(headers)
        return None

    def _check_credentials(self, request: Request) -> None:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError as exc:
                raise WooApiError(
                    "woocommerce_rest_authentication_error", "Consumer key is invalid.", 401
                ) from exc
            return self._check_key_secret(user, password)
        ck = request.query.get("consumer_key")
        cs = request.query.get("consumer_secret")
        if ck and cs:
            return self._check_key_secret(ck[-1], cs[-1])
        if "oauth_signature" in request.query or "oauth_consumer_key" in request.query:
            return self._check_oauth(request)
        if request.method in ("GET", "HEAD"):
            raise WooApiError("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401)
        raise WooApiError(
            "woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources.", 401
        )

    def _check_key_secret(self, key: str, secret: str) -> None:
        if not hmac.compare_digest(key.encode(), self.consumer_key.encode()):
            raise WooApiError("woocommerce_rest_authentication_error", "Consumer key is invalid.", 401)
        if not hmac.compare_digest(secret.encode(), self.consumer_secret.encode()):
            raise WooApiError("woocommerce_rest_authentication_error", "Consumer secret is invalid.", 401)

    def _check_oauth(self, request: Request) -> None:
        """One-legged OAuth 1.0a as ``WC_REST_Authentication::check_oauth_signature`` does it."""
        params = {k: v[-1] for k, v in request.query.items()}  # PHP $_GET: the last duplicate wins
        for name in (
            "oauth_consumer_key",
            "oauth_timestamp",
            "oauth_nonce",
            "oauth_signature",
            "oauth_signature_method",
        ):
            if not params.get(name):
                raise WooApiError(
                    "woocommerce_rest_authentication_missing_parameter",
                    f"Missing OAuth parameter {name}",
                    401,
                )
        if not hmac.compare_digest(params["oauth_consumer_key"].encode(), self.consumer_key.encode()):
            raise WooApiError("woocommerce_rest_authentication_error", "Consumer key is invalid.", 401)
        if not self.verify_oauth:
            return
        method = params["oauth_signature_method"]
        algos: dict[str, Callable[..., Any]] = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}
        if method not in algos:
            raise WooApiError(
                "woocommerce_rest_authentication_error",
                "Invalid signature - signature method is invalid.",
                401,
            )
        signature = params.pop("oauth_signature").replace(" ", "+")
        items = sorted(params.items(), key=lambda kv: kv[0].encode())
        normalised = [(php_rawurlencode(k), php_rawurlencode(v)) for k, v in items]
        query = "%26".join(php_rawurlencode(f"{k}={v}") for k, v in normalised)
        host = request.headers.get("host", urlsplit(self.url).netloc)
        base_uri = php_rawurlencode(f"http://{host}{request.path}")
        to_sign = f"{request.method.upper()}&{base_uri}&{query}"
        mine = base64.b64encode(
            hmac.new((self.consumer_secret + "&").encode(), to_sign.encode(), algos[method]).digest()
        ).decode()
        if not hmac.compare_digest(mine, signature):
            raise WooApiError(
                "woocommerce_rest_authentication_error",
                "Invalid signature - provided signature does not match.",
                401,
            )
        try:
            stamp = int(params["oauth_timestamp"])
        except ValueError:
            stamp = 0
        if abs(time.time() - stamp) > 15 * 60:
            raise WooApiError("woocommerce_rest_authentication_error", "Invalid timestamp.", 401)
        with self.lock:
            cutoff = time.time() - 15 * 60
            if len(self._nonces) > 10000:
                self._nonces = {n: t for n, t in self._nonces.items() if t > cutoff}
            key = params["oauth_nonce"] + params["oauth_timestamp"]
            if key in self._nonces and self._nonces[key] > cutoff:
                raise WooApiError(
                    "woocommerce_rest_authentication_error",
                    "Invalid nonce - nonce has already been used.",
                    401,
                )
            self._nonces[key] = time.time()

    # -- routing ---------------------------------------------------------------------------------

    def _routes(self, router: Router) -> None:
        p = PREFIX
        num = r"(?P<id>\d+)"
        pid = r"(?P<pid>\d+)"
        edit = ("POST", "PUT", "PATCH")
        table: list[tuple[Iterable[str], str, Callable[[Request], Any], str]] = [
            (("GET",), f"{p}/products", self._list_products, "products"),
            (("POST",), f"{p}/products", self._create_product_http, "products"),
            (edit, f"{p}/products/batch", self._batch_products, "products/batch"),
            (("GET",), f"{p}/products/{num}", self._get_product, "products/<id>"),
            (edit, f"{p}/products/{num}", self._update_product_http, "products/<id>"),
            (("DELETE",), f"{p}/products/{num}", self._delete_product_http, "products/<id>"),
            (("GET",), f"{p}/products/{pid}/variations", self._list_variations, "products/<id>/variations"),
            (
                ("POST",),
                f"{p}/products/{pid}/variations",
                self._create_variation_http,
                "products/<id>/variations",
            ),
            (
                edit,
                f"{p}/products/{pid}/variations/batch",
                self._batch_variations,
                "products/<id>/variations/batch",
            ),
            (
                ("GET",),
                f"{p}/products/{pid}/variations/{num}",
                self._get_variation,
                "products/<id>/variations/<id>",
            ),
            (
                edit,
                f"{p}/products/{pid}/variations/{num}",
                self._update_variation_http,
                "products/<id>/variations/<id>",
            ),
            (
                ("DELETE",),
                f"{p}/products/{pid}/variations/{num}",
                self._delete_variation_http,
                "products/<id>/variations/<id>",
            ),
            (("GET",), f"{p}/variations", self._list_all_variations, "variations"),
            (("GET",), f"{p}/customers", self._list_customers, "customers"),
            (("POST",), f"{p}/customers", self._create_customer_http, "customers"),
            (edit, f"{p}/customers/batch", self._batch_customers, "customers/batch"),
            (("GET",), f"{p}/customers/{num}", self._get_customer, "customers/<id>"),
            (edit, f"{p}/customers/{num}", self._update_customer_http, "customers/<id>"),
            (("DELETE",), f"{p}/customers/{num}", self._delete_customer_http, "customers/<id>"),
            (("GET",), f"{p}/orders", self._list_orders, "orders"),
            (("POST",), f"{p}/orders", self._create_order_http, "orders"),
            (("GET",), f"{p}/orders/{num}", self._get_order, "orders/<id>"),
            (edit, f"{p}/orders/{num}", self._update_order_http, "orders/<id>"),
            (("DELETE",), f"{p}/orders/{num}", self._delete_order_http, "orders/<id>"),
            (("GET",), f"{p}/orders/{pid}/refunds", self._list_refunds, "orders/<id>/refunds"),
            (("POST",), f"{p}/orders/{pid}/refunds", self._create_refund_http, "orders/<id>/refunds"),
            (("GET",), f"{p}/orders/{pid}/refunds/{num}", self._get_refund, "orders/<id>/refunds/<id>"),
            (("GET",), f"{p}/webhooks", self._list_webhooks, "webhooks"),
            (("POST",), f"{p}/webhooks", self._create_webhook_http, "webhooks"),
            (("GET",), f"{p}/webhooks/{num}", self._get_webhook, "webhooks/<id>"),
            (edit, f"{p}/webhooks/{num}", self._update_webhook_http, "webhooks/<id>"),
            (("DELETE",), f"{p}/webhooks/{num}", self._delete_webhook_http, "webhooks/<id>"),
        ]
        for methods, pattern, handler, name in table:
            for method in methods:
                router.add(method, pattern, self._wrap(handler), f"{method} {name}")

    def _wrap(self, handler: Callable[[Request], Any]) -> Callable[[Request], Response]:
        def run(request: Request) -> Response:
            try:
                with self.lock:
                    result = handler(request)
                    if self.after_request is not None:
                        self.after_request(request)
            except WooApiError as exc:
                return exc.response()
            if isinstance(result, Response):
                return result
            return json_response(result)

        return run

    # -- request helpers -------------------------------------------------------------------------

    @staticmethod
    def _arg(request: Request, name: str) -> str | None:
        values = request.query.get(name) or request.query.get(f"{name}[]")
        return values[-1] if values else None

    @staticmethod
    def _list_arg(request: Request, name: str) -> list[str]:
        values = request.query.get(name, []) + request.query.get(f"{name}[]", [])
        out: list[str] = []
        for value in values:
            out.extend(v.strip() for v in value.split(",") if v.strip())
        return out

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        if not request.body:
            return {}
        try:
            data = json.loads(request.body)
        except ValueError as exc:
            raise WooApiError("rest_invalid_json", "Invalid JSON body passed.", 400) from exc
        if not isinstance(data, dict):
            raise WooApiError("rest_invalid_json", "Invalid JSON body passed.", 400)
        return data

    def _parse_date_filter(self, value: str, gmt: bool) -> datetime:
        """WP_Date_Query semantics: naive input is site time, or GMT when ``dates_are_gmt``.

        An input carrying a zone is converted to *site* time even when comparing the GMT column
        (the timezone trap of the reference, §2.4), exactly as WordPress does.
        """
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise invalid_param("modified_after", "Invalid date.", "rest_invalid_date") from exc
        if parsed.tzinfo is not None:
            return (parsed.astimezone(UTC).replace(tzinfo=None) + self.offset).replace(microsecond=0)
        return parsed.replace(microsecond=0) if gmt else (parsed - self.offset).replace(microsecond=0)

    def _paginate(
        self, request: Request, items: list[Any], collection: str
    ) -> tuple[list[Any], dict[str, str]]:
        per_page_raw = self._arg(request, "per_page") or "10"
        page_raw = self._arg(request, "page") or "1"
        message = "per_page must be between 1 (inclusive) and 100 (inclusive)"
        if not _is_int(per_page_raw) or not 1 <= int(per_page_raw) <= 100:
            raise invalid_param("per_page", message, "rest_out_of_bounds")
        if not _is_int(page_raw) or int(page_raw) < 1:
            raise invalid_param("page", "page must be greater than or equal to 1", "rest_out_of_bounds")
        per_page, page = int(per_page_raw), int(page_raw)
        offset_raw = self._arg(request, "offset")
        if offset_raw is not None and not _is_int(offset_raw):
            raise invalid_param(
                "offset", "offset is not of type integer.", "rest_invalid_type", {"param": "offset"}
            )
        # ``offset`` (sanitised with absint) overrides ``page``: WP_Query's LIMIT offset, per_page.
        start = abs(int(offset_raw)) if offset_raw is not None else (page - 1) * per_page
        chunk = items[start : start + per_page]
        # FOUND_ROWS() counts the whole filtered set, but WP_Query skips counting when the page is
        # empty; the CRUD controller then re-counts only for page > 1 without an offset.
        total = len(items) if chunk or (offset_raw is None and page > 1) else 0
        pages = math.ceil(total / per_page) if total else 0
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        base_query = {k: v[-1] for k, v in request.query.items()}
        links = [f'<{self.url}/wp-json/>; rel="https://api.w.org/"']
        if page > 1 and page - 1 <= max(pages, 1):
            links.append(
                f'<{self.url}{PREFIX}/{collection}?{urlencode({**base_query, "page": page - 1})}>; rel="prev"'
            )
        if page < pages:
            links.append(
                f'<{self.url}{PREFIX}/{collection}?{urlencode({**base_query, "page": page + 1})}>; rel="next"'
            )
        headers["Link"] = ", ".join(links)
        return chunk, headers

    def _fields(self, request: Request, data: dict[str, Any]) -> dict[str, Any]:
        fields = self._list_arg(request, "_fields")
        if not fields:
            return data
        wanted = {f.split(".")[0] for f in fields} | {"id"}
        return {k: v for k, v in data.items() if k in wanted}

    def _sort(
        self,
        request: Request,
        items: list[dict[str, Any]],
        default: str,
        default_order: str,
        *,
        shuffle_modified_ties: random.Random | None = None,
    ) -> None:
        orderby = self._arg(request, "orderby") or default
        order = (self._arg(request, "order") or default_order).lower()
        keys: dict[str, Callable[[dict[str, Any]], Any]] = {
            "id": lambda r: r["id"],
            "include": lambda r: r["id"],
            "date": lambda r: (r["created"], r["id"]),
            "registered_date": lambda r: (r["created"], r["id"]),
            "modified": lambda r: (r["modified"], r["id"]),
            "title": lambda r: (r.get("name", ""), r["id"]),
            "name": lambda r: (r.get("name") or r.get("last_name", ""), r["id"]),
            "slug": lambda r: (r.get("slug", ""), r["id"]),
        }
        if orderby not in keys:
            raise invalid_param(
                "orderby", f"orderby is not one of {', '.join(sorted(keys))}.", "rest_not_in_enum"
            )
        if order not in ("asc", "desc"):
            raise invalid_param("order", "order is not one of asc and desc.", "rest_not_in_enum")
        if shuffle_modified_ties is not None and orderby == "modified":
            ties = {r["id"]: shuffle_modified_ties.random() for r in items}
            keys["modified"] = lambda r: (r["modified"], ties[r["id"]])
        items.sort(key=keys[orderby], reverse=order == "desc")

    def _filter_ids(self, request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``include`` / ``exclude``: ``post__in`` / ``post__not_in`` (ids, comma list or repeated)."""
        include = {int(i) for i in self._list_arg(request, "include") if _is_int(i)}
        if include:
            items = [r for r in items if r["id"] in include]
        exclude = {int(i) for i in self._list_arg(request, "exclude") if _is_int(i)}
        if exclude:
            items = [r for r in items if r["id"] not in exclude]
        return items

    def _filter_status(self, request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``status`` (one value, products and variations): ``any`` (the default) is WP_Query's
        ``post_status=any``, every status but ``trash`` and ``auto-draft``; ``trash`` lists the trash."""
        status = self._arg(request, "status") or "any"
        if status == "any":
            return [r for r in items if r["status"] not in ("trash", "auto-draft")]
        return [r for r in items if r["status"] == status]

    def _filter_modified(self, request: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        gmt = _truthy(self._arg(request, "dates_are_gmt"))
        after = self._arg(request, "modified_after")
        before = self._arg(request, "modified_before")
        if after:
            bound = self._parse_date_filter(after, gmt)
            items = [r for r in items if r["modified"] > bound]
        if before:
            bound = self._parse_date_filter(before, gmt)
            items = [r for r in items if r["modified"] < bound]
        return items

    # -- products --------------------------------------------------------------------------------

    def _list_products(self, request: Request) -> Response:
        skus = self._list_arg(request, "sku")
        if skus:
            whole = self._arg(request, "sku") or ""
            wanted = set(skus) | {whole}
            items = [self.products[self.sku_index[s]] for s in wanted if s in self.sku_index]
        else:
            items = [r for r in self.products.values() if not r["parent_id"]]
        items = self._filter_ids(request, self._filter_status(request, items))
        parents = {int(i) for i in self._list_arg(request, "parent") if _is_int(i)}
        if parents:
            items = [r for r in items if r["parent_id"] in parents]
        kind = self._arg(request, "type")
        if kind:
            items = [r for r in items if r.get("type", "variation") == kind]
        terms = _search_terms(self._arg(request, "search") or "")
        if terms:
            items = [r for r in items if _searched(r, terms)]
        items = self._filter_modified(request, items)
        self._sort(request, items, "date", "desc", shuffle_modified_ties=self.shuffle_product_ties)
        chunk, headers = self._paginate(request, items, "products")
        body = [self._fields(request, self._as_product_json(r)) for r in chunk]
        return json_response(body, 200, headers)

    def _product(self, pid: int, *, status: int = 404) -> dict[str, Any]:
        record = self.products.get(pid)
        if record is None or (record["status"] == "trash" and status == 400):
            raise WooApiError("woocommerce_rest_product_invalid_id", "Invalid ID.", status)
        return record

    def _get_product(self, request: Request) -> dict[str, Any]:
        return self._fields(request, self._as_product_json(self._product(int(request.params["id"]))))

    def _validate_types(self, data: dict[str, Any], *, variation: bool) -> None:
        string_fields = ["sku", "regular_price", "sale_price", "description", "status", "backorders"]
        if not variation:
            string_fields += ["name", "type", "short_description", "slug", "global_unique_id"]
        else:
            string_fields += ["global_unique_id"]
        for name in string_fields:
            if name in data and not isinstance(data[name], str):
                raise invalid_param(
                    name, f"{name} is not of type string.", "rest_invalid_type", {"param": name}
                )
        if (
            "stock_quantity" in data
            and data["stock_quantity"] is not None
            and not _is_int(data["stock_quantity"])
        ):
            raise invalid_param(
                "stock_quantity",
                "stock_quantity is not of type integer.",
                "rest_invalid_type",
                {"param": "stock_quantity"},
            )
        if "manage_stock" in data and not isinstance(data["manage_stock"], bool):
            if not (variation and data["manage_stock"] == "parent"):
                raise invalid_param(
                    "manage_stock",
                    "manage_stock is not of type boolean.",
                    "rest_invalid_type",
                    {"param": "manage_stock"},
                )
        if "status" in data and data["status"] not in PRODUCT_STATUSES | {"trash"}:
            raise invalid_param(
                "status", "status is not one of draft, pending, private, publish, future.", "rest_not_in_enum"
            )
        if (
            "type" in data
            and not variation
            and data["type"] not in ("simple", "variable", "grouped", "external")
        ):
            raise invalid_param(
                "type", "type is not one of simple, grouped, external, variable.", "rest_not_in_enum"
            )

    def _check_sku(self, sku: str, own_id: int | None) -> None:
        if not sku:
            return
        holder = self.sku_index.get(sku)
        # WC_Product_Data_Store_CPT::is_existing_sku skips trashed posts: a trashed product's SKU
        # may be used again (the new product then holds it).
        if holder is not None and holder != own_id and self.products[holder]["status"] != "trash":
            n = 1
            while f"{sku}-{n}" in self.sku_index:
                n += 1
            raise WooApiError(
                "product_invalid_sku",
                "Invalid or duplicated SKU.",
                400,
                resource_id=holder,
                unique_sku=f"{sku}-{n}",
            )

    def _set_sku(self, record: dict[str, Any], sku: str) -> None:
        old = record["sku"]
        if old and self.sku_index.get(old) == record["id"]:
            del self.sku_index[old]
        record["sku"] = sku
        if sku:
            self.sku_index[sku] = record["id"]

    def _apply_fields(self, record: dict[str, Any], data: dict[str, Any], *, variation: bool) -> None:
        """Validate then apply ``data`` to ``record`` (nothing is applied when validation fails)."""
        self._validate_types(data, variation=variation)
        sku = data.get("sku")
        if sku is not None:
            sku = sku.strip()
            self._check_sku(sku, record["id"])
        gtin = data.get("global_unique_id")
        if gtin:
            gtin = re.sub(r"[^0-9Xx-]", "", gtin)
            clash = [r for r in self.products.values() if r["gtin"] == gtin and r["id"] != record["id"]]
            if clash:
                raise WooApiError(
                    "product_invalid_global_unique_id", "Invalid or duplicated GTIN, UPC, EAN or ISBN.", 400
                )
        for price_field in ("regular_price", "sale_price"):
            if data.get(price_field):
                try:
                    Decimal(data[price_field])
                except InvalidOperation as exc:
                    raise WooApiError(
                        "rest_invalid_param", f"Invalid parameter(s): {price_field}", 400
                    ) from exc
        if sku is not None:
            self._set_sku(record, sku)
        if gtin is not None:
            record["gtin"] = gtin
        simple_fields = [
            "description",
            "status",
            "regular_price",
            "sale_price",
            "backorders",
            "menu_order",
            "meta_data",
        ]
        if not variation:
            simple_fields += [
                "name",
                "short_description",
                "slug",
                "categories",
                "tags",
                "images",
                "default_attributes",
            ]
        for name in simple_fields:
            if name in data:
                record[name] = copy.deepcopy(data[name])
        if "attributes" in data:
            record["attributes"] = self._attributes(data["attributes"], variation=variation)
        if not variation and "type" in data and data["type"] in ("simple", "variable"):
            record["type"] = data["type"]
        if record.get("type") == "variable":
            record["regular_price"] = record["sale_price"] = ""
        if record["sale_price"] and record["regular_price"]:
            if Decimal(record["sale_price"]) >= Decimal(record["regular_price"]):
                record["sale_price"] = ""
        if "manage_stock" in data:
            record["manage_stock"] = data["manage_stock"] is True
        if "stock_status" in data:
            record["stock_status_override"] = data["stock_status"]
        if "low_stock_amount" in data:
            record["low_stock_amount"] = data["low_stock_amount"]
        # Stock is ignored unless the product manages it (after this request's manage_stock). For a
        # variation that is ``get_manage_stock()`` in view context, so "parent" counts as managing:
        # the value lands in the variation's own _stock, which nothing shows while the parent's pool
        # is inherited, and the parent's stock does not move (WC_REST_Product_Variations_Controller::
        # prepare_object_for_database; WC_Product_Variation::get_manage_stock / get_stock_quantity).
        managed = self._effective_manage(record) if variation else record["manage_stock"]
        if "stock_quantity" in data and managed and data["stock_quantity"] is not None:
            record["stock_quantity"] = int(data["stock_quantity"])
        if not managed:
            record["stock_quantity"] = None
        elif record["stock_quantity"] is None and managed is True:
            record["stock_quantity"] = 0
        self._touch(record)

    @staticmethod
    def _attributes(raw: Any, *, variation: bool) -> list[dict[str, Any]]:
        """Attributes as WooCommerce stores them: ``id`` 0 for local ones, defaults filled in."""
        out: list[dict[str, Any]] = []
        for n, attr in enumerate(raw if isinstance(raw, list) else []):
            if not isinstance(attr, dict):
                continue
            name = str(attr.get("name", ""))
            if variation:
                out.append(
                    {"id": int(attr.get("id") or 0), "name": name, "option": str(attr.get("option", ""))}
                )
            else:
                out.append(
                    {
                        "id": int(attr.get("id") or 0),
                        "name": name,
                        "slug": name.lower(),
                        "position": int(attr.get("position", n)),
                        "visible": bool(attr.get("visible", True)),
                        "variation": bool(attr.get("variation", False)),
                        "options": [str(o) for o in attr.get("options") or []],
                    }
                )
        return out

    def _create_product(self, data: dict[str, Any]) -> dict[str, Any]:
        kind = data.get("type", "simple")
        name = data.get("name", "Product")
        if not isinstance(name, str):
            raise invalid_param("name", "name is not of type string.", "rest_invalid_type", {"param": "name"})
        record = self._new_product_record(0, name, kind if isinstance(kind, str) else "simple", self.now())
        record["id"] = -1
        self._apply_fields(record, data, variation=False)
        record["id"] = self._post_id()
        if record["sku"]:
            self.sku_index.pop(record["sku"], None)
            self.sku_index[record["sku"]] = record["id"]
        self.products[record["id"]] = record
        self._product_event(record, "created")
        return self._product_json(record)

    def _update_product(self, pid: int, data: dict[str, Any]) -> dict[str, Any]:
        record = self._product(pid, status=400)
        if record["parent_id"]:
            raise WooApiError(
                "woocommerce_rest_invalid_product_id",
                "To manipulate product variations you should use the "
                "/products/&lt;product_id&gt;/variations/&lt;id&gt; endpoint.",
                404,
            )
        self._apply_fields(record, data, variation=False)
        self._product_event(record, "updated")
        return self._product_json(record)

    def _delete_product(self, pid: int, force: bool) -> dict[str, Any]:
        record = self._product(pid)
        before = self._as_product_json(record)
        if not force:
            if record["status"] == "trash":
                raise WooApiError(
                    "woocommerce_rest_already_trashed", "The product has already been deleted.", 410
                )
            # wp_trash_post fires WC_Post_Data::trash_post first, which trashes the variations
            # (delete_variations($id, false)); then the product itself. Both move the modified date.
            for vid in record.get("variations", []):
                child = self.products.get(vid)
                if child is not None and child["status"] != "trash":
                    child["status"] = "trash"
                    self._touch(child)
            record["status"] = "trash"
            self._touch(record)
            self._product_event(record, "deleted")
            return self._as_product_json(record)
        for vid in record.get("variations", []):
            child = self.products.pop(vid, None)
            if child and child["sku"]:
                self.sku_index.pop(child["sku"], None)
        self.products.pop(pid)
        if record["sku"]:
            self.sku_index.pop(record["sku"], None)
        return before  # force deletes fire no product.deleted (issue #28541)

    def _create_product_http(self, request: Request) -> Response:
        data = self._create_product(self._body(request))
        return json_response(data, 201, {"Location": f"{self.url}{PREFIX}/products/{data['id']}"})

    def _update_product_http(self, request: Request) -> dict[str, Any]:
        return self._update_product(int(request.params["id"]), self._body(request))

    def _delete_product_http(self, request: Request) -> dict[str, Any]:
        return self._delete_product(int(request.params["id"]), _truthy(self._arg(request, "force")))

    def _batch(
        self,
        request: Request,
        create: Callable[[dict[str, Any]], dict[str, Any]],
        update: Callable[[int, dict[str, Any]], dict[str, Any]],
        delete: Callable[[int], dict[str, Any]],
    ) -> dict[str, Any]:
        body = self._body(request)
        total = sum(len(body.get(k) or []) for k in ("create", "update", "delete"))
        if total > BATCH_LIMIT:
            raise WooApiError(
                "woocommerce_rest_request_entity_too_large",
                f"Unable to accept more than {BATCH_LIMIT} items for this request.",
                413,
            )
        out: dict[str, Any] = {}
        if "create" in body:
            out["create"] = []
            for item in body["create"] or []:
                try:
                    out["create"].append(create(item))
                except WooApiError as exc:
                    out["create"].append({"id": 0, "error": exc.body()})
        if "update" in body:
            out["update"] = []
            for item in body["update"] or []:
                item_id = item.get("id") if isinstance(item, dict) else None
                try:
                    if not _is_int(item_id):
                        raise WooApiError("woocommerce_rest_invalid_id", "Invalid ID.", 400)
                    fields = {k: v for k, v in item.items() if k != "id"}
                    out["update"].append(update(int(item_id), fields))  # type: ignore[arg-type]
                except WooApiError as exc:
                    out["update"].append({"id": item_id or 0, "error": exc.body()})
        if "delete" in body:
            out["delete"] = []
            for item_id in body["delete"] or []:
                try:
                    out["delete"].append(delete(int(item_id)))
                except (WooApiError, ValueError, TypeError) as exc:
                    error = (
                        exc.body()
                        if isinstance(exc, WooApiError)
                        else {"code": "woocommerce_rest_invalid_id"}
                    )
                    out["delete"].append({"id": item_id, "error": error})
        return out

    def _batch_products(self, request: Request) -> dict[str, Any]:
        return self._batch(
            request, self._create_product, self._update_product, lambda i: self._delete_product(i, True)
        )

    # -- variations ------------------------------------------------------------------------------

    def _parent(self, pid: int) -> dict[str, Any]:
        parent = self.products.get(pid)
        if parent is None or parent["parent_id"]:
            raise WooApiError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
        return parent

    def _variation(self, pid: int, vid: int, status: int = 404) -> dict[str, Any]:
        record = self.products.get(vid)
        if record is None or record["parent_id"] != pid:
            raise WooApiError("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", status)
        return record

    def _list_variations(self, request: Request) -> Response:
        parent = self._parent(int(request.params["pid"]))
        items = [self.products[v] for v in parent["variations"] if v in self.products]
        items = self._filter_modified(request, self._filter_ids(request, self._filter_status(request, items)))
        self._sort(request, items, "date", "desc")
        chunk, headers = self._paginate(request, items, f"products/{parent['id']}/variations")
        return json_response([self._fields(request, self._variation_json(v)) for v in chunk], 200, headers)

    def _list_all_variations(self, request: Request) -> Response:
        """``GET /wc/v3/variations`` (WooCommerce >= 10.3): every variation, with ``parent_id``."""
        items = [r for r in self.products.values() if r["parent_id"]]
        items = self._filter_modified(request, self._filter_ids(request, self._filter_status(request, items)))
        self._sort(request, items, "date", "desc")
        chunk, headers = self._paginate(request, items, "variations")
        body = [
            self._fields(request, {**self._variation_json(v), "parent_id": v["parent_id"]}) for v in chunk
        ]
        return json_response(body, 200, headers)

    def _get_variation(self, request: Request) -> dict[str, Any]:
        record = self._variation(int(request.params["pid"]), int(request.params["id"]))
        return self._fields(request, self._variation_json(record))

    def _create_variation(self, pid: int, data: dict[str, Any]) -> dict[str, Any]:
        parent = self._parent(pid)
        record = self._new_variation_record(-1, pid, self.now())
        self._apply_fields(record, data, variation=True)
        record["id"] = self._post_id()
        if record["sku"]:
            self.sku_index[record["sku"]] = record["id"]
        self.products[record["id"]] = record
        parent["variations"].append(record["id"])
        self._product_event(record, "created")
        return self._variation_json(record)

    def _update_variation(self, pid: int, vid: int, data: dict[str, Any]) -> dict[str, Any]:
        record = self._variation(pid, vid, 400)
        self._apply_fields(record, data, variation=True)
        self._product_event(record, "updated")
        return self._variation_json(record)

    def _delete_variation(self, pid: int, vid: int) -> dict[str, Any]:
        record = self._variation(pid, vid)
        before = self._variation_json(record)
        self.products.pop(vid)
        if record["sku"]:
            self.sku_index.pop(record["sku"], None)
        parent = self.products[pid]
        parent["variations"] = [v for v in parent["variations"] if v != vid]
        return before

    def _create_variation_http(self, request: Request) -> Response:
        pid = int(request.params["pid"])
        data = self._create_variation(pid, self._body(request))
        return json_response(
            data, 201, {"Location": f"{self.url}{PREFIX}/products/{pid}/variations/{data['id']}"}
        )

    def _update_variation_http(self, request: Request) -> dict[str, Any]:
        return self._update_variation(
            int(request.params["pid"]), int(request.params["id"]), self._body(request)
        )

    def _delete_variation_http(self, request: Request) -> dict[str, Any]:
        if not _truthy(self._arg(request, "force")):
            raise WooApiError(
                "woocommerce_rest_trash_not_supported", "Variations do not support trashing.", 501
            )
        return self._delete_variation(int(request.params["pid"]), int(request.params["id"]))

    def _batch_variations(self, request: Request) -> dict[str, Any]:
        pid = int(request.params["pid"])
        self._parent(pid)
        return self._batch(
            request,
            lambda d: self._create_variation(pid, d),
            lambda i, d: self._update_variation(pid, i, d),
            lambda i: self._delete_variation(pid, i),
        )

    # -- customers -------------------------------------------------------------------------------

    def _new_customer_record(self, data: dict[str, Any]) -> dict[str, Any]:
        email = data.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise WooApiError(
                "registration-error-invalid-email", "Please provide a valid email address.", 400
            )
        if any(c["email"].lower() == email.lower() for c in self.customers.values()):
            raise WooApiError(
                "registration-error-email-exists",
                'An account is already registered with your email address. <a href="#" class="showlogin">'
                "Please log in.</a>",
                400,
            )
        self._next_customer_id += 1
        now = self.now()
        record: dict[str, Any] = {
            "id": self._next_customer_id,
            "email": email,
            "first_name": "",
            "last_name": "",
            "username": data.get("username") or email.split("@")[0],
            "billing": dict.fromkeys(_BILLING_KEYS, ""),
            "shipping": dict.fromkeys([k for k in _BILLING_KEYS if k != "email"], ""),
            "is_paying_customer": False,
            "meta_data": [],
            "created": now,
            "modified": now,
        }
        self._apply_customer(record, {k: v for k, v in data.items() if k not in ("email", "username")})
        self.customers[record["id"]] = record
        self._emit("customer", "created", record["id"], self._customer_json(record))
        return record

    @staticmethod
    def _apply_customer(record: dict[str, Any], data: dict[str, Any]) -> None:
        for name in ("first_name", "last_name", "meta_data"):
            if name in data:
                record[name] = data[name]
        for group in ("billing", "shipping"):
            if isinstance(data.get(group), dict):
                for key, value in data[group].items():
                    record[group][key] = value

    def _create_customer(self, data: dict[str, Any]) -> dict[str, Any]:
        return self._customer_json(self._new_customer_record(data))

    def _update_customer(self, cid: int, data: dict[str, Any]) -> dict[str, Any]:
        record = self.customers.get(cid)
        if record is None:
            raise WooApiError("woocommerce_rest_invalid_id", "Invalid resource ID.", 400)
        if "username" in data and data["username"] != record["username"]:
            raise WooApiError("woocommerce_rest_customer_invalid_argument", "Username isn't editable.", 400)
        if "email" in data:
            email = data["email"]
            if any(
                c["email"].lower() == str(email).lower() and c["id"] != cid for c in self.customers.values()
            ):
                raise WooApiError("woocommerce_rest_customer_invalid_email", "Email address is invalid.", 400)
            record["email"] = email
        self._apply_customer(record, data)
        self._touch(record)
        self._emit("customer", "updated", cid, self._customer_json(record))
        return self._customer_json(record)

    def _delete_customer(self, cid: int) -> dict[str, Any]:
        record = self.customers.get(cid)
        if record is None:
            raise WooApiError("woocommerce_rest_invalid_id", "Invalid resource id.", 404)
        before = self._customer_json(record)
        del self.customers[cid]
        self._emit("customer", "deleted", cid, {"id": cid})
        return before

    def _list_customers(self, request: Request) -> Response:
        items = list(self.customers.values())
        email = self._arg(request, "email")
        if email:
            items = [c for c in items if c["email"].lower() == email.lower()]
        items = self._filter_ids(request, items)
        self._sort(request, items, "name", "asc")
        chunk, headers = self._paginate(request, items, "customers")
        return json_response([self._fields(request, self._customer_json(c)) for c in chunk], 200, headers)

    def _get_customer(self, request: Request) -> dict[str, Any]:
        record = self.customers.get(int(request.params["id"]))
        if record is None:
            raise WooApiError("woocommerce_rest_invalid_id", "Invalid resource ID.", 404)
        return self._fields(request, self._customer_json(record))

    def _create_customer_http(self, request: Request) -> Response:
        data = self._create_customer(self._body(request))
        return json_response(data, 201, {"Location": f"{self.url}{PREFIX}/customers/{data['id']}"})

    def _update_customer_http(self, request: Request) -> dict[str, Any]:
        return self._update_customer(int(request.params["id"]), self._body(request))

    def _delete_customer_http(self, request: Request) -> dict[str, Any]:
        if not _truthy(self._arg(request, "force")):
            raise WooApiError(
                "woocommerce_rest_trash_not_supported", "Customers do not support trashing.", 501
            )
        return self._delete_customer(int(request.params["id"]))

    def _batch_customers(self, request: Request) -> dict[str, Any]:
        return self._batch(request, self._create_customer, self._update_customer, self._delete_customer)

    # -- orders ----------------------------------------------------------------------------------

    def _resolve_line(self, item: dict[str, Any]) -> dict[str, Any]:
        """``get_product_id``: ``sku``, then ``product_id`` (without variation), then ``variation_id``."""
        record: dict[str, Any] | None = None
        if item.get("sku"):
            found = self.sku_index.get(str(item["sku"]))
            record = self.products.get(found) if found is not None else None
        elif item.get("product_id") and not item.get("variation_id"):
            record = self.products.get(int(item["product_id"]))
        elif item.get("variation_id"):
            record = self.products.get(int(item["variation_id"]))
        else:
            raise WooApiError(
                "woocommerce_rest_required_product_reference", "Product ID or SKU is required.", 400
            )
        if record is None or record["status"] == "trash":
            raise WooApiError("woocommerce_rest_invalid_product_id", "Product ID provided is invalid.", 400)
        return record

    def _order_line(self, item: dict[str, Any]) -> dict[str, Any]:
        record = self._resolve_line(item)
        qty = item.get("quantity", 1)
        if not _is_int(qty) or int(qty) < 1:
            raise invalid_param("quantity", "quantity is not of type integer.", "rest_invalid_type")
        parent = self.products[record["parent_id"]] if record["parent_id"] else None
        unit = Decimal(self._price(record) or "0")
        total = item.get("total")
        return {
            "id": self._item_id(),
            "name": record.get("name") or (parent["name"] if parent else ""),
            "product_id": parent["id"] if parent else record["id"],
            "variation_id": record["id"] if parent else 0,
            "quantity": int(qty),
            "sku": record["sku"],
            "total": _money(Decimal(total) if isinstance(total, str) and total else unit * int(qty)),
            "parent_name": parent["name"] if parent else None,
            "meta_data": [],
        }

    def _move_stock(self, line: dict[str, Any], delta: int) -> None:
        """``wc_update_product_stock``: relative and atomic (we hold the lock), then ``save()``."""
        record = self.products.get(line["variation_id"] or line["product_id"])
        if record is None:
            return
        owner = self._stock_owner(record)
        if owner is None:
            return
        owner["stock_quantity"] = int(owner["stock_quantity"] or 0) + delta
        self._touch(owner)
        self._product_event(owner, "updated")

    def _meta(self, line: dict[str, Any], key: str) -> str:
        """``$item->get_meta( $key, true )``: the value, or ``""`` when the line has none."""
        return next((str(m["value"]) for m in line["meta_data"] if m["key"] == key), "")

    def _set_meta(self, line: dict[str, Any], key: str, value: int | None) -> None:
        """``update_meta_data`` (``None``: ``delete_meta_data``); meta values are stored as strings."""
        line["meta_data"] = [m for m in line["meta_data"] if m["key"] != key or value is not None]
        for m in line["meta_data"]:
            if m["key"] == key:
                m["value"] = str(value)
                return
        if value is not None:
            self._next_meta_id += 1
            line["meta_data"].append({"id": self._next_meta_id, "key": key, "value": str(value)})

    def _manages_stock(self, line: dict[str, Any]) -> bool:
        record = self.products.get(line["variation_id"] or line["product_id"])
        return record is not None and self._stock_owner(record) is not None

    def _reduce_stock_levels(self, order: dict[str, Any]) -> None:
        """``wc_maybe_reduce_stock_levels``: once per order (``_order_stock_reduced``), and in
        ``wc_reduce_stock_levels`` once per line: a line whose ``_reduced_stock`` is set (PHP-truthy)
        or whose product does not manage stock is skipped; the others lose their quantity and get
        ``_reduced_stock = qty``."""
        if order["stock_reduced"]:
            return
        for line in order["line_items"]:
            if _php_truthy(self._meta(line, REDUCED_STOCK)) or not self._manages_stock(line):
                continue
            self._move_stock(line, -line["quantity"])
            self._set_meta(line, REDUCED_STOCK, line["quantity"])
        order["stock_reduced"] = True

    def _increase_stock_levels(self, order: dict[str, Any]) -> None:
        """``wc_maybe_increase_stock_levels`` (only if ``_order_stock_reduced``) and
        ``wc_increase_stock_levels``: each line gets back its ``_reduced_stock`` (skipped when that
        is empty or ``"0"``, e.g. after a full restocking refund), and the meta is deleted."""
        if not order["stock_reduced"]:
            return
        for line in order["line_items"]:
            reduced = self._meta(line, REDUCED_STOCK)
            if not _php_truthy(reduced) or not self._manages_stock(line):
                continue
            self._move_stock(line, _meta_int(reduced))
            self._set_meta(line, REDUCED_STOCK, None)
        order["stock_reduced"] = False

    def _restock_refunded_items(self, order: dict[str, Any], quantities: dict[int, int]) -> None:
        """``wc_restock_refunded_items`` (``wc-order-functions.php``): each refunded line with a
        quantity and a set ``_reduced_stock`` gets the refunded quantity back (not capped), its
        ``_reduced_stock`` lowered by it and ``_restock_refunded_items`` raised by it."""
        for line in order["line_items"]:
            qty = quantities.get(line["id"], 0)
            reduced = self._meta(line, REDUCED_STOCK)
            if not _php_truthy(reduced) or not qty or not self._manages_stock(line):
                continue
            self._move_stock(line, qty)
            self._set_meta(line, REDUCED_STOCK, _meta_int(reduced) - qty)
            self._set_meta(line, RESTOCKED, _meta_int(self._meta(line, RESTOCKED)) + qty)

    def _set_order_status(self, order: dict[str, Any], status: str) -> None:
        """``set_status`` then the ``woocommerce_order_status_<to>`` hooks that touch stock."""
        if status not in ORDER_STATUSES | self.custom_order_statuses:
            raise invalid_param(
                "status",
                "status is not one of "
                + ", ".join(sorted(ORDER_STATUSES | self.custom_order_statuses))
                + ".",
                "rest_not_in_enum",
            )
        order["status"] = status
        if status in ("processing", "completed") and order["date_paid"] is None:
            order["date_paid"] = self.now()
        if status == "completed" and order["date_completed"] is None:
            order["date_completed"] = self.now()
        if status in REDUCING_STATUSES:
            self._reduce_stock_levels(order)
        elif status in RESTORING_STATUSES:
            self._increase_stock_levels(order)
        elif status == "refunded":
            self._fully_refunded(order)

    def _payment_complete(self, order: dict[str, Any]) -> None:
        """``WC_Order::payment_complete``: ``date_paid``, the payment-complete status (a plugin's custom
        one included), then ``woocommerce_payment_complete``, which reduces stock whatever that is."""
        order["date_paid"] = order["date_paid"] or self.now()
        if order["status"] != self.payment_complete_status:
            self._set_order_status(order, self.payment_complete_status)
        self._reduce_stock_levels(order)

    def _fully_refunded(self, order: dict[str, Any]) -> None:
        """``wc_order_fully_refunded`` (on ``woocommerce_order_status_refunded``): a refund of what is
        left, without line items and without restock."""
        total = sum((Decimal(li["total"]) for li in order["line_items"]), Decimal(0))
        left = total - sum((self.refunds[r]["amount"] for r in order["refunds"]), Decimal(0))
        if left > 0:
            self._add_refund(order, left, "Order fully refunded.", [])

    def _create_order(self, data: dict[str, Any]) -> dict[str, Any]:
        lines = [self._order_line(i) for i in data.get("line_items") or []]
        now = self.now()
        oid = self._post_id()
        order: dict[str, Any] = {
            "id": oid,
            "order_key": "wc_order_"
            + hashlib.sha1(f"{oid}{now}".encode(), usedforsecurity=False).hexdigest()[:13],
            "created_via": "rest-api",
            "status": "pending",
            "currency": data.get("currency") or self.currency,
            "customer_id": int(data.get("customer_id") or 0),
            "customer_note": data.get("customer_note", ""),
            "billing": {**dict.fromkeys(_BILLING_KEYS, ""), **(data.get("billing") or {})},
            "shipping": {
                **dict.fromkeys([k for k in _BILLING_KEYS if k != "email"], ""),
                **(data.get("shipping") or {}),
            },
            "payment_method": data.get("payment_method", ""),
            "payment_method_title": data.get("payment_method_title", ""),
            "transaction_id": data.get("transaction_id", ""),
            "date_paid": None,
            "date_completed": None,
            "meta_data": copy.deepcopy(data.get("meta_data") or []),
            "line_items": lines,
            "refunds": [],
            "stock_reduced": False,
            "created": now,
            "modified": now,
        }
        self.orders[oid] = order
        status = data.get("status", "pending")
        if status != "pending":
            self._set_order_status(order, status)
        if data.get("set_paid") is True:
            self._payment_complete(order)
        self._emit("order", "created", oid, self._order_json(order))
        return self._order_json(order)

    def _order(self, oid: int, status: int = 404) -> dict[str, Any]:
        order = self.orders.get(oid)
        if order is None:
            raise WooApiError("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", status)
        return order

    def _update_order(self, oid: int, data: dict[str, Any]) -> dict[str, Any]:
        order = self._order(oid, 400)
        for name in ("billing", "shipping"):
            if isinstance(data.get(name), dict):
                order[name].update(data[name])
        for name in (
            "customer_note",
            "payment_method",
            "payment_method_title",
            "transaction_id",
            "meta_data",
        ):
            if name in data:
                order[name] = data[name]
        if "status" in data and data["status"] != order["status"]:
            self._set_order_status(order, data["status"])
        if data.get("set_paid") is True and order["status"] in ("pending", "failed", "on-hold"):
            self._payment_complete(order)
        self._touch(order)
        self._emit("order", "updated", oid, self._order_json(order))
        return self._order_json(order)

    def _list_orders(self, request: Request) -> Response:
        items = list(self.orders.values())
        statuses = self._list_arg(request, "status")
        if statuses and "any" not in statuses:
            items = [o for o in items if o["status"] in statuses]
        else:
            items = [o for o in items if o["status"] != "trash"]
        items = self._filter_modified(request, self._filter_ids(request, items))
        self._sort(request, items, "date", "desc")
        chunk, headers = self._paginate(request, items, "orders")
        return json_response([self._fields(request, self._order_json(o)) for o in chunk], 200, headers)

    def _get_order(self, request: Request) -> dict[str, Any]:
        return self._fields(request, self._order_json(self._order(int(request.params["id"]))))

    def _create_order_http(self, request: Request) -> Response:
        data = self._create_order(self._body(request))
        return json_response(data, 201, {"Location": f"{self.url}{PREFIX}/orders/{data['id']}"})

    def _update_order_http(self, request: Request) -> dict[str, Any]:
        return self._update_order(int(request.params["id"]), self._body(request))

    def _delete_order_http(self, request: Request) -> dict[str, Any]:
        order = self._order(int(request.params["id"]))
        before = self._order_json(order)
        if _truthy(self._arg(request, "force")):
            del self.orders[order["id"]]
            return before
        order["status"] = "trash"
        self._touch(order)
        self._emit("order", "deleted", order["id"], {"id": order["id"]})
        return self._order_json(order)

    def _create_refund_http(self, request: Request) -> Response:
        """``wc_create_refund`` with ``restock_items`` from ``api_restock`` (default true when not a
        boolean, ``RestApiParameterUtil::adjust_create_refund_request_parameters``)."""
        order = self._order(int(request.params["pid"]))
        data = self._body(request)
        restock = data.get("api_restock", True) is not False
        lines: list[dict[str, Any]] = []
        quantities: dict[int, int] = {}
        amount = Decimal(0)
        by_id = {li["id"]: li for li in order["line_items"]}
        for item in data.get("line_items") or []:
            line = by_id.get(int(item.get("id", 0))) if _is_int(item.get("id", 0)) else None
            if line is None:
                raise WooApiError("woocommerce_rest_invalid_order_refund", "Invalid line item.", 400)
            qty = int(item.get("quantity") or 0)
            refund_total = Decimal(str(item.get("refund_total") or "0"))
            amount += refund_total
            quantities[line["id"]] = qty
            self._next_meta_id += 1
            lines.append(
                {
                    **line,
                    "id": self._item_id(),
                    "quantity": -qty,
                    "total": _money(-refund_total),
                    "meta_data": [
                        {"id": self._next_meta_id, "key": "_refunded_item_id", "value": str(line["id"])}
                    ],
                }
            )
        if data.get("amount") not in (None, ""):
            try:
                amount = Decimal(str(data["amount"]))
            except InvalidOperation as exc:
                raise WooApiError(
                    "woocommerce_rest_invalid_order_refund", "Refund amount is invalid.", 400
                ) from exc
        if amount < 0:
            raise WooApiError(
                "woocommerce_rest_invalid_order_refund", "Refund amount must be greater than zero.", 400
            )
        refund = self._add_refund(order, amount, data.get("reason", ""), lines)
        if restock:
            self._restock_refunded_items(order, quantities)
        total = sum((Decimal(li["total"]) for li in order["line_items"]), Decimal(0))
        refunded = sum((self.refunds[r]["amount"] for r in order["refunds"]), Decimal(0))
        if total and refunded >= total and order["status"] != "refunded":
            self._set_order_status(order, "refunded")  # restocks nothing by itself
        self._touch(order)
        self._emit("order", "updated", order["id"], self._order_json(order))
        return json_response(self._refund_json(refund), 201)

    def _add_refund(
        self, order: dict[str, Any], amount: Decimal, reason: str, lines: list[dict[str, Any]]
    ) -> dict[str, Any]:
        refund = {
            "id": self._post_id(),
            "order_id": order["id"],
            "amount": amount,
            "reason": reason,
            "line_items": lines,
            "created": self.now(),
        }
        self.refunds[refund["id"]] = refund
        order["refunds"].insert(0, refund["id"])
        return refund

    def _list_refunds(self, request: Request) -> Response:
        order = self._order(int(request.params["pid"]))
        items = [self.refunds[r] for r in order["refunds"] if r in self.refunds]
        chunk, headers = self._paginate(request, items, f"orders/{order['id']}/refunds")
        return json_response([self._refund_json(r) for r in chunk], 200, headers)

    def _get_refund(self, request: Request) -> dict[str, Any]:
        refund = self.refunds.get(int(request.params["id"]))
        if refund is None or refund["order_id"] != int(request.params["pid"]):
            raise WooApiError("woocommerce_rest_invalid_id", "Invalid resource ID.", 404)
        return self._refund_json(refund)

    # -- webhooks --------------------------------------------------------------------------------

    def _list_webhooks(self, request: Request) -> Response:
        items = sorted(self.webhooks.values(), key=lambda w: w["id"], reverse=True)
        status = self._arg(request, "status")
        if status and status != "all":
            items = [w for w in items if w["status"] == status]
        chunk, headers = self._paginate(request, items, "webhooks")
        return json_response([self._webhook_json(w) for w in chunk], 200, headers)

    def _webhook(self, wid: int) -> dict[str, Any]:
        hook = self.webhooks.get(wid)
        if hook is None:
            raise WooApiError("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404)
        return hook

    def _get_webhook(self, request: Request) -> dict[str, Any]:
        return self._webhook_json(self._webhook(int(request.params["id"])))

    @staticmethod
    def _validate_webhook(data: dict[str, Any]) -> None:
        if "topic" in data:
            resource, _, event = str(data["topic"]).partition(".")
            if resource not in WEBHOOK_RESOURCES or event not in WEBHOOK_EVENTS:
                raise WooApiError(
                    "woocommerce_rest_webhook_invalid_topic",
                    "Webhook topic is required and must be valid.",
                    400,
                )
        if "delivery_url" in data:
            url = str(data["delivery_url"])
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
                raise WooApiError(
                    "woocommerce_rest_webhook_invalid_delivery_url",
                    "Webhook delivery URL must be a valid URL starting with http:// or https://.",
                    400,
                )

    def _create_webhook_http(self, request: Request) -> Response:
        data = self._body(request)
        if "topic" not in data:
            raise WooApiError(
                "woocommerce_rest_webhook_invalid_topic", "Webhook topic is required and must be valid.", 400
            )
        if "delivery_url" not in data:
            raise WooApiError(
                "woocommerce_rest_webhook_invalid_delivery_url",
                "Webhook delivery URL must be a valid URL starting with http:// or https://.",
                400,
            )
        self._validate_webhook(data)
        now = self.now()
        hook = {
            "id": self._post_id(),
            "name": data.get("name") or f"Webhook created on {now:%b %d, %Y @ %I:%M %p}",
            "status": "active",
            "topic": data["topic"],
            "delivery_url": data["delivery_url"],
            "secret": data.get("secret") or self.webhook_secret,
            "created": now,
            "modified": now,
        }
        self.webhooks[hook["id"]] = hook
        # deliver_ping(): a form-style body, no X-WC-* headers, no signature.
        self.dispatcher.send(
            hook["delivery_url"],
            f"webhook_id={hook['id']}".encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "WooCommerce/9.8.0 Hookshot"},
        )
        return json_response(self._webhook_json(hook, edit=True), 201)

    def _update_webhook_http(self, request: Request) -> dict[str, Any]:
        hook = self._webhook(int(request.params["id"]))
        data = self._body(request)
        self._validate_webhook(data)
        if "status" in data and data["status"] not in ("active", "paused", "disabled"):
            raise invalid_param(
                "status", "status is not one of active, paused, and disabled.", "rest_not_in_enum"
            )
        for name in ("name", "status", "topic", "delivery_url", "secret"):
            if name in data:
                hook[name] = data[name]
        self._touch(hook)
        return self._webhook_json(hook, edit=True)

    def _delete_webhook_http(self, request: Request) -> dict[str, Any]:
        hook = self._webhook(int(request.params["id"]))
        if not _truthy(self._arg(request, "force")):
            raise WooApiError(
                "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501
            )
        del self.webhooks[hook["id"]]
        return self._webhook_json(hook)

    def _product_event(self, record: dict[str, Any], event: str) -> None:
        payload = {"id": record["id"]} if event == "deleted" else self._as_product_json(record)
        self._emit("product", event, record["id"], payload)

    def _emit(self, resource: str, event: str, resource_id: int, payload: dict[str, Any]) -> None:
        """Queue a signed delivery to every active webhook on ``resource.event`` (never retried)."""
        topic = f"{resource}.{event}"
        hooks = [w for w in self.webhooks.values() if w["status"] == "active" and w["topic"] == topic]
        if not hooks:
            return
        # PHP json_encode: "/" escaped, non-ASCII as \uXXXX.
        body = json.dumps(payload, separators=(",", ":")).replace("/", "\\/").encode()
        for hook in hooks:
            signature = base64.b64encode(
                hmac.new(hook["secret"].encode(), body, hashlib.sha256).digest()
            ).decode()
            delivery_id = hashlib.md5(
                f"{hook['id']}{int(time.time())}".encode(), usedforsecurity=False
            ).hexdigest()
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "WooCommerce/9.8.0 Hookshot (WordPress/6.8)",
                "X-WC-Webhook-Source": f"{self.url}/",
                "X-WC-Webhook-Topic": topic,
                "X-WC-Webhook-Resource": resource,
                "X-WC-Webhook-Event": event,
                "X-WC-Webhook-Signature": signature,
                "X-WC-Webhook-ID": str(hook["id"]),
                "X-WC-Webhook-Delivery-ID": delivery_id,
            }
            self.webhook_log.append(
                {"topic": topic, "webhook_id": hook["id"], "body": body, "headers": headers}
            )
            self.dispatcher.send(hook["delivery_url"], body, headers)


def oauth_query(
    url: str, method: str, consumer_key: str, consumer_secret: str, *, algo: str = "HMAC-SHA1"
) -> str:
    """A signed OAuth 1.0a URL (for tests that want HMAC-SHA1, which the Python client never sends)."""
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    params.update(
        oauth_consumer_key=consumer_key,
        oauth_timestamp=str(int(time.time())),
        oauth_nonce=hashlib.sha1(str(time.time_ns()).encode(), usedforsecurity=False).hexdigest(),
        oauth_signature_method=algo,
    )
    items = sorted(params.items(), key=lambda kv: kv[0].encode())
    query = "%26".join(php_rawurlencode(f"{php_rawurlencode(k)}={php_rawurlencode(v)}") for k, v in items)
    base = php_rawurlencode(f"{parts.scheme}://{parts.netloc}{parts.path}")
    digest = hashlib.sha1 if algo == "HMAC-SHA1" else hashlib.sha256
    sig = base64.b64encode(
        hmac.new(
            (consumer_secret + "&").encode(), f"{method.upper()}&{base}&{query}".encode(), digest
        ).digest()
    ).decode()
    params["oauth_signature"] = sig
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(params)}"
