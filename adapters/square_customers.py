"""Square customers: the incremental read, the look-ups behind webhooks and before creates, the
purchase history (and one customer's orders), and the create/update writes.

Square's SearchCustomers filters on ``updated_at`` but cannot sort on it, and a changed profile can
take up to a minute to show in search ("in well under 30 seconds. Occasionally ... closer to one
minute"). So a read begun when Square's clock said T has seen every change up to T less that lag; the
next one asks for everything updated since T (or the newest change read, if later) less an overlap
window (:attr:`SquareCustomers.customer_overlap`, longer than the lag), and the cursor remembers
which ``id@updated_at`` of that window it already returned: a profile is returned once per change,
and once the shop has been quiet for the window a read is one call (the window trails the read's
time, not the last change, so a bulk import is not paged through again on every poll).

The purchase history (:meth:`SquareCustomers.iter_purchases`) is one stream for everyone:
SearchOrders by ``updated_at`` (sorted on it, as the spec requires), 1,000 orders a page, over every
location (10 to a search), from the same kind of cursor. Its ``customer_filter`` takes 10 customer
ids a call: a first sync of N customers would cost at least N/10 searches, and, since a purchase
does not change the profile, finding a regular's next sale would mean asking for everyone again on
every poll. The stream costs the orders' pages once, then one search per 10 locations a poll, and
sees every change of every order (a refund, a completion) as it happens. Orders naming nobody
(``customer_id`` on the order, or on a tender, which is what the customer filter matches) are
skipped: they belong to no one's history.

A merge (made in the Dashboard: the API has none) retires the old ids; retrieving an old id answers
the new profile, which :meth:`SquareCustomers.read_customers_by_id` reports with ``merged_from``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime

from pydantic import Field

from adapters.base import CreateCustomer, Page, PermanentError, UpdateCustomer, WriteResult
from adapters.issues import ReadIssue, WireModel, readable_or_reported
from adapters.square_client import SquareClient
from adapters.square_values import JSON, parse_time, quantity, rfc3339_ms
from bridge.models import (
    ChannelCustomer,
    ChannelOrder,
    CustomerAddress,
    Money,
    OrderItem,
    normalise_email,
    normalise_phone,
)

__all__ = ["SquareCustomers", "customer_body"]

_ADDRESS_IN = {
    "line1": "address_line_1",
    "line2": "address_line_2",
    "city": "locality",
    "region": "administrative_district_level_1",
    "postcode": "postal_code",
    "country": "country",
}
_FIELDS_OUT = {
    "email": "email_address",
    "phone": "phone_number",
    "given_name": "given_name",
    "family_name": "family_name",
    "company": "company_name",
    "note": "note",
    "birthday": "birthday",
}


class _OrderWire(WireModel):
    """The parts of a Square ``Order`` the purchase history relies on."""

    id: str = Field(min_length=1)
    created_at: str = Field(min_length=1)
    updated_at: str = Field(min_length=1)


class _CustomerWire(WireModel):
    """The parts of a Square ``Customer`` we rely on, as the spec types them."""

    id: str = Field(min_length=1)
    updated_at: str = Field(min_length=1)
    version: int = 0
    email_address: str | None = None
    phone_number: str | None = None
    given_name: str | None = None
    family_name: str | None = None


def customer_body(customer: ChannelCustomer | None, fields: dict[str, object] | None = None) -> JSON:
    """A Create/UpdateCustomer body from a customer (create) or sparse ``fields`` (update; None
    clears, as Square documents). Marketing preferences are never sent: they are read-only."""
    values: dict[str, object] = dict(fields or {})
    if customer is not None:
        values = {name: getattr(customer, name) for name in (*_FIELDS_OUT, "address")}
        values = {k: v for k, v in values.items() if v is not None}
    body: JSON = {_FIELDS_OUT[k]: v for k, v in values.items() if k in _FIELDS_OUT}
    if "address" in values:
        address = values["address"]
        if isinstance(address, dict):
            address = CustomerAddress(**address)
        body["address"] = (
            {wire: getattr(address, ours) for ours, wire in _ADDRESS_IN.items() if getattr(address, ours)}
            if isinstance(address, CustomerAddress)
            else None
        )
    return body


class SquareCustomers(SquareClient):
    """The customer side of :class:`adapters.square.SquareAdapter`."""

    customer_overlap = timedelta(minutes=2)
    """How far back each incremental read looks again (Square's search lags up to a minute)."""
    default_country = "US"
    """Region for phone numbers written without a country code (the profile's address country first)."""

    def to_customer(self, raw: JSON, merged_from: tuple[str, ...] = ()) -> ChannelCustomer:
        address = raw.get("address") or {}
        region = str(address.get("country") or self.default_country)
        return ChannelCustomer(
            channel=self.name,
            channel_id=str(raw["id"]),
            email=raw.get("email_address"),
            phone=normalise_phone(raw.get("phone_number"), region),
            given_name=raw.get("given_name"),
            family_name=raw.get("family_name"),
            company=raw.get("company_name"),
            note=raw.get("note"),
            birthday=raw.get("birthday"),
            address=CustomerAddress(
                **{ours: address.get(wire) or None for ours, wire in _ADDRESS_IN.items()}
            ),
            email_unsubscribed=(raw.get("preferences") or {}).get("email_unsubscribed"),
            merged_from=merged_from,
            version=str(raw.get("version", 0)),
            created_at=parse_time(raw.get("created_at")),
            modified_at=parse_time(raw.get("updated_at")),
        )

    def _readable(self, raw: object, issues: list[ReadIssue]) -> JSON | None:
        """``raw`` when it is a readable customer; else None, with the issue reported."""
        hint = "fix the customer profile in the Square Dashboard"
        return readable_or_reported(_CustomerWire, raw, issues, channel=self.name, kind="customer", hint=hint)

    def iter_customers(self, cursor: str | None = None) -> Iterator[Page[ChannelCustomer]]:
        """:meth:`read_customers` one search page (100 profiles) at a time, so a full read of any
        size holds one page; the pages before the last carry ``cursor`` unchanged, the last the
        next one. Only the marks of the overlap window below the newest change are kept."""
        state = json.loads(cursor) if cursor else {}
        seen: set[str] = set(state.get("seen") or [])
        since = parse_time(state.get("from"))
        query: JSON = {"sort": {"field": "CREATED_AT", "order": "ASC"}}
        if since is not None:
            query["filter"] = {"updated_at": {"start_at": rfc3339_ms(since)}}
        marks: dict[str, datetime] = {}
        newest: datetime | None = None
        read_at: datetime | None = None
        counted = self.calls
        for data in self._paged("v2/customers/search", {"limit": 100, "query": query}):
            calls, counted = self.calls - counted, self.calls
            if read_at is None and self.served_at:
                read_at = parsedate_to_datetime(self.served_at)
            out: list[ChannelCustomer] = []
            issues: list[ReadIssue] = []
            for raw in data.get("customers") or []:
                readable = self._readable(raw, issues)
                updated = parse_time(readable["updated_at"]) if readable else None
                if readable is None or updated is None:
                    continue
                mark = f"{readable['id']}@{readable['updated_at']}"
                newest = updated if newest is None or updated > newest else newest
                if mark not in seen:  # one seen before stays in ``seen``: not held twice
                    marks[mark] = updated
                    out.append(self.to_customer(readable))
            marks = self._in_window(marks, newest)
            yield Page(items=out, cursor=cursor, calls=calls, issues=issues)
        yield Page(items=[], cursor=self._next_cursor(since, newest, read_at, seen, marks))

    def _in_window(self, marks: dict[str, datetime], newest: datetime | None) -> dict[str, datetime]:
        """``marks`` less those older than the overlap window below ``newest``. The same dict
        when none is (no copy per page of a read whose every change is in the window, as a bulk
        import's are)."""
        if newest is None or not marks:
            return marks
        floor = newest - self.customer_overlap
        if min(marks.values()) >= floor:
            return marks
        return {m: t for m, t in marks.items() if t >= floor}

    def _next_cursor(
        self,
        since: datetime | None,
        newest: datetime | None,
        read_at: datetime | None,
        seen: set[str],
        marks: Mapping[str, datetime],
    ) -> str | None:
        """Where the next read starts: the overlap window below the later of the newest change
        read and Square's clock when the read began (never before this read's start), with the
        changes of that window already returned (``seen`` before this read, ``marks`` the others
        this read returned: one list of both is built, not their union and then a copy)."""
        starts = [since, *(t - self.customer_overlap for t in (newest, read_at) if t is not None)]
        known = [t for t in starts if t is not None]
        if not known:
            return None
        start = max(known)

        def recent(mark: str) -> bool:
            return (t := parse_time(mark.split("@", 1)[1])) is not None and t >= start

        kept = [m for m in seen if recent(m)]
        kept += [m for m in marks if recent(m)]  # none of them in ``seen``
        kept.sort()
        return json.dumps({"from": rfc3339_ms(start), "seen": kept})

    def read_customers_by_id(self, customer_ids: Sequence[str]) -> Page[ChannelCustomer]:
        start = self.calls
        out: list[ChannelCustomer] = []
        issues: list[ReadIssue] = []
        for customer_id in customer_ids:
            try:
                raw = self._request("GET", f"v2/customers/{customer_id}").get("customer")
            except PermanentError as exc:
                if exc.status != 404:
                    raise
                out.append(ChannelCustomer(channel=self.name, channel_id=customer_id, deleted=True))
                continue
            readable = self._readable(raw, issues)
            if readable is not None:
                merged = (customer_id,) if readable["id"] != customer_id else ()
                out.append(self.to_customer(readable, merged))
        return Page(items=out, cursor=None, calls=self.calls - start, issues=issues)

    def find_customers(self, email: str | None = None, phone: str | None = None) -> list[ChannelCustomer]:
        found: dict[str, ChannelCustomer] = {}
        filters: list[JSON] = []
        if normalise_email(email):
            filters.append({"email_address": {"exact": normalise_email(email)}})
        if phone:
            filters.append({"phone_number": {"exact": phone}})
        for flt in filters:
            for data in self._paged("v2/customers/search", {"limit": 100, "query": {"filter": flt}}):
                for raw in data.get("customers") or []:
                    readable = self._readable(raw, [])
                    if readable is not None:
                        found[str(readable["id"])] = self.to_customer(readable)
        return [
            c for c in found.values() if c.email == normalise_email(email) or (phone and c.phone == phone)
        ]

    def iter_purchases(self, cursor: str | None = None) -> Iterator[Page[ChannelOrder]]:
        """Every order changed since ``cursor`` that names a customer, a search page at a time (see
        the module docstring); the last page carries the next cursor, shaped as the customers'."""
        state = json.loads(cursor) if cursor else {}
        seen: set[str] = set(state.get("seen") or [])
        since = parse_time(state.get("from"))
        counted = self.calls
        locations = self._location_names()
        read_at = parsedate_to_datetime(self.served_at) if self.served_at else None
        query: JSON = {"sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"}}
        if since is not None:
            query["filter"] = {"date_time_filter": {"updated_at": {"start_at": rfc3339_ms(since)}}}
        marks: dict[str, datetime] = {}
        newest: datetime | None = None
        ids = sorted(locations)
        for offset in range(0, len(ids), 10):
            body: JSON = {"location_ids": ids[offset : offset + 10], "limit": 1000, "query": query}
            for data in self._paged("v2/orders/search", body):
                calls, counted = self.calls - counted, self.calls
                out: list[ChannelOrder] = []
                issues: list[ReadIssue] = []
                for raw in data.get("orders") or []:
                    order = self._purchase(raw, locations, issues)
                    if order is None or order.modified_at is None:
                        continue
                    newest = order.modified_at if newest is None or order.modified_at > newest else newest
                    mark = f"{order.order_id}@{raw['updated_at']}"
                    if order.customer_id and mark not in seen:
                        out.append(order)
                        marks[mark] = order.modified_at
                marks = self._in_window(marks, newest)
                yield Page(items=out, cursor=cursor, calls=calls, issues=issues)
        next_cursor = self._next_cursor(since, newest, read_at, seen, marks)
        yield Page(items=[], cursor=next_cursor, calls=self.calls - counted)

    def _location_names(self) -> dict[str, str]:
        """The synced locations' ids and names (one call): searches name their locations."""
        return {
            str(loc["id"]): str(loc.get("name") or loc["id"])
            for loc in self._request("GET", "v2/locations").get("locations") or []
            if self.location_ids is None or loc["id"] in self.location_ids
        }

    def _purchase(
        self, raw: object, locations: dict[str, str], issues: list[ReadIssue]
    ) -> ChannelOrder | None:
        """``raw`` as history, its customer the order's or a tender's; an unreadable one reported."""
        hint = "look at the order in the Square Dashboard (Orders)"
        data = readable_or_reported(_OrderWire, raw, issues, channel=self.name, kind="order", hint=hint)
        if data is None:
            return None
        tenders = [t.get("customer_id") for t in data.get("tenders") or [] if isinstance(t, dict)]
        customer = data.get("customer_id") or next((t for t in tenders if t), None)
        try:
            return self._order({**data, "customer_id": customer}, locations)
        except (ArithmeticError, ValueError, TypeError):  # an amount or quantity that is not a number
            issues.append(
                ReadIssue(self.name, "order", str(data["id"]), "total_money", "not a number", hint=hint)
            )
            return None

    def read_customer_orders(self, customer_id: str, email: str | None = None) -> Page[ChannelOrder]:
        """SearchOrders with ``customer_filter`` over every location (ten to a call), newest first.
        Square orders name customers by id only: ``email`` adds nothing here."""
        start = self.calls
        locations = self._location_names()
        ids = sorted(locations)
        orders: list[ChannelOrder] = []
        for offset in range(0, len(ids), 10):
            body: JSON = {
                "location_ids": ids[offset : offset + 10],
                "limit": 500,
                "query": {
                    "filter": {"customer_filter": {"customer_ids": [customer_id]}},
                    "sort": {"sort_field": "CREATED_AT", "sort_order": "DESC"},
                },
            }
            for data in self._paged("v2/orders/search", body):
                orders += [self._order(raw, locations) for raw in data.get("orders") or []]
        orders.sort(key=lambda o: (o.placed_at, o.order_id), reverse=True)
        return Page(items=orders, cursor=None, calls=self.calls - start)

    def _order(self, raw: JSON, locations: dict[str, str]) -> ChannelOrder:
        def money(value: JSON | None) -> Money | None:
            if not value or value.get("amount") is None:
                return None
            return Money.from_minor_units(int(value["amount"]), str(value.get("currency") or "USD"))

        items = tuple(
            OrderItem(
                name=" ".join(p for p in (line.get("name"), line.get("variation_name")) if p)
                or "Custom amount",
                quantity=quantity(line.get("quantity")) or Decimal(0),
                total=money(line.get("total_money")),
            )
            for line in raw.get("line_items") or []
        )
        placed = parse_time(raw.get("created_at"))
        assert placed is not None
        location = str(raw.get("location_id") or "") or None
        return ChannelOrder(
            channel=self.name,
            order_id=str(raw["id"]),
            placed_at=placed,
            customer_id=raw.get("customer_id"),
            location_id=location,
            location_name=locations.get(location or ""),
            items=items,
            total=money(raw.get("total_money")),
            status=raw.get("state"),
            modified_at=parse_time(raw.get("updated_at")),
        )

    def apply_customer_op(self, op: CreateCustomer | UpdateCustomer) -> WriteResult:
        """One customer write; a refusal is a result, a transient failure raises (keep it queued)."""
        try:
            if isinstance(op, CreateCustomer):
                body = {"idempotency_key": customer_idempotency_key(op.key), **customer_body(op.customer)}
                answer = self._request("POST", "v2/customers", body)
            else:
                body = customer_body(None, op.fields)
                if op.version is not None:
                    body["version"] = int(op.version)
                answer = self._request("PUT", f"v2/customers/{op.customer_id}", body)
        except PermanentError as exc:
            return WriteResult(key=op.key, ok=False, error=str(exc), code=exc.code)
        customer = answer.get("customer") or {}
        return WriteResult(
            key=op.key,
            ok=True,
            channel_id=str(customer.get("id")),
            version=str(customer.get("version", 0)),
            written={k: customer.get(k) for k in body if k not in ("idempotency_key", "version")},
        )


def customer_idempotency_key(key: str) -> str:
    """Square's idempotency key for a create: the op's key (derived from the person), hashed to a
    fixed length, so the same person always sends the same key."""
    return "sbc-" + hashlib.sha256(key.encode()).hexdigest()[:40]
