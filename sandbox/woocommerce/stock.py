"""Whose stock a product or variation shows, and the stock status WooCommerce derives from it.

A variation manages its own ``_stock``, inherits its parent's pool (``manage_stock: "parent"``)
or manages none; ``stock_status`` follows from the count and ``backorders``, and a variable
product's from its children (``WC_Product_Variation::get_manage_stock`` / ``get_stock_quantity``,
``WC_Product_Variable::get_stock_status``).
"""

from __future__ import annotations

from typing import Any

from sandbox.woocommerce.state import WooState


class WooStock(WooState):
    """The stock-reading rules: owner of the count, effective count, stock status."""

    def _effective_manage(self, record: dict[str, Any]) -> bool | str:
        if record.get("parent_id"):
            if record["manage_stock"]:
                return True
            parent = self.products.get(record["parent_id"])
            if parent and parent["manage_stock"]:
                return "parent"
            return False
        return bool(record["manage_stock"])

    def _stock_owner(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """The record whose ``_stock`` moves for ``record`` (itself, its parent, or none)."""
        managed = self._effective_manage(record)
        if managed is True:
            return record
        if managed == "parent":
            return self.products[record["parent_id"]]
        return None

    def _effective_stock(self, record: dict[str, Any]) -> int | None:
        owner = self._stock_owner(record)
        return None if owner is None else owner["stock_quantity"]

    def _stock_status(self, record: dict[str, Any]) -> str:
        if record.get("type") == "variable":
            children = [self.products[v] for v in record["variations"] if v in self.products]
            statuses = {self._stock_status(c) for c in children}
            if "instock" in statuses or not children:
                return "instock"
            return "onbackorder" if "onbackorder" in statuses else "outofstock"
        qty = self._effective_stock(record)
        if qty is None:
            return str(record["stock_status_override"])
        if qty > 0:
            return "instock"
        return "onbackorder" if record["backorders"] != "no" else "outofstock"
