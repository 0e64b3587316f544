"""Orders: a COMPLETED order decrements tracked stock as an ``IN_STOCK -> SOLD`` adjustment;
retrieve and search.
"""

from __future__ import annotations

import base64
import uuid
from decimal import Decimal, InvalidOperation

from sandbox.http import Request
from sandbox.square.errors import SquareError
from sandbox.square.inventory import SquareInventory
from sandbox.square.paging import next_cursor, page_limit
from sandbox.square.wire import JSON, fmt_ms, fmt_qty, new_id, parse_ms


class SquareOrders(SquareInventory):
    """Orders endpoints."""

    def _create_order(self, request: Request) -> JSON:
        body: JSON = request.json()
        order_in = body.get("order")
        if not isinstance(order_in, dict):
            raise SquareError(400, "MISSING_REQUIRED_PARAMETER", "order is required.", field="order")
        loc_id = order_in.get("location_id")
        if loc_id not in {loc["id"] for loc in self._locations}:
            raise SquareError(400, "INVALID_VALUE", "Unknown location_id.", field="order.location_id")
        state = order_in.get("state", "OPEN")
        if state not in ("OPEN", "COMPLETED", "DRAFT"):
            raise SquareError(400, "INVALID_VALUE", "Invalid state.", field="order.state")
        now = self._tick()
        stamp = fmt_ms(now)
        order_id = new_id()
        lines: list[JSON] = []
        total = 0
        currency = "USD"
        for n, line in enumerate(order_in.get("line_items") or []):
            out_line = self._order_line(n, line, currency)
            currency = str(out_line["total_money"]["currency"])
            total += int(out_line["total_money"]["amount"])
            lines.append(out_line)
        order: JSON = {
            "id": order_id,
            "location_id": loc_id,
            "line_items": lines,
            "state": state,
            "version": 1,
            "created_at": stamp,
            "updated_at": stamp,
            "total_money": {"amount": total, "currency": currency},
            "source": {"name": str((order_in.get("source") or {}).get("name", "API"))},
        }
        for attr in ("reference_id", "customer_id"):
            if order_in.get(attr):
                order[attr] = order_in[attr]
        if state == "COMPLETED":
            order["closed_at"] = stamp
            self._sell_stock(order_id, lines, str(loc_id), now, stamp)
        self._orders[order_id] = order
        summary = {
            "order_id": order_id,
            "version": 1,
            "location_id": loc_id,
            "state": state,
            "created_at": stamp,
        }
        self._emit(
            "order.created",
            {"type": "order_created", "id": order_id, "object": {"order_created": summary}},
            location_id=str(loc_id),
        )
        return {"order": dict(order)}

    def add_order(self, location_id: str, amount: int, customer_id: str | None = None) -> str:
        """A completed till sale of a custom amount (minor units) recorded directly in state: no
        HTTP, no webhook, no stock moved. An order history from before shopbridge, for the bench."""
        with self.lock:
            stamp = fmt_ms(self._tick())
            money = {"amount": amount, "currency": "USD"}
            line: JSON = {"uid": uuid.uuid4().hex[:22], "quantity": "1", "name": "Custom amount"}
            line.update(item_type="CUSTOM_AMOUNT", base_price_money=money, total_money=money)
            order: JSON = {
                "id": new_id(),
                "location_id": location_id,
                "line_items": [line],
                "state": "COMPLETED",
                "version": 1,
                "created_at": stamp,
                "updated_at": stamp,
                "closed_at": stamp,
                "total_money": dict(money),
                "source": {"name": "Square Point of Sale"},
            }
            if customer_id:
                order["customer_id"] = customer_id
            self._orders[order["id"]] = order
            return str(order["id"])

    def _order_line(self, n: int, line: JSON, currency: str) -> JSON:
        """One line item as Square stores it: a catalogue variation's names, version and price (unless
        the line sets ``base_price_money``), or a custom amount; ``currency`` is the previous line's."""
        try:
            qty = Decimal(str(line.get("quantity")))
        except InvalidOperation as exc:
            raise SquareError(
                400, "INVALID_VALUE", "Invalid quantity.", field=f"order.line_items[{n}].quantity"
            ) from exc
        out_line: JSON = {"uid": uuid.uuid4().hex[:22], "quantity": fmt_qty(qty)}
        var_id = line.get("catalog_object_id")
        price = line.get("base_price_money")
        if var_id:
            var = self._objects.get(str(var_id))
            if var is None or var["is_deleted"] or var["type"] != "ITEM_VARIATION":
                raise SquareError(
                    400, "INVALID_VALUE", "Unknown catalog_object_id.", field=f"order.line_items[{n}]"
                )
            data = var["item_variation_data"]
            item = self._objects.get(str(data.get("item_id")))
            out_line.update(
                {
                    "catalog_object_id": var_id,
                    "catalog_version": var["version"],
                    "variation_name": data.get("name", ""),
                    "name": item["item_data"].get("name", "") if item else line.get("name", ""),
                    "item_type": "ITEM",
                }
            )
            price = price or data.get("price_money")
        else:
            out_line.update({"name": line.get("name", "Custom amount"), "item_type": "CUSTOM_AMOUNT"})
        price = price or {"amount": 0, "currency": currency}
        currency = str(price.get("currency", currency))
        line_total = int(Decimal(price["amount"]) * qty)
        out_line["base_price_money"] = price
        out_line["total_money"] = {"amount": line_total, "currency": currency}
        return out_line

    def _sell_stock(self, order_id: str, lines: list[JSON], loc_id: str, now: int, stamp: str) -> None:
        """A completed order's tracked lines leave stock: one ``IN_STOCK -> SOLD`` adjustment each, as
        the POS records it, then one count webhook for the lot."""
        keys = []
        for line in lines:
            var_id = line.get("catalog_object_id")
            if var_id and self._tracked(str(var_id), str(loc_id)):
                part = {
                    "catalog_object_id": var_id,
                    "location_id": loc_id,
                    "from_state": "IN_STOCK",
                    "to_state": "SOLD",
                    "quantity": line["quantity"],
                    "occurred_at": stamp,
                }
                source = {
                    "product": "SQUARE_POS",
                    "application_id": "sq0idp-pos",
                    "name": "Square Point of Sale",
                }
                self._record_change(
                    "ADJUSTMENT",
                    part,
                    now,
                    source,
                    {"transaction_id": order_id, "total_price_money": line["total_money"]},
                )
                key = (str(var_id), str(loc_id))
                self._recount(key)
                keys.append(key)
        if keys:
            self._emit_counts(keys)

    def _retrieve_order(self, request: Request) -> JSON:
        order = self._orders.get(request.params["id"])
        if order is None:
            raise SquareError(404, "NOT_FOUND", "Order not found.")
        return {"order": dict(order)}

    def _search_orders(self, request: Request) -> JSON:
        body: JSON = request.json()
        locs = set(body.get("location_ids") or [])
        if len(locs) > 10:
            raise SquareError(400, "ARRAY_LENGTH_TOO_LONG", "At most 10 location ids.", field="location_ids")
        limit = page_limit(body.get("limit"), 500, 1000)
        offset, first_request = _search_cursor(body.get("cursor"), self._last_ms)
        query = body.get("query") or {}
        flt = query.get("filter") or {}
        sort = query.get("sort") or {}
        sort_field = str(sort.get("sort_field", "CREATED_AT")).lower()
        time_filter = flt.get("date_time_filter") or {}
        if len(time_filter) > 1:
            raise SquareError(400, "INVALID_VALUE", "Only one date_time_filter field at a time.")
        for name in time_filter:
            if name != sort_field:
                raise SquareError(
                    400, "INVALID_VALUE", f"Sort by {name} when filtering on it.", field="query.sort"
                )
        states = set((flt.get("state_filter") or {}).get("states") or [])
        customers = set((flt.get("customer_filter") or {}).get("customer_ids") or [])
        if len(customers) > 10:
            raise SquareError(
                400,
                "ARRAY_LENGTH_TOO_LONG",
                "At most 10 customer ids.",
                field="query.filter.customer_filter.customer_ids",
            )

        def keep(order: JSON) -> bool:
            if locs and order["location_id"] not in locs:
                return False
            if states and order["state"] not in states:
                return False
            if customers and order.get("customer_id") not in customers:
                return False
            for name, rng in time_filter.items():
                if name not in order:
                    return False
                stamp = parse_ms(str(order[name]))
                if rng.get("start_at") and stamp < parse_ms(str(rng["start_at"])):
                    return False
                # "If the end time is absent, it defaults to the time of the first request for the
                # cursor": what changes while a search is paged is left to the next search.
                end = parse_ms(str(rng["end_at"])) if rng.get("end_at") else first_request
                if stamp > end:
                    return False
            return True

        rows = [o for o in self._orders.values() if keep(o)]
        rows.sort(
            key=lambda o: (str(o.get(sort_field, "")), o["id"]),
            reverse=sort.get("sort_order", "DESC") == "DESC",
        )
        page = rows[offset : offset + limit]
        out: JSON = {}
        if page:
            if body.get("return_entries"):
                out["order_entries"] = [
                    {"order_id": o["id"], "location_id": o["location_id"], "version": o["version"]}
                    for o in page
                ]
            else:
                out["orders"] = [dict(o) for o in page]
        if next_cursor(offset, limit, len(rows)):
            out["cursor"] = _encode_cursor(offset + limit, first_request)
        return out


def _search_cursor(cursor: object, now: int) -> tuple[int, int]:
    """The offset and the time of the first request of a SearchOrders cursor (``now`` without one)."""
    if not cursor:
        return 0, now
    try:
        offset, first = base64.urlsafe_b64decode(str(cursor).encode()).decode().split(":")
        return int(offset), int(first)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SquareError(400, "INVALID_CURSOR", "The cursor is not valid.", field="cursor") from exc


def _encode_cursor(offset: int, first_request: int) -> str:
    return base64.urlsafe_b64encode(f"{offset}:{first_request}".encode()).decode()
