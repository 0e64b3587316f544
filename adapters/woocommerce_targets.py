"""WooCommerce resources re-read one by one, for the daemon's event path (:mod:`bridge.events`).

A webhook names an order or a product (a variation's delivery names the variation); each is
re-read by id (``GET orders/<id>``, ``GET products/<id>`` with its variations), never taken from
the payload. An order gives the stock events of its lines, built exactly as polling builds them
(:meth:`WooCommerceOrders.order_events`: same source ids, so reading it twice adds nothing). A
product gives its variants with fresh counts (WooCommerce's stock is part of its catalogue). A
resource deleted since (404) is reported missing: nothing to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.base import PermanentError
from adapters.woocommerce_catalog import WooCommerceCatalog
from adapters.woocommerce_orders import WooCommerceOrders
from adapters.woocommerce_since import PER_PAGE
from adapters.woocommerce_wire import checked_order, checked_refunds
from bridge.targets import TargetRef, Targets

__all__ = ["WooCommerceTargets"]

_TARGETED = {"order", "product", "variant"}


class WooCommerceTargets(WooCommerceCatalog, WooCommerceOrders):
    """``read_targets`` of :class:`adapters.woocommerce.WooCommerceAdapter`."""

    def read_targets(self, refs: Sequence[TargetRef]) -> Targets | None:
        if any(ref.resource not in _TARGETED for ref in refs):
            return None  # a customer, or something we cannot re-read by id: the poll covers it
        start = self.calls
        out = Targets()
        products: dict[str, TargetRef] = {}
        for ref in refs:
            if ref.resource == "order":
                self._target_order(ref, out)
            else:  # a product, a variation (its parent holds it), or a variant to count again
                products.setdefault(ref.parent_id or ref.resource_id, ref)
        self._target_products(products, out)
        out.calls = self.calls - start
        return out

    def _get_one(self, endpoint: str) -> dict[str, Any] | None:
        """The resource, or ``None`` when WooCommerce no longer has it."""
        try:
            data = self._request("GET", endpoint, params={}).json()
        except PermanentError as exc:
            if exc.status in (400, 404, 410):
                return None
            raise
        return self._stamped(data) if isinstance(data, dict) else None

    def _target_order(self, ref: TargetRef, out: Targets) -> None:
        raw = self._get_one(f"orders/{ref.resource_id}")
        order, _skipped = checked_order(raw) if raw is not None else (None, [])
        if order is None:
            out.missing.append(ref)
            return
        refunds: list[dict[str, Any]] = []
        if order.get("refunds"):
            refunds, _ = checked_refunds(order["id"], self._get_all(f"orders/{order['id']}/refunds", {}))
        events = self.order_events(order, refunds)
        out.events.extend(events)
        out.variant_ids.update(ev.variant_id for ev in events if ev.variant_id)

    def _target_products(self, wanted: dict[str, TargetRef], out: Targets) -> None:
        """The products by id, 100 a call (``include=``), each variable one with its variations; a
        variation's id (a variation's webhook) is followed to its parent."""
        found: dict[str, dict[str, Any]] = {}
        parents: dict[str, str] = {}
        ids = sorted(pid for pid in wanted if pid.isdigit())
        while ids:
            batch, ids = ids[:PER_PAGE], ids[PER_PAGE:]
            for item in self._get_all("products", self._including([int(pid) for pid in batch])):
                found[str(item["id"])] = self._stamped(item)
            for pid in batch:
                if pid not in found and (variation := self._get_one(f"products/{pid}")) is not None:
                    parents[pid] = str(variation.get("parent_id") or "")
            ids += sorted({p for p in parents.values() if p and p not in found and p not in wanted})
        for pid, ref in sorted(wanted.items()):
            data = found.get(pid) or found.get(parents.get(pid, ""))
            if data is None:
                out.missing.append(ref)
                continue
            variations = [self._stamped(v) for v in self._variations_of(data)]
            products = self._converted(data, variations, [])
            out.products.extend(p for p in products if p not in out.products)
            out.variant_ids.update(v.channel_id for p in products for v in p.variants)
