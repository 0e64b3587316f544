"""Wire views: the JSON WooCommerce answers for each kind of record.

Products, variations (also product-shaped, ``type: variation``), customers, orders, line items,
refunds and webhooks, rendered from the internal records with every field the real API sends.
"""

from __future__ import annotations

import copy
import hashlib
from decimal import Decimal
from typing import Any

from sandbox.woocommerce.stock import WooStock
from sandbox.woocommerce.wire import PREFIX, fmt_date, money

TOPIC_HOOKS = {
    "customer.created": ["user_register", "woocommerce_created_customer", "woocommerce_new_customer"],
    "customer.updated": ["profile_update", "woocommerce_update_customer"],
    "customer.deleted": ["delete_user"],
    "order.created": ["woocommerce_new_order"],
    "order.updated": [
        "woocommerce_update_order",
        "woocommerce_order_refunded",
        "woocommerce_delete_order_refund",
    ],
    "order.deleted": ["wp_trash_post", "woocommerce_trash_order"],
    "order.restored": ["untrashed_post", "woocommerce_untrash_order"],
    "product.created": [
        "woocommerce_process_product_meta",
        "woocommerce_new_product",
        "woocommerce_new_product_variation",
    ],
    "product.updated": [
        "woocommerce_process_product_meta",
        "woocommerce_update_product",
        "woocommerce_update_product_variation",
    ],
    "product.deleted": ["wp_trash_post"],
    "product.restored": ["untrashed_post"],
}


class WooViews(WooStock):
    """Render internal records as the REST API shows them."""

    def _link(self, path: str) -> list[dict[str, str]]:
        return [{"href": f"{self.url}{PREFIX}{path}"}]

    def _price(self, record: dict[str, Any]) -> str:
        if record.get("type") == "variable":
            prices = [
                Decimal(self._price(self.products[v]))
                for v in record["variations"]
                if v in self.products and self._price(self.products[v])
            ]
            return money(min(prices)) if prices else ""
        return str(record["sale_price"] or record["regular_price"])

    def _product_json(self, p: dict[str, Any]) -> dict[str, Any]:
        variable = p["type"] == "variable"
        price = self._price(p)
        stock_status = self._stock_status(p)
        return {
            "id": p["id"],
            "name": p["name"],
            "slug": p["slug"],
            "permalink": f"{self.url}/product/{p['slug']}/",
            "date_created": self._local(p["created"]),
            "date_created_gmt": fmt_date(p["created"]),
            "date_modified": self._local(p["modified"]),
            "date_modified_gmt": fmt_date(p["modified"]),
            "type": p["type"],
            "status": p["status"],
            "featured": False,
            "catalog_visibility": "visible",
            "description": p["description"],
            "short_description": p["short_description"],
            "sku": p["sku"],
            "price": price,
            "regular_price": "" if variable else p["regular_price"],
            "sale_price": "" if variable else p["sale_price"],
            "date_on_sale_from": None,
            "date_on_sale_from_gmt": None,
            "date_on_sale_to": None,
            "date_on_sale_to_gmt": None,
            "price_html": f'<span class="woocommerce-Price-amount amount">{price}</span>' if price else "",
            "on_sale": bool(p["sale_price"]) and not variable,
            "purchasable": bool(price),
            "total_sales": p["total_sales"],
            "virtual": False,
            "downloadable": False,
            "downloads": [],
            "download_limit": -1,
            "download_expiry": -1,
            "external_url": "",
            "button_text": "",
            "tax_status": "taxable",
            "tax_class": "",
            "manage_stock": bool(p["manage_stock"]),
            "stock_quantity": p["stock_quantity"] if p["manage_stock"] else None,
            "backorders": p["backorders"],
            "backorders_allowed": p["backorders"] != "no",
            "backordered": False,
            "low_stock_amount": p["low_stock_amount"],
            "sold_individually": False,
            "weight": "",
            "dimensions": {"length": "", "width": "", "height": ""},
            "shipping_required": True,
            "shipping_taxable": True,
            "shipping_class": "",
            "shipping_class_id": 0,
            "reviews_allowed": True,
            "average_rating": "0.00",
            "rating_count": 0,
            "related_ids": [],
            "upsell_ids": [],
            "cross_sell_ids": [],
            "parent_id": 0,
            "purchase_note": "",
            "categories": copy.deepcopy(p["categories"]),
            "tags": copy.deepcopy(p["tags"]),
            "brands": [],
            "images": copy.deepcopy(p["images"]),
            "attributes": copy.deepcopy(p["attributes"]),
            "default_attributes": copy.deepcopy(p["default_attributes"]),
            # get_children(): published and private variations only (a trashed one is not listed)
            "variations": [v for v in p["variations"] if self._live_child(v)],
            "grouped_products": [],
            "menu_order": p["menu_order"],
            "meta_data": copy.deepcopy(p["meta_data"]),
            "stock_status": stock_status,
            "has_options": variable,
            "post_password": "",
            "global_unique_id": p["gtin"],
            "_links": {"self": self._link(f"/products/{p['id']}"), "collection": self._link("/products")},
        }

    def _variation_json(self, v: dict[str, Any]) -> dict[str, Any]:
        parent = v["parent_id"]
        managed = self._effective_manage(v)
        price = self._price(v)
        options = "&".join(f"attribute_{a['name'].lower()}={a['option']}" for a in v["attributes"])
        return {
            "id": v["id"],
            "date_created": self._local(v["created"]),
            "date_created_gmt": fmt_date(v["created"]),
            "date_modified": self._local(v["modified"]),
            "date_modified_gmt": fmt_date(v["modified"]),
            "description": v["description"],
            "permalink": f"{self.url}/product/{self.products[parent]['slug']}/?{options}",
            "sku": v["sku"],
            "global_unique_id": v["gtin"],
            "price": price,
            "regular_price": v["regular_price"],
            "sale_price": v["sale_price"],
            "date_on_sale_from": None,
            "date_on_sale_from_gmt": None,
            "date_on_sale_to": None,
            "date_on_sale_to_gmt": None,
            "on_sale": bool(v["sale_price"]),
            "status": v["status"],
            "purchasable": bool(price),
            "virtual": False,
            "downloadable": False,
            "downloads": [],
            "download_limit": -1,
            "download_expiry": -1,
            "tax_status": "taxable",
            "tax_class": "",
            "manage_stock": managed,
            "stock_quantity": self._effective_stock(v),
            "stock_status": self._stock_status(v),
            "backorders": v["backorders"],
            "backorders_allowed": v["backorders"] != "no",
            "backordered": False,
            "low_stock_amount": v["low_stock_amount"],
            "weight": "",
            "dimensions": {"length": "", "width": "", "height": ""},
            "shipping_class": "",
            "shipping_class_id": 0,
            "image": None,
            "attributes": copy.deepcopy(v["attributes"]),
            "menu_order": v["menu_order"],
            "meta_data": copy.deepcopy(v["meta_data"]),
            "_links": {
                "self": self._link(f"/products/{parent}/variations/{v['id']}"),
                "collection": self._link(f"/products/{parent}/variations"),
                "up": self._link(f"/products/{parent}"),
            },
        }

    def _live_child(self, vid: int) -> bool:
        child = self.products.get(vid)
        return child is not None and child["status"] != "trash"

    def _as_product_json(self, record: dict[str, Any]) -> dict[str, Any]:
        """``/products/<id>`` for any id: a variation comes back product-shaped with ``type: variation``."""
        if not record.get("parent_id"):
            return self._product_json(record)
        parent = self.products[record["parent_id"]]
        data = self._variation_json(record)
        base = self._product_json(parent)
        base.update({k: data[k] for k in data if k in base or k == "image"})
        base.pop("image", None)
        base.update(
            id=record["id"],
            name=f"{parent['name']} - {', '.join(a['option'] for a in record['attributes'])}",
            type="variation",
            parent_id=parent["id"],
            variations=[],
            attributes=[
                {"id": a["id"], "name": a["name"], "option": a["option"]} for a in record["attributes"]
            ],
            _links={
                "self": self._link(f"/products/{record['id']}"),
                "up": self._link(f"/products/{parent['id']}"),
            },
        )
        return base

    def _customer_json(self, c: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": c["id"],
            "date_created": self._local(c["created"]),
            "date_created_gmt": fmt_date(c["created"]),
            "date_modified": self._local(c["modified"]),
            "date_modified_gmt": fmt_date(c["modified"]),
            "email": c["email"],
            "first_name": c["first_name"],
            "last_name": c["last_name"],
            "role": "customer",
            "username": c["username"],
            "billing": dict(c["billing"]),
            "shipping": dict(c["shipping"]),
            "is_paying_customer": c["is_paying_customer"],
            "avatar_url": "https://secure.gravatar.com/avatar/"
            + hashlib.md5(c["email"].encode(), usedforsecurity=False).hexdigest()
            + "?s=96",
            "meta_data": copy.deepcopy(c["meta_data"]),
            "_links": {"self": self._link(f"/customers/{c['id']}"), "collection": self._link("/customers")},
        }

    def _order_json(self, o: dict[str, Any]) -> dict[str, Any]:
        total = sum((Decimal(li["total"]) for li in o["line_items"]), Decimal(0))
        return {
            "id": o["id"],
            "parent_id": 0,
            "number": str(o["id"]),
            "order_key": o["order_key"],
            "created_via": o["created_via"],
            "version": "9.8.0",
            "status": o["status"],
            "currency": o["currency"],
            "date_created": self._local(o["created"]),
            "date_created_gmt": fmt_date(o["created"]),
            "date_modified": self._local(o["modified"]),
            "date_modified_gmt": fmt_date(o["modified"]),
            "discount_total": "0.00",
            "discount_tax": "0.00",
            "shipping_total": "0.00",
            "shipping_tax": "0.00",
            "cart_tax": "0.00",
            "total": money(total),
            "total_tax": "0.00",
            "prices_include_tax": False,
            "customer_id": o["customer_id"],
            "customer_ip_address": "",
            "customer_user_agent": "",
            "customer_note": o["customer_note"],
            "billing": dict(o["billing"]),
            "shipping": dict(o["shipping"]),
            "payment_method": o["payment_method"],
            "payment_method_title": o["payment_method_title"],
            "transaction_id": o["transaction_id"],
            "date_paid": self._local(o["date_paid"]),
            "date_paid_gmt": fmt_date(o["date_paid"]),
            "date_completed": self._local(o["date_completed"]),
            "date_completed_gmt": fmt_date(o["date_completed"]),
            "cart_hash": "",
            "meta_data": copy.deepcopy(o["meta_data"]),
            "line_items": [self._line_json(li) for li in o["line_items"]],
            "tax_lines": [],
            "shipping_lines": [],
            "fee_lines": [],
            "coupon_lines": [],
            "refunds": [
                {
                    "id": rid,
                    "reason": self.refunds[rid]["reason"],
                    "total": "-" + money(self.refunds[rid]["amount"]),
                }
                for rid in o["refunds"]
                if rid in self.refunds
            ],
            "_links": {"self": self._link(f"/orders/{o['id']}"), "collection": self._link("/orders")},
        }

    @staticmethod
    def _line_json(li: dict[str, Any]) -> dict[str, Any]:
        qty = li["quantity"]
        total = Decimal(li["total"])
        price: int | float = float(total / qty) if qty else 0
        if price == int(price):
            price = int(price)
        return {
            "id": li["id"],
            "name": li["name"],
            "product_id": li["product_id"],
            "variation_id": li["variation_id"],
            "quantity": qty,
            "tax_class": "",
            "subtotal": li["total"],
            "subtotal_tax": "0.00",
            "total": li["total"],
            "total_tax": "0.00",
            "taxes": [],
            "meta_data": [
                {**m, "display_key": m["key"], "display_value": m["value"]} for m in li.get("meta_data", [])
            ],
            "sku": li["sku"],
            "price": price,
            "image": {"id": "", "src": ""},
            "parent_name": li["parent_name"],
        }

    def _refund_json(self, r: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": r["id"],
            "date_created": self._local(r["created"]),
            "date_created_gmt": fmt_date(r["created"]),
            "amount": money(r["amount"]),
            "reason": r["reason"],
            "refunded_by": 1,
            "refunded_payment": False,
            "meta_data": [],
            "line_items": [self._line_json(li) for li in r["line_items"]],
            "_links": {
                "self": self._link(f"/orders/{r['order_id']}/refunds/{r['id']}"),
                "collection": self._link(f"/orders/{r['order_id']}/refunds"),
                "up": self._link(f"/orders/{r['order_id']}"),
            },
        }

    def _webhook_json(self, w: dict[str, Any], *, edit: bool = False) -> dict[str, Any]:
        resource, _, event = w["topic"].partition(".")
        data = {
            "id": w["id"],
            "name": w["name"],
            "status": w["status"],
            "topic": w["topic"],
            "resource": resource,
            "event": event,
            "hooks": TOPIC_HOOKS.get(w["topic"], []),
            "delivery_url": w["delivery_url"],
            "date_created": self._local(w["created"]),
            "date_created_gmt": fmt_date(w["created"]),
            "date_modified": self._local(w["modified"]),
            "date_modified_gmt": fmt_date(w["modified"]),
            "_links": {"self": self._link(f"/webhooks/{w['id']}"), "collection": self._link("/webhooks")},
        }
        if edit:
            data["secret"] = w["secret"]
        return data
