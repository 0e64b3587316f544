"""Linking: which variant on one channel is the same sellable thing as a variant on another.

Links are the identity of the whole system: a wrong link moves stock and prices between two
different products, so the linker *reports and never guesses*.  The rules, in order:

1. Existing links (remembered by the store, passed in as plain data) win; they are never
   re-derived from SKUs, so renaming a SKU on one side does not break a link. One exception: a
   link to an archived variant follows the one live variant now carrying its SKU there.
2. Variants still unlinked are matched by SKU, exactly (after trimming, which the models do).
   A SKU used twice inside one channel is ambiguous: reported, and none of its variants linked.
3. Variants still unlinked are matched by GTIN, with the same ambiguity rule.
4. What remains is reported: SKUs that differ only by case or whitespace across channels (most
   likely the same product typed differently; a human decides), and variants present on one
   channel only (they become one-member groups, so the reconciler can create them elsewhere).

Pure: takes channel products and links, returns groups and issues; the caller stores them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bridge.models import ChannelProduct, ChannelVariant, ProductStatus

__all__ = [
    "ExistingLink",
    "LinkGroup",
    "LinkIssue",
    "LinkMember",
    "LinkResult",
    "link",
    "sku_fold",
]

MatchedBy = Literal["existing", "sku", "gtin", "single"]
IssueKind = Literal[
    "duplicate_sku", "duplicate_gtin", "sku_case_mismatch", "one_sided", "no_sku", "slot_taken"
]


@dataclass(frozen=True)
class ExistingLink:
    """A variant link the store remembers: canonical SKU ⇄ one channel's variant (and its product)."""

    sku: str
    channel: str
    variant_id: str
    product_id: str | None = None


@dataclass(frozen=True)
class LinkMember:
    """One channel's side of a link: the variant id and the id of the product holding it."""

    variant_id: str
    product_id: str | None = None


@dataclass(frozen=True)
class LinkGroup:
    """One canonical SKU and its variant on each channel where it exists."""

    sku: str
    members: Mapping[str, LinkMember]
    matched_by: MatchedBy = "sku"


@dataclass(frozen=True)
class LinkIssue:
    """Something a human should look at; ``variants`` lists ``(channel, variant id, sku)`` involved."""

    kind: IssueKind
    message: str
    variants: tuple[tuple[str, str, str | None], ...] = ()


@dataclass(frozen=True)
class LinkResult:
    """Every link group (sorted by SKU) and every issue found while linking."""

    groups: list[LinkGroup]
    issues: list[LinkIssue] = field(default_factory=list)

    def by_sku(self) -> dict[str, LinkGroup]:
        return {g.sku: g for g in self.groups}


@dataclass(frozen=True)
class _Candidate:
    channel: str
    product_id: str
    variant: ChannelVariant

    @property
    def ref(self) -> tuple[str, str, str | None]:
        return (self.channel, self.variant.channel_id, self.variant.sku)


def sku_fold(sku: str) -> str:
    """The SKU with case and all whitespace removed: two SKUs folding alike are suspicious twins."""
    return "".join(sku.split()).casefold()


def _candidates(products: Mapping[str, Sequence[ChannelProduct]]) -> list[_Candidate]:
    out: list[_Candidate] = []
    for channel in sorted(products):
        for product in products[channel]:
            for variant in product.variants:
                out.append(_Candidate(channel, product.channel_id, variant))
    return out


def _refs(cands: Iterable[_Candidate]) -> tuple[tuple[str, str, str | None], ...]:
    return tuple(sorted(c.ref for c in cands))


def link(
    products: Mapping[str, Sequence[ChannelProduct]],
    existing: Sequence[ExistingLink] = (),
    *,
    prefer: Sequence[str] = (),
) -> LinkResult:
    """Link variants across channels: existing links, then SKU, then GTIN; report the rest.

    ``products`` maps channel name to its products (a full read, or at least every product whose
    variants should be linked).  ``existing`` links are kept even when their variant is absent from
    ``products`` (an incremental read).  ``prefer`` orders channels when a GTIN match has to pick the
    canonical SKU (put the catalogue owner first); other channels follow alphabetically.
    """
    groups: dict[str, dict[str, LinkMember]] = defaultdict(dict)
    matched_by: dict[str, MatchedBy] = {}
    issues: list[LinkIssue] = []
    taken: set[tuple[str, str]] = set()

    for ex in sorted(existing, key=lambda e: (e.sku, e.channel)):
        groups[ex.sku][ex.channel] = LinkMember(ex.variant_id, ex.product_id)
        matched_by[ex.sku] = "existing"
        taken.add((ex.channel, ex.variant_id))

    _follow_live(products, existing, groups, taken)
    free = [c for c in _candidates(products) if (c.channel, c.variant.channel_id) not in taken]
    free = _match_by_sku(free, groups, matched_by, issues)
    free = _match_by_gtin(free, groups, matched_by, issues, prefer)
    _report_rest(free, groups, matched_by, issues, channel_count=len(products))

    result = [LinkGroup(sku, dict(sorted(groups[sku].items())), matched_by[sku]) for sku in sorted(groups)]
    return LinkResult(result, issues)


def _follow_live(
    products: Mapping[str, Sequence[ChannelProduct]],
    existing: Sequence[ExistingLink],
    groups: dict[str, dict[str, LinkMember]],
    taken: set[tuple[str, str]],
) -> None:
    """An existing link to an archived (or trashed) variant yields to the one live variant that now
    carries its SKU on that channel: the owner deleted the product and made it again (WooCommerce
    lets a trashed product's SKU be reused). The archived one stays out of matching (history)."""
    cands = _candidates(products)
    status = {(c.channel, c.variant.channel_id): c.variant.status for c in cands}
    live: dict[tuple[str, str], list[_Candidate]] = defaultdict(list)
    for c in cands:
        if c.variant.sku and c.variant.status is not ProductStatus.ARCHIVED:
            if (c.channel, c.variant.channel_id) not in taken:
                live[(c.channel, c.variant.sku)].append(c)
    for ex in existing:
        found = live.get((ex.channel, ex.sku), [])
        if status.get((ex.channel, ex.variant_id)) is ProductStatus.ARCHIVED and len(found) == 1:
            groups[ex.sku][ex.channel] = LinkMember(found[0].variant.channel_id, found[0].product_id)
            taken.add((ex.channel, found[0].variant.channel_id))


def _unique_per_channel(
    cands: Sequence[_Candidate],
    key: str,
    value_of: dict[tuple[str, str], str],
    issues: list[LinkIssue],
    kind: IssueKind,
) -> tuple[dict[str, dict[str, _Candidate]], set[tuple[str, str]]]:
    """Group candidates by value and channel; values used twice in one channel are reported and
    dropped, unless all but one of the variants using it are archived (then the live one is used)."""
    by_value: dict[str, dict[str, list[_Candidate]]] = defaultdict(lambda: defaultdict(list))
    for c in cands:
        value = value_of.get((c.channel, c.variant.channel_id))
        if value is not None:
            by_value[value][c.channel].append(c)
    unique: dict[str, dict[str, _Candidate]] = {}
    dropped: set[tuple[str, str]] = set()
    for value in sorted(by_value):
        unique[value] = {}
        for channel, found in sorted(by_value[value].items()):
            if len(found) == 1:
                unique[value][channel] = found[0]
                continue
            live = [c for c in found if c.variant.status is not ProductStatus.ARCHIVED]
            if len(live) == 1:
                # A SKU reused after its old product was archived or trashed (WooCommerce allows
                # that): the live one is the match, the archived copies are history.
                unique[value][channel] = live[0]
                dropped.update((c.channel, c.variant.channel_id) for c in found if c is not live[0])
                continue
            ids = ", ".join(c.variant.channel_id for c in found)
            issues.append(
                LinkIssue(
                    kind,
                    f"{key} {value!r} is used by {len(found)} variants on {channel} ({ids}): not linked",
                    _refs(found),
                )
            )
            dropped.update((c.channel, c.variant.channel_id) for c in found)
    return unique, dropped


def _join(
    sku: str,
    found: Mapping[str, _Candidate],
    groups: dict[str, dict[str, LinkMember]],
    issues: list[LinkIssue],
) -> set[tuple[str, str]]:
    """Add ``found`` to the group ``sku``, refusing channels whose slot already holds another variant."""
    used: set[tuple[str, str]] = set()
    group = groups[sku]
    for channel, c in found.items():
        held = group.get(channel)
        if held is not None and held.variant_id != c.variant.channel_id:
            used.add((c.channel, c.variant.channel_id))
            if c.variant.status is ProductStatus.ARCHIVED:
                continue  # an archived copy whose SKU a live variant took over: history
            issues.append(
                LinkIssue(
                    "slot_taken",
                    f"SKU {sku!r} on {channel} is already linked to variant {held.variant_id}; "
                    f"variant {c.variant.channel_id} was not linked",
                    (c.ref,),
                )
            )
            continue
        group[channel] = LinkMember(c.variant.channel_id, c.product_id)
        used.add((c.channel, c.variant.channel_id))
    return used


def _match_by_sku(
    free: list[_Candidate],
    groups: dict[str, dict[str, LinkMember]],
    matched_by: dict[str, MatchedBy],
    issues: list[LinkIssue],
) -> list[_Candidate]:
    skus = {(c.channel, c.variant.channel_id): c.variant.sku for c in free if c.variant.sku}
    unique, _ = _unique_per_channel(free, "SKU", skus, issues, "duplicate_sku")
    used: set[tuple[str, str]] = set()
    for sku, found in unique.items():
        # A SKU on a single channel with no existing group waits: GTIN may still link it.
        if len(found) < 2 and sku not in groups:
            continue
        matched_by.setdefault(sku, "sku")
        used |= _join(sku, found, groups, issues)
    # Ambiguous ones stay in the pool: later steps skip them by their issue.
    return [c for c in free if (c.channel, c.variant.channel_id) not in used]


def _match_by_gtin(
    free: list[_Candidate],
    groups: dict[str, dict[str, LinkMember]],
    matched_by: dict[str, MatchedBy],
    issues: list[LinkIssue],
    prefer: Sequence[str],
) -> list[_Candidate]:
    # Ambiguous-SKU variants stay out of every match: they are the ones a human must sort out.
    ambiguous = {r for i in issues if i.kind == "duplicate_sku" for r in ((v[0], v[1]) for v in i.variants)}
    pool = [c for c in free if (c.channel, c.variant.channel_id) not in ambiguous]
    gtins = {(c.channel, c.variant.channel_id): c.variant.gtin for c in pool if c.variant.gtin}
    unique, dropped = _unique_per_channel(pool, "GTIN", gtins, issues, "duplicate_gtin")
    used: set[tuple[str, str]] = set()
    order = {ch: i for i, ch in enumerate(prefer)}
    for gtin, found in unique.items():
        if len(found) < 2:
            continue
        ranked = sorted(found.values(), key=lambda c: (order.get(c.channel, len(order)), c.channel))
        sku = next((c.variant.sku for c in ranked if c.variant.sku), None)
        if sku is None:
            issues.append(
                LinkIssue("no_sku", f"GTIN {gtin!r} matches but no variant has a SKU", _refs(ranked))
            )
            used.update((c.channel, c.variant.channel_id) for c in ranked)
            continue
        matched_by.setdefault(sku, "gtin")
        used |= _join(sku, found, groups, issues)
    gone = used | dropped
    return [c for c in free if (c.channel, c.variant.channel_id) not in gone]


def _report_rest(
    free: list[_Candidate],
    groups: dict[str, dict[str, LinkMember]],
    matched_by: dict[str, MatchedBy],
    issues: list[LinkIssue],
    channel_count: int,
) -> None:
    ambiguous = {
        (v[0], v[1])
        for i in issues
        if i.kind in ("duplicate_sku", "duplicate_gtin", "no_sku", "slot_taken")
        for v in i.variants
    }
    rest = [c for c in free if (c.channel, c.variant.channel_id) not in ambiguous]
    folded: dict[str, list[_Candidate]] = defaultdict(list)
    for c in rest:
        if c.variant.sku:
            folded[sku_fold(c.variant.sku)].append(c)
    twins: set[tuple[str, str]] = set()
    for key in sorted(folded):
        found = folded[key]
        if len({c.channel for c in found}) < 2 or len({c.variant.sku for c in found}) < 2:
            continue
        spelled = ", ".join(f"{c.channel}:{c.variant.sku!r}" for c in found)
        issues.append(
            LinkIssue(
                "sku_case_mismatch",
                f"SKUs differ only by case or spaces ({spelled}): not linked; make them identical",
                _refs(found),
            )
        )
        twins.update((c.channel, c.variant.channel_id) for c in found)
    for c in rest:
        ref = (c.channel, c.variant.channel_id)
        if ref in twins:
            continue
        sku = c.variant.sku
        if sku is None:
            issues.append(
                LinkIssue("no_sku", f"{c.channel} variant {c.variant.channel_id} has no SKU", (c.ref,))
            )
            continue
        if sku in groups and c.channel in groups[sku]:
            continue
        groups[sku][c.channel] = LinkMember(c.variant.channel_id, c.product_id)
        matched_by.setdefault(sku, "single")
        if channel_count > 1:
            issues.append(LinkIssue("one_sided", f"SKU {sku!r} exists only on {c.channel}", (c.ref,)))
