"""Square stock writes: relative adjustments that are never applied twice.

Stock writes are relative ``ADJUSTMENT``\\ s: +n is ``NONE -> IN_STOCK`` (receiving stock), -n is
``IN_STOCK -> SOLD`` (stock sold on another channel; the same states woocommerce-square uses), at
most 100 per request, with an idempotency key hashed from the sorted op keys so a retried batch is
never applied twice (the body, including ``occurred_at``, is kept and resent byte for byte). If a
batch still fails transiently after our retries, its ops come back ``retryable`` and are marked "in
doubt": before they are sent again (possibly grouped with other ops, hence under another key) the
adapter looks for their ``reference_id`` in Square's change log and reports those already there as
done. ``IDEMPOTENCY_KEY_REUSED`` means an earlier call with the same ops succeeded, and is reported
as success. The in-doubt set lives in memory only.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from adapters.base import AdjustStock, AuthError, PermanentError, WriteResult
from adapters.square_changes import OWN_REFERENCE_PREFIX, change_part
from adapters.square_client import SquareClient, SquareRequestError
from adapters.square_values import JSON, now_rfc3339, quantity

__all__ = ["STOCK_BATCH", "SquareStockWrites"]

STOCK_BATCH = 100
_LOOKBACK_S = 48 * 3600  # adjustments are written with occurred_at <= 24 h old; look back further


class SquareStockWrites(SquareClient):
    """Stock writes of :class:`adapters.square.SquareAdapter`."""

    def mark_uncertain(self, keys: Iterable[str]) -> None:
        """Check Square's change log (by ``reference_id``) before resending these stock ops."""
        self._uncertain.update(keys)

    def _already_applied(self, ops: Sequence[tuple[int, AdjustStock]]) -> set[str]:
        """Op keys whose adjustment Square already holds (found by our ``reference_id``).

        Used only for ops whose earlier attempt ended in doubt (a transient failure after our
        retries), because the outbox may resend them grouped differently, under another batch key.
        """
        references = {self._reference(op.key): op.key for _, op in ops}
        since = datetime.fromtimestamp(time.time() - _LOOKBACK_S, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        changes, _ = self._changes(
            {
                "types": ["ADJUSTMENT"],
                "catalog_object_ids": sorted({op.variant_id for _, op in ops}),
                "location_ids": sorted({op.location_id for _, op in ops}),
                "updated_after": since,
                "limit": 1000,
            }
        )
        found = set()
        for change in changes:
            ref = change_part(change).get("reference_id")
            if ref in references:
                found.add(references[ref])
        return found

    @staticmethod
    def _reference(key: str) -> str:
        ref = key if key.startswith(OWN_REFERENCE_PREFIX) else OWN_REFERENCE_PREFIX + key
        return ref[:255]

    def _apply_stock(self, batch: list[tuple[int, AdjustStock]]) -> dict[int, WriteResult]:
        """Send one batch's adjustments, the same body under the same key until Square answers;
        a change Square blames is taken out and the rest sent again."""
        results: dict[int, WriteResult] = {}
        pending = self._to_send(batch, results)
        while pending:
            key = self.idempotency_key(op.key for _, op in pending)
            body = self._stock_bodies.get(key)
            if body is None:
                body = self._stock_bodies[key] = self._stock_body(key, pending)
            try:
                data = self._request("POST", "v2/inventory/changes/batch-create", body)
            except PermanentError as exc:
                if isinstance(exc, AuthError):
                    raise
                self._stock_bodies.pop(key, None)
                pending = self._refused(pending, exc, results)
                continue
            self._stock_bodies.pop(key, None)
            self._uncertain.difference_update(op.key for _, op in pending)
            results.update(_applied(pending, data))
            pending = []
        return results

    def _to_send(
        self, batch: list[tuple[int, AdjustStock]], results: dict[int, WriteResult]
    ) -> list[tuple[int, AdjustStock]]:
        """The ops of ``batch`` that must be sent: not those of no change, nor those in doubt that
        Square's change log shows applied already (both answered into ``results``)."""
        pending = []
        for n, op in batch:
            if op.delta == 0:
                results[n] = WriteResult(key=op.key, ok=True, channel_id=op.variant_id)
            else:
                pending.append((n, op))
        doubtful = [(n, op) for n, op in pending if op.key in self._uncertain]
        if doubtful:
            done = self._already_applied(doubtful)
            for n, op in doubtful:
                if op.key in done:
                    results[n] = WriteResult(key=op.key, ok=True, channel_id=op.variant_id)
            pending = [(n, op) for n, op in pending if n not in results]
        return pending

    def _stock_body(self, key: str, pending: Sequence[tuple[int, AdjustStock]]) -> JSON:
        """The ``BatchChangeInventory`` body of ``pending``, all dated now (kept, so a retry resends
        it byte for byte)."""
        occurred = now_rfc3339()
        return {
            "idempotency_key": key,
            "ignore_unchanged_counts": True,
            "changes": [
                {
                    "type": "ADJUSTMENT",
                    "adjustment": {
                        "catalog_object_id": op.variant_id,
                        "location_id": op.location_id,
                        "from_state": "NONE" if op.delta > 0 else "IN_STOCK",
                        "to_state": "IN_STOCK" if op.delta > 0 else "SOLD",
                        "quantity": str(abs(op.delta)),
                        "occurred_at": occurred,
                        "reference_id": self._reference(op.key),
                    },
                }
                for _, op in pending
            ],
        }

    def _refused(
        self, pending: list[tuple[int, AdjustStock]], exc: PermanentError, results: dict[int, WriteResult]
    ) -> list[tuple[int, AdjustStock]]:
        """Answer the ops a refusal settles into ``results``; returns those to send again."""
        if exc.code == "IDEMPOTENCY_KEY_REUSED":
            # Square keeps a key only for a successful request: these changes were applied
            # by an earlier attempt whose body (occurred_at) this process no longer has.
            self._uncertain.difference_update(op.key for _, op in pending)
            for n, op in pending:
                results[n] = WriteResult(key=op.key, ok=True, channel_id=op.variant_id)
            return []
        bad = self._bad_index(exc)
        rest = list(pending)
        if bad is None or len(rest) == 1:
            failed, rest = rest, []
        else:
            failed = [rest.pop(bad)]
        for n, op in failed:
            results[n] = WriteResult(key=op.key, ok=False, error=str(exc), code=exc.code)
        return rest

    @staticmethod
    def _bad_index(exc: PermanentError) -> int | None:
        """Index of the change Square blamed (``field: changes[3].adjustment...``), if it said."""
        match = re.match(
            r"changes\[(\d+)\]", (exc.field if isinstance(exc, SquareRequestError) else None) or ""
        )
        return int(match.group(1)) if match else None


def _applied(pending: Sequence[tuple[int, AdjustStock]], data: JSON) -> dict[int, WriteResult]:
    """Each sent op as written, with the count Square answered for its variation and location."""
    counts = {
        (str(c.get("catalog_object_id")), str(c.get("location_id"))): c
        for c in data.get("counts") or []
        if c.get("state", "IN_STOCK") == "IN_STOCK"
    }
    results: dict[int, WriteResult] = {}
    for n, op in pending:
        count = counts.get((op.variant_id, op.location_id))
        written = {"quantity": int(quantity(count.get("quantity")))} if count else {}
        results[n] = WriteResult(key=op.key, ok=True, channel_id=op.variant_id, written=written)
    return results
