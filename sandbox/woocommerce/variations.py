"""The ``/products/<id>/variations`` resource and ``GET /variations`` (WooCommerce >= 10.3)."""

from __future__ import annotations

from typing import Any

from sandbox.http import Request, Response, json_response
from sandbox.woocommerce.errors import WooApiError
from sandbox.woocommerce.products import WooProducts
from sandbox.woocommerce.wire import PREFIX, truthy


class WooVariations(WooProducts):
    """Variations of a variable product: list, read, create, update, delete, batch."""

    def _parent(self, pid: int) -> dict[str, Any]:
        parent = self.products.get(pid)
        if parent is None or parent["parent_id"]:
            raise WooApiError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
        return parent

    def _variation(self, pid: int, vid: int, status: int = 404) -> dict[str, Any]:
        record = self.products.get(vid)
        if record is None or record["parent_id"] != pid:
            raise WooApiError("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", status)
        return record

    def _list_variations(self, request: Request) -> Response:
        parent = self._parent(int(request.params["pid"]))
        items = [self.products[v] for v in parent["variations"] if v in self.products]
        items = self._filter_modified(request, self._filter_ids(request, self._filter_status(request, items)))
        self._sort(request, items, "date", "desc")
        chunk, headers = self._paginate(request, items, f"products/{parent['id']}/variations")
        return json_response([self._fields(request, self._variation_json(v)) for v in chunk], 200, headers)

    def _list_all_variations(self, request: Request) -> Response:
        """``GET /wc/v3/variations`` (WooCommerce >= 10.3): every variation, with ``parent_id``."""
        items = [r for r in self.products.values() if r["parent_id"]]
        items = self._filter_modified(request, self._filter_ids(request, self._filter_status(request, items)))
        self._sort(request, items, "date", "desc")
        chunk, headers = self._paginate(request, items, "variations")
        body = [
            self._fields(request, {**self._variation_json(v), "parent_id": v["parent_id"]}) for v in chunk
        ]
        return json_response(body, 200, headers)

    def _get_variation(self, request: Request) -> dict[str, Any]:
        record = self._variation(int(request.params["pid"]), int(request.params["id"]))
        return self._fields(request, self._variation_json(record))

    def _create_variation(self, pid: int, data: dict[str, Any]) -> dict[str, Any]:
        parent = self._parent(pid)
        record = self._new_variation_record(-1, pid, self.now())
        self._apply_fields(record, data, variation=True)
        record["id"] = self._post_id()
        if record["sku"]:
            self.sku_index[record["sku"]] = record["id"]
        self.products[record["id"]] = record
        parent["variations"].append(record["id"])
        self._product_event(record, "created")
        return self._variation_json(record)

    def _update_variation(self, pid: int, vid: int, data: dict[str, Any]) -> dict[str, Any]:
        record = self._variation(pid, vid, 400)
        self._apply_fields(record, data, variation=True)
        self._product_event(record, "updated")
        return self._variation_json(record)

    def _delete_variation(self, pid: int, vid: int) -> dict[str, Any]:
        record = self._variation(pid, vid)
        before = self._variation_json(record)
        self.products.pop(vid)
        if record["sku"]:
            self.sku_index.pop(record["sku"], None)
        parent = self.products[pid]
        parent["variations"] = [v for v in parent["variations"] if v != vid]
        return before

    def _create_variation_http(self, request: Request) -> Response:
        pid = int(request.params["pid"])
        data = self._create_variation(pid, self._body(request))
        return json_response(
            data, 201, {"Location": f"{self.url}{PREFIX}/products/{pid}/variations/{data['id']}"}
        )

    def _update_variation_http(self, request: Request) -> dict[str, Any]:
        return self._update_variation(
            int(request.params["pid"]), int(request.params["id"]), self._body(request)
        )

    def _delete_variation_http(self, request: Request) -> dict[str, Any]:
        if not truthy(self._arg(request, "force")):
            raise WooApiError(
                "woocommerce_rest_trash_not_supported", "Variations do not support trashing.", 501
            )
        return self._delete_variation(int(request.params["pid"]), int(request.params["id"]))

    def _batch_variations(self, request: Request) -> dict[str, Any]:
        pid = int(request.params["pid"])
        self._parent(pid)
        return self._batch(
            request,
            lambda d: self._create_variation(pid, d),
            lambda i, d: self._update_variation(pid, i, d),
            lambda i: self._delete_variation(pid, i),
        )
