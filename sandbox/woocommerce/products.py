"""The ``/products`` resource: listing, validation, SKU uniqueness, trash and batch."""

from __future__ import annotations

import copy
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.http import Request, Response, json_response
from sandbox.woocommerce.errors import WooApiError, invalid_param
from sandbox.woocommerce.search import search_terms, searched
from sandbox.woocommerce.webhooks import WooWebhooks
from sandbox.woocommerce.wire import PREFIX, is_int, truthy

PRODUCT_STATUSES = {"draft", "pending", "private", "publish", "future"}


class WooProducts(WooWebhooks):
    """Products: list, read, create, update, trash or delete, batch."""

    def _list_products(self, request: Request) -> Response:
        skus = self._list_arg(request, "sku")
        if skus:
            whole = self._arg(request, "sku") or ""
            wanted = set(skus) | {whole}
            items = [self.products[self.sku_index[s]] for s in wanted if s in self.sku_index]
        else:
            items = [r for r in self.products.values() if not r["parent_id"]]
        items = self._filter_ids(request, self._filter_status(request, items))
        parents = {int(i) for i in self._list_arg(request, "parent") if is_int(i)}
        if parents:
            items = [r for r in items if r["parent_id"] in parents]
        kind = self._arg(request, "type")
        if kind:
            items = [r for r in items if r.get("type", "variation") == kind]
        terms = search_terms(self._arg(request, "search") or "")
        if terms:
            items = [r for r in items if searched(r, terms)]
        items = self._filter_modified(request, items)
        self._sort(request, items, "date", "desc", shuffle_modified_ties=self.shuffle_product_ties)
        chunk, headers = self._paginate(request, items, "products")
        body = [self._fields(request, self._as_product_json(r)) for r in chunk]
        return json_response(body, 200, headers)

    def _product(self, pid: int, *, status: int = 404) -> dict[str, Any]:
        record = self.products.get(pid)
        if record is None or (record["status"] == "trash" and status == 400):
            raise WooApiError("woocommerce_rest_product_invalid_id", "Invalid ID.", status)
        return record

    def _get_product(self, request: Request) -> dict[str, Any]:
        return self._fields(request, self._as_product_json(self._product(int(request.params["id"]))))

    def _validate_types(self, data: dict[str, Any], *, variation: bool) -> None:
        string_fields = ["sku", "regular_price", "sale_price", "description", "status", "backorders"]
        if not variation:
            string_fields += ["name", "type", "short_description", "slug", "global_unique_id"]
        else:
            string_fields += ["global_unique_id"]
        for name in string_fields:
            if name in data and not isinstance(data[name], str):
                raise invalid_param(
                    name, f"{name} is not of type string.", "rest_invalid_type", {"param": name}
                )
        if (
            "stock_quantity" in data
            and data["stock_quantity"] is not None
            and not is_int(data["stock_quantity"])
        ):
            raise invalid_param(
                "stock_quantity",
                "stock_quantity is not of type integer.",
                "rest_invalid_type",
                {"param": "stock_quantity"},
            )
        if "manage_stock" in data and not isinstance(data["manage_stock"], bool):
            if not (variation and data["manage_stock"] == "parent"):
                raise invalid_param(
                    "manage_stock",
                    "manage_stock is not of type boolean.",
                    "rest_invalid_type",
                    {"param": "manage_stock"},
                )
        if "status" in data and data["status"] not in PRODUCT_STATUSES | {"trash"}:
            raise invalid_param(
                "status", "status is not one of draft, pending, private, publish, future.", "rest_not_in_enum"
            )
        if (
            "type" in data
            and not variation
            and data["type"] not in ("simple", "variable", "grouped", "external")
        ):
            raise invalid_param(
                "type", "type is not one of simple, grouped, external, variable.", "rest_not_in_enum"
            )

    def _check_sku(self, sku: str, own_id: int | None) -> None:
        if not sku:
            return
        holder = self.sku_index.get(sku)
        # WC_Product_Data_Store_CPT::is_existing_sku skips trashed posts: a trashed product's SKU
        # may be used again (the new product then holds it).
        if holder is not None and holder != own_id and self.products[holder]["status"] != "trash":
            n = 1
            while f"{sku}-{n}" in self.sku_index:
                n += 1
            raise WooApiError(
                "product_invalid_sku",
                "Invalid or duplicated SKU.",
                400,
                resource_id=holder,
                unique_sku=f"{sku}-{n}",
            )

    def _set_sku(self, record: dict[str, Any], sku: str) -> None:
        old = record["sku"]
        if old and self.sku_index.get(old) == record["id"]:
            del self.sku_index[old]
        record["sku"] = sku
        if sku:
            self.sku_index[sku] = record["id"]

    def _apply_fields(self, record: dict[str, Any], data: dict[str, Any], *, variation: bool) -> None:
        """Validate then apply ``data`` to ``record`` (nothing is applied when validation fails)."""
        self._validate_types(data, variation=variation)
        sku, gtin = self._checked_codes(record, data)
        if sku is not None:
            self._set_sku(record, sku)
        if gtin is not None:
            record["gtin"] = gtin
        simple_fields = [
            "description",
            "status",
            "regular_price",
            "sale_price",
            "backorders",
            "menu_order",
            "meta_data",
        ]
        if not variation:
            simple_fields += [
                "name",
                "short_description",
                "slug",
                "categories",
                "tags",
                "images",
                "default_attributes",
            ]
        for name in simple_fields:
            if name in data:
                record[name] = copy.deepcopy(data[name])
        if "attributes" in data:
            record["attributes"] = self._attributes(data["attributes"], variation=variation)
        if not variation and "type" in data and data["type"] in ("simple", "variable"):
            record["type"] = data["type"]
        if record.get("type") == "variable":
            record["regular_price"] = record["sale_price"] = ""
        if record["sale_price"] and record["regular_price"]:
            if Decimal(record["sale_price"]) >= Decimal(record["regular_price"]):
                record["sale_price"] = ""
        self._apply_stock(record, data, variation=variation)
        self._touch(record)

    def _checked_codes(self, record: dict[str, Any], data: dict[str, Any]) -> tuple[str | None, str | None]:
        """The SKU (stripped, unique among live products) and GTIN (cleaned, unique) ``data`` sets, after
        checking its prices parse; None for a code it does not set."""
        sku = data.get("sku")
        if sku is not None:
            sku = sku.strip()
            self._check_sku(sku, record["id"])
        gtin = data.get("global_unique_id")
        if gtin:
            gtin = re.sub(r"[^0-9Xx-]", "", gtin)
            clash = [r for r in self.products.values() if r["gtin"] == gtin and r["id"] != record["id"]]
            if clash:
                raise WooApiError(
                    "product_invalid_global_unique_id", "Invalid or duplicated GTIN, UPC, EAN or ISBN.", 400
                )
        for price_field in ("regular_price", "sale_price"):
            if data.get(price_field):
                try:
                    Decimal(data[price_field])
                except InvalidOperation as exc:
                    raise WooApiError(
                        "rest_invalid_param", f"Invalid parameter(s): {price_field}", 400
                    ) from exc
        return sku, gtin

    def _apply_stock(self, record: dict[str, Any], data: dict[str, Any], *, variation: bool) -> None:
        """``manage_stock``, ``stock_status``, ``low_stock_amount`` and ``stock_quantity`` from ``data``."""
        if "manage_stock" in data:
            record["manage_stock"] = data["manage_stock"] is True
        if "stock_status" in data:
            record["stock_status_override"] = data["stock_status"]
        if "low_stock_amount" in data:
            record["low_stock_amount"] = data["low_stock_amount"]
        # Stock is ignored unless the product manages it (after this request's manage_stock). For a
        # variation that is ``get_manage_stock()`` in view context, so "parent" counts as managing:
        # the value lands in the variation's own _stock, which nothing shows while the parent's pool
        # is inherited, and the parent's stock does not move (WC_REST_Product_Variations_Controller::
        # prepare_object_for_database; WC_Product_Variation::get_manage_stock / get_stock_quantity).
        managed = self._effective_manage(record) if variation else record["manage_stock"]
        if "stock_quantity" in data and managed and data["stock_quantity"] is not None:
            record["stock_quantity"] = int(data["stock_quantity"])
        if not managed:
            record["stock_quantity"] = None
        elif record["stock_quantity"] is None and managed is True:
            record["stock_quantity"] = 0

    @staticmethod
    def _attributes(raw: Any, *, variation: bool) -> list[dict[str, Any]]:
        """Attributes as WooCommerce stores them: ``id`` 0 for local ones, defaults filled in."""
        out: list[dict[str, Any]] = []
        for n, attr in enumerate(raw if isinstance(raw, list) else []):
            if not isinstance(attr, dict):
                continue
            name = str(attr.get("name", ""))
            if variation:
                out.append(
                    {"id": int(attr.get("id") or 0), "name": name, "option": str(attr.get("option", ""))}
                )
            else:
                out.append(
                    {
                        "id": int(attr.get("id") or 0),
                        "name": name,
                        "slug": name.lower(),
                        "position": int(attr.get("position", n)),
                        "visible": bool(attr.get("visible", True)),
                        "variation": bool(attr.get("variation", False)),
                        "options": [str(o) for o in attr.get("options") or []],
                    }
                )
        return out

    def _create_product(self, data: dict[str, Any]) -> dict[str, Any]:
        kind = data.get("type", "simple")
        name = data.get("name", "Product")
        if not isinstance(name, str):
            raise invalid_param("name", "name is not of type string.", "rest_invalid_type", {"param": "name"})
        record = self._new_product_record(0, name, kind if isinstance(kind, str) else "simple", self.now())
        record["id"] = -1
        self._apply_fields(record, data, variation=False)
        record["id"] = self._post_id()
        if record["sku"]:
            self.sku_index.pop(record["sku"], None)
            self.sku_index[record["sku"]] = record["id"]
        self.products[record["id"]] = record
        self._product_event(record, "created")
        return self._product_json(record)

    def _update_product(self, pid: int, data: dict[str, Any]) -> dict[str, Any]:
        record = self._product(pid, status=400)
        if record["parent_id"]:
            raise WooApiError(
                "woocommerce_rest_invalid_product_id",
                "To manipulate product variations you should use the "
                "/products/&lt;product_id&gt;/variations/&lt;id&gt; endpoint.",
                404,
            )
        self._apply_fields(record, data, variation=False)
        self._product_event(record, "updated")
        return self._product_json(record)

    def _delete_product(self, pid: int, force: bool) -> dict[str, Any]:
        record = self._product(pid)
        before = self._as_product_json(record)
        if not force:
            if record["status"] == "trash":
                raise WooApiError(
                    "woocommerce_rest_already_trashed", "The product has already been deleted.", 410
                )
            # wp_trash_post fires WC_Post_Data::trash_post first, which trashes the variations
            # (delete_variations($id, false)); then the product itself. Both move the modified date.
            for vid in record.get("variations", []):
                child = self.products.get(vid)
                if child is not None and child["status"] != "trash":
                    child["status"] = "trash"
                    self._touch(child)
            record["status"] = "trash"
            self._touch(record)
            self._product_event(record, "deleted")
            return self._as_product_json(record)
        for vid in record.get("variations", []):
            child = self.products.pop(vid, None)
            if child and child["sku"]:
                self.sku_index.pop(child["sku"], None)
        self.products.pop(pid)
        if record["sku"]:
            self.sku_index.pop(record["sku"], None)
        return before  # force deletes fire no product.deleted (issue #28541)

    def _create_product_http(self, request: Request) -> Response:
        data = self._create_product(self._body(request))
        return json_response(data, 201, {"Location": f"{self.url}{PREFIX}/products/{data['id']}"})

    def _update_product_http(self, request: Request) -> dict[str, Any]:
        return self._update_product(int(request.params["id"]), self._body(request))

    def _delete_product_http(self, request: Request) -> dict[str, Any]:
        return self._delete_product(int(request.params["id"]), truthy(self._arg(request, "force")))

    def _batch_products(self, request: Request) -> dict[str, Any]:
        return self._batch(
            request, self._create_product, self._update_product, lambda i: self._delete_product(i, True)
        )
