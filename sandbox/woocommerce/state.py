"""The emulator's in-memory store: records as WooCommerce keeps them (not as the API shows them).

Everything behind the one store lock lives here: products and variations by post id, orders,
refunds, customers, webhooks, the id counters and the site clock (GMT, one-second resolution,
frozen or skewed by tests). The other modules are mixins that read and change this state.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.http import EmulatorServer, Request, WebhookDispatcher
from sandbox.woocommerce.wire import fmt_date

BILLING_KEYS = (
    *("first_name", "last_name", "company", "address_1", "address_2", "city", "state"),
    *("postcode", "country", "email", "phone"),
)
"""An address block's keys (``billing``; ``shipping`` has all but ``email``)."""


class WooState:
    """The store, the clock and the record constructors every other part builds on."""

    server: EmulatorServer
    """The loopback HTTP server (built by the emulator once its routes exist)."""

    def __init__(
        self,
        *,
        consumer_key: str = "ck_sandbox_0123456789abcdef0123456789abcdef01234567",
        consumer_secret: str = "cs_sandbox_0123456789abcdef0123456789abcdef01234567",  # noqa: S107 (sandbox)
        webhook_secret: str = "whsec-sandbox-woocommerce",  # noqa: S107 (sandbox)
        utc_offset_hours: float = -3.0,
        currency: str = "USD",
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
        self.customer_emails: dict[str, int] = {}
        """Lower-cased ``user_email`` -> customer id (WordPress's unique email, looked up at once)."""
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
        on every request (see the package docstring)."""

    @property
    def url(self) -> str:
        return self.server.url

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
        return fmt_date(dt + self.offset) if dt else None

    def _post_id(self) -> int:
        self._next_post_id += 1
        return self._next_post_id

    def _item_id(self) -> int:
        self._next_item_id += 1
        return self._next_item_id

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
