"""Items a channel served that cannot be read: skipped, and reported with channel, id and field.

One malformed product (a ``stock_quantity`` of ``"abc"``, a variation without ``id``) must not stop
a sync: the adapter validates every wire item at its boundary (pydantic models of the channel's
payloads), passes on the valid ones and returns a :class:`ReadIssue` for each one it skipped. The
engine never sees the bad item, and the sync holds back everything linked to it that round (a
skipped item is not a deleted one: nothing is archived, created or counted because it is missing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = ["ReadIssue", "WireModel", "catalog_item_issue", "validate_item"]


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


def _problem(error: Mapping[str, Any]) -> tuple[str, str]:
    """``(dotted field, what is wrong)`` from one pydantic error, in a shop owner's words."""
    field = ".".join(str(part) for part in error.get("loc", ())) or "(the item)"
    kind = str(error.get("type", ""))
    if kind == "missing":
        return field, "is missing"
    given = error.get("input")
    shown = repr(given) if len(repr(given)) <= 40 else repr(given)[:37] + "..."
    if kind.startswith("int_"):
        return field, f"is {shown}, not a whole number"
    message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    return field, f"is {shown}: {message[:1].lower()}{message[1:]}"


def validate_item(model: type[BaseModel], raw: Any) -> tuple[str, str] | None:
    """``None`` when ``raw`` is a valid ``model``, else the first problem as ``(field, problem)``."""
    if not isinstance(raw, Mapping):
        return "(the item)", f"is {type(raw).__name__}, not a JSON object"
    try:
        model.model_validate(raw)
    except ValidationError as exc:
        return _problem(exc.errors()[0])
    return None


class WireModel(BaseModel):
    """Base of the channels' payload models: unknown fields are ignored (channels and their
    extensions add many)."""

    model_config = ConfigDict(extra="ignore")


def catalog_item_issue(
    channel: str,
    item: Any,
    children: Sequence[Any],
    *,
    kinds: tuple[str, str],
    models: tuple[type[BaseModel], type[BaseModel]],
    object_id: Callable[[Any], str | None],
    skus: tuple[str, ...],
    variant_ids: tuple[str, ...],
    hint: str,
) -> ReadIssue | None:
    """Why a catalogue ``item`` with its ``children`` (a product and its variations) cannot be
    read, or ``None``: the item's own first problem, else its first child's. An item is created and
    linked whole, so one bad child skips it whole; either way it holds back the SKUs it names.
    ``kinds`` and ``models`` are the item's and a child's, in that order."""
    of_item = f"{kinds[0]} {object_id(item)}"
    checks: list[tuple[str, Any, type[BaseModel], str | None]] = [(kinds[0], item, models[0], None)]
    checks += [(kinds[1], child, models[1], of_item) for child in children]
    for kind, obj, model, parent in checks:
        problem = validate_item(model, obj)
        if problem is not None:
            field, what = problem
            return ReadIssue(
                channel,
                kind,
                object_id(obj),
                field,
                what,
                parent,
                skus=skus,
                variant_ids=variant_ids,
                hint=hint,
                holds=True,
            )
    return None
