"""WooCommerce writes: product, variation and stock operations sent in batches of 100.

Stock is absolute only: REST writes set ``stock_quantity``; there is no atomic relative write.
Variations whose stock is kept on the parent (``manage_stock: "parent"``) are refused, never
written on the parent (see ``bridge.pools``). Results come back per operation; creates go through
:mod:`adapters.woocommerce_creates`, which never sends one twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.base import (
    AdapterError,
    AdjustStock,
    ArchiveProduct,
    AuthError,
    CreateProduct,
    SetStock,
    TransientError,
    UpdateProduct,
    UpdateVariant,
    WriteOp,
    WriteResult,
)
from adapters.woocommerce_bodies import (
    STATUS_OUT,
    BatchEntry,
    batch_body,
    create_body,
    marked,
    product_fields,
    result_of,
    variant_fields,
    variation_body,
)
from adapters.woocommerce_creates import WooCommerceCreates, WriteRound
from adapters.woocommerce_wire import modified_version
from bridge.models import ProductStatus

__all__ = ["WooCommerceWrites"]


class WooCommerceWrites(WooCommerceCreates):
    """Writes of :class:`adapters.woocommerce.WooCommerceAdapter`."""

    def apply(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        run = WriteRound(ops)
        results = run.results
        product_items: list[BatchEntry] = []
        variation_items: dict[str, list[BatchEntry]] = {}
        stock_probe: dict[int, SetStock] = {}
        for index, op in enumerate(ops):
            if isinstance(op, CreateProduct):
                product_items.append((index, "create", create_body(op.product)))
            elif isinstance(op, UpdateProduct):
                product_items.append(
                    (index, "update", {"id": int(op.product_id), **product_fields(op.fields)})
                )
            elif isinstance(op, ArchiveProduct):
                product_items.append(
                    (
                        index,
                        "update",
                        {"id": int(op.product_id), "status": STATUS_OUT[ProductStatus.ARCHIVED]},
                    )
                )
            elif isinstance(op, UpdateVariant):
                body = variant_fields(op.fields, simple=op.product_id == op.variant_id)
                if op.product_id == op.variant_id:
                    product_items.append((index, "update", {"id": int(op.product_id), **body}))
                else:
                    variation_items.setdefault(op.product_id, []).append(
                        (index, "update", {"id": int(op.variant_id), **body})
                    )
            elif isinstance(op, SetStock):
                if op.product_id == op.variant_id:
                    body = {"id": int(op.product_id), "manage_stock": True, "stock_quantity": op.quantity}
                    product_items.append((index, "update", body))
                else:
                    # First try the variation as it is; its answer tells us where the stock lives.
                    stock_probe[index] = op
                    variation_items.setdefault(op.product_id, []).append(
                        (index, "update", {"id": int(op.variant_id), "stock_quantity": op.quantity})
                    )
            elif isinstance(op, AdjustStock):
                results[index] = WriteResult(
                    key=op.key, ok=False, error="WooCommerce has no relative stock write", code="unsupported"
                )
        self._run_batches(run, product_items, variation_items)
        self._follow_up_stock(run, stock_probe)
        self._create_variations(run)
        self._uncertain.difference_update(r.key for r in results.values() if not r.retryable)
        return [results[i] for i in range(len(ops))]

    def _run_batches(
        self,
        run: WriteRound,
        product_items: list[BatchEntry],
        variation_items: Mapping[str, list[BatchEntry]],
    ) -> None:
        """Send items in batches of 100, each op's answer and result into ``run``."""
        # Creates go in batches of their own (see _post_creates), each carrying our marker.
        creates = [(i, a, marked(item, run.ops[i].key)) for i, a, item in product_items if a == "create"]
        updates = [entry for entry in product_items if entry[1] != "create"]
        jobs: list[tuple[str, list[BatchEntry]]] = [("products/batch", updates)]
        jobs.append(("products/batch", creates))
        jobs += [(f"products/{pid}/variations/batch", items) for pid, items in variation_items.items()]
        for endpoint, items in jobs:
            for offset in range(0, len(items), self.capabilities.max_batch):
                chunk = items[offset : offset + self.capabilities.max_batch]
                self._send_batch(run, endpoint, chunk)

    def _send_batch(self, run: WriteRound, endpoint: str, chunk: list[BatchEntry]) -> None:
        ops, answers, results = run.ops, run.answers, run.results
        try:
            if any(action == "create" for _, action, _ in chunk):
                answer, chunk = self._post_creates(run, endpoint, chunk)
            else:
                answer = self._request("POST", endpoint, data=batch_body(chunk)).json()
        except AuthError:
            raise
        except AdapterError as exc:
            for index, _, _ in chunk:
                results[index] = WriteResult(
                    key=ops[index].key,
                    ok=False,
                    retryable=isinstance(exc, TransientError),
                    error=str(exc),
                    code=getattr(exc, "code", None),
                )
            return
        order: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for index, action, item in chunk:
            order.setdefault(action, []).append((index, item))
        for action, entries in order.items():
            replies = answer.get(action) or []
            for (index, sent), answered in zip(entries, replies, strict=False):
                answers[index] = answered
                results[index] = result_of(ops[index], sent, answered)
            for index, _ in entries[len(replies) :]:
                results[index] = WriteResult(key=ops[index].key, ok=False, retryable=True, error="no answer")

    def _follow_up_stock(self, run: WriteRound, probes: Mapping[int, SetStock]) -> None:
        """Second pass for variation stock: enable it where the variation does not manage it.

        A variation that draws on its parent's pool (``manage_stock: "parent"``; WooCommerce kept
        the value on the variation, where nothing shows it) is refused, never written on the parent:
        the parent holds its siblings' units too. The next read plans the pool (``bridge.pools``)."""
        to_manage: dict[str, list[BatchEntry]] = {}
        for index, op in probes.items():
            answered = run.answers.get(index)
            if not answered or answered.get("error"):
                continue
            if answered.get("manage_stock") == "parent":
                run.results[index] = WriteResult(
                    key=op.key,
                    ok=False,
                    error=f"variation {op.variant_id} draws on the stock pool of product {op.product_id}: "
                    "not written (the pool is written as a whole)",
                    code="stock_pooled",
                )
            elif answered.get("manage_stock") is not True:
                to_manage.setdefault(op.product_id, []).append(
                    (
                        index,
                        "update",
                        {"id": int(op.variant_id), "manage_stock": True, "stock_quantity": op.quantity},
                    )
                )
        if to_manage:
            self._run_batches(run, [], to_manage)

    def _create_variations(self, run: WriteRound) -> None:
        """Second pass for variable products: their variations, once the parent exists."""
        for index, op in enumerate(run.ops):
            if not isinstance(op, CreateProduct) or op.product.kind != "variable":
                continue
            answered = run.answers.get(index)
            if not answered or answered.get("error"):
                continue
            pid = str(answered["id"])
            # A parent found by lookup (our create's answer was lost) may hold some already.
            ids = self._variation_ids(pid) if answered.get("variations") else {}
            bodies = [variation_body(v) for v in op.product.variants if v.sku not in ids]
            errors: list[str] = []
            transient = False
            for offset in range(0, len(bodies), self.capabilities.max_batch):
                try:
                    errors += self._post_variations(
                        pid, bodies[offset : offset + self.capabilities.max_batch], ids
                    )
                except AuthError:
                    raise
                except AdapterError as exc:
                    errors.append(str(exc))
                    transient = transient or isinstance(exc, TransientError)
            run.results[index] = WriteResult(
                key=op.key,
                ok=not errors,
                retryable=transient,
                error="; ".join(errors) or None,
                code="variation_error" if errors else None,
                channel_id=pid,
                version=modified_version(answered),
                ids=ids,
                written={"name": answered.get("name"), "status": answered.get("status")},
            )
