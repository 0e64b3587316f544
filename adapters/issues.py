"""Items a channel served that cannot be read: skipped, and reported with channel, id and field.

One malformed product (a ``stock_quantity`` of ``"abc"``, a variation without ``id``) must not stop
a sync: the adapter validates every wire item at its boundary (pydantic models of the channel's
payloads), passes on the valid ones and returns a :class:`ReadIssue` for each one it skipped. The
engine never sees the bad item, and the sync holds back everything linked to it that round (a
skipped item is not a deleted one: nothing is archived, created or counted because it is missing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from bridge.issues import ReadIssue

__all__ = ["ReadIssue", "WireModel", "catalog_item_issue", "readable_or_reported", "validate_item"]


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


def readable_or_reported(
    model: type[BaseModel], raw: Any, issues: list[ReadIssue], *, channel: str, kind: str, hint: str
) -> dict[str, Any] | None:
    """``raw`` as a dict when it is a valid ``model``; else ``None``, with a :class:`ReadIssue`
    naming the channel, the item's id (when it has one) and the field appended to ``issues``."""
    problem = validate_item(model, raw)
    if problem is None:
        return dict(raw)
    field, what = problem
    object_id = raw.get("id") if isinstance(raw, Mapping) else None
    issues.append(ReadIssue(channel, kind, str(object_id) if object_id else None, field, what, hint=hint))
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
