"""Regenerate tests/data/ebay/*.json: eBay's OpenAPI contracts cut down to what shopbridge uses.

Usage: python tools/trim_ebay_spec.py PATH/TO/specs/ebay

eBay publishes one OAS3 contract per API (Sell Inventory 649 KB, Fulfillment 260 KB, Notification
71 KB); the eBay emulator serves nine of their operations. Like ``tools/trim_square_spec.py`` (whose
closure helpers this reuses), this keeps the paths carrying those operations, ``Error`` (every
error body is ``{"errors": [Error]}``) and every schema they reach through ``$ref``, each copied
unchanged, plus ``info``, ``servers`` and ``securitySchemes``. Adding a route to
``sandbox/ebay/routes.py`` means adding its operation here and running this again (a test checks
that every emulated operation is in the trimmed files).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from tools.trim_square_spec import SCHEMA_PREFIX, kept_paths, refs_in, schema_closure

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
            }
        ),
    ),
    "sell_fulfillment_v1_oas3.json": ("sell_fulfillment.json", frozenset({"getOrders", "getOrder"})),
    "commerce_notification_v1_oas3.json": ("commerce_notification.json", frozenset({"getPublicKey"})),
}

EXTRA_SCHEMAS = ("Error",)


def trim(spec: dict[str, Any], operations: frozenset[str], source_sha256: str) -> dict[str, Any]:
    """``spec`` with only the paths of ``operations``, ``Error`` and their ``$ref`` closure."""
    schemas: dict[str, Any] = spec["components"]["schemas"]
    paths = kept_paths(spec["paths"], operations)
    roots = [ref.removeprefix(SCHEMA_PREFIX) for ref in refs_in(paths) if ref.startswith(SCHEMA_PREFIX)]
    keep, dangling = schema_closure(schemas, [*roots, *EXTRA_SCHEMAS])
    out = {key: value for key, value in spec.items() if key not in ("paths", "components")}
    out["x-shopbridge-trimmed"] = {
        "source_sha256": source_sha256,
        "by": "tools/trim_ebay_spec.py",
        "paths": len(paths),
        "schemas": len(keep),
        "dangling_refs_kept_from_source": sorted(dangling),
    }
    out["components"] = {
        "securitySchemes": spec["components"].get("securitySchemes", {}),
        "schemas": {name: body for name, body in schemas.items() if name in keep},
    }
    out["paths"] = paths
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for source, (name, operations) in CONTRACTS.items():
        raw = (Path(argv[1]) / source).read_bytes()
        trimmed = trim(json.loads(raw), operations, hashlib.sha256(raw).hexdigest())
        target = OUTPUT / name
        target.write_text(json.dumps(trimmed, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        meta = trimmed["x-shopbridge-trimmed"]
        print(
            f"wrote {target}: {meta['paths']} paths, {meta['schemas']} schemas, {target.stat().st_size} bytes"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
