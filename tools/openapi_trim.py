"""Cutting an OpenAPI document down to the operations shopbridge uses, for vendoring in tests/data.

Shared by ``tools/trim_square_spec.py`` and ``tools/trim_ebay_spec.py`` so both vendored specs are
cut by the same rule: keep the path items carrying the operations used, every schema they (and any
extra roots) reach through ``$ref``, each copied unchanged, plus everything outside ``paths`` and
``components`` and the ``securitySchemes``; record the source's hash and what was kept under
``x-shopbridge-trimmed``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

SCHEMA_PREFIX = "#/components/schemas/"


def refs_in(value: Any) -> Iterator[str]:
    """Every ``$ref`` string anywhere inside ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield item
            else:
                yield from refs_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from refs_in(item)


def schema_refs(value: Any) -> list[str]:
    """The names of the schemas ``value`` refers to (``#/components/schemas/<name>``)."""
    return [ref.removeprefix(SCHEMA_PREFIX) for ref in refs_in(value) if ref.startswith(SCHEMA_PREFIX)]


def schema_closure(schemas: dict[str, Any], roots: Iterable[str]) -> tuple[set[str], set[str]]:
    """The names of ``roots`` and of every schema they reach through ``$ref``, transitively; and the
    names referenced but absent (the 2025-08-20 Square spec refers to a
    ``CatalogModifierToggleOverrideType`` it does not define: such a reference is left as it is,
    dangling as in the original)."""
    seen: set[str] = set()
    missing: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in seen or name in missing:
            continue
        if name not in schemas:
            missing.add(name)
            continue
        seen.add(name)
        pending.extend(schema_refs(schemas[name]))
    return seen, missing


def kept_paths(paths: dict[str, Any], operations: frozenset[str]) -> dict[str, Any]:
    """The path items holding ``operations``, with only those operations (plus shared parameters)."""
    out: dict[str, Any] = {}
    for path, item in paths.items():
        kept = {
            key: op
            for key, op in item.items()
            if not isinstance(op, dict) or "operationId" not in op or op["operationId"] in operations
        }
        if any(isinstance(op, dict) and op.get("operationId") in operations for op in kept.values()):
            out[path] = kept
    found = {op["operationId"] for item in out.values() for op in item.values() if isinstance(op, dict)}
    missing = operations - found
    if missing:
        raise KeyError(f"operations not in the spec: {sorted(missing)}")
    return out


def trimmed(
    spec: dict[str, Any],
    operations: frozenset[str],
    extra_roots: Iterable[str],
    *,
    by: str,
    source_sha256: str,
) -> dict[str, Any]:
    """``spec`` with only the paths of ``operations`` and the ``$ref`` closure of their schemas and
    of ``extra_roots`` (schemas no kept operation names, such as error bodies); ``by`` is the tool
    that cut it, recorded with the source's hash so the vendored file says how to remake it."""
    schemas: dict[str, Any] = spec["components"]["schemas"]
    paths = kept_paths(spec["paths"], operations)
    keep, dangling = schema_closure(schemas, [*schema_refs(paths), *extra_roots])
    out = {key: value for key, value in spec.items() if key not in ("paths", "components")}
    out["x-shopbridge-trimmed"] = {
        "source_sha256": source_sha256,
        "by": by,
        "paths": len(paths),
        "schemas": len(keep),
        "dangling_refs_kept_from_source": sorted(dangling),
    }
    out["components"] = {
        "securitySchemes": spec["components"].get("securitySchemes", {}),
        "schemas": {name: body for name, body in schemas.items() if name in keep},
    }
    out["paths"] = paths
    return out


def write_trimmed(target: Path, spec: dict[str, Any]) -> None:
    """Write a :func:`trimmed` spec to ``target`` (one space indents, as vendored) and say what it holds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(spec, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    meta = spec["x-shopbridge-trimmed"]
    print(f"wrote {target}: {meta['paths']} paths, {meta['schemas']} schemas, {target.stat().st_size} bytes")
