"""Splitting a channel's due writes into parts that may be sent at the same time.

The relay sends a channel's outbox with several requests in flight (``[channels.<name>]
concurrency``). Two writes of one SKU must never be in flight at once, and must land in outbox
order: so every write touching a SKU, a product or a variant goes into the same part as every
other write touching it, in the order they were queued, and a part is one ``adapter.apply`` call
(which sends its writes in order). A product's writes staying together also keeps the channel's
batches full (WooCommerce batches a product's variations in one call). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import ceil
from typing import Generic, TypeVar

from bridge.writes import CreateProduct, WriteOp

__all__ = ["Lane", "split_lanes", "touched"]

E = TypeVar("E")


@dataclass(frozen=True)
class Lane(Generic[E]):
    """One part: entries (in outbox order) and their operations, sent by one worker as one call."""

    entries: list[E]
    ops: list[WriteOp]


def touched(sku: str | None, op: WriteOp) -> set[str]:
    """What a write touches: its SKU, and the product and variant it names (a create: every SKU
    it creates). Two writes sharing any of these are ordered against each other."""
    found = {f"sku:{sku}"} if sku else set()
    if isinstance(op, CreateProduct):
        found.update(f"sku:{v.sku}" for v in op.product.variants if v.sku)
        return found
    product_id = getattr(op, "product_id", None)
    variant_id = getattr(op, "variant_id", None)
    if product_id:
        found.add(f"product:{product_id}")
    if variant_id:
        found.add(f"variant:{variant_id}")
    return found


def _groups(touches: Sequence[set[str]]) -> list[list[int]]:
    """Indexes of the writes bound together (sharing a key, directly or through others), each
    group in outbox order, groups in the order of their first write (a union-find)."""
    parent = list(range(len(touches)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for index, keys in enumerate(touches):
        for key in keys:
            if key in first:
                a, b = root(first[key]), root(index)
                parent[max(a, b)] = min(a, b)
            else:
                first[key] = index
    members: dict[int, list[int]] = {}
    for index in range(len(touches)):
        members.setdefault(root(index), []).append(index)
    return list(members.values())


def split_lanes(
    entries: Sequence[E], ops: Sequence[WriteOp], skus: Sequence[str | None], parts: int
) -> list[Lane[E]]:
    """``entries`` (in outbox order, with their ``ops`` and ``skus``) in at most about ``parts``
    lanes of similar size, no group of related writes split. One part: everything, as it was."""
    if parts <= 1 or len(entries) <= 1:
        return [Lane(list(entries), list(ops))] if entries else []
    target = ceil(len(entries) / parts)
    lanes: list[Lane[E]] = []
    current: list[int] = []
    for group in _groups([touched(sku, op) for sku, op in zip(skus, ops, strict=True)]):
        current.extend(group)
        if len(current) >= target:
            lanes.append(_lane(entries, ops, current))
            current = []
    if current:
        lanes.append(_lane(entries, ops, current))
    return lanes


def _lane(entries: Sequence[E], ops: Sequence[WriteOp], indexes: list[int]) -> Lane[E]:
    ordered = sorted(indexes)
    return Lane([entries[i] for i in ordered], [ops[i] for i in ordered])
