"""What ``shopbridge customer show`` and ``shopbridge conflicts`` present, gathered from the store.

The CLI only renders these dicts (as text, or as JSON with ``--json``). ``customer show`` is the one
place shopbridge prints a customer's contact details: a salesperson at the till needs them.
"""

from __future__ import annotations

from typing import Any

from bridge.customers.decide import Person
from bridge.customers.fields import FIELDS
from bridge.customers.matching import NEW
from bridge.customers.merge import merged
from bridge.models import normalise_email, normalise_phone
from bridge.store import Store, utcnow

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
        for c in store.catalogue_conflicts.open()
    ]
    return out


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
    if not conflict_id.startswith(CUSTOMER_PREFIX) and store.catalogue_conflicts.resolve(
        int(number), keep, utcnow()
    ):
        return "catalogue"
    raise ConflictNotFound(f"no open conflict {conflict_id} (see shopbridge conflicts)")
