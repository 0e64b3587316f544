"""Stock (and, with ``sync_price``, price) writes to eBay through ``bulkUpdatePriceQuantity``.

One entry per SKU, at most :data:`BATCH` (25) a call. A listing shows the smaller of the inventory
item's ship-to-home quantity and its offer's ``availableQuantity`` (eBay's bulk-updates guide), so a
quantity is written at both levels: the item's ``shipToLocationAvailability.quantity`` and each
published offer's ``availableQuantity``. Several writes of one SKU in one call (queued by several
syncs) are coalesced to the last: one entry, one revision of the listing.

eBay answers per entry (200 all good, 207 Multi-Status otherwise). An entry that failed on eBay's
side (a 5xx or 429 ``statusCode``) is sent again on its own with the other failed ones, never with
those that succeeded, up to ``attempts`` times; then it stays queued (retryable). An entry eBay
refused (a 4xx) is a refusal with eBay's ``errorId``, not retried as is.

Quantity 0: written as 0. The listing stays alive as ``OUT_OF_STOCK`` (hidden from search, its
history and watchers kept) on an account with eBay's Out-of-Stock control, which is what we rely
on; an account without it refuses 0 with error 25004. What then happens is the adapter's choice
(:mod:`adapters.ebay_listing_ends`: by default the listing is ended and listed again at the
restock); with ``zero_quantity = "out_of_stock"`` the refusal is reported naming the preference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from adapters.base import SetStock, TransientError, UpdateVariant, WriteResult
from adapters.ebay_client import EbayClient
from bridge.models import Money

__all__ = ["BATCH", "LIMIT_REACHED", "PriceQuantity", "coalesce", "write_price_quantity"]

PATH = "/sell/inventory/v1/bulk_update_price_quantity"
BATCH = 25
ZERO_REFUSED = "25004"
LIMIT_REACHED = "REVISION_LIMIT"
"""Our code for eBay's 25002 about the listing's daily revisions (25002 is any user error)."""
ZERO_HINT = (
    "this eBay account refuses a quantity of 0: turn on the Out-of-Stock control in eBay's "
    "account preferences (Selling > Preferences), so a sold-out listing shows as out of stock"
)


@dataclass
class PriceQuantity:
    """What to write for one SKU: its quantity and/or price, and the ops asking for it."""

    sku: str
    quantity: int | None = None
    price: Money | None = None
    keys: list[str] = field(default_factory=list)


def _money(value: Any) -> Money | None:
    if isinstance(value, Money):
        return value
    if isinstance(value, Mapping) and "amount" in value:
        return Money(amount=Decimal(str(value["amount"])), currency=str(value.get("currency") or "USD"))
    return None


def coalesce(ops: Sequence[SetStock | UpdateVariant]) -> dict[str, PriceQuantity]:
    """Per SKU, the last quantity and price asked for (a burst queued is one entry)."""
    wanted: dict[str, PriceQuantity] = {}
    for op in ops:
        entry = wanted.setdefault(op.variant_id, PriceQuantity(op.variant_id))
        entry.keys.append(op.key)
        if isinstance(op, SetStock):
            entry.quantity = max(0, op.quantity)
        else:
            entry.price = _money(op.fields.get("price")) or entry.price
    return wanted


def _entry(wanted: PriceQuantity, offer_ids: Sequence[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"sku": wanted.sku}
    if wanted.quantity is not None:
        body["shipToLocationAvailability"] = {"quantity": wanted.quantity}
    offers = []
    for offer_id in offer_ids:
        offer: dict[str, Any] = {"offerId": offer_id}
        if wanted.quantity is not None:
            offer["availableQuantity"] = wanted.quantity
        if wanted.price is not None:
            offer["price"] = {"value": format(wanted.price.amount, "f"), "currency": wanted.price.currency}
        offers.append(offer)
    if offers:
        body["offers"] = offers
    return body


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    retryable: bool = False
    code: str | None = None
    error: str | None = None


def _outcomes(answer: Mapping[str, Any]) -> dict[str, _Outcome]:
    """Per SKU, what eBay made of its entry (the worst of its offers' answers)."""
    out: dict[str, _Outcome] = {}
    for response in answer.get("responses") or []:
        if not isinstance(response, Mapping):
            continue
        sku = str(response.get("sku") or "")
        status = response.get("statusCode")
        status = status if isinstance(status, int) else 500
        if status < 300:
            out.setdefault(sku, _Outcome(True))
            continue
        errors = response.get("errors") or [{}]
        first = errors[0] if isinstance(errors[0], Mapping) else {}
        code = str(first.get("errorId")) if first.get("errorId") is not None else None
        message = str(first.get("message") or f"eBay answered {status}")
        if code == ZERO_REFUSED:
            message = f"{message}; {ZERO_HINT}"
        if code == "25002" and "revised" in message:
            code = LIMIT_REACHED
        out[sku] = _Outcome(False, status >= 500 or status == 429, code, message)
    return out


def _send(client: EbayClient, batch: Sequence[dict[str, Any]]) -> dict[str, _Outcome]:
    answer = client.request("POST", PATH, body={"requests": list(batch)})
    found = _outcomes(answer)
    missing = _Outcome(False, True, None, "eBay's answer did not mention this SKU")
    return {str(entry["sku"]): found.get(str(entry["sku"]), missing) for entry in batch}


def write_price_quantity(
    client: EbayClient,
    ops: Sequence[SetStock | UpdateVariant],
    offer_ids: Mapping[str, Sequence[str]],
    *,
    attempts: int = 3,
) -> list[WriteResult]:
    """Perform the writes, one result per op in order (see the module's docstring).

    A call that fails as a whole before any entry is known to be applied raises (TransientError,
    AuthError): every op stays queued; absolute writes are safe to send again."""
    wanted = coalesce(ops)
    outcomes: dict[str, _Outcome] = {}
    pending = [sku for sku in wanted if sku in offer_ids]
    for sku in wanted:
        if sku not in offer_ids:
            outcomes[sku] = _Outcome(False, False, "NOT_LISTED", f"{sku} has no live eBay listing")
    answered = False
    for _ in range(max(1, attempts)):
        for start in range(0, len(pending), BATCH):
            batch = [_entry(wanted[sku], offer_ids[sku]) for sku in pending[start : start + BATCH]]
            try:
                outcomes.update(_send(client, batch))
            except TransientError:
                if not answered:
                    raise  # nothing of this call is known to have happened: all stays queued
                lost = _Outcome(False, True, None, "eBay unreachable")
                outcomes.update({str(e["sku"]): lost for e in batch})
            answered = True
        pending = [sku for sku in pending if not outcomes[sku].ok and outcomes[sku].retryable]
        if not pending:
            break
    results: list[WriteResult] = []
    for op in ops:
        got = outcomes[op.variant_id]
        results.append(
            WriteResult(key=op.key, ok=got.ok, retryable=got.retryable, code=got.code, error=got.error)
        )
    return results
