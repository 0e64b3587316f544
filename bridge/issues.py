"""An item a channel served that could not be read: skipped, reported with channel, id and field.

The adapters find these (validating every wire item at their boundary, see
:mod:`adapters.issues`); the engine and the sync only hold back what such an item names and report
it, so the type lives in the bridge: the engine never imports ``adapters/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ReadIssue"]


@dataclass(frozen=True)
class ReadIssue:
    """One item skipped by a read: which channel, which object (``kind`` and ``object_id``, with
    its ``parent``, e.g. the product of a variation), which ``field`` and what is wrong with it.

    ``skus`` and ``variant_ids`` are what could still be read of it: for a catalogue item
    (``holds``) the sync holds back the SKUs they are linked to, so that the item does not look
    gone. ``hint`` says what to do about it."""

    channel: str
    kind: str
    object_id: str | None
    field: str
    problem: str
    parent: str | None = None
    skus: tuple[str, ...] = ()
    variant_ids: tuple[str, ...] = ()
    hint: str = ""
    holds: bool = False
    """A catalogue item: the sync holds back the SKUs it names that round. (A sale that cannot be
    read holds nothing: its stock shows in the channel's counts, judged as usual.)"""

    @property
    def message(self) -> str:
        """One line for a shop owner: what was skipped, why, and what to do."""
        skus = ", ".join(self.skus[:3]) + (", ..." if len(self.skus) > 3 else "")
        unnamed = f"(without an id, SKU {skus})" if skus else "(without an id)"
        what = f"{self.channel} {self.kind} {self.object_id or unnamed}"
        if self.parent:
            what += f" of {self.parent}"
        hint = f"; {self.hint}" if self.hint else ""
        return f"skipped {what}: {self.field} {self.problem}{hint}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for ``--json``."""
        return {
            "channel": self.channel,
            "kind": self.kind,
            "id": self.object_id,
            "parent": self.parent,
            "field": self.field,
            "problem": self.problem,
            "message": self.message,
        }
