"""Who owns what: the one place that decides which channel's word counts, and for what.

Every "whose value wins" question of the engine is answered here, from the policy and the
channels' capabilities, never from a channel's name:

* a catalogue field's value: its owner's (:func:`owner_of`: ``field_owners``, else the system of
  record), which makes a SKU's agreed catalogue (:func:`agreed_catalogue`); a non-owner's
  different value is an edit to revert or a conflict;
* where a channel keeps each field, on the product or on each variant, and whether it keeps it
  at all (:func:`field_split`, declared in its capabilities);
* products missing on a channel are created from the system of record's (:func:`creator`), each
  field taken from that field's owner where the owner holds the SKU (:func:`creation_source`);
* the agreed catalogue of a SKU is filed under the creator's object where it has one
  (:func:`catalogue_ref`);
* a GTIN match names its group by the SKU of the preferred channel (:func:`link_preference`);
* a newly linked SKU's stock is seeded from the channel that counts where the stock is: one with
  locations first, then the system of record (:func:`seed_order`);
* which ``field_owners`` of a configuration cannot work (:func:`owner_problems`).

Pure: used by :mod:`bridge.engine`, :mod:`bridge.reconcile`, :mod:`bridge.sync` and
:mod:`bridge.config`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from bridge.capabilities import CATALOGUE_FIELDS, Capabilities, CatalogueField, FieldSplit
from bridge.registry import unknown_channel

if TYPE_CHECKING:
    from bridge.linking import LinkGroup
    from bridge.policy import SyncPolicy

__all__ = [
    "agreed_catalogue",
    "catalogue_ref",
    "creation_source",
    "creator",
    "field_split",
    "link_preference",
    "owner_of",
    "owner_problems",
    "seed_order",
]

_COMMON_SPLIT = FieldSplit()


def owner_of(policy: SyncPolicy, field: CatalogueField) -> str:
    """The channel whose value of ``field`` wins: its ``field_owners`` entry, else the system of record."""
    return policy.field_owners.get(field, policy.system_of_record)


def agreed_catalogue(
    policy: SyncPolicy,
    capabilities: Mapping[str, Capabilities],
    shown: Mapping[str, Mapping[str, Any]],
    agreed_before: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """A SKU's agreed catalogue fields, from what each channel holding it ``shown`` (channel ->
    its catalogue snapshot): each field as its owner shows it, where the owner holds the SKU and
    keeps the field; else as agreed before (``agreed_before``, None at first), or absent."""
    agreed = dict(agreed_before or {})
    for field in CATALOGUE_FIELDS:
        owner = owner_of(policy, field)
        if owner in shown and field_split(capabilities, owner).holds(field):
            agreed[field] = shown[owner][field]
    return agreed


def creator(policy: SyncPolicy) -> str:
    """The channel whose products are created where they are missing."""
    return policy.system_of_record


def creation_source(
    policy: SyncPolicy,
    capabilities: Mapping[str, Capabilities],
    field: CatalogueField,
    holders: Collection[str],
) -> str:
    """The channel a created copy takes ``field`` from, ``holders`` being the channels holding the
    SKU: the field's owner when it holds the SKU and keeps the field (Square's price, not the
    creator's, which the next sync would only overwrite), else the creator, whose object is the
    one copied."""
    owner = owner_of(policy, field)
    if owner in holders and field_split(capabilities, owner).holds(field):
        return owner
    return creator(policy)


def field_split(capabilities: Mapping[str, Capabilities], channel: str) -> FieldSplit:
    """Where ``channel`` keeps each catalogue field, as its capabilities declare (the common
    shape for a channel whose capabilities are not given)."""
    caps = capabilities.get(channel)
    return caps.fields if caps is not None else _COMMON_SPLIT


def link_preference(policy: SyncPolicy) -> list[str]:
    """Channels in the order whose SKU names a group linked by GTIN (others alphabetically after)."""
    return [policy.system_of_record]


def catalogue_ref(group: LinkGroup, policy: SyncPolicy) -> str:
    """``<channel>:<product id>`` of the object the agreed catalogue of ``group`` is filed under:
    the creator's member, else the group's first."""
    owner = creator(policy)
    channel = owner if owner in group.members else next(iter(group.members))
    member = group.members[channel]
    return f"{channel}:{member.product_id or member.variant_id}"


def seed_order(capabilities: Mapping[str, Capabilities], policy: SyncPolicy) -> tuple[str, ...]:
    """Channels in the order their counts seed a newly linked SKU: those counting per physical
    location first (the stock really is there; a web shop's single number says nothing about
    where its units sit), then the system of record."""
    located = sorted(name for name, caps in capabilities.items() if caps.has_locations)
    return tuple(dict.fromkeys([*located, policy.system_of_record]))


def owner_problems(policy: SyncPolicy, capabilities: Mapping[str, Capabilities]) -> list[tuple[str, str]]:
    """``(key, why)`` for each ``field_owners`` entry that cannot work with the channels
    configured (``capabilities``, by name): an owner not configured (a typo would silently stop
    the field syncing), or one that does not keep the field (its value would always be missing)."""
    problems: list[tuple[str, str]] = []
    for field, owner in sorted(policy.field_owners.items()):
        key = f"sync.field_owners.{field}"
        if owner not in capabilities:
            problems.append((key, unknown_channel(owner, list(capabilities))))
        elif not capabilities[owner].fields.holds(field):
            kept = ", ".join(capabilities[owner].fields.held()) or "none"
            problems.append((key, f"{owner} does not keep {field} (it keeps {kept})"))
    return problems
