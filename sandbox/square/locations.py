"""Locations: made in state by tests and the seed, listed by ``ListLocations``."""

from __future__ import annotations

from collections.abc import Sequence

from sandbox.http import Request
from sandbox.square.state import SquareState
from sandbox.square.wire import JSON, fmt_ms, new_id


class SquareLocations(SquareState):
    """Create and list locations."""

    def add_locations(self, names: Sequence[str]) -> list[str]:
        """Create locations directly in state; returns their ids."""
        ids = []
        with self.lock:
            now = self._tick()
            for name in names:
                loc_id = "L" + new_id()[:12]
                self._locations.append(
                    {
                        "id": loc_id,
                        "name": name,
                        "status": "ACTIVE",
                        "type": "PHYSICAL",
                        "merchant_id": self.merchant_id,
                        "country": "US",
                        "currency": "USD",
                        "timezone": "America/Los_Angeles",
                        "created_at": fmt_ms(now),
                        "business_name": "Shopbridge Test Shop",
                    }
                )
                ids.append(loc_id)
            self._locations.sort(key=lambda loc: str(loc["name"]))
        return ids

    def location_ids(self) -> list[str]:
        with self.lock:
            return [loc["id"] for loc in self._locations]

    def _list_locations(self, request: Request) -> JSON:
        return {"locations": [dict(loc) for loc in self._locations]}
