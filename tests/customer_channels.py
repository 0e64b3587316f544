"""A channel that keeps customers in memory the way Square and WooCommerce do, for the customer
stage's tests until both emulators' customer endpoints and adapters are on main (issue 13).

It behaves as the channels are documented to, not as the test wants: every change bumps the
record's own modification time (its clock, which the test moves) and version; an update carrying a
stale version is refused with ``VERSION_MISMATCH`` (Square's optimistic concurrency); a create with
a key already used returns the customer it made (Square's ``idempotency_key``); a create whose email
already has an account is answered with that account (``EXISTING``, how our WooCommerce adapter
reads ``registration-error-email-exists``); an answer can be lost after the change was made.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.base import ChannelAdapter, Page, TransientError
from bridge.capabilities import Capabilities
from bridge.models import ChannelCustomer, ChannelOrder, CustomerAddress
from bridge.writes import CreateCustomer, UpdateCustomer, WriteOp, WriteResult

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WOO_FIELDS = frozenset({"given_name", "family_name", "email", "phone", "company", "address"})


class Clock:
    """The world's time, shared by the channels of one test, moved a minute per change."""

    def __init__(self) -> None:
        self.now = T0

    def tick(self, minutes: int = 1) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now


class CustomerChannel(ChannelAdapter):
    """Customers and their orders on one channel (catalogue and stock are not this channel's job)."""

    def __init__(self, name: str, clock: Clock, fields: frozenset[str] | None = None) -> None:
        self.name = name
        self.clock = clock
        self.capabilities = Capabilities(
            stock_mode="absolute",
            has_locations=False,
            max_batch=100,
            customers=True,
            customer_fields=fields if fields is not None else Capabilities.customer_fields,
        )
        self.customers: dict[str, ChannelCustomer] = {}
        self.orders: list[ChannelOrder] = []
        self.keys: dict[str, str] = {}
        self.lose_next_answer = False
        self.calls = 0
        self.tombstones: list[tuple[str, datetime]] = []

    def put(self, channel_id: str, **fields: Any) -> ChannelCustomer:
        """A change made on the channel (its dashboard, its till, its shop front) now."""
        old = self.customers.get(channel_id)
        base = old.model_dump() if old else {"channel": self.name, "channel_id": channel_id}
        version = str(int(old.version or 0) + 1) if old else "1"
        record = ChannelCustomer.model_validate(
            {**base, **fields, "version": version, "modified_at": self.clock.tick()}
        )
        self.customers[channel_id] = record
        return record

    def delete(self, channel_id: str) -> None:
        del self.customers[channel_id]
        self.tombstones.append((channel_id, self.clock.tick()))

    def merge(self, old_ids: Sequence[str], new_id: str) -> ChannelCustomer:
        """A Square Dashboard merge: a new profile with the old ones' details, the old ids deleted."""
        olds = [self.customers[i] for i in old_ids]
        fields = {k: v for o in olds for k, v in o.model_dump().items() if v not in (None, (), False)}
        for key in ("channel_id", "version", "modified_at", "created_at"):
            fields.pop(key, None)
        for old in old_ids:
            self.delete(old)
        return self.put(new_id, **fields, merged_from=tuple(old_ids))

    def read_customers(self, cursor: str | None = None) -> Page[ChannelCustomer]:
        self.calls += 1
        since = datetime.fromisoformat(cursor) if cursor else None
        live = [c for c in self.customers.values() if since is None or (c.modified_at or T0) > since]
        gone = [
            ChannelCustomer(channel=self.name, channel_id=cid, deleted=True, modified_at=when)
            for cid, when in self.tombstones
            if since is None or when > since
        ]
        return Page(items=[*live, *gone], cursor=self.clock.now.isoformat())

    def read_customer_orders(self, customer_id: str, email: str | None = None) -> Page[ChannelOrder]:
        found = [o for o in self.orders if o.customer_id == customer_id or (email and o.email == email)]
        return Page(items=sorted(found, key=lambda o: o.placed_at, reverse=True), cursor=None)

    def apply(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        results = [self._apply(op) for op in ops]
        if self.lose_next_answer:
            self.lose_next_answer = False
            raise TransientError("connection reset after the request was sent")
        return results

    def _apply(self, op: WriteOp) -> WriteResult:
        if isinstance(op, UpdateCustomer):
            held = self.customers.get(op.customer_id)
            if held is None:
                return WriteResult(key=op.key, ok=False, code="NOT_FOUND")
            if op.version is not None and op.version != held.version:
                return WriteResult(key=op.key, ok=False, code="VERSION_MISMATCH")
            fields = dict(op.fields)
            if isinstance(fields.get("address"), dict):
                fields["address"] = CustomerAddress(**fields["address"])
            record = self.put(op.customer_id, **fields)
            return WriteResult(key=op.key, ok=True, channel_id=record.channel_id, version=record.version)
        if isinstance(op, CreateCustomer):
            if op.key in self.keys:
                return WriteResult(key=op.key, ok=True, channel_id=self.keys[op.key])
            same = [c for c in self.customers.values() if op.customer.email and c.email == op.customer.email]
            if same:
                return WriteResult(key=op.key, ok=True, code="EXISTING", channel_id=same[0].channel_id)
            new_id = f"{self.name[:2].upper()}{len(self.customers) + 1:04d}"
            fields = op.customer.model_dump(exclude={"channel", "channel_id", "version", "modified_at"})
            self.put(new_id, **fields)
            self.keys[op.key] = new_id
            return WriteResult(key=op.key, ok=True, channel_id=new_id, version="1")
        return WriteResult(key=op.key, ok=False, code="UNSUPPORTED")

    # -- not this channel's job --------------------------------------------------------------

    def check(self) -> str:
        return self.name

    def list_locations(self) -> list[Any]:
        return []

    def read_catalog(self, cursor: str | None = None) -> Page[Any]:
        return Page(items=[], cursor=cursor)

    def read_stock_levels(self, variant_ids: Sequence[str] | None = None) -> list[Any]:
        return []

    def read_stock_events(self, cursor: str | None = None) -> Page[Any]:
        return Page(items=[], cursor=cursor)

    def verify_webhook(self, headers: Any, body: bytes, url: str) -> Any:
        raise NotImplementedError
