"""Square catalogue writes: creates looked up first, updates as whole items with their versions.

Every ``CreateProduct`` is searched by its SKUs (``set_query``) before it is sent: a create whose
answer was lost may be resent grouped otherwise, so under another batch key, which Square's
idempotency cannot recognise. Found in one item: that item is reported as created. Found
elsewhere: refused (it would put a SKU on Square twice). Updates re-read the items they touch,
apply the operations and upsert the full items with their versions (Square upserts replace
objects), up to 1,000 objects per batch; ``VERSION_MISMATCH`` triggers a re-read and a retry
(bounded). Archiving sets ``item_data.is_archived``: nothing is ever deleted.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.base import (
    AuthError,
    CreateProduct,
    PermanentError,
    WriteOp,
    WriteResult,
)
from adapters.square_bodies import CATALOG_BATCH, Edit, created, edited, item_id, new_items, pack, versions
from adapters.square_catalog import SquareCatalog
from adapters.square_client import error_info
from adapters.square_values import JSON

__all__ = ["SquareCatalogWrites"]

_VERSION_RETRIES = 3


class SquareCatalogWrites(SquareCatalog):
    """Catalogue writes of :class:`adapters.square.SquareAdapter`."""

    def _catalog_request(self, objects: list[JSON], key: str) -> JSON:
        return self._request(
            "POST", "v2/catalog/batch-upsert", {"idempotency_key": key, "batches": [{"objects": objects}]}
        )

    def _apply_catalog(self, ops: Sequence[tuple[int, WriteOp]]) -> dict[int, WriteResult]:
        creates = [(n, op) for n, op in ops if isinstance(op, CreateProduct)]
        results = self._already_created(creates)
        claimed: set[str] = set()
        for n, op in creates:
            skus = (
                {str(v.sku) for v in op.product.variants if v.sku} if isinstance(op, CreateProduct) else set()
            )
            if n not in results and skus & claimed:
                # Two creates of one SKU (the product changed while the first was in doubt): the
                # second waits, and its lookup will find what the first one made.
                results[n] = WriteResult(
                    key=op.key, ok=False, retryable=True, error="another create holds its SKU"
                )
            claimed |= skus
        creates = [(n, op) for n, op in creates if n not in results]
        updates = [(n, op) for n, op in ops if not isinstance(op, CreateProduct)]
        # Creates: batches of whole items (item + its variations <= 1000 objects).
        batch: list[tuple[int, CreateProduct]] = []
        size = 0
        for n, op in creates:
            assert isinstance(op, CreateProduct)
            weight = 1 + len(op.product.variants)
            if batch and size + weight > CATALOG_BATCH:
                results.update(self._create_batch(batch))
                batch, size = [], 0
            batch.append((n, op))
            size += weight
        if batch:
            results.update(self._create_batch(batch))
        if updates:
            results.update(self._update_items(updates))
        return results

    def _already_created(self, creates: Sequence[tuple[int, WriteOp]]) -> dict[int, WriteResult]:
        """Creates that must not be sent: their SKUs are on Square already.

        A create whose answer was lost (a 5xx or a timeout after Square applied it) may be sent
        again grouped with other creates, so under another batch key, perhaps by another process:
        Square's idempotency cannot recognise it. So every create is looked up by its SKUs first
        (one search per 250 SKUs). All of them in one item: that item is the product (our lost
        create, or one made meanwhile), reported as created. Some of them anywhere else: creating
        would put a SKU on Square twice, so the create is refused, naming what holds them."""
        ops = [(n, op) for n, op in creates if isinstance(op, CreateProduct)]
        if not ops:
            return {}
        held = self._live_variations([str(v.sku) for _, op in ops for v in op.product.variants if v.sku])
        results: dict[int, WriteResult] = {}
        for n, op in ops:
            skus = [str(v.sku) for v in op.product.variants if v.sku]
            holders = {sku: held[sku] for sku in skus if sku in held}
            if not holders:
                continue
            items = {
                str((v.get("item_variation_data") or {}).get("item_id"))
                for vs in holders.values()
                for v in vs
            }
            if len(holders) == len(skus) and len(items) == 1 and all(len(vs) == 1 for vs in holders.values()):
                results[n] = WriteResult(
                    key=op.key,
                    ok=True,
                    channel_id=items.pop(),
                    ids={sku: str(vs[0]["id"]) for sku, vs in holders.items()},
                    written={"name": op.product.name},
                )
                continue
            where = ", ".join(
                f"{sku}: {', '.join(str(v['id']) for v in vs)}" for sku, vs in sorted(holders.items())
            )
            results[n] = WriteResult(
                key=op.key,
                ok=False,
                code="DUPLICATE_SKU",
                error=f"not created: SKU already on Square ({where}); link it or fix the SKUs by hand",
            )
        return results

    def _create_batch(self, batch: list[tuple[int, CreateProduct]]) -> dict[int, WriteResult]:
        key = self.idempotency_key(op.key for _, op in batch)
        try:
            data = self._catalog_request(new_items(batch), key)
        except PermanentError as exc:
            if isinstance(exc, AuthError):
                raise
            if len(batch) > 1:  # all-or-nothing: isolate the culprit
                out: dict[int, WriteResult] = {}
                for one in batch:
                    out.update(self._create_batch([one]))
                return out
            return {n: WriteResult(key=op.key, ok=False, error=str(exc), code=exc.code) for n, op in batch}
        return created(batch, data)

    def _update_items(self, ops: Sequence[tuple[int, WriteOp]]) -> dict[int, WriteResult]:
        """Re-read the items, apply the ops, upsert the full items with their versions."""
        results: dict[int, WriteResult] = {}
        pending = list(ops)
        for attempt in range(_VERSION_RETRIES + 1):
            item_ids = sorted({item_id(op) for _, op in pending})
            current, _ = self._retrieve(item_ids, include_deleted=False)
            items = {str(o["id"]): o for o in current if o.get("type") == "ITEM"}
            touched = edited(pending, items, results)
            retry: list[tuple[int, WriteOp]] = []
            for objects in pack([items[i] for i in touched]):
                group = [entry for obj in objects for entry in touched[str(obj["id"])]]
                retry += self._upsert(objects, group, attempt, results)
            if not retry:
                break
            pending = retry
        return results

    def _upsert(
        self, objects: list[JSON], group: Sequence[Edit], attempt: int, results: dict[int, WriteResult]
    ) -> list[tuple[int, WriteOp]]:
        """Upsert one batch of edited items and answer its ops into ``results``; returns those to
        try again on a fresh read (Square refused the versions)."""
        key = self.idempotency_key((op.key for _, op, _, _ in group), salt=f":{attempt}")
        try:
            data = self._catalog_request(objects, key)
            errors = data.get("errors") or []
            if errors and not data.get("objects"):
                code, message, _ = error_info(data)
                raise PermanentError(message, code=code, status=400)
        except PermanentError as exc:
            if isinstance(exc, AuthError):
                raise
            if exc.code == "IDEMPOTENCY_KEY_REUSED":  # applied by an earlier call
                for n, op, obj_id, written in group:
                    results[n] = WriteResult(key=op.key, ok=True, channel_id=obj_id, written=written)
                return []
            if exc.code == "VERSION_MISMATCH" and attempt < _VERSION_RETRIES:
                return [(n, op) for n, op, _, _ in group]
            for n, op, _, _ in group:
                results[n] = WriteResult(key=op.key, ok=False, error=str(exc), code=exc.code)
            return []
        stored = versions(data.get("objects") or [])
        for n, op, obj_id, written in group:
            results[n] = WriteResult(
                key=op.key, ok=True, channel_id=obj_id, version=stored.get(obj_id), written=written
            )
        return []
