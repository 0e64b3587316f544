"""The customer directory: create, retrieve, update with versions, delete, list and search, and
the merges a seller makes in the Dashboard (Square has no merge endpoint: :meth:`merge_customers` is
the emulator's control, as a seller's click would be). A merge creates a NEW profile from the old
ones (``creation_source`` ``MERGE``), fires ``customer.created`` for it and ``customer.deleted`` for
each old one, both with ``event_context.merge``; RetrieveCustomer of an old id answers the new
profile ("For merged profiles, use the new profile's id")."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sandbox.http import Request
from sandbox.square.errors import SquareError
from sandbox.square.paging import next_cursor, page_limit, page_offset
from sandbox.square.webhooks import SquareWebhooks
from sandbox.square.wire import JSON, fmt_ms, new_id, parse_ms


class SquareCustomers(SquareWebhooks):
    """Customers endpoints."""

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
        birthday = data.get("birthday")
        if birthday is not None:
            if not re.fullmatch(r"(\d{4}-)?\d{2}-\d{2}", str(birthday)):
                raise SquareError(400, "INVALID_TIME", "Invalid birthday.", field="birthday")
            if len(str(birthday)) == 5:
                data["birthday"] = "0000-" + str(birthday)  # returned as 0000-MM-DD without a year
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
        limit = page_limit(int(request.arg("limit") or 100), 100, 100)
        offset = page_offset(request.arg("cursor"))
        rows = sorted(self._customers.values(), key=lambda c: (c["created_at"], c["id"]))
        if request.arg("sort_order", "ASC") == "DESC":
            rows.reverse()
        out = _page(rows, offset, limit)
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
        return {"customer": dict(self._new_profile(data, "THIRD_PARTY"))}

    def _new_profile(
        self, data: JSON, source: str, *, unsubscribed: bool = False, merged_from: Sequence[str] = ()
    ) -> JSON:
        """A new profile of ``data`` made by ``source`` (``creation_source``), stored, and announced by
        ``customer.created`` (with the merge of ``merged_from`` that made it, if one did). One place
        for what every new profile starts with (an id, both times the same, version 0), whichever
        way it is made: CreateCustomer, the till, or a merge."""
        now = fmt_ms(self._tick())
        customer: JSON = {
            "id": new_id()[:26],
            "created_at": now,
            "updated_at": now,
            **data,
            "preferences": {"email_unsubscribed": unsubscribed},
            "creation_source": source,
            "version": 0,
        }
        self._customers[customer["id"]] = customer
        obj: JSON = {"customer": dict(customer)}
        if merged_from:
            obj["event_context"] = {"merge": _merge(merged_from, customer["id"])}
        self._emit("customer.created", {"type": "customer", "id": customer["id"], "object": obj})
        return customer

    def _customer(self, customer_id: str, *, merged: bool = False) -> JSON:
        """The customer ``customer_id``; with ``merged``, the profile an old id was merged into."""
        if merged:
            while customer_id in self._merged_into:
                customer_id = self._merged_into[customer_id]
        customer = self._customers.get(customer_id)
        if customer is None:
            raise SquareError(404, "NOT_FOUND", f"Customer with ID `{customer_id}` not found.")
        return customer

    def _retrieve_customer(self, request: Request) -> JSON:
        return {"customer": dict(self._customer(request.params["id"], merged=True))}

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
        self._emit_deleted(customer, None)
        return {}

    def _emit_deleted(self, customer: JSON, merge: JSON | None) -> None:
        """``customer.deleted`` as Square sends it: the deleted profile without ``group_ids`` and
        ``segment_ids``, and the merge that deleted it, if one did."""
        shown = {k: v for k, v in customer.items() if k not in ("group_ids", "segment_ids")}
        obj: JSON = {"customer": shown}
        if merge is not None:
            obj["event_context"] = {"merge": merge}
        self._emit(
            "customer.deleted", {"type": "customer", "id": customer["id"], "deleted": True, "object": obj}
        )

    def add_customer(self, email: str | None, given_name: str = "", phone: str | None = None) -> str:
        """A profile added at the till or in the Dashboard (no HTTP; fires ``customer.created``)."""
        with self.lock:
            data = {"email_address": email, "given_name": given_name or None, "phone_number": phone}
            customer = self._new_profile({k: v for k, v in data.items() if v}, "DIRECTORY")
            return str(customer["id"])

    def merge_customers(self, customer_ids: list[str]) -> str:
        """Merge these profiles as a seller does in the Dashboard; returns the new profile's id.

        The newest non-empty value of each field wins (the profiles ordered by ``updated_at``);
        the new profile starts at version 0."""
        with self.lock:
            old = [self._customer(cid) for cid in customer_ids]
            if len(old) < 2:
                raise ValueError("a merge takes two or more customers")
            data: JSON = {}
            for customer in sorted(old, key=lambda c: (c["updated_at"], c["id"])):
                data.update({k: customer[k] for k in self._CUSTOMER_FIELDS if customer.get(k) is not None})
            unsubscribed = any((c.get("preferences") or {}).get("email_unsubscribed") for c in old)
            new = self._new_profile(data, "MERGE", unsubscribed=unsubscribed, merged_from=customer_ids)
            for customer in old:
                del self._customers[customer["id"]]
                self._merged_into[customer["id"]] = new["id"]
                self._emit_deleted(customer, _merge(customer_ids, new["id"]))
            return str(new["id"])

    def _search_customers(self, request: Request) -> JSON:
        body: JSON = request.json()
        limit = page_limit(body.get("limit"), 100, 100)
        offset = page_offset(body.get("cursor"))
        query = body.get("query") or {}
        flt = query.get("filter") or {}
        for name in ("email_address", "phone_number", "reference_id"):
            if {"exact", "fuzzy"} <= set(flt.get(name) or {}):
                raise SquareError(
                    400,
                    "INVALID_VALUE",
                    "exact and fuzzy are mutually exclusive.",
                    field=f"query.filter.{name}",
                )
        rows = [c for c in self._customers.values() if self._customer_matches(c, flt)]
        sort = query.get("sort") or {}
        if sort.get("field") == "CREATED_AT":
            rows.sort(key=lambda c: (c["created_at"], c["id"]))
        else:
            rows.sort(key=lambda c: (c.get("given_name", ""), c.get("family_name", ""), c["created_at"]))
        if sort.get("order") == "DESC":
            rows.reverse()
        out = _page(rows, offset, limit)
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


def _merge(from_ids: Sequence[str], to_id: str) -> JSON:
    """The ``event_context.merge`` every event of one merge carries (the new profile's
    ``customer.created`` and each old one's ``customer.deleted``)."""
    return {"from_customer_ids": list(from_ids), "to_customer_id": to_id}


def _page(rows: list[JSON], offset: int, limit: int) -> JSON:
    """One page of customers as ListCustomers and SearchCustomers answer it: ``customers`` only
    when there are some, ``cursor`` only when more follow."""
    out: JSON = {}
    page = rows[offset : offset + limit]
    if page:
        out["customers"] = [dict(c) for c in page]
    cursor = next_cursor(offset, limit, len(rows))
    if cursor:
        out["cursor"] = cursor
    return out
