"""The route table and what every route shares: JSON parsing, idempotency keys (the first
successful answer is replayed), Square-shaped errors, the version echo and recording.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from sandbox.http import RecordedExchange, Request, Response, Router, json_response
from sandbox.square.catalog import SquareCatalog
from sandbox.square.catalog_search import SquareCatalogSearch
from sandbox.square.customers import SquareCustomers
from sandbox.square.errors import SquareError, error_response
from sandbox.square.locations import SquareLocations
from sandbox.square.orders import SquareOrders
from sandbox.square.webhook_subscriptions import SquareWebhookSubscriptions
from sandbox.square.wire import JSON


class SquareRoutes(
    SquareLocations,
    SquareCatalogSearch,
    SquareCatalog,
    SquareOrders,
    SquareCustomers,
    SquareWebhookSubscriptions,
):
    """Register every ``/v2`` operation behind the shared request handling."""

    router: Router

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
                with self.lock:
                    self.recorded.append(RecordedExchange.of(operation_id, request, response))
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
        self._webhook_routes()

    def _webhook_routes(self) -> None:
        add = self._add
        subscription = r"/v2/webhooks/subscriptions/(?P<id>[^/]+)"
        add("GET", r"/v2/webhooks/event-types", "ListWebhookEventTypes", self._list_webhook_event_types)
        add(
            "GET", r"/v2/webhooks/subscriptions", "ListWebhookSubscriptions", self._list_webhook_subscriptions
        )
        add(
            "POST",
            r"/v2/webhooks/subscriptions",
            "CreateWebhookSubscription",
            self._create_webhook_subscription,
            idempotent=True,
        )
        add("GET", subscription, "RetrieveWebhookSubscription", self._retrieve_webhook_subscription)
        add("PUT", subscription, "UpdateWebhookSubscription", self._update_webhook_subscription)
        add("DELETE", subscription, "DeleteWebhookSubscription", self._delete_webhook_subscription)
        add(
            "POST",
            subscription + "/signature-key",
            "UpdateWebhookSubscriptionSignatureKey",
            self._rotate_signature_key,
            idempotent=True,
        )
        add("POST", subscription + "/test", "TestWebhookSubscription", self._test_webhook_subscription)
