"""What ``shopbridge customer show`` and ``shopbridge conflicts`` present, gathered from the store.

The CLI only renders these dicts (as text, or as JSON with ``--json``). ``customer show`` is the one
place shopbridge prints a customer's contact details: a salesperson at the till needs them.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from bridge import registry
from bridge.customers.decide import Person
from bridge.customers.fields import FIELDS
from bridge.customers.matching import NEW
from bridge.customers.merge import merged
from bridge.models import normalise_email, normalise_phone
from bridge.store import Store, utcnow
from bridge.store.conflicts import CatalogueConflict

__all__ = ["ConflictNotFound", "find_persons", "open_conflicts", "person_view", "resolve_conflict"]

CUSTOMER_PREFIX = "cust-"
CATALOGUE_PREFIX = "cat-"


class ConflictNotFound(LookupError):
    """No open conflict has that id, or what was kept is not one of its choices."""


def find_persons(store: Store, query: str, default_country: str) -> list[str]:
    """The persons ``query`` names: an email (any case and spacing), a phone (any format, the
    default country for one without ``+``), a person id or a channel's customer id."""
    query = query.strip()
    email = normalise_email(query) if "@" in query else None
    phone = None if email else normalise_phone(query, default_country)
    return store.customers.find(query, [email] if email else [], [phone] if phone else [])


def person_view(store: Store, person_id: str) -> dict[str, Any]:
    """The person: each channel's id, merged contact details with where each came from, open
    conflicts and purchase history newest first."""
    person: Person = store.customers.persons([person_id])[person_id]
    fields = merged(person.fields())
    return {
        "person": person_id,
        "channels": [
            {"channel": c, "id": cid, "guest": s.guest, "retired_ids": list(s.retired)}
            for (c, cid), s in sorted(person.sources.items())
        ],
        "contact": {
            name: {
                "value": fields[name].value,
                "from": {"channel": fields[name].source[0], "id": fields[name].source[1]},
                "changed_at": fields[name].changed_at.isoformat(),
            }
            for name in FIELDS
            if name in fields
        },
        "marketing_opt_out": person.opted_out,
        "archived": person.archived,
        "conflicts": [_customer_conflict(c) for c in store.customers.open_conflicts(person_id)],
        "purchases": store.customers.purchases(person_id),
    }


def open_conflicts(store: Store) -> list[dict[str, Any]]:
    """Every open conflict: the customers' (a record several persons could be) and the catalogue's."""
    out = [_customer_conflict(c) for c in store.customers.open_conflicts()]
    out += [
        {
            "id": f"{CATALOGUE_PREFIX}{c['id']}",
            "kind": "catalogue",
            "channel": c["channel"],
            "what": f"{c['entity']} {c['canonical_key']} field {c['field']}",
            "choices": {"ours": c["ours"], "theirs": c["theirs"]},
            "detected_at": c["detected_at"],
        }
        for c in store.catalogue_conflicts()
    ]
    return out


def kept_value(conflict: CatalogueConflict, keep: str) -> Any:
    """What ``--keep`` keeps of a catalogue conflict: the conflicting channel's value (``keep`` is
    that channel), the agreed one (another channel: the field's owner), or the value typed, read
    as the field's own type (a price stays text, a number a number)."""
    field = conflict["field"]
    theirs, ours = json.loads(conflict["theirs"]), json.loads(conflict["ours"])
    theirs = theirs.get(field) if isinstance(theirs, dict) else theirs
    ours = ours.get(field) if isinstance(ours, dict) else ours
    if keep == conflict["channel"]:
        return theirs
    if keep in registry.channel_names():
        return ours
    if field == "price" and isinstance(ours, str):
        return _price(keep, ours.rpartition(" ")[2])
    if isinstance(ours, bool) or ours is None or isinstance(ours, str):
        return keep
    try:
        return type(ours)(keep)
    except (TypeError, ValueError):
        return keep


def _price(typed: str, currency: str) -> str:
    """A typed price (``12.50``, or ``12.50 EUR``) as the catalogue holds prices (``12.5 EUR``)."""
    amount, _, given = typed.strip().partition(" ")
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise ConflictNotFound(f"{typed!r} is not a price (e.g. 12.50)") from None
    return f"{format(value.normalize(), 'f')} {given.strip().upper() or currency}"


def _customer_conflict(c: Any) -> dict[str, Any]:
    return {
        "id": f"{CUSTOMER_PREFIX}{c['id']}",
        "kind": "customer",
        "channel": c["channel"],
        "what": f"customer {c['channel_id']} matches several persons by {c['matched_by']}",
        "choices": {"persons": c["candidates"], "or": NEW},
        "detected_at": c["detected_at"],
    }


def resolve_conflict(store: Store, conflict_id: str, keep: str) -> str:
    """Settle one open conflict; returns what it was. A customer conflict keeps one of its persons
    (or ``new``, a person of its own): the next sync links the record so. A catalogue conflict keeps
    a channel's value or a value given; it is closed and the choice recorded in the audit."""
    number = conflict_id.removeprefix(CUSTOMER_PREFIX).removeprefix(CATALOGUE_PREFIX)
    if not number.isdigit():
        raise ConflictNotFound(f"no open conflict {conflict_id} (see shopbridge conflicts)")
    customer = store.customers.conflict(int(number)) if not conflict_id.startswith(CATALOGUE_PREFIX) else None
    if customer is not None:
        if keep not in (*customer["candidates"], NEW):
            choices = ", ".join([*customer["candidates"], NEW])
            raise ConflictNotFound(f"{conflict_id}: keep one of {choices}")
        store.customers.resolve_conflict(int(number), keep, utcnow())
        return "customer"
    catalogue = next((c for c in store.catalogue_conflicts() if c["id"] == int(number)), None)
    if not conflict_id.startswith(CUSTOMER_PREFIX) and catalogue is not None:
        store.settle_catalogue_conflict(int(number), kept_value(catalogue, keep), keep, utcnow())
        return "catalogue"
    raise ConflictNotFound(f"no open conflict {conflict_id} (see shopbridge conflicts)")
