"""Regenerate tests/data/square/api.json: Square's OpenAPI spec cut down to what shopbridge uses.

Usage: python tools/trim_square_spec.py PATH/TO/square/connect-api-specification/api.json

The full spec (about 3 MB, 240 paths, 1,401 schemas) is too big to vendor for the 30 operations
the Square emulator serves and the 7 webhook events it sends. This keeps the paths carrying those
operations, the webhook event schemas, and every schema either reaches through ``$ref`` (the
closure), each copied unchanged; everything else under ``components`` except ``securitySchemes``
goes. Adding a route to the emulator means adding its operation here and running this again (a
test checks that every emulated operation is in the trimmed file).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "square" / "api.json"

# The operations sandbox/square/routes.py routes (and adapters/square.py calls).
OPERATIONS = frozenset(
    {
        "ListLocations",
        "CatalogInfo",
        "ListCatalog",
        "SearchCatalogObjects",
        "BatchUpsertCatalogObjects",
        "UpsertCatalogObject",
        "BatchRetrieveCatalogObjects",
        "BatchDeleteCatalogObjects",
        "RetrieveCatalogObject",
        "DeleteCatalogObject",
        "BatchChangeInventory",
        "BatchRetrieveInventoryCounts",
        "BatchRetrieveInventoryChanges",
        "ListCustomers",
        "CreateCustomer",
        "SearchCustomers",
        "RetrieveCustomer",
        "UpdateCustomer",
        "DeleteCustomer",
        "CreateOrder",
        "SearchOrders",
        "RetrieveOrder",
        "CreateWebhookSubscription",
        "ListWebhookSubscriptions",
        "RetrieveWebhookSubscription",
        "UpdateWebhookSubscription",
        "UpdateWebhookSubscriptionSignatureKey",
        "DeleteWebhookSubscription",
        "TestWebhookSubscription",
        "ListWebhookEventTypes",
    }
)

# The webhook events the emulator sends (matched on each schema's ``x-webhook.event``).
WEBHOOK_EVENTS = frozenset(
    {
        "catalog.version.updated",
        "inventory.count.updated",
        "customer.created",
        "customer.updated",
        "customer.deleted",
        "order.created",
        "order.updated",
    }
)

# Error bodies are checked against ``{"errors": [Error]}``, which no kept operation names.
EXTRA_SCHEMAS = ("Error",)

SCHEMA_PREFIX = "#/components/schemas/"


def refs_in(value: Any) -> Iterator[str]:
    """Every ``$ref`` string anywhere inside ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield item
            else:
                yield from refs_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from refs_in(item)


def schema_closure(schemas: dict[str, Any], roots: Iterable[str]) -> tuple[set[str], set[str]]:
    """The names of ``roots`` and of every schema they reach through ``$ref``, transitively; and the
    names referenced but absent (the 2025-08-20 spec refers to a ``CatalogModifierToggleOverrideType``
    it does not define: such a reference is left as it is, dangling as in the original)."""
    seen: set[str] = set()
    missing: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in seen or name in missing:
            continue
        if name not in schemas:
            missing.add(name)
            continue
        seen.add(name)
        pending.extend(
            ref.removeprefix(SCHEMA_PREFIX) for ref in refs_in(schemas[name]) if ref.startswith(SCHEMA_PREFIX)
        )
    return seen, missing


def kept_paths(paths: dict[str, Any], operations: frozenset[str]) -> dict[str, Any]:
    """The path items holding ``operations``, with only those operations (plus shared parameters)."""
    out: dict[str, Any] = {}
    for path, item in paths.items():
        kept = {
            key: op
            for key, op in item.items()
            if not isinstance(op, dict) or "operationId" not in op or op["operationId"] in operations
        }
        if any(isinstance(op, dict) and op.get("operationId") in operations for op in kept.values()):
            out[path] = kept
    found = {op["operationId"] for item in out.values() for op in item.values() if isinstance(op, dict)}
    missing = operations - found
    if missing:
        raise KeyError(f"operations not in the spec: {sorted(missing)}")
    return out


def webhook_schemas(schemas: dict[str, Any], events: frozenset[str]) -> list[str]:
    names = [name for name, body in schemas.items() if body.get("x-webhook", {}).get("event") in events]
    found = {schemas[n]["x-webhook"]["event"] for n in names}
    if found != events:
        raise KeyError(f"webhook events not in the spec: {sorted(events - found)}")
    return names


def trim(spec: dict[str, Any], source_sha256: str) -> dict[str, Any]:
    """``spec`` with only the paths, webhook schemas and ``$ref`` closure shopbridge uses."""
    schemas: dict[str, Any] = spec["components"]["schemas"]
    paths = kept_paths(spec["paths"], OPERATIONS)
    roots = [ref.removeprefix(SCHEMA_PREFIX) for ref in refs_in(paths) if ref.startswith(SCHEMA_PREFIX)]
    roots += webhook_schemas(schemas, WEBHOOK_EVENTS) + list(EXTRA_SCHEMAS)
    keep, dangling = schema_closure(schemas, roots)
    out = {key: value for key, value in spec.items() if key not in ("paths", "components")}
    out["x-shopbridge-trimmed"] = {
        "source_sha256": source_sha256,
        "by": "tools/trim_square_spec.py",
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
    raw = Path(argv[1]).read_bytes()
    trimmed = trim(json.loads(raw), hashlib.sha256(raw).hexdigest())
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(trimmed, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    meta = trimmed["x-shopbridge-trimmed"]
    size = OUTPUT.stat().st_size
    print(f"wrote {OUTPUT}: {meta['paths']} paths, {meta['schemas']} schemas, {size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
