"""Square resources re-read one by one, for the daemon's event path (:mod:`bridge.events`).

An ``inventory.count.updated`` delivery names a variation (its ``catalog_object_id``); an order's
(``order.created``/``order.updated``) names the order, re-read by id (``RetrieveOrder``) for the
variations its lines sell. Neither payload is taken as state: the event path then reads those
variations' counts and their change log (``read_stock_events_of``) as polling does. A catalogue
delivery names no object to re-read, so it is left to a poll cycle. An order Square no longer has
(404) is reported missing: nothing to do.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.base import PermanentError
from adapters.square_client import SquareClient
from bridge.targets import TargetRef, Targets

__all__ = ["SquareTargets"]

_BY_VARIATION = {"inventory", "variant"}


class SquareTargets(SquareClient):
    """``read_targets`` of :class:`adapters.square.SquareAdapter`."""

    def read_targets(self, refs: Sequence[TargetRef]) -> Targets | None:
        if any(ref.resource not in (*_BY_VARIATION, "order") for ref in refs):
            return None  # catalogue versions, customers: the poll covers them
        start = self.calls
        out = Targets()
        for ref in refs:
            if ref.resource in _BY_VARIATION:
                out.variant_ids.add(ref.resource_id)
                continue
            try:
                order = self._request("GET", f"v2/orders/{ref.resource_id}").get("order") or {}
            except PermanentError as exc:
                if exc.status != 404:
                    raise
                order = {}
            lines = [line for line in order.get("line_items") or [] if line.get("catalog_object_id")]
            if not order:
                out.missing.append(ref)
            out.variant_ids.update(str(line["catalog_object_id"]) for line in lines)
        out.calls = self.calls - start
        return out
