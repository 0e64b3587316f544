"""WooCommerce customers: the cheapest correct incremental read, the look-ups behind webhooks and
before creates, one customer's orders, and the create/update writes.

``/customers`` has no modified-after filter and never lists guests (orders without an account), so
a read is made of three parts, cheapest first (see the README's customers section):

1. the orders changed since the orders part of the cursor (``modified_after``, 100 a page, the
   fields the next two uses need): each guest order's billing details are a ``guest:<email>``
   customer; the accounts named by changed orders are fetched by ``include`` (100 to a call), as
   checkout saves the billing details on the account too; and every order naming someone (an
   account id, or a guest's normalised billing email) is handed over for the purchase history
   (``Page.orders``): the history costs no call of its own;
2. the accounts created since the last read: ``orderby=id&order=desc`` down to the highest id the
   cursor has seen (one call when fewer than 100 signed up);
3. customer webhooks are hints the caller turns into :meth:`WooCommerceCustomers.read_customers_by_id`;
4. a full ``/customers`` pass by id (``orderby=id``, 100 to a call) on the first read and then when
   the last one is older than :attr:`WooCommerceCustomers.full_pass_every` in the shop's clock:
   what catches an edit in wp-admin whose webhook was lost. Only accounts changed since the last pass
   (``date_modified_gmt``, with the overlap window) are returned.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from pydantic import Field

from adapters.base import CreateCustomer, Page, PermanentError, UpdateCustomer, WriteResult
from adapters.issues import ReadIssue, WireModel, readable_or_reported
from adapters.woocommerce_client import BY_ID, WooCommerceClient
from adapters.woocommerce_cursor import PollCursor, item_key, parse_gmt
from adapters.woocommerce_wire import DATE_FMT, modified_version
from bridge.models import (
    ChannelCustomer,
    ChannelOrder,
    CustomerAddress,
    Money,
    OrderItem,
    normalise_email,
    normalise_phone,
)

__all__ = ["GUEST_PREFIX", "WooCommerceCustomers"]

GUEST_PREFIX = "guest:"
_ORDER_FIELDS = "id,customer_id,billing,date_created_gmt,date_modified_gmt,status,currency,total,line_items"
"""What the orders part of a read asks for: the guests' billing details and the purchase history."""
_ADDRESS = {
    "line1": "address_1",
    "line2": "address_2",
    "city": "city",
    "region": "state",
    "postcode": "postcode",
    "country": "country",
}
_NAMES = {"given_name": "first_name", "family_name": "last_name"}


class _CustomerWire(WireModel):
    id: int
    email: str = Field(min_length=1)
    date_modified_gmt: str | None = None
    billing: dict[str, Any] = Field(default_factory=dict)


class _OrderWire(WireModel):
    """The parts of an order the purchase history relies on."""

    id: int
    date_created_gmt: str = Field(min_length=1)


class WooCommerceCustomers(WooCommerceClient):
    """The customer side of :class:`adapters.woocommerce.WooCommerceAdapter`."""

    full_pass_every = timedelta(hours=24)
    default_country = "US"
    """Region for phone numbers written without a country code (the billing country first)."""

    def _contact(self, billing: Mapping[str, Any]) -> dict[str, Any]:
        region = str(billing.get("country") or self.default_country)
        address = CustomerAddress(**{ours: billing.get(wire) or None for ours, wire in _ADDRESS.items()})
        return {
            "phone": normalise_phone(billing.get("phone") or None, region),
            "company": billing.get("company") or None,
            "address": address,
        }

    def to_customer(self, data: Mapping[str, Any]) -> ChannelCustomer:
        billing = data.get("billing") or {}
        return ChannelCustomer(
            channel=self.name,
            channel_id=str(data["id"]),
            email=data.get("email") or billing.get("email") or None,
            given_name=data.get("first_name") or billing.get("first_name") or None,
            family_name=data.get("last_name") or billing.get("last_name") or None,
            **self._contact(billing),
            version=modified_version(data),
            created_at=parse_gmt(data.get("date_created_gmt")),
            modified_at=parse_gmt(data.get("date_modified_gmt")),
        )

    def _guest(self, order: Mapping[str, Any]) -> ChannelCustomer | None:
        billing = order.get("billing") or {}
        email = normalise_email(billing.get("email"))
        if not email:
            return None
        return ChannelCustomer(
            channel=self.name,
            channel_id=GUEST_PREFIX + email,
            email=email,
            given_name=billing.get("first_name") or None,
            family_name=billing.get("last_name") or None,
            **self._contact(billing),
            guest=True,
            modified_at=parse_gmt(order.get("date_modified_gmt")),
        )

    def _readable(self, raw: Any, issues: list[ReadIssue]) -> dict[str, Any] | None:
        hint = "fix the customer in wp-admin (Users)"
        return readable_or_reported(_CustomerWire, raw, issues, channel=self.name, kind="customer", hint=hint)

    def iter_customers(self, cursor: str | None = None) -> Iterator[Page[ChannelCustomer]]:
        """:meth:`read_customers` a listing page (100 orders or accounts) at a time; the pages
        before the last carry ``cursor`` unchanged, the last the next one."""
        state = json.loads(cursor) if cursor else {}
        orders = PollCursor.load(state.get("orders"), prunes=True)
        accounts = PollCursor.load(state.get("accounts"), prunes=True)
        max_id, counted = int(state.get("max_id") or 0), self.calls
        account_ids: set[int] = set()

        def page(
            out: dict[str, ChannelCustomer], issues: list[ReadIssue], bought: Sequence[ChannelOrder] = ()
        ) -> Page[ChannelCustomer]:
            nonlocal max_id, counted
            calls, counted = self.calls - counted, self.calls
            max_id = max([max_id, *(int(i) for i in out if i.isdigit())])
            return Page(items=list(out.values()), cursor=cursor, calls=calls, issues=issues, orders=bought)

        for guests, bought, issues in self._guests_from_orders(orders, account_ids):
            yield page(guests, issues, bought)
        last_full = parse_gmt(state.get("full_at"))
        if last_full is None or (self._last_served or last_full) - last_full >= self.full_pass_every:
            for out, issues in self._full_pass(accounts):
                yield page(out, issues)
            full_at = self._read_started
        else:
            out, issues = {}, []
            self._accounts(sorted(account_ids), out, issues)
            self._new_accounts(max_id, out, issues)
            yield page(out, issues)
            full_at = last_full
        next_state = {
            "max_id": max_id,
            "orders": orders.dump(self.overlap),
            "accounts": accounts.dump(self.overlap),
            "full_at": full_at.strftime(DATE_FMT) if full_at else None,
        }
        yield Page(items=[], cursor=json.dumps(next_state), calls=self.calls - counted)

    def _guests_from_orders(
        self, poll: PollCursor, accounts: set[int]
    ) -> Iterator[tuple[dict[str, ChannelCustomer], list[ChannelOrder], list[ReadIssue]]]:
        """Guests from the orders changed since ``poll``, a page at a time, with those orders as
        purchase history (the ones naming someone); the accounts those orders name into
        ``accounts``."""
        params: dict[str, Any] = {"orderby": "modified", "order": "asc", "_fields": _ORDER_FIELDS}
        self._read_started = None
        if poll.newest is not None:
            params.update(
                modified_after=(poll.newest - self.overlap).strftime(DATE_FMT), dates_are_gmt="true"
            )
        pages = self._get_since("orders", params) if poll.newest else self._pages("orders", params)
        for page in pages:
            out: dict[str, ChannelCustomer] = {}
            bought: list[ChannelOrder] = []
            issues: list[ReadIssue] = []
            for order in page:
                if not isinstance(order, Mapping) or not poll.is_new(key := item_key("oc", order)):
                    continue
                poll.record(key, order.get("date_modified_gmt"))
                if int(order.get("customer_id") or 0):
                    accounts.add(int(order["customer_id"]))
                elif (guest := self._guest(order)) is not None:
                    out[guest.channel_id] = guest
                if (history := self._history_order(order, issues)) is not None:
                    bought.append(history)
            poll.prune(self.overlap)
            yield out, bought, issues
        poll.caught_up(self._read_started)

    def _full_pass(self, poll: PollCursor) -> Iterator[tuple[dict[str, ChannelCustomer], list[ReadIssue]]]:
        """Every account by id, a page at a time: those changed since the last pass, and the
        unreadable. ``_read_started`` is then the shop time the pass started (the next is due
        ``full_pass_every`` after it)."""
        self._read_started = None
        floor = (poll.newest - self.overlap) if poll.newest else None
        for page in self._pages("customers", {**BY_ID, "role": "all"}):
            out: dict[str, ChannelCustomer] = {}
            issues: list[ReadIssue] = []
            for raw in page:
                data = self._readable(raw, issues)
                if data is None:
                    continue
                when = parse_gmt(data.get("date_modified_gmt"))
                key = item_key("c", data)
                if floor is not None and (when is None or when < floor or not poll.is_new(key)):
                    continue
                out[str(data["id"])] = self.to_customer(data)
                poll.record(key, data.get("date_modified_gmt"))
            poll.prune(self.overlap)
            yield out, issues

    def _new_accounts(self, max_id: int, out: dict[str, ChannelCustomer], issues: list[ReadIssue]) -> None:
        """Accounts with an id above ``max_id`` (signed up since), newest first, into ``out``."""
        for page in self._pages("customers", {"orderby": "id", "order": "desc", "role": "all"}):
            for raw in page:
                if isinstance(raw, Mapping) and isinstance(raw.get("id"), int) and raw["id"] <= max_id:
                    return
                data = self._readable(raw, issues)
                if data is not None:
                    out.setdefault(str(data["id"]), self.to_customer(data))

    def _accounts(
        self, ids: Sequence[int], out: dict[str, ChannelCustomer], issues: list[ReadIssue]
    ) -> set[str]:
        """These accounts (``include``, 100 to a call) into ``out``; returns the ids found."""
        found: set[str] = set()
        for offset in range(0, len(ids), 100):
            include = ",".join(str(i) for i in ids[offset : offset + 100])
            for raw in self._get_all("customers", {**BY_ID, "role": "all", "include": include}):
                data = self._readable(raw, issues)
                if data is not None:
                    out[str(data["id"])] = self.to_customer(data)
                    found.add(str(data["id"]))
        return found

    def read_customers_by_id(self, customer_ids: Sequence[str]) -> Page[ChannelCustomer]:
        start = self.calls
        out: dict[str, ChannelCustomer] = {}
        issues: list[ReadIssue] = []
        accounts = sorted({int(i) for i in customer_ids if i.isdigit()})
        found = self._accounts(accounts, out, issues)
        gone = [
            i
            for i in customer_ids
            if i.isdigit() and i not in found and i not in {x.object_id for x in issues}
        ]
        for customer_id in customer_ids:
            if customer_id.startswith(GUEST_PREFIX):
                orders = self._guest_orders(customer_id.removeprefix(GUEST_PREFIX))
                guest = self._guest(orders[0]) if orders else None
                if guest is not None:
                    out[customer_id] = guest
                else:
                    gone.append(customer_id)
        items = [
            *out.values(),
            *(ChannelCustomer(channel=self.name, channel_id=i, deleted=True) for i in gone),
        ]
        return Page(items=items, cursor=None, calls=self.calls - start, issues=issues)

    def _guest_orders(self, email: str) -> list[dict[str, Any]]:
        """Guest orders with exactly this billing email, newest first (``search`` matches
        substrings of every billing field: the match is made exact here)."""
        found = self._get_all("orders", {"customer": 0, "search": email, "orderby": "date", "order": "desc"})
        return [
            o
            for o in found
            if normalise_email((o.get("billing") or {}).get("email")) == normalise_email(email)
        ]

    def find_customers(self, email: str | None = None, phone: str | None = None) -> list[ChannelCustomer]:
        """Accounts with exactly this email (``?email=`` is exact). WooCommerce cannot search
        accounts by phone (WP user search covers login, email, URL and names): a phone finds none."""
        wanted = normalise_email(email)
        if not wanted:
            return []
        found = self._get_all("customers", {"email": wanted, "role": "all"})
        return [
            self.to_customer(d)
            for d in found
            if self._readable(d, []) and normalise_email(d["email"]) == wanted
        ]

    def read_customer_orders(self, customer_id: str, email: str | None = None) -> Page[ChannelOrder]:
        start = self.calls
        raw: dict[int, dict[str, Any]] = {}
        if customer_id.startswith(GUEST_PREFIX):
            email = email or customer_id.removeprefix(GUEST_PREFIX)
        elif customer_id.isdigit():
            raw.update((o["id"], o) for o in self._get_all("orders", {"customer": int(customer_id)}))
        if email:
            raw.update((o["id"], o) for o in self._guest_orders(email))
        orders = sorted(
            (self._order(o) for o in raw.values()), key=lambda o: (o.placed_at, o.order_id), reverse=True
        )
        return Page(items=orders, cursor=None, calls=self.calls - start)

    def _history_order(self, raw: Mapping[str, Any], issues: list[ReadIssue]) -> ChannelOrder | None:
        """``raw`` as purchase history when it names someone; an unreadable one is reported."""
        hint = "look at the order in wp-admin (WooCommerce > Orders)"
        data = readable_or_reported(_OrderWire, raw, issues, channel=self.name, kind="order", hint=hint)
        if data is None:
            return None
        try:
            order = self._order(data)
        except (ArithmeticError, ValueError):  # a total or quantity that is not a number
            issues.append(ReadIssue(self.name, "order", str(data["id"]), "total", "not a number", hint=hint))
            return None
        return order if order.customer_id else None

    def _order(self, raw: Mapping[str, Any]) -> ChannelOrder:
        currency = str(raw.get("currency") or "USD")
        customer = int(raw.get("customer_id") or 0)
        email = normalise_email((raw.get("billing") or {}).get("email"))
        placed = parse_gmt(raw.get("date_created_gmt"))
        assert placed is not None
        return ChannelOrder(
            channel=self.name,
            order_id=str(raw["id"]),
            placed_at=placed,
            customer_id=str(customer) if customer else (GUEST_PREFIX + email if email else None),
            email=email,
            items=tuple(
                OrderItem(
                    name=str(line.get("name") or ""),
                    quantity=Decimal(str(line.get("quantity") or 0)),
                    sku=line.get("sku") or None,
                    total=Money(amount=Decimal(str(line.get("total") or "0")), currency=currency),
                )
                for line in raw.get("line_items") or []
            ),
            total=Money(amount=Decimal(str(raw.get("total") or "0")), currency=currency),
            status=raw.get("status"),
            modified_at=parse_gmt(raw.get("date_modified_gmt")),
        )

    def apply_customer_ops(
        self, ops: Iterable[tuple[int, CreateCustomer | UpdateCustomer]]
    ) -> dict[int, WriteResult]:
        """Each customer write, one call each; a refusal is a result, a transient failure raises."""
        return {index: self._apply_customer(op) for index, op in ops}

    def _apply_customer(self, op: CreateCustomer | UpdateCustomer) -> WriteResult:
        if isinstance(op, CreateCustomer):
            if not op.customer.email:
                return WriteResult(
                    key=op.key, ok=False, code="missing_email", error="WooCommerce accounts need an email"
                )
            try:
                answer = self._request(
                    "POST", "customers", data=customer_body(op.customer.model_dump())
                ).json()
            except PermanentError as exc:
                if exc.code != "registration-error-email-exists":
                    return WriteResult(key=op.key, ok=False, code=exc.code, error=str(exc))
                # Already there (or our own create whose answer was lost): link it.
                existing = self.find_customers(op.customer.email)
                if not existing:
                    return WriteResult(key=op.key, ok=False, code=exc.code, error=str(exc))
                return WriteResult(
                    key=op.key,
                    ok=True,
                    code="EXISTING",
                    channel_id=existing[0].channel_id,
                    version=existing[0].version,
                )
        else:
            try:
                answer = self._request(
                    "PUT", f"customers/{op.customer_id}", data=customer_body(op.fields)
                ).json()
            except PermanentError as exc:
                return WriteResult(key=op.key, ok=False, code=exc.code, error=str(exc))
        return WriteResult(
            key=op.key, ok=True, channel_id=str(answer.get("id")), version=modified_version(answer)
        )


def customer_body(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A ``/customers`` body from ChannelCustomer fields (None clears to ""); contact details go
    to the billing block as well, which is what the shop front and orders show."""
    body: dict[str, Any] = {}
    billing: dict[str, Any] = {}
    if "email" in fields and fields["email"] is not None:
        body["email"] = billing["email"] = fields["email"]
    for ours, wire in _NAMES.items():
        if ours in fields:
            body[wire] = billing[wire] = fields[ours] or ""
    if "phone" in fields:
        billing["phone"] = fields["phone"] or ""
    if "company" in fields:
        billing["company"] = fields["company"] or ""
    if "address" in fields:
        address = fields["address"]
        values = address.model_dump() if isinstance(address, CustomerAddress) else dict(address or {})
        billing.update({wire: values.get(ours) or "" for ours, wire in _ADDRESS.items()})
    if billing:
        body["billing"] = billing
    return body
