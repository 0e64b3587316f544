"""A Square emulator: the ``/v2`` endpoints shopbridge uses, over real HTTP on loopback.

Why an emulator rather than the Square sandbox: tests and benchmarks must be fast, offline,
deterministic and able to misbehave on demand (429 after a partially applied write, duplicated and
reordered webhooks, stale catalogue versions). The adapter talks to it through the official
``squareup`` SDK exactly as it talks to Square, so wire formats here follow Square's OpenAPI spec
(``specs/square/api.json``) and ``reference/square-api.md``; the conformance test validates every
response against the spec's response schemas.

What is modelled (see :class:`SquareEmulator`): locations; catalogue list/search/batch
upsert/retrieve/delete with versions, ``#temp`` ids, all-or-nothing batches and tombstones; the
inventory change log (counts = last physical count + later adjustments, ordered by ``occurred_at``);
customers; orders (a COMPLETED order decrements tracked stock as an ``IN_STOCK -> SOLD`` adjustment);
idempotency keys; bearer auth; Square-shaped errors; the Webhook Subscriptions API and signed
outgoing webhooks to every enabled subscription.

Deliberately not modelled: the per-seller single catalogue writer (concurrent writes are serialised
by one lock instead of answering 429), search propagation delays, TRANSFER changes, WASTE/SOLD count
rows (only ``IN_STOCK`` counts are reported), the synthetic difference adjustment Square derives from
a physical count, order updates/returns, and catalogue object types beyond storing them verbatim.

Layout: :class:`SquareEmulator` (``emulator``) is a stack of mixins over one state
(``state.SquareState``), each module one job: ``views`` (the JSON answered), ``locations``,
``catalog_search`` (catalogue reads), ``catalog`` (catalogue writes), ``inventory`` (change log and
counts), ``orders``, ``customers``, ``webhooks`` (subscriptions and deliveries),
``webhook_subscriptions`` (Square's Webhook Subscriptions API over them; ``event_types``, the names
it accepts), ``auth`` (bearer token, webhook signatures), ``routes`` (the route table, idempotency,
recording); ``wire``, ``errors`` and ``paging`` are the shared formats.
"""

from __future__ import annotations

from sandbox.http import RecordedExchange
from sandbox.square.emulator import SquareEmulator
from sandbox.square.errors import SquareError
from sandbox.square.state import Subscription
from sandbox.square.wire import fmt_ms, parse_ms

__all__ = ["RecordedExchange", "SquareEmulator", "SquareError", "Subscription", "fmt_ms", "parse_ms"]
