"""Webhooks: the ``/webhooks`` resource and the signed deliveries it subscribes to.

WooCommerce signs each delivery (``auth.webhook_signature``), never retries one, and pings a new
webhook with an unsigned form body.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any
from urllib.parse import urlsplit

from sandbox.http import Request, Response, json_response
from sandbox.woocommerce.auth import webhook_signature
from sandbox.woocommerce.errors import WooApiError, invalid_param
from sandbox.woocommerce.rest import WooRest
from sandbox.woocommerce.views import WooViews
from sandbox.woocommerce.wire import truthy

WEBHOOK_RESOURCES = {"coupon", "customer", "order", "product"}


WEBHOOK_EVENTS = {"created", "updated", "deleted", "restored"}


class WooWebhooks(WooViews, WooRest):
    """Webhook subscriptions over REST and the deliveries every change queues."""

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
        if not truthy(self._arg(request, "force")):
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
            signature = webhook_signature(hook["secret"], body)
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
