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

from collections.abc import Iterable, Sequence

from adapters.base import (
    ArchiveProduct,
    AuthError,
    CreateProduct,
    PermanentError,
    UpdateProduct,
    UpdateVariant,
    WriteOp,
    WriteResult,
)
from adapters.square_catalog import SquareCatalog
from adapters.square_client import error_info
from adapters.square_values import JSON
from bridge.models import ChannelVariant, Money, ProductStatus

__all__ = ["SquareCatalogWrites"]

_CATALOG_BATCH = 1000
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
            if batch and size + weight > _CATALOG_BATCH:
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
        objects: list[JSON] = []
        for i, (_, op) in enumerate(batch):
            product = op.product
            item_id = f"#item{i}"
            item_data: JSON = {
                "name": product.name,
                "is_archived": product.status == ProductStatus.ARCHIVED,
                "variations": [
                    {
                        "type": "ITEM_VARIATION",
                        "id": f"#item{i}var{j}",
                        "item_variation_data": self._variation_data(item_id, variant),
                    }
                    for j, variant in enumerate(product.variants)
                ],
            }
            if product.description:
                item_data["description"] = product.description
            objects.append({"type": "ITEM", "id": item_id, "item_data": item_data})
        key = self.idempotency_key(op.key for _, op in batch)
        try:
            data = self._catalog_request(objects, key)
        except PermanentError as exc:
            if isinstance(exc, AuthError):
                raise
            if len(batch) > 1:  # all-or-nothing: isolate the culprit
                out: dict[int, WriteResult] = {}
                for one in batch:
                    out.update(self._create_batch([one]))
                return out
            return {n: WriteResult(key=op.key, ok=False, error=str(exc), code=exc.code) for n, op in batch}
        batch_errors = data.get("errors") or []
        mapping: dict[str, str] = {
            str(m["client_object_id"]): str(m["object_id"]) for m in data.get("id_mappings") or []
        }
        versions = {str(o["id"]): o for o in data.get("objects") or []}
        results: dict[int, WriteResult] = {}
        for i, (n, op) in enumerate(batch):
            new_id = mapping.get(f"#item{i}")
            if new_id is None:
                code, message, _ = error_info({"errors": batch_errors})
                results[n] = WriteResult(key=op.key, ok=False, error=message, code=code)
                continue
            ids = {
                str(variant.sku): mapping[f"#item{i}var{j}"]
                for j, variant in enumerate(op.product.variants)
                if variant.sku and f"#item{i}var{j}" in mapping
            }
            item = versions.get(new_id, {})
            results[n] = WriteResult(
                key=op.key,
                ok=True,
                channel_id=new_id,
                ids=ids,
                version=str(item.get("version")) if item.get("version") is not None else None,
                written={"name": op.product.name},
            )
        return results

    @staticmethod
    def _variation_data(item_id: str, variant: ChannelVariant) -> JSON:
        data: JSON = {
            "item_id": item_id,
            "name": variant.name or "Regular",
            "track_inventory": variant.manage_stock,
        }
        if variant.sku:
            data["sku"] = variant.sku
        if variant.gtin:
            data["upc"] = variant.gtin
        if variant.price is not None:
            data["pricing_type"] = "FIXED_PRICING"
            data["price_money"] = {"amount": variant.price.minor_units(), "currency": variant.price.currency}
        else:
            data["pricing_type"] = "VARIABLE_PRICING"
        return data

    @staticmethod
    def _item_id(op: WriteOp) -> str:
        if isinstance(op, UpdateVariant | UpdateProduct | ArchiveProduct):
            return op.product_id
        raise TypeError(op)

    def _mutate(self, item: JSON, op: WriteOp) -> tuple[str, JSON]:
        """Apply ``op`` to the retrieved ``item`` in place; returns (touched object id, what we wrote)."""
        data = item.setdefault("item_data", {})
        if isinstance(op, ArchiveProduct):
            data["is_archived"] = True
            return str(item["id"]), {"status": ProductStatus.ARCHIVED.value}
        if isinstance(op, UpdateProduct):
            written: JSON = {}
            for name, value in op.fields.items():
                if name == "name":
                    data["name"] = str(value)
                elif name == "description":
                    data["description"] = value
                    data.pop("description_html", None)
                elif name == "status":
                    data["is_archived"] = ProductStatus(value) == ProductStatus.ARCHIVED
                else:
                    raise PermanentError(f"unsupported product field {name!r}", code="UNSUPPORTED_FIELD")
                written[name] = value
            return str(item["id"]), written
        assert isinstance(op, UpdateVariant)
        for var in data.get("variations") or []:
            if str(var.get("id")) == op.variant_id:
                vdata = var.setdefault("item_variation_data", {})
                written = {}
                for name, value in op.fields.items():
                    if name == "sku":
                        vdata["sku"] = value
                    elif name == "gtin":
                        vdata["upc"] = value
                    elif name == "name":
                        vdata["name"] = value
                    elif name == "price":
                        money = value if isinstance(value, Money) else Money.model_validate(value)
                        vdata["pricing_type"] = "FIXED_PRICING"
                        vdata["price_money"] = {"amount": money.minor_units(), "currency": money.currency}
                        value = {"amount": str(money.amount), "currency": money.currency}
                    elif name == "status":
                        vdata["sellable"] = ProductStatus(value) != ProductStatus.ARCHIVED
                    elif name == "manage_stock":
                        vdata["track_inventory"] = bool(value)
                    else:
                        raise PermanentError(f"unsupported variant field {name!r}", code="UNSUPPORTED_FIELD")
                    written[name] = value
                return op.variant_id, written
        raise PermanentError(f"variation {op.variant_id} not in item {op.product_id}", code="NOT_FOUND")

    def _update_items(self, ops: Sequence[tuple[int, WriteOp]]) -> dict[int, WriteResult]:
        """Re-read the items, apply the ops, upsert the full items with their versions."""
        results: dict[int, WriteResult] = {}
        pending = list(ops)
        for attempt in range(_VERSION_RETRIES + 1):
            item_ids = sorted({self._item_id(op) for _, op in pending})
            current, _ = self._retrieve(item_ids, include_deleted=False)
            items = {str(o["id"]): o for o in current if o.get("type") == "ITEM"}
            touched: dict[str, list[tuple[int, WriteOp, str, JSON]]] = {}
            for n, op in pending:
                item = items.get(self._item_id(op))
                if item is None:
                    results[n] = WriteResult(key=op.key, ok=False, code="NOT_FOUND", error="item not found")
                    continue
                try:
                    obj_id, written = self._mutate(item, op)
                except (PermanentError, ValueError) as exc:
                    results[n] = WriteResult(
                        key=op.key,
                        ok=False,
                        error=str(exc),
                        code=getattr(exc, "code", None) or "INVALID_VALUE",
                    )
                    continue
                touched.setdefault(str(item["id"]), []).append((n, op, obj_id, written))
            retry: list[tuple[int, WriteOp]] = []
            batches = self._pack([items[i] for i in touched])
            for objects in batches:
                group = [entry for obj in objects for entry in touched[str(obj["id"])]]
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
                        continue
                    if exc.code == "VERSION_MISMATCH" and attempt < _VERSION_RETRIES:
                        retry.extend((n, op) for n, op, _, _ in group)
                        continue
                    for n, op, _, _ in group:
                        results[n] = WriteResult(key=op.key, ok=False, error=str(exc), code=exc.code)
                    continue
                stored = self._versions(data.get("objects") or [])
                for n, op, obj_id, written in group:
                    results[n] = WriteResult(
                        key=op.key, ok=True, channel_id=obj_id, version=stored.get(obj_id), written=written
                    )
            if not retry:
                break
            pending = retry
        return results

    @staticmethod
    def _versions(objects: Iterable[JSON]) -> dict[str, str]:
        out: dict[str, str] = {}
        for obj in objects:
            out[str(obj["id"])] = str(obj.get("version"))
            for var in (obj.get("item_data") or {}).get("variations") or []:
                out[str(var["id"])] = str(var.get("version"))
        return out

    @staticmethod
    def _pack(items: list[JSON]) -> list[list[JSON]]:
        """Whole items into batches of at most 1,000 objects (an item counts with its variations)."""
        batches: list[list[JSON]] = []
        size = 0
        for item in items:
            weight = 1 + len((item.get("item_data") or {}).get("variations") or [])
            if not batches or size + weight > _CATALOG_BATCH:
                batches.append([])
                size = 0
            batches[-1].append(item)
            size += weight
        return batches
