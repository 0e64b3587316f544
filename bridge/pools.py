"""Stock pools: variants of one product that draw on a single count held by the product.

WooCommerce lets a variable product manage stock itself, and its variations that do not manage
their own (``manage_stock: "parent"``) sell from that one number: an order of any of them reduces
the parent (``wc_update_product_stock`` writes to ``get_stock_managed_by_id()``, the parent's id),
and the REST API shows the parent's count on each of them (``WC_Product_Variation::
get_stock_quantity`` in view context). So the count is not any SKU's, and reading it as one (each
variation holding the whole pool) invents stock, while writing each SKU's projection to it means
the last write wins. The rules here:

* **The pool shows the sum.** Its target is the sum, over the variants drawing on it, of what
  the channel should show for each SKU (:func:`bridge.ledger.project`, buffer included), written
  once to the product; no SKU gets a write of its own there.
* **A sale is a SKU's sale.** Orders name the variation, so the ledger records each sale under its
  SKU; the pool's count is only used to spot changes nobody explained.
* **An unexplained change is held for a human.** expected = what we last wrote or saw agreed
  (the baseline) + the pool's own channel events since, for its SKUs. A count that differs cannot
  be attributed to one SKU, so it is never spread by guess and never recorded in the ledger; nor is
  it overwritten: the pool is *held* (reported in the plan and in ``status``, and not written)
  until it agrees with what was expected again (someone sets it back, or gives the variations their
  own stock). Its baseline stays where it was, so the same difference is reported sync after sync.
* **A pool is only planned when it is whole**: every variant drawing on it linked and in the
  ledger (otherwise its share of the pool is unknown, and a write would take it away).

Pure, like the rest of the engine: the caller gathers counts, baselines and ledger entries, and
records what comes back (baselines of agreed pools, holds).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bridge.ledger import LedgerEntry, LocationMap, Observation, OnHand, Written, judge_counts, project
from bridge.models import ChannelProduct
from bridge.policy import SyncPolicy

__all__ = [
    "POOL_PREFIX",
    "Pool",
    "PoolVerdict",
    "find_pools",
    "judge_pools",
    "pool_key",
    "pool_target",
]

POOL_PREFIX = "@pool:"
"""Pools are remembered (baseline, writes in flight) under the pseudo-SKU ``@pool:<product id>``."""


def pool_key(product_id: str) -> str:
    return f"{POOL_PREFIX}{product_id}"


@dataclass(frozen=True)
class Pool:
    """A product's stock pool as read: what it shows, and which variants draw on it.

    ``members`` are ``(variant id, linked SKU or None)`` of the variants drawing on the pool.
    """

    channel: str
    product_id: str
    name: str
    quantity: int | None
    observed_at: datetime
    members: tuple[tuple[str, str | None], ...]

    @property
    def key(self) -> str:
        return pool_key(self.product_id)

    @property
    def skus(self) -> list[str]:
        return sorted({sku for _, sku in self.members if sku is not None})

    def describe(self) -> str:
        return f"{self.channel} product {self.product_id} ({self.name}; {', '.join(self.skus) or 'no SKU'})"


@dataclass(frozen=True)
class PoolVerdict:
    """What the engine makes of a pool this sync.

    ``state``: ``agreed`` (the count is what was expected, or has no baseline yet: planned as usual
    and remembered as the new baseline), ``held`` (an unexplained difference: reported, not written,
    baseline kept), ``partial`` (a member not linked or not in the ledger: reported, not written),
    ``in_flight`` (our last write is unconfirmed) and ``unsettled`` (the count holds a sale not read
    yet): neither judged nor written this round.
    """

    pool: Pool
    state: str
    expected: int | None = None
    why: str = ""
    shown: int | None = None
    """The count brought forward to the ledger's moment (own events read after it added)."""
    baseline: Observation | None = None
    """What to remember as the pool's next baseline (an agreed pool)."""

    def warning(self) -> str:
        pool = self.pool
        if self.state == "held":
            return (
                f"{pool.describe()}: its stock pool shows {pool.quantity}, expected {self.expected} "
                f"(what we last wrote or saw, plus its own sales since): a change that cannot be "
                f"attributed to one SKU; the ledger is unchanged and the pool is not written until it "
                f"shows {self.expected} again (record the real change per SKU on a channel that counts "
                f"per SKU, e.g. a count at the till, then set the pool back) or its variations get "
                f"stock of their own (each is then written its own ledger stock)"
            )
        if self.state == "partial":
            return f"{pool.describe()}: stock pool not synced: {self.why}"
        return ""


def find_pools(
    products: Mapping[str, Sequence[ChannelProduct]],
    skus: Mapping[tuple[str, str], str],
    counted_at: Mapping[str, datetime],
) -> list[Pool]:
    """The pools among ``products`` (channel → products): products holding a ``pool_stock`` with at
    least one variant drawing on it; ``skus`` links ``(channel, variant id)`` to SKUs."""
    out: list[Pool] = []
    for channel, items in sorted(products.items()):
        for product in items:
            members = tuple(
                (v.channel_id, skus.get((channel, v.channel_id)))
                for v in product.variants
                if v.stock_managed_by_parent
            )
            if not members or product.pool_stock is None:
                continue
            out.append(
                Pool(
                    channel=channel,
                    product_id=product.channel_id,
                    name=product.name,
                    quantity=product.pool_stock,
                    observed_at=product.pool_counted_at or counted_at[channel],
                    members=members,
                )
            )
    return out


def judge_pools(
    pools: Iterable[Pool],
    written: Mapping[tuple[str, str, str | None], Written],
    entries: Sequence[LedgerEntry],
    *,
    seeded: Collection[str],
    in_flight: Collection[tuple[str, str, str]] = (),
    events_read_until: Mapping[str, datetime],
    policy: SyncPolicy,
    locations: LocationMap,
    resolution: Mapping[str, timedelta] | None = None,
) -> list[PoolVerdict]:
    """A :class:`PoolVerdict` per pool.

    ``written`` holds the pools' baselines under ``(channel, pool key, None)``; ``entries`` the
    ledger of their SKUs (placed). A pool's count is judged exactly as a SKU's count is
    (:func:`bridge.ledger.judge_counts`: the baseline plus the pool channel's own events of its SKUs
    around that count, events of uncertain date weighed both ways), the pool standing for its SKUs;
    only what comes of a difference differs: not an adjustment, a hold.
    """
    verdicts: list[PoolVerdict] = []
    for pool in pools:
        missing = [vid for vid, sku in pool.members if sku is None]
        unseeded = [sku for sku in pool.skus if sku not in seeded]
        if (pool.channel, pool.key, "") in in_flight:
            verdicts.append(PoolVerdict(pool, "in_flight"))
        elif missing or unseeded or pool.quantity is None:
            why = "; ".join(
                filter(
                    None,
                    [
                        f"variation(s) {', '.join(missing)} not linked" if missing else "",
                        f"{', '.join(unseeded)} not in the ledger yet" if unseeded else "",
                        "no count read" if pool.quantity is None else "",
                    ],
                )
            )
            verdicts.append(PoolVerdict(pool, "partial", why=why))
        else:
            verdicts.append(
                _judge(pool, written, entries, events_read_until, policy, locations, resolution or {})
            )
    return verdicts


def _judge(
    pool: Pool,
    written: Mapping[tuple[str, str, str | None], Written],
    entries: Sequence[LedgerEntry],
    events_read_until: Mapping[str, datetime],
    policy: SyncPolicy,
    locations: LocationMap,
    resolution: Mapping[str, timedelta],
) -> PoolVerdict:
    members = set(pool.skus)
    own = [replace(e, sku=pool.key) for e in entries if e.channel == pool.channel and e.sku in members]
    count = Observation(pool.channel, pool.key, pool.product_id, None, pool.quantity, pool.observed_at)
    judged = judge_counts(
        [count],
        written,
        own,
        events_read_until=events_read_until,
        policy=policy,
        locations=locations,
        resolution=resolution,
    )
    if judged.unsettled:
        return PoolVerdict(pool, "unsettled")  # it holds a sale not read yet: next round
    shown = judged.current[0].quantity if judged.current else pool.quantity
    if judged.adjustments:
        expected = (pool.quantity or 0) - judged.adjustments[0].delta
        return PoolVerdict(pool, "held", expected, shown=shown)
    baseline = judged.baselines[0] if judged.baselines else None
    return PoolVerdict(pool, "agreed", shown=shown, baseline=baseline)


def pool_target(
    pool: Pool, on_hand: OnHand, policy: SyncPolicy, locations: LocationMap
) -> tuple[int, dict[str, int]]:
    """What the pool should show (the sum of its SKUs' single-pool projections), and each SKU's share."""
    shares = {
        sku: project(sku, pool.channel, on_hand, policy, locations, has_locations=False)[None]
        for sku in pool.skus
    }
    return sum(shares.values()), shares
