"""WooCommerce creates that are never sent twice.

A POST that creates is not idempotent, and WooCommerce has no idempotency keys: resending one
whose answer was lost (a timeout, a 5xx after the product was saved) makes a second product;
for a variable product, whose parent has no SKU to refuse it, an empty published one (the
official Square plugin's most reported bug). So a create is never retried blindly: each
product we create carries our marker (meta ``_shopbridge_key`` = the outbox key), and before
a create is sent again (a retry here, or after a restart: :meth:`~WooCommerceCreates.mark_uncertain`)
it is looked up, by SKU for a simple product, by name and marker for a variable one; variations by SKU.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from adapters.base import CreateProduct, WriteOp, WriteResult, retrying
from adapters.woocommerce_bodies import MARKER, BatchEntry, batch_body, result_of
from adapters.woocommerce_client import WooCommerceClient

__all__ = ["WooCommerceCreates", "WriteRound"]


@dataclass
class WriteRound:
    """One ``apply`` call as it goes: its ops, and by op index the shop's answer (the item as the
    shop holds it after the write) and the op's result."""

    ops: Sequence[WriteOp]
    answers: dict[int, dict[str, Any]] = field(default_factory=dict)
    results: dict[int, WriteResult] = field(default_factory=dict)


class WooCommerceCreates(WooCommerceClient):
    """The create lookups of :class:`adapters.woocommerce.WooCommerceAdapter`."""

    def mark_uncertain(self, keys: Iterable[str]) -> None:
        """Look these creates up before sending them again (an earlier attempt may have landed)."""
        self._uncertain.update(keys)

    def _post_creates(
        self, run: WriteRound, endpoint: str, chunk: list[BatchEntry]
    ) -> tuple[dict[str, Any], list[BatchEntry]]:
        """Send a batch of creates under the usual retry policy, but look each create in doubt up
        before every attempt; those found are answered from what the shop holds. Returns the last
        answer and the creates it answers."""
        ops = run.ops
        pending = list(chunk)
        tries = 0

        def attempt() -> Any:
            nonlocal pending, tries
            pending = [
                entry
                for entry in pending
                if not (
                    (tries or ops[entry[0]].key in self._uncertain) and self._adopt(run, ops[entry[0]], entry)
                )
            ]
            tries += 1
            if not pending:
                return {}
            self._uncertain.update(ops[i].key for i, _, _ in pending)  # in doubt once sent
            return self._once("POST", endpoint, {}, batch_body(pending)).json()

        answer: dict[str, Any] = retrying(self.max_attempts, self.backoff_base, self.backoff_max)(attempt)
        return answer, pending

    def _adopt(self, run: WriteRound, op: WriteOp, entry: BatchEntry) -> bool:
        """Whether the product ``op`` creates is in the shop already (then its answer is recorded)."""
        found = self._find_created(op) if isinstance(op, CreateProduct) else None
        if found is None:
            return False
        index, _, sent = entry
        run.answers[index] = found
        run.results[index] = result_of(op, sent, found)
        return True

    def _find_created(self, op: CreateProduct) -> dict[str, Any] | None:
        """The shop's product made by ``op``: for a simple product the one holding its SKU; for a
        variable one (no SKU until its variations exist) the one carrying our marker, searched by
        name, then among the newest products."""
        skus = [v.sku for v in op.product.variants if v.sku]
        if op.product.kind == "simple" and skus:
            held = self._request("GET", "products", params={"sku": skus[0]}).json()
            return next((p for p in held if p.get("sku") == skus[0] and not p.get("parent_id")), None)
        kind = {"type": op.product.kind}
        searched = self._request("GET", "products", params={**kind, "search": op.product.name}).json()
        newest = self._request("GET", "products", params={**kind, "orderby": "id", "order": "desc"}).json()
        for product in chain(searched, newest):
            if any(
                m.get("key") == MARKER and m.get("value") == op.key for m in product.get("meta_data") or []
            ):
                return dict(product)
        return None

    def _variation_ids(self, pid: str) -> dict[str, str]:
        """SKU -> id of the variations product ``pid`` holds."""
        return {
            str(v["sku"]): str(v["id"])
            for v in self._get_all(f"products/{pid}/variations", {})
            if v.get("sku")
        }

    def _post_variations(self, pid: str, bodies: list[dict[str, Any]], ids: dict[str, str]) -> list[str]:
        """Create variations of ``pid`` (their ids into ``ids``); a retry first drops those the
        shop already holds (a lost answer), so no variation is made twice. Returns refusals."""
        pending = list(bodies)
        tries = 0

        def attempt() -> Any:
            nonlocal pending, tries
            if tries:
                ids.update(self._variation_ids(pid))
                pending = [body for body in pending if body["sku"] not in ids]
            tries += 1
            if not pending:
                return {}
            return self._once("POST", f"products/{pid}/variations/batch", {}, {"create": pending}).json()

        answer = retrying(self.max_attempts, self.backoff_base, self.backoff_max)(attempt)
        errors: list[str] = []
        for created in answer.get("create") or []:
            if created.get("error"):
                errors.append(str(created["error"].get("message")))
            elif created.get("sku"):
                ids[str(created["sku"])] = str(created["id"])
        return errors
