"""What a channel should show for a SKU, with the parts that number is made of.

A projection of the ledger (:func:`bridge.ledger.project`) is one number per place, but a number
alone reads like a bug: a first sync taking a web shop from 12 to 24 is right when two shops hold
12 each, and says so only if the plan shows the sum. So a projection keeps its parts (each
location's on-hand, by name), the buffer held back, whether it was floored at 0, and the locations
the channel's ``source_locations`` leaves out; :meth:`Projection.reason` is the one place that
turns them into the words of a plan, and :meth:`Projection.to_dict` into its JSON.

Pure data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Part", "Projection"]


@dataclass(frozen=True)
class Part:
    """One location's on-hand in a projection: its canonical key and its name where known."""

    location: str
    name: str
    on_hand: int

    def to_dict(self) -> dict[str, Any]:
        return {"location": self.location, "name": self.name, "on_hand": self.on_hand}


@dataclass(frozen=True)
class Projection:
    """``total`` is what the channel should show; ``parts`` the on-hand it is made of.

    A single pool (``pooled``) shows ``max(0, Σ parts - buffer)``, at most ``cap`` where the
    channel caps the SKU: ``floored`` when that sum less the buffer is below 0; ``left_out`` are
    locations the channel's ``source_locations`` does not count. A channel with locations shows one
    location's own on-hand: one part, no buffer.
    """

    total: int
    parts: tuple[Part, ...] = ()
    buffer: int = 0
    floored: bool = False
    left_out: tuple[Part, ...] = ()
    pooled: bool = True
    cap: int | None = None
    """The channel lists at most this many of the SKU, and the sum was above it."""

    def describe(self) -> str:
        """``22 = Shop A 12 + Shop B 12 - buffer 2`` for a pool (``0 = Shop A 1 - buffer 2, floored
        at 0`` below zero; the bare number when it is one location and nothing else), ``7 at Shop
        A`` for a location."""
        if not self.pooled:
            return f"{self.total} at {self.parts[0].name}" if self.parts else str(self.total)
        extras = self.buffer or self.floored or self.left_out or self.cap is not None
        plain = len(self.parts) <= 1 and not extras
        if plain:
            return str(self.total)
        terms = " + ".join(f"{p.name} {p.on_hand}" for p in self.parts) or "nothing"
        text = f"{self.total} = {terms}"
        if self.buffer:
            text += f" - buffer {self.buffer}"
        if self.floored:
            text += ", floored at 0"
        if self.cap is not None:
            text += f", listed at most {self.cap} (max_listed_quantity)"
        if self.left_out:
            text += f" (source_locations leaves out {', '.join(p.name for p in self.left_out)})"
        return text

    def reason(self, channel: str, shown: int) -> str:
        """The head of a stock change's reason: what ``channel`` shows and what it should."""
        return f"{channel} shows {shown}, should show {self.describe()}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "parts": [p.to_dict() for p in self.parts],
            "buffer": self.buffer,
            "floored": self.floored,
            "left_out": [p.to_dict() for p in self.left_out],
            "pooled": self.pooled,
            "cap": self.cap,
        }
