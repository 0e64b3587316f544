"""Regenerate tests/data/square/api.json: Square's OpenAPI spec cut down to what shopbridge uses.

Usage: python -m tools.trim_square_spec PATH/TO/square/connect-api-specification/api.json

The full spec (about 3 MB, 240 paths, 1,401 schemas) is too big to vendor for the 30 operations
the Square emulator serves and the 7 webhook events it sends. This keeps the paths carrying those
operations, the webhook event schemas, and every schema either reaches through ``$ref`` (the
closure), each copied unchanged; everything else under ``components`` except ``securitySchemes``
goes (the rule of ``tools/openapi_trim.py``, shared with ``tools/trim_ebay_spec.py``). Adding a
route to the emulator means adding its operation here and running this again (a test checks that
every emulated operation is in the trimmed file).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from tools.openapi_trim import trimmed, write_trimmed

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


def webhook_schemas(schemas: dict[str, Any], events: frozenset[str]) -> list[str]:
    names = [name for name, body in schemas.items() if body.get("x-webhook", {}).get("event") in events]
    found = {schemas[n]["x-webhook"]["event"] for n in names}
    if found != events:
        raise KeyError(f"webhook events not in the spec: {sorted(events - found)}")
    return names


def trim(spec: dict[str, Any], source_sha256: str) -> dict[str, Any]:
    """``spec`` with only the paths, webhook schemas and ``$ref`` closure shopbridge uses."""
    roots = [*webhook_schemas(spec["components"]["schemas"], WEBHOOK_EVENTS), *EXTRA_SCHEMAS]
    return trimmed(spec, OPERATIONS, roots, by="tools/trim_square_spec.py", source_sha256=source_sha256)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    raw = Path(argv[1]).read_bytes()
    write_trimmed(OUTPUT, trim(json.loads(raw), hashlib.sha256(raw).hexdigest()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
