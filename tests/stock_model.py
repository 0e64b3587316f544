"""A reference model of what WooCommerce and Square do to stock, and of what shopbridge must then make
every channel show. The model-based test (tests/test_stock_model.py) plays random operations on both
emulators and on this model alike, syncs, and compares: each channel against :meth:`Shop.woo_expected`
/ :meth:`Shop.square_expected`, the ledger against :attr:`Shop.truth`.

The model knows nothing of shopbridge: it is written from the channels' own rules.

WooCommerce (``plugins/woocommerce/includes/wc-stock-functions.php`` and ``wc-order-functions.php``):

* ``wc_maybe_reduce_stock_levels`` runs on ``woocommerce_order_status_processing``, ``_completed``,
  ``_on-hold`` (and ``woocommerce_payment_complete``): unless the order's ``_order_stock_reduced`` flag
  is set, it calls ``wc_reduce_stock_levels`` and sets the flag. ``wc_reduce_stock_levels`` skips a line
  whose ``_reduced_stock`` meta is set (truthy), else decreases the product's stock by the line's full
  quantity and stores it in ``_reduced_stock``.
* ``wc_maybe_increase_stock_levels`` runs on ``woocommerce_order_status_cancelled`` and ``_pending``:
  if the flag is set, ``wc_increase_stock_levels`` gives back each line's ``_reduced_stock`` (when
  truthy) and deletes the meta, then the flag is cleared. ``failed``, ``refunded`` and custom statuses
  have no stock hook: moving there changes nothing.
* ``wc_create_refund`` calls ``wc_restock_refunded_items`` only when ``restock_items`` is true (the REST
  refunds endpoint passes ``api_restock``, default true). For each refunded line whose
  ``_reduced_stock`` is truthy it increases stock by the refunded quantity, lowers ``_reduced_stock`` by
  it and adds it to ``_restock_refunded_items``; a line never reduced is not restocked. A refund that
  covers the whole order sets the status ``refunded`` (``woocommerce_order_fully_refunded_status``),
  whose hook ``wc_order_fully_refunded`` creates no restock.
* ``wc_update_product_stock`` moves the stock of ``get_stock_managed_by_id()``: a variation with
  ``manage_stock: "parent"`` moves its parent's pool.

Square (developer.squareup.com, Inventory API "how it works", "reconcile computed quantity", and the
``InventoryState`` enum in the OpenAPI spec):

* a location's ``IN_STOCK`` count is the last physical count plus the adjustments after it; a sale
  moves ``IN_STOCK -> SOLD``, a restocked return ``UNLINKED_RETURN -> IN_STOCK``, received goods
  ``NONE -> IN_STOCK``, breakage ``IN_STOCK -> WASTE``. Nothing stops a count going below zero (a till
  sells what it does not show).
* a ``PHYSICAL_COUNT`` sets the count; Square records the difference to the count before it.

What the shop's truth is (the ledger's promise, README "Stock is a ledger"): per SKU and Square
location, the sum of every channel's own stock moves, each taken as the change it made to that
channel's count (a web sale under ``default_location`` allocation moves the default location; a
WooCommerce manual edit moves it by the new count minus the count it replaced; a physical count by the
counted quantity minus the count Square held). What each channel must show once synced: a Square
location its truth, negative included (a buffer on a location channel is refused by the configuration,
issue 9 case 9); WooCommerce ``max(0, sum over locations - buffer)`` per SKU, and a parent's
pool the sum of its variations' projections.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "PAID_STATUSES",
    "RESTORING_STATUSES",
    "WOO_STATUSES",
    "Shop",
    "WooLine",
    "WooOrder",
    "refund_moves",
    "status_moves",
]

PAID_STATUSES = frozenset({"processing", "on-hold", "completed"})
"""Statuses hooked to ``wc_maybe_reduce_stock_levels``."""
RESTORING_STATUSES = frozenset({"cancelled", "pending"})
"""Statuses hooked to ``wc_maybe_increase_stock_levels``."""
WOO_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "failed", "refunded")

Moves = dict[str, int]
"""Stock moved per SKU (negative: taken from stock)."""


@dataclass
class WooLine:
    """An order line and the meta WooCommerce keeps on it."""

    line_id: int
    sku: str
    quantity: int
    reduced: int = 0
    """``_reduced_stock`` (0: absent or falsy, as PHP reads ``"0"``)."""
    refunded: int = 0
    """Units refunded so far, restocked or not (what the refund form still offers is quantity - this)."""
    restocked: int = 0
    """``_restock_refunded_items``."""


@dataclass
class WooOrder:
    order_id: int
    status: str
    lines: list[WooLine]
    stock_reduced: bool = False
    """The order's ``_order_stock_reduced`` flag."""

    def refundable(self, line: WooLine) -> int:
        return line.quantity - line.refunded

    def fully_refunded(self) -> bool:
        return all(line.refunded >= line.quantity for line in self.lines)


def _add(moves: Moves, sku: str, delta: int) -> None:
    moves[sku] = moves.get(sku, 0) + delta


def status_moves(order: WooOrder, status: str) -> Moves:
    """Move ``order`` to ``status`` as WooCommerce does; returns the stock it moved."""
    moves: Moves = {}
    if status == order.status:
        return moves
    order.status = status
    if status in PAID_STATUSES and not order.stock_reduced:  # wc_maybe_reduce_stock_levels
        for line in order.lines:
            if line.reduced:  # wc_reduce_stock_levels: "Only reduce stock once for each item"
                continue
            _add(moves, line.sku, -line.quantity)
            line.reduced = line.quantity
        order.stock_reduced = True
    elif status in RESTORING_STATUSES and order.stock_reduced:  # wc_maybe_increase_stock_levels
        for line in order.lines:
            if line.reduced:  # wc_increase_stock_levels gives back _reduced_stock, deletes the meta
                _add(moves, line.sku, line.reduced)
                line.reduced = 0
        order.stock_reduced = False
    return moves


def refund_moves(order: WooOrder, quantities: Mapping[int, int], *, restock: bool) -> Moves:
    """A refund of ``{line_id: quantity}`` (``api_restock`` = ``restock``); returns the stock it moved.

    Quantities are what the refund form allows (at most what is not refunded yet). A refund covering
    the whole order moves it to ``refunded`` (no stock hook).
    """
    moves: Moves = {}
    by_id = {line.line_id: line for line in order.lines}
    for line_id, quantity in quantities.items():
        line = by_id[line_id]
        if quantity <= 0:
            continue
        line.refunded += quantity
        if restock and line.reduced:  # wc_restock_refunded_items skips lines never reduced
            _add(moves, line.sku, quantity)
            line.reduced -= quantity
            line.restocked += quantity
    if order.fully_refunded():
        order.status = "refunded"
    return moves


@dataclass
class Shop:
    """The truth per (SKU, location) and what each channel shows now, moved by the channels' own rules.

    ``pools`` maps a WooCommerce stock owner (the parent product of parent-managed variations) to the
    SKUs sharing it; any other SKU is its own owner. ``default`` is the location web sales move.
    """

    skus: tuple[str, ...]
    locations: tuple[str, ...]
    truth: dict[tuple[str, str], int]
    woo_buffer: int = 0
    pools: dict[str, tuple[str, ...]] = field(default_factory=dict)
    woo_shown: dict[str, int] = field(default_factory=dict)
    square_shown: dict[tuple[str, str], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.settle()

    @property
    def default(self) -> str:
        return self.locations[0]

    # -- what the channels must show -----------------------------------------------------------

    def owners(self) -> list[str]:
        """WooCommerce's stock owners: pools, then SKUs holding their own stock."""
        pooled = {sku for members in self.pools.values() for sku in members}
        return [*self.pools, *(sku for sku in self.skus if sku not in pooled)]

    def owner_of(self, sku: str) -> str:
        for owner, members in self.pools.items():
            if sku in members:
                return owner
        return sku

    def members(self, owner: str) -> tuple[str, ...]:
        return self.pools.get(owner, (owner,))

    def woo_projection(self, sku: str) -> int:
        total = sum(self.truth[(sku, loc)] for loc in self.locations)
        return max(0, total - self.woo_buffer)

    def woo_expected(self, owner: str) -> int:
        """WooCommerce's count for a stock owner: a pool is the sum of its variations' projections."""
        return sum(self.woo_projection(sku) for sku in self.members(owner))

    def square_expected(self, sku: str, location: str) -> int:
        """A Square location shows its truth, negative included (no buffer: a till's count is the
        shelf, and shopbridge refuses a buffer on a channel with locations)."""
        return self.truth[(sku, location)]

    def settle(self) -> None:
        """After a sync every channel shows what it must: the model's 'shown' counts follow."""
        self.woo_shown = {owner: self.woo_expected(owner) for owner in self.owners()}
        self.square_shown = {
            (sku, loc): self.square_expected(sku, loc) for sku in self.skus for loc in self.locations
        }

    # -- the channels' own moves ---------------------------------------------------------------

    def woo_moves(self, moves: Mapping[str, int]) -> None:
        """Stock WooCommerce moved itself (orders, refunds): web stock and the default location."""
        for sku, delta in moves.items():
            self.truth[(sku, self.default)] += delta
            self.woo_shown[self.owner_of(sku)] += delta

    def woo_manual(self, sku: str, quantity: int) -> None:
        """A shop manager types ``quantity`` as the stock of ``sku`` (not a pool: that cannot be
        attributed to one variation)."""
        assert sku not in self.pools and self.owner_of(sku) == sku, sku
        self.truth[(sku, self.default)] += quantity - self.woo_shown[sku]
        self.woo_shown[sku] = quantity

    def square_move(self, sku: str, location: str, delta: int) -> None:
        """A sale (negative), a restocked return, received goods or breakage at the till."""
        self.truth[(sku, location)] += delta
        self.square_shown[(sku, location)] += delta

    def square_count(self, sku: str, location: str, quantity: int) -> None:
        """Staff count the shelf: the truth moves by the count minus what Square held."""
        self.truth[(sku, location)] += quantity - self.square_shown[(sku, location)]
        self.square_shown[(sku, location)] = quantity

    # -- what a shop front or till allows --------------------------------------------------------

    def web_sellable(self, sku: str) -> int:
        """What the shop front lets a customer buy: its shown stock, and (when negatives are not being
        tested) no more than the default location holds."""
        return min(self.woo_shown[self.owner_of(sku)], self.truth[(sku, self.default)])

    def would_go_negative(self, moves: Mapping[str, int]) -> bool:
        return any(self.truth[(sku, self.default)] + delta < 0 for sku, delta in moves.items())

    def differences(
        self,
        woo: Mapping[str, int | None],
        square: Mapping[tuple[str, str], int],
        ledger: Mapping[tuple[str, str], int],
    ) -> list[str]:
        """Every place a channel or the ledger differs from the model, one line each."""
        out = []
        for owner in self.owners():
            if woo.get(owner) != self.woo_expected(owner):
                out.append(f"woocommerce {owner}: shows {woo.get(owner)}, model {self.woo_expected(owner)}")
        for sku in self.skus:
            for loc in self.locations:
                want = self.square_expected(sku, loc)
                if square.get((sku, loc), 0) != want:
                    out.append(f"square {sku}@{loc}: shows {square.get((sku, loc), 0)}, model {want}")
                if ledger.get((sku, loc), 0) != self.truth[(sku, loc)]:
                    out.append(
                        f"ledger {sku}@{loc}: {ledger.get((sku, loc), 0)}, model {self.truth[(sku, loc)]}"
                    )
        extra = sorted(k for k in ledger if k[0] not in self.skus or k[1] not in self.locations)
        out.extend(f"ledger {sku}@{loc}: {ledger[(sku, loc)]} outside the model" for sku, loc in extra)
        return out
