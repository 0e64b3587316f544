"""Who owns what: the one place that decides which channel's word counts, and for what.

Every "whose value wins" question of the engine is answered here, from the policy and the
channels' capabilities, never from a channel's name:

* a catalogue field's value: its owner (:func:`owner_of`: ``field_owners``, else the system of
  record); a non-owner's different value is an edit to revert or a conflict;
* products missing on a channel are created from the system of record's (:func:`creator`);
* the agreed catalogue of a SKU is filed under the creator's object where it has one
  (:func:`catalogue_ref`);
* a GTIN match names its group by the SKU of the preferred channel (:func:`link_preference`);
* a newly linked SKU's stock is seeded from the channel that counts where the stock is: one with
  locations first, then the system of record (:func:`seed_order`).

Pure: used by :mod:`bridge.engine`, :mod:`bridge.reconcile` and :mod:`bridge.sync`.
"""

from __future__ import annotations

from collections.abc import Mapping

from bridge.capabilities import Capabilities
from bridge.linking import LinkGroup
from bridge.policy import CatalogueField, SyncPolicy

__all__ = ["catalogue_ref", "creator", "link_preference", "owner_of", "seed_order"]


def owner_of(policy: SyncPolicy, field: CatalogueField) -> str:
    """The channel whose value of ``field`` wins."""
    return policy.owner_of(field)


def creator(policy: SyncPolicy) -> str:
    """The channel whose products are created where they are missing."""
    return policy.system_of_record


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
