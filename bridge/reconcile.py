"""Reconciliation: from what every channel holds, and what the ledger says, to a plan of changes.

Two questions per linked SKU, answered without I/O:

* **Catalogue.**  Each field (name, description, price, gtin, status) has an owner channel.  The
  owner's value is the target (:func:`bridge.ownership.agreed_catalogue`), written on the product
  or on the variant as each channel declares it keeps the field, and never to a channel that does
  not keep it (:class:`bridge.capabilities.FieldSplit`).  A channel showing something else either
  lags behind an owner edit (propagate), or was edited itself (a non-owner edit: revert it or
  record a conflict, per policy).  Which one is decided against the agreed catalogue the store
  remembers; a channel whose content hash equals what we last wrote there is showing our own
  echo, never an edit.  Products missing on a channel are created when the policy says so, each
  field from its owner where the owner holds the SKU; an owner archival archives elsewhere;
  nothing is ever deleted.
* **Stock.**  Each channel should show its projection of the ledger (:func:`bridge.ledger.project`).
  If it shows something else, write the projection: absolute (``SetStock``) where the channel only
  takes absolutes, a relative ``AdjustStock`` per location where it takes deltas.

A safety check marks plans that would rewrite too much of the catalogue on a first sync, or zero
too much stock on any sync; the caller refuses those unless forced.  Applying a plan and
reconciling again yields an empty plan: every change writes exactly the target.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from bridge.capabilities import Capabilities
from bridge.ledger import LedgerEntry, LocationMap, Observation, OnHand, Written, project, projections
from bridge.linking import LinkGroup, LinkIssue
from bridge.models import ChannelProduct, ChannelVariant, Money, ProductStatus, content_hash
from bridge.ownership import agreed_catalogue, creation_source, creator, field_split, owner_of
from bridge.plan import Action, Change, Plan, Safety, SafetyFigures, change_key
from bridge.policy import CATALOGUE_FIELDS, CatalogueField, SyncPolicy
from bridge.pools import PoolVerdict, pool_target
from bridge.projection import Projection
from bridge.writes import (
    AdjustStock,
    ArchiveProduct,
    CreateProduct,
    SetStock,
    UpdateProduct,
    UpdateVariant,
)

__all__ = [
    "PRODUCT_FIELDS",
    "VARIANT_FIELDS",
    "ReconcileInput",
    "catalogue_fields",
    "catalogue_fields_hash",
    "reconcile",
]

PRODUCT_FIELDS: tuple[CatalogueField, ...] = ("name", "description", "status")
"""The catalogue fields the canonical model keeps on :class:`~bridge.models.ChannelProduct` (the
others on each :class:`~bridge.models.ChannelVariant`). Where a channel keeps them, and so which
write carries them, is its own declaration (:class:`bridge.capabilities.FieldSplit`)."""
VARIANT_FIELDS: tuple[CatalogueField, ...] = ("price", "gtin")

CatalogueFields = dict[str, Any]
"""One variant's catalogue fields by name, as JSON-able values (what :func:`catalogue_fields` gives)."""


@dataclass(frozen=True)
class ReconcileInput:
    """Everything reconciliation looks at; all plain data the orchestration layer gathers.

    * ``products``: channel → its products (the channels being synced; each was read).
    * ``groups``: link groups from :func:`bridge.linking.link`; ``issues`` its issues (as warnings).
    * ``capabilities``: channel → its adapter's :class:`~adapters.base.Capabilities`.
    * ``agreed``: SKU → the agreed :func:`catalogue_fields` the store remembers (empty at first).
    * ``settled``: ``(sku, field)`` → the value a human kept settling a conflict
      (``shopbridge conflicts resolve``): written wherever the SKU shows another, its owner too.
    * ``last_written``: ``(channel, sku)`` → :func:`catalogue_fields_hash` of what we last wrote there.
    * ``on_hand``: the ledger's on-hand per ``(sku, location)``; ``seeded``: SKUs that have ledger
      events (default: the SKUs in ``on_hand``); unseeded SKUs get no stock writes.
    * ``observed``: per-location counts (:func:`bridge.ledger.observations`); a single-pool channel
      without an observation falls back to its variant's ``stock``.
    * ``positions``: SKU → ledger position token (:func:`bridge.ledger.ledger_positions`) for keys.
    * ``recent``: ledger entries used to explain stock changes; ``written_stock`` what we last wrote
      per ``(channel, sku, location)``, to explain only what happened since.
    * ``first_sync``: apply the first-sync change limit.
    """

    products: Mapping[str, Sequence[ChannelProduct]]
    groups: Sequence[LinkGroup]
    policy: SyncPolicy
    capabilities: Mapping[str, Capabilities]
    locations: LocationMap
    agreed: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    settled: Mapping[tuple[str, str], Any] = field(default_factory=dict)
    last_written: Mapping[tuple[str, str], str] = field(default_factory=dict)
    on_hand: OnHand = field(default_factory=dict)
    seeded: Collection[str] | None = None
    observed: Sequence[Observation] = ()
    positions: Mapping[str, str] = field(default_factory=dict)
    recent: Sequence[LedgerEntry] = ()
    written_stock: Mapping[tuple[str, str, str | None], Written] = field(default_factory=dict)
    first_sync: bool = False
    issues: Sequence[LinkIssue] = ()
    in_flight: Collection[tuple[str, str, str]] = ()
    """``(channel, sku, location or "")`` whose last stock write is not confirmed yet: neither
    counted nor written until it settles (its echo would be judged against the wrong count)."""
    creating: Collection[tuple[str, str]] = ()
    """``(channel, sku)`` of creates still queued or in doubt: not planned again meanwhile (the
    product may have changed since, giving the create another key; both would be sent)."""
    pools: Sequence[PoolVerdict] = ()
    """Stock pools (:mod:`bridge.pools`) judged this sync: written as one sum, or reported."""


def _money_text(price: Money | None) -> str | None:
    if price is None:
        return None
    return f"{format(price.amount.normalize(), 'f')} {price.currency}"


def _money(text: str | None) -> Money | None:
    if text is None:
        return None
    amount, currency = text.split(" ")
    return Money(amount=Decimal(amount), currency=currency)


def catalogue_fields(product: ChannelProduct, variant: ChannelVariant) -> CatalogueFields:
    """The catalogue fields of one variant as JSON-able values (price as ``"12.5 USD"``)."""
    return {
        "name": product.name,
        "description": product.description,
        "price": _money_text(variant.price),
        "gtin": variant.gtin,
        "status": product.status.value,
    }


def catalogue_fields_hash(fields: Mapping[str, Any]) -> str:
    """Content hash of :func:`catalogue_fields`: stored as last-written, compared for echo suppression."""
    return content_hash(dict(fields))


def _op_value(name: str, value: Any) -> Any:
    if name == "price":
        return _money(value)
    if name == "status":
        return ProductStatus(value)
    return value


# -- lookups ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Held:
    product: ChannelProduct
    variant: ChannelVariant


def _index(products: Mapping[str, Sequence[ChannelProduct]]) -> dict[tuple[str, str], _Held]:
    return {(ch, v.channel_id): _Held(p, v) for ch, ps in products.items() for p in ps for v in p.variants}


@dataclass
class _Builder:
    """Accumulates changes, warnings and post-plan state while reconciling."""

    inp: ReconcileInput
    held: dict[tuple[str, str], _Held]
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    written: dict[tuple[str, str], str] = field(default_factory=dict)
    agreed: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    product_updates: dict[tuple[str, str], dict[str, tuple[Any, Any, str, str]]] = field(default_factory=dict)
    product_sku: dict[tuple[str, str], str] = field(default_factory=dict)
    stock_targets: int = 0
    stocked_before: int = 0
    zeroed: list[str] = field(default_factory=list)
    # Lookups built once per plan (a per-group rebuild is quadratic at 50,000 SKUs).
    seeded: Collection[str] = field(default_factory=set)
    observed: dict[tuple[str, str, str | None], int | None] = field(default_factory=dict)
    recent_by_sku: dict[str, list[LedgerEntry]] = field(default_factory=dict)
    versions: dict[tuple[str, str], str | None] = field(default_factory=dict)


def reconcile(inp: ReconcileInput) -> Plan:
    """Build the plan that brings every channel to the owners' catalogue and the ledger's stock."""
    b = _Builder(inp, _index(inp.products))
    b.seeded = _seeded(inp)
    b.observed = _observed(inp)
    for entry in inp.recent:
        b.recent_by_sku.setdefault(entry.sku, []).append(entry)
    b.versions = {(ch, p.channel_id): p.version for ch, ps in inp.products.items() for p in ps}
    b.warnings.extend(i.message for i in inp.issues)
    for group in inp.groups:
        _catalogue(b, group)
        _stock(b, group)
    _pool_stock(b)
    _flush_product_updates(b)
    _creations(b)
    safety = _safety(b)
    return Plan.build(b.changes, b.warnings, safety, written_hashes=b.written, agreed=b.agreed)


# -- catalogue -------------------------------------------------------------------------------


def _catalogue(b: _Builder, group: LinkGroup) -> None:
    policy = b.inp.policy
    fields_on: dict[str, CatalogueFields] = {}
    for ch, m in group.members.items():
        held = b.held.get((ch, m.variant_id))
        if held is not None:
            fields_on[ch] = catalogue_fields(held.product, held.variant)
    if not fields_on:
        return
    base = b.inp.agreed.get(group.sku)
    target: CatalogueFields = agreed_catalogue(policy, b.inp.capabilities, fields_on, base)
    settled = {f for (sku, f) in b.inp.settled if sku == group.sku and f in CATALOGUE_FIELDS}
    target.update({f: b.inp.settled[(group.sku, f)] for f in settled})
    b.agreed[group.sku] = dict(target)
    for ch, shown in sorted(fields_on.items()):
        after = dict(shown)
        echo = _Echo(shown, b.inp.last_written.get((ch, group.sku)))
        split = field_split(b.inp.capabilities, ch)
        variant_fields: dict[str, tuple[Any, Any, str, str]] = {}
        conflicted = False
        for f in CATALOGUE_FIELDS:
            owner = owner_of(policy, f)
            if (
                (ch == owner and f not in settled)
                or not split.holds(f)
                or f not in target
                or shown[f] == target[f]
            ):
                continue
            edited_here = base is not None and shown[f] != base.get(f) and not echo.shown()
            owner_moved = base is None or target[f] != base.get(f)
            if f in settled:
                how, reason = "propagate", f"conflict on {f} settled by hand: the value kept is written"
            elif edited_here and not owner_moved:
                if policy.on_non_owner_change == "conflict":
                    _conflict(b, ch, group, f, shown[f], target[f], owner)
                    conflicted = True
                    continue
                how, reason = "revert", f"{ch} edit of {f} reverted: {owner} owns it"
            elif base is None:
                how, reason = "propagate", f"first link: {owner} owns {f}"
            elif edited_here:
                how, reason = "propagate", f"{f} changed on both {owner} and {ch}: {owner} owns it"
            elif f == "status" and target[f] == ProductStatus.ARCHIVED.value:
                # The owner's copy is archived or deleted (trashed, a tombstone): hide this one too.
                how, reason = "propagate", f"{owner} archived or deleted it: archived here, never deleted"
            else:
                how, reason = "propagate", f"{owner} changed {f}"
            after[f] = target[f]
            entry = (shown[f], target[f], reason, how)
            if split.on_product(f):
                key = (ch, group.members[ch].product_id or group.members[ch].variant_id)
                b.product_updates.setdefault(key, {}).setdefault(f, entry)
                b.product_sku.setdefault(key, group.sku)
            else:
                variant_fields[f] = entry
        if variant_fields:
            _variant_update(b, ch, group, variant_fields)
        if not conflicted:
            # A conflicting value left in place is not ours: remembered as written, the next read
            # would take it for our own echo and push the owner's value over it unasked.
            b.written[(ch, group.sku)] = echo.hash_of(after)


class _Echo:
    """Whether a channel shows our own last write of a SKU's catalogue fields (its hash equals the
    one remembered), and the hash of what it holds after the plan. The hash of what it shows is
    computed once, and only if asked: the owner's side never asks, nor a field equal to the
    agreed one (most SKUs of a sync), and what is left unchanged has that same hash."""

    def __init__(self, shown: CatalogueFields, last_written: str | None) -> None:
        self._shown = shown
        self._last_written = last_written
        self._hash: str | None = None

    def _shown_hash(self) -> str:
        if self._hash is None:
            self._hash = catalogue_fields_hash(self._shown)
        return self._hash

    def shown(self) -> bool:
        """Whether what the channel shows is what we last wrote there."""
        return self._last_written is not None and self._last_written == self._shown_hash()

    def hash_of(self, after: CatalogueFields) -> str:
        """:func:`catalogue_fields_hash` of ``after`` (what the channel holds once the plan is applied)."""
        return self._shown_hash() if after == self._shown else catalogue_fields_hash(after)


def _conflict(b: _Builder, ch: str, group: LinkGroup, f: str, theirs: Any, ours: Any, owner: str) -> None:
    m = group.members[ch]
    b.changes.append(
        Change(
            channel=ch,
            action="conflict",
            sku=group.sku,
            reason=f"{ch} changed {f}, which {owner} owns: left as is for a human to decide",
            key=change_key(ch, "conflict", m.variant_id, [f, theirs, ours]),
            target_id=m.variant_id,
            fields=(f,),
            before={f: theirs},
            after={f: ours},
        )
    )


def _variant_update(
    b: _Builder, ch: str, group: LinkGroup, fields: dict[str, tuple[Any, Any, str, str]]
) -> None:
    m = group.members[ch]
    held = b.held[(ch, m.variant_id)]
    names = tuple(sorted(fields))
    before = {f: fields[f][0] for f in names}
    after = {f: fields[f][1] for f in names}
    key = change_key(ch, "update", m.variant_id, [before, after, held.variant.version])
    op = UpdateVariant(
        key=key,
        product_id=m.product_id or held.product.channel_id,
        variant_id=m.variant_id,
        fields={f: _op_value(f, after[f]) for f in names},
        version=held.variant.version,
    )
    reason = "; ".join(dict.fromkeys(fields[f][2] for f in names))
    b.changes.append(
        Change(ch, "update", group.sku, reason, key, m.variant_id, None, names, before, after, op)
    )


def _flush_product_updates(b: _Builder) -> None:
    for (ch, product_id), fields in sorted(b.product_updates.items()):
        sku = b.product_sku[(ch, product_id)]
        version = b.versions.get((ch, product_id))
        status = fields.get("status")
        if status is not None and status[1] == ProductStatus.ARCHIVED.value:
            key = change_key(ch, "archive", product_id, [status[0], version])
            archive = ArchiveProduct(key=key, product_id=product_id)
            before, after = {"status": status[0]}, {"status": status[1]}
            b.changes.append(
                Change(
                    ch, "archive", sku, status[2], key, product_id, None, ("status",), before, after, archive
                )
            )
            fields = {f: v for f, v in fields.items() if f != "status"}
        if not fields:
            continue
        names = tuple(sorted(fields))
        before = {f: fields[f][0] for f in names}
        after = {f: fields[f][1] for f in names}
        key = change_key(ch, "update", product_id, [before, after, version])
        op = UpdateProduct(
            key=key,
            product_id=product_id,
            fields={f: _op_value(f, after[f]) for f in names},
            version=version,
        )
        reason = "; ".join(dict.fromkeys(fields[f][2] for f in names))
        b.changes.append(Change(ch, "update", sku, reason, key, product_id, None, names, before, after, op))


def _creations(b: _Builder) -> None:
    """Owner products with variants missing on another channel: create them there (never partially)."""
    policy = b.inp.policy
    owner = creator(policy)
    if owner not in b.inp.products:
        return
    linked: dict[str, set[str]] = defaultdict(set)  # channel -> skus present
    for g in b.inp.groups:
        for ch in g.members:
            linked[ch].add(g.sku)
    caps = b.inp.capabilities
    # A channel that takes no new products (a marketplace: listings need its own policies) gets none.
    targets = sorted(
        ch for ch in b.inp.products if ch != owner and (ch not in caps or caps[ch].creates_products)
    )
    # A SKU used twice anywhere is ambiguous everywhere: creating it would add one more copy.
    ambiguous = {ref[2] for i in b.inp.issues if i.kind == "duplicate_sku" for ref in i.variants if ref[2]}
    holders = _holders(b)
    for product in sorted(b.inp.products[owner], key=lambda p: p.channel_id):
        skus = [v.sku for v in product.variants if v.sku and v.sku in linked[owner]]
        if not skus:
            continue
        if not ambiguous.intersection(skus) and all(s in linked[ch] for ch in targets for s in skus):
            continue  # on every channel already (most products of most syncs): nothing to compose
        made = _composed(b, product, holders)
        if made.status is ProductStatus.ARCHIVED:
            continue
        if ambiguous.intersection(skus):
            b.warnings.append(
                f"{owner} product {product.name!r} is not created elsewhere: "
                f"{', '.join(sorted(ambiguous.intersection(skus)))} is used more than once"
            )
            continue
        for ch in targets:
            missing = [s for s in skus if s not in linked[ch]]
            if not missing:
                continue
            if any((ch, s) in b.inp.creating for s in missing):
                b.warnings.append(
                    f"{owner} product {product.name!r}: its creation on {ch} is not settled yet"
                )
                continue
            if any(v.stock_managed_by_parent for v in product.variants):
                # Its variations share one count: what each holds is unknown, so a copy elsewhere
                # would start every SKU at zero there, and the pool (their sum) would be zeroed too.
                b.warnings.append(
                    f"{owner} product {product.channel_id} ({product.name!r}) keeps one stock pool for "
                    f"its variations: not created on {ch} (their stock cannot be split by SKU); create "
                    f"it there with counts, or give the variations their own stock"
                )
                continue
            if not policy.create_missing:
                b.warnings.append(
                    f"{len(missing)} SKU(s) of {owner} product {product.name!r} missing on {ch}"
                )
                continue
            if len(missing) < len(skus):
                b.warnings.append(
                    f"{owner} product {product.name!r} is partly on {ch}: "
                    f"add {', '.join(missing)} there by hand"
                )
                continue
            _create(b, ch, made)


def _holders(b: _Builder) -> dict[str, dict[str, _Held]]:
    """SKU -> channel -> what that channel holds of it (linked and read this sync)."""
    out: dict[str, dict[str, _Held]] = {}
    for g in b.inp.groups:
        for ch, m in g.members.items():
            held = b.held.get((ch, m.variant_id))
            if held is not None:
                out.setdefault(g.sku, {})[ch] = held
    return out


def _composed(
    b: _Builder, product: ChannelProduct, holders: Mapping[str, Mapping[str, _Held]]
) -> ChannelProduct:
    """The creator's ``product`` as it is created elsewhere: each catalogue field from that
    field's owner where the owner holds the SKU (:func:`bridge.ownership.creation_source`), so the
    copy starts as the agreed catalogue instead of being corrected by the next sync. A product
    field comes from the owner's product holding the first of its SKUs that the owner holds."""
    policy, caps = b.inp.policy, b.inp.capabilities
    held_by = [holders.get(v.sku, {}) if v.sku else {} for v in product.variants]
    own: dict[str, Any] = {}
    for f in PRODUCT_FIELDS:
        for found in held_by:
            source = creation_source(policy, caps, f, found)
            if source != product.channel and source in found:
                own[f] = getattr(found[source].product, f)
                break
    variants = []
    for variant, found in zip(product.variants, held_by, strict=True):
        theirs: dict[str, Any] = {}
        for f in VARIANT_FIELDS:
            source = creation_source(policy, caps, f, found)
            if source != product.channel and source in found:
                theirs[f] = getattr(found[source].variant, f)
        variants.append(variant.model_copy(update=theirs) if theirs else variant)
    if not own and all(new is old for new, old in zip(variants, product.variants, strict=True)):
        return product  # every field is the creator's (the common case): no copy per product
    return product.model_copy(update={**own, "variants": tuple(variants)})


def _create(b: _Builder, ch: str, product: ChannelProduct) -> None:
    caps = b.inp.capabilities.get(ch)
    variants = []
    for v in product.variants:
        if not v.sku:
            continue
        stock: int | None = None
        if caps is not None and not caps.has_locations and v.sku in b.seeded:
            stock = project(v.sku, ch, b.inp.on_hand, b.inp.policy, b.inp.locations, has_locations=False)[
                None
            ]
        variants.append(v.model_copy(update={"stock": stock, "manage_stock": True, "version": None}))
    body = product.model_copy(update={"channel": ch, "variants": tuple(variants), "version": None})
    skus = sorted(v.sku or "" for v in variants)
    key = change_key(
        ch,
        "create",
        product.channel_id,
        [skus, catalogue_fields_hash(catalogue_fields(product, variants[0]))],
    )
    b.changes.append(
        Change(
            channel=ch,
            action="create",
            sku=skus[0] if len(skus) == 1 else None,
            reason=f"{product.name!r} exists on {product.channel} only",
            key=key,
            target_id=None,
            fields=("product",),
            before=None,
            after={"name": product.name, "skus": skus},
            op=CreateProduct(key=key, product=body),
        )
    )
    if caps is not None and caps.has_locations:
        _stock_after_create(b, ch, key, [v.sku for v in variants if v.sku])


def _stock_after_create(b: _Builder, ch: str, create_key: str, skus: Sequence[str]) -> None:
    """The stock a product created on a channel with locations gets once it exists: its variations
    are created empty and their counts written per location by the same sync's next round (they
    need the ids the create returns). Listed here so that the plan shows every write it sends."""
    for sku in skus:
        if sku not in b.seeded:
            continue
        targets = projections(sku, ch, b.inp.on_hand, b.inp.policy, b.inp.locations, has_locations=True)
        for loc, projection in sorted(targets.items(), key=lambda kv: kv[0] or ""):
            target = projection.total
            if target == 0:
                continue  # a new variation is counted 0 everywhere: nothing to write
            b.changes.append(
                Change(
                    channel=ch,
                    action="adjust_stock",
                    sku=sku,
                    reason=f"{projection.reason(ch, 0)}: written once {ch} has created the product",
                    key=change_key(ch, "adjust_stock", f"new:{sku}@{loc}", [create_key, target]),
                    location=loc,
                    fields=("stock",),
                    before=0,
                    after=target,
                    follows=create_key,
                    projection=projection,
                )
            )


# -- stock -----------------------------------------------------------------------------------


def _seeded(inp: ReconcileInput) -> Collection[str]:
    if inp.seeded is not None:
        return inp.seeded
    return {sku for sku, _ in inp.on_hand}


def _observed(inp: ReconcileInput) -> dict[tuple[str, str, str | None], int | None]:
    return {(o.channel, o.sku, o.location): o.quantity for o in inp.observed}


def _stock(b: _Builder, group: LinkGroup) -> None:
    inp = b.inp
    if group.sku not in b.seeded:
        if len(group.members) > 1:
            b.warnings.append(f"{group.sku}: no stock in the ledger yet; stock not synced")
        return
    observed = b.observed
    for ch, m in sorted(group.members.items()):
        held = b.held.get((ch, m.variant_id))
        caps = inp.capabilities.get(ch)
        if held is None or caps is None or not held.variant.manage_stock:
            continue
        if held.variant.stock_managed_by_parent:
            continue  # its product's pool is planned as a whole (_pool_stock)
        targets = projections(
            group.sku,
            ch,
            inp.on_hand,
            inp.policy,
            inp.locations,
            has_locations=caps.has_locations,
            cap=caps.listed_cap(group.sku),
        )
        for loc, proj in sorted(targets.items(), key=lambda kv: kv[0] or ""):
            if (ch, group.sku, loc or "") in inp.in_flight:
                continue
            if (ch, group.sku, loc) in observed:
                shown = observed[(ch, group.sku, loc)]
            elif loc is None:
                shown = held.variant.stock
            else:
                b.warnings.append(f"{group.sku}: no count read from {ch} at {loc}; stock not synced there")
                continue
            _stock_change(b, group, ch, caps, loc, shown or 0, proj)


def _stock_change(
    b: _Builder, group: LinkGroup, ch: str, caps: Capabilities, loc: str | None, shown: int, proj: Projection
) -> None:
    target = proj.total
    b.stock_targets += 1
    if shown > 0:
        b.stocked_before += 1
    if shown == target:
        return
    if target == 0 and shown > 0:
        b.zeroed.append(f"{ch}:{group.sku}")
    m = group.members[ch]
    position = b.inp.positions.get(group.sku, "")
    where = f"{m.variant_id}@{loc or '-'}"
    reason = _stock_reason(b, group.sku, ch, loc, shown, proj)
    channel_loc = b.inp.locations.channel_id(ch, loc) if loc is not None else None
    if caps.stock_mode == "relative":
        key = change_key(ch, "adjust_stock", where, [shown, target, position])
        op: SetStock | AdjustStock = AdjustStock(
            key=key,
            variant_id=m.variant_id,
            location_id=channel_loc or _single_location(b.inp, ch),
            delta=target - shown,
        )
        action: Action = "adjust_stock"
    else:
        key = change_key(ch, "set_stock", where, [target, position])
        op = SetStock(
            key=key, product_id=m.product_id or m.variant_id, variant_id=m.variant_id, quantity=target
        )
        action = "set_stock"
    change = Change(ch, action, group.sku, reason, key, m.variant_id, loc, ("stock",), shown, target, op)
    b.changes.append(replace(change, projection=proj))


def _pool_stock(b: _Builder) -> None:
    """One absolute write per stock pool that agrees with what was expected: the sum of its SKUs'
    projections. Held or partial pools are reported and left alone (see :mod:`bridge.pools`)."""
    for verdict in b.inp.pools:
        pool = verdict.pool
        if verdict.state in ("held", "partial"):
            b.warnings.append(verdict.warning())
            continue
        if verdict.state != "agreed":
            continue
        target, shares = pool_target(pool, b.inp.on_hand, b.inp.policy, b.inp.locations)
        shown = verdict.shown if verdict.shown is not None else pool.quantity or 0
        b.stock_targets += 1
        if shown > 0:
            b.stocked_before += 1
        if shown == target:
            continue
        if target == 0 and shown > 0:
            b.zeroed.append(f"{pool.channel}:{pool.key}")
        position = content_hash([b.inp.positions.get(sku, "") for sku in pool.skus])
        key = change_key(pool.channel, "set_stock", f"{pool.product_id}@pool", [target, position])
        op = SetStock(key=key, product_id=pool.product_id, variant_id=pool.product_id, quantity=target)
        parts = " + ".join(f"{sku} {n}" for sku, n in shares.items())
        reason = (
            f"stock pool of {pool.describe()}: ledger says {target} ({parts}), {pool.channel} shows {shown}"
        )
        b.changes.append(
            Change(
                pool.channel,
                "set_stock",
                pool.key,
                reason,
                key,
                pool.product_id,
                None,
                ("stock",),
                shown,
                target,
                op,
            )
        )


def _single_location(inp: ReconcileInput, ch: str) -> str:
    own = inp.locations.of_channel(ch)
    return own[0][1] if own else "default"


def _stock_reason(b: _Builder, sku: str, ch: str, loc: str | None, shown: int, proj: Projection) -> str:
    base = b.inp.written_stock.get((ch, sku, loc))
    relevant = [
        e
        for e in b.recent_by_sku.get(sku, ())
        if (loc is None or e.location == loc)
        and (base is None or e.occurred_at > base.at)
        and e.kind.value != "initial"
    ]
    relevant.sort(key=lambda e: (e.occurred_at, e.source_id))
    told = [e.reason or f"{e.channel} {e.kind.value} {e.delta:+d}" for e in relevant]
    if len(told) > 3:
        told = [*told[:3], f"and {len(told) - 3} more"]
    head = proj.reason(ch, shown)
    return f"{head}: {'; '.join(told)}" if told else head


# -- safety ----------------------------------------------------------------------------------


def _safety(b: _Builder) -> Safety:
    changed: set[str] = set()
    if b.inp.first_sync:
        changed = {c.sku for c in b.changes if c.op is not None and c.sku is not None}
        changed |= {f"create:{c.key}" for c in b.changes if c.action == "create" and c.sku is None}
    return judge(
        SafetyFigures(
            first_sync=b.inp.first_sync,
            skus=len(b.inp.groups),
            changed=len(changed),
            stocked=b.stocked_before,
            zeroed=len(b.zeroed),
        ),
        b.inp.policy,
    )


def judge(figures: SafetyFigures, policy: SyncPolicy) -> Safety:
    """The policy's verdict on a plan's safety figures (also on the sum of a chunked plan's)."""
    return Safety.judge(
        figures,
        max_change_share=policy.max_change_share,
        max_zeroed_share=policy.max_zeroed_share,
        min_items=policy.safety_min_items,
    )
