"""Regenerate tests/data/ebay/*.json: eBay's OpenAPI contracts cut down to what shopbridge uses.

Usage: python -m tools.trim_ebay_spec PATH/TO/specs/ebay

eBay publishes one OAS3 contract per API (Sell Inventory 649 KB, Fulfillment 260 KB, Notification
71 KB); the eBay emulator serves fourteen of their operations. By the rule of ``tools/openapi_trim.py``
(shared with ``tools/trim_square_spec.py``) this keeps the paths carrying those operations,
``Error`` (every error body is ``{"errors": [Error]}``) and every schema they reach through
``$ref``, each copied unchanged, plus ``info``, ``servers`` and ``securitySchemes``. Adding a route
to ``sandbox/ebay/routes.py`` means adding its operation here and running this again (a test
checks that every emulated operation is in the trimmed files).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from tools.openapi_trim import trimmed, write_trimmed

OUTPUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "ebay"

# source file -> (vendored name, the operations sandbox/ebay/routes.py serves from it)
CONTRACTS: dict[str, tuple[str, frozenset[str]]] = {
    "sell_inventory_v1_oas3.json": (
        "sell_inventory.json",
        frozenset(
            {
                "getInventoryItems",
                "getInventoryItem",
                "bulkGetInventoryItem",
                "getOffers",
                "getOffer",
                "bulkUpdatePriceQuantity",
                "getInventoryItemGroup",
                "withdrawOffer",
                "withdrawOfferByInventoryItemGroup",
                "publishOfferByInventoryItemGroup",
                "publishOffer",
            }
        ),
    ),
    "sell_fulfillment_v1_oas3.json": ("sell_fulfillment.json", frozenset({"getOrders", "getOrder"})),
    "commerce_notification_v1_oas3.json": ("commerce_notification.json", frozenset({"getPublicKey"})),
}

EXTRA_SCHEMAS = ("Error",)


def trim(spec: dict[str, Any], operations: frozenset[str], source_sha256: str) -> dict[str, Any]:
    """``spec`` with only the paths of ``operations``, ``Error`` and their ``$ref`` closure."""
    return trimmed(spec, operations, EXTRA_SCHEMAS, by="tools/trim_ebay_spec.py", source_sha256=source_sha256)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    for source, (name, operations) in CONTRACTS.items():
        raw = (Path(argv[1]) / source).read_bytes()
        write_trimmed(OUTPUT / name, trim(json.loads(raw), operations, hashlib.sha256(raw).hexdigest()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
