"""The writes that bring every channel's record of a person to the person's merged fields.

An update is planned per record (not for a guest, who exists only on orders, nor for a retired id)
carrying only the merged fields its channel can hold that differ from what we last read there; a
field the person has nobody filled is never sent (an empty value never wipes a filled one), and
marketing consent is never sent at all. A channel with no record of the person gets one only when
``[customers] create_missing`` is on. An archived person gets no write at all.

Every key is derived from the person, so planning twice queues each write once: an update's key
names the record, its version and the values sent; a create's key is ``customer:<person>:<channel>``
(what Square gets as its ``idempotency_key``), so a create whose answer was lost is never sent as a
second customer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from bridge.customers.decide import Person
from bridge.models import ChannelCustomer, CustomerAddress
from bridge.writes import CreateCustomer, UpdateCustomer

__all__ = ["create_key", "plan_writes"]


def create_key(person_id: str, channel: str) -> str:
    """The idempotency key of creating ``person_id`` on ``channel``: the same for every attempt."""
    return f"customer:{person_id}:{channel}"


def plan_writes(
    person: Person,
    writable: Mapping[str, frozenset[str]],
    *,
    create_missing: bool,
) -> list[tuple[str, CreateCustomer | UpdateCustomer]]:
    """``(channel, op)`` for each write the person needs; ``writable`` maps each channel that keeps
    customers to the fields it holds."""
    if person.archived:
        return []  # a deletion archived it: what is left on the other channels is left alone
    wanted = person.merged()
    ops: list[tuple[str, CreateCustomer | UpdateCustomer]] = []
    for (channel, channel_id), state in sorted(person.sources.items()):
        if state.guest or channel not in writable:
            continue
        fields = {
            name: value
            for name, value in wanted.items()
            if name in writable[channel] and _differs(state.fields.get(name), value)
        }
        if fields:
            key = _update_key(person.person_id, channel, channel_id, state.version, fields)
            update = UpdateCustomer(key=key, customer_id=channel_id, fields=fields, version=state.version)
            ops.append((channel, update))
    if create_missing:
        ops.extend(_creates(person, writable, wanted))
    return ops


def _differs(seen: Any, value: Any) -> bool:
    return seen is None or seen.value != value


def _creates(
    person: Person, writable: Mapping[str, frozenset[str]], wanted: Mapping[str, Any]
) -> list[tuple[str, CreateCustomer | UpdateCustomer]]:
    present = {channel for (channel, _), state in person.sources.items() if not state.guest}
    if not wanted.get("email") and not wanted.get("phone"):
        return []  # nothing to find the person by again: creating would make an orphan
    out: list[tuple[str, CreateCustomer | UpdateCustomer]] = []
    for channel in sorted(set(writable) - present):
        record = as_record(channel, {k: v for k, v in wanted.items() if k in writable[channel]})
        out.append((channel, CreateCustomer(key=create_key(person.person_id, channel), customer=record)))
    return out


def as_record(channel: str, fields: Mapping[str, Any]) -> ChannelCustomer:
    """The person's fields as a record to create on ``channel`` (no id yet, no consent)."""
    values = dict(fields)
    address = values.pop("address", None)
    return ChannelCustomer(
        channel=channel,
        channel_id="",
        address=CustomerAddress(**address) if address else None,
        **values,
    )


def _update_key(
    person_id: str, channel: str, channel_id: str, version: str | None, fields: Mapping[str, Any]
) -> str:
    sent = json.dumps([version, fields], sort_keys=True, default=str)
    digest = hashlib.sha256(sent.encode()).hexdigest()[:16]
    return f"customer:{person_id}:{channel}:{channel_id}:{digest}"
