"""What the engine must know about a channel to plan for it, whatever the channel is.

A channel's adapter declares its capabilities; the engine reads only these (never the adapter), so
it plans for a channel it has never heard of the same way as for WooCommerce or Square.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

__all__ = ["Capabilities"]


@dataclass(frozen=True)
class Capabilities:
    """What the engine must know about a channel to plan writes for it."""

    stock_mode: Literal["absolute", "relative"]
    has_locations: bool
    max_batch: int
    date_resolution: timedelta = timedelta(0)
    """How coarsely the channel dates its events against its counts: 0 when each event carries
    the exact time it reached the counts (Square's ``created_at`` against ``calculated_at``);
    WooCommerce dates orders and answers to the second."""
    customers: bool = False
    """The adapter reads and writes customers (``read_customers``, ``read_customers_by_id``,
    ``find_customers``, ``read_customer_orders``, :class:`bridge.writes.CreateCustomer` and
    :class:`bridge.writes.UpdateCustomer`)."""
    customer_fields: frozenset[str] = frozenset(
        ("given_name", "family_name", "email", "phone", "company", "note", "birthday", "address")
    )
    """The person's fields the channel's customers hold (what an update may send there): a channel
    without a note or a birthday declares the fields it has, so the sync never keeps sending them."""
    write_version: Literal["counter", "modified_date"] = "counter"
    """What the ``version`` of a write's answer is: an object version that says nothing of time
    (Square's counter), or when the channel applied the write (WooCommerce's ``date_modified_gmt``)."""

    def written_at(self, version: str | None) -> str | None:
        """When the channel applied a write, as our ISO UTC text, if its answer's ``version`` says
        (only a ``modified_date`` version does; a counter is never read as a date)."""
        if self.write_version != "modified_date" or not version:
            return None
        try:
            value = datetime.fromisoformat(version.replace("Z", "+00:00"))
        except ValueError:
            return None
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="microseconds")
