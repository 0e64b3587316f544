"""The ``/customers`` resource: unique emails, address blocks, no trash."""

from __future__ import annotations

from typing import Any

from sandbox.http import Request, Response, json_response
from sandbox.woocommerce.errors import WooApiError
from sandbox.woocommerce.state import BILLING_KEYS
from sandbox.woocommerce.webhooks import WooWebhooks
from sandbox.woocommerce.wire import PREFIX, truthy


class WooCustomers(WooWebhooks):
    """Customers: list, read, create, update, delete, batch."""

    def _new_customer_record(self, data: dict[str, Any]) -> dict[str, Any]:
        email = data.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise WooApiError(
                "registration-error-invalid-email", "Please provide a valid email address.", 400
            )
        if email.lower() in self.customer_emails:
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
            "billing": dict.fromkeys(BILLING_KEYS, ""),
            "shipping": dict.fromkeys([k for k in BILLING_KEYS if k != "email"], ""),
            "is_paying_customer": False,
            "meta_data": [],
            "created": now,
            "modified": now,
        }
        self._apply_customer(record, {k: v for k, v in data.items() if k not in ("email", "username")})
        self.customers[record["id"]] = record
        self.customer_emails[email.lower()] = record["id"]
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
            if self.customer_emails.get(str(email).lower(), cid) != cid:
                raise WooApiError("woocommerce_rest_customer_invalid_email", "Email address is invalid.", 400)
            self.customer_emails.pop(record["email"].lower(), None)
            self.customer_emails[str(email).lower()] = cid
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
        self.customer_emails.pop(record["email"].lower(), None)
        self._emit("customer", "deleted", cid, {"id": cid})
        return before

    def _list_customers(self, request: Request) -> Response:
        items = list(self.customers.values())
        email = self._arg(request, "email")
        if email:
            found = self.customer_emails.get(email.lower())
            items = [self.customers[found]] if found is not None else []
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
        if not truthy(self._arg(request, "force")):
            raise WooApiError(
                "woocommerce_rest_trash_not_supported", "Customers do not support trashing.", 501
            )
        return self._delete_customer(int(request.params["id"]))

    def _batch_customers(self, request: Request) -> dict[str, Any]:
        return self._batch(request, self._create_customer, self._update_customer, self._delete_customer)
