"""The route table: which handler answers each method and path, run under the store lock."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sandbox.http import Request, Response, Router, json_response
from sandbox.woocommerce.customers import WooCustomers
from sandbox.woocommerce.errors import WooApiError
from sandbox.woocommerce.orders import WooOrders
from sandbox.woocommerce.variations import WooVariations
from sandbox.woocommerce.wire import PREFIX

Route = tuple[Iterable[str], str, Callable[[Request], Any], str]
"""(methods, path pattern, handler, route name)."""
_NUM = r"(?P<id>\d+)"
_PID = r"(?P<pid>\d+)"
_EDIT = ("POST", "PUT", "PATCH")
"""WordPress registers ``EDITABLE`` routes for all three methods."""


class WooRoutes(WooVariations, WooCustomers, WooOrders):
    """Register every REST route and turn handler results and errors into responses."""

    def _routes(self, router: Router) -> None:
        for methods, pattern, handler, name in [*self._catalog_routes(), *self._commerce_routes()]:
            for method in methods:
                router.add(method, pattern, self._wrap(handler), f"{method} {name}")

    def _catalog_routes(self) -> list[Route]:
        """Products and their variations."""
        p, num, pid, edit = PREFIX, _NUM, _PID, _EDIT
        return [
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
        ]

    def _commerce_routes(self) -> list[Route]:
        """Customers, orders and their refunds, webhooks."""
        p, num, pid, edit = PREFIX, _NUM, _PID, _EDIT
        return [
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

    def _wrap(self, handler: Callable[[Request], Any]) -> Callable[[Request], Response]:
        def run(request: Request) -> Response:
            # The answer is dated when it is produced, under the lock: a request answered at the
            # same time (or a test's hook moving the clock) must not move its Date.
            try:
                with self.lock:
                    result = handler(request)
                    if self.after_request is not None:
                        self.after_request(request)
                    served_at = self.server.clock()
            except WooApiError as exc:
                return exc.response()
            response = result if isinstance(result, Response) else json_response(result)
            response.served_at = served_at
            return response

        return run
