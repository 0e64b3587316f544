"""``customer show`` and ``conflicts`` as text for a person at a terminal (the CLI prints these;
``--json`` prints the dicts of :mod:`bridge.customer_view` instead)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["render_conflicts", "render_person"]


def _value(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(str(v) for v in value.values() if v)
    return str(value)


def render_person(view: Mapping[str, Any]) -> str:
    lines = [f"person {view['person']}"]
    for link in view["channels"]:
        extra = " (guest: known from orders)" if link["guest"] else ""
        if link["retired_ids"]:
            extra += f" (merged from {', '.join(link['retired_ids'])})"
        lines.append(f"  {link['channel']:12} {link['id']}{extra}")
    lines.append("contact")
    for name, field in view["contact"].items():
        source = f"{field['from']['channel']} {field['from']['id']}"
        lines.append(f"  {name:12} {_value(field['value'])}   (from {source}, changed {field['changed_at']})")
    if view.get("archived"):
        lines.append("archived: deleted on a channel; nothing more is written for this person")
    if view["marketing_opt_out"]:
        lines.append("marketing: opted out (the sync never grants consent)")
    if view["conflicts"]:
        lines.append("open conflicts")
        lines.extend(f"  {c['id']}: {c['what']}" for c in view["conflicts"])
    lines.append("purchases (newest first)" if view["purchases"] else "purchases: none known")
    for order in view["purchases"]:
        items = ", ".join(f"{_quantity(i['quantity'])} x {i['name']}" for i in order["items"])
        lines.append(
            f"  {order['placed_at'][:16].replace('T', ' ')}  {order['channel']:12} {order['location']:16} "
            f"{items}  {order['total'] or ''}".rstrip()
        )
    return "\n".join(lines)


def _quantity(value: Any) -> str:
    text = str(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def render_conflicts(found: Sequence[Mapping[str, Any]]) -> str:
    if not found:
        return "no open conflicts"
    lines = []
    for c in found:
        if c["kind"] == "customer":
            choices = f"keep one of: {', '.join(c['choices']['persons'])}, new"
        else:
            choices = f"ours {c['choices']['ours']} / {c['channel']} {c['choices']['theirs']}"
        lines.append(
            f"{c['id']:8} {c['kind']:9} {c['channel']:12} {c['what']}  ({choices}; since {c['detected_at']})"
        )
    lines.append("settle one with: shopbridge conflicts resolve ID --keep CHOICE")
    return "\n".join(lines)
