"""One statement over any number of keys: ``IN (?, ?, ...)`` in chunks SQLite accepts.

SQLite refuses a statement with more ``?`` than its build allows (999 before 3.32, 32766 after);
a catalogue has more SKUs than that. Every lookup or update of the store by a list of keys goes
through :func:`in_chunks`, which runs the statement once per chunk of at most :data:`CHUNK` keys
(duplicates dropped, order kept), so no caller writes the loop or the placeholders by hand.
Keys of two parts (``(channel, variant id)``) are grouped by their first part with
:func:`by_first`: one chunked statement per channel, not one statement per key.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

__all__ = ["CHUNK", "KEYS", "as_dicts", "by_first", "execute_in", "in_chunks", "rows_in"]

CHUNK = 500
"""Keys per statement: under the oldest limit (999) with room for the statement's other ``?``."""

A = TypeVar("A")
B = TypeVar("B")

KEYS = "{keys}"
"""Where a statement given to :func:`in_chunks` wants its list: ``... AND sku IN {keys}``."""


def in_chunks(
    conn: sqlite3.Connection, sql: str, keys: Iterable[Any], *, before: Sequence[Any] = ()
) -> Iterator[sqlite3.Cursor]:
    """Run ``sql`` once per chunk of ``keys``, the chunk's ``(?, ...)`` written at :data:`KEYS`;
    ``before`` are the values of the ``?`` ahead of it. Nothing is run for no keys."""
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), CHUNK):
        chunk = unique[start : start + CHUNK]
        yield conn.execute(sql.replace(KEYS, f"({','.join('?' * len(chunk))})"), [*before, *chunk])


def rows_in(
    conn: sqlite3.Connection, sql: str, keys: Iterable[Any], *, before: Sequence[Any] = ()
) -> list[tuple[Any, ...]]:
    """Every row :func:`in_chunks` selects, as tuples."""
    return [tuple(row) for cursor in in_chunks(conn, sql, keys, before=before) for row in cursor]


def execute_in(conn: sqlite3.Connection, sql: str, keys: Iterable[Any], *, before: Sequence[Any] = ()) -> int:
    """Run an ``UPDATE`` or ``DELETE`` over every chunk of ``keys``; returns the rows it changed."""
    return sum(cursor.rowcount for cursor in in_chunks(conn, sql, keys, before=before))


def by_first(pairs: Iterable[tuple[A, B]]) -> dict[A, list[B]]:
    """Two-part keys grouped by their first part (duplicates dropped, order kept), for one
    :func:`in_chunks` statement per group with the first part among its ``before`` values."""
    groups: dict[A, list[B]] = {}
    for first, second in dict.fromkeys(pairs):
        groups.setdefault(first, []).append(second)
    return groups


def as_dicts(cursors: Iterable[sqlite3.Cursor]) -> list[dict[str, Any]]:
    """Every row of ``cursors`` as a dict by column name (what ``sqlite_utils``' ``query`` gives)."""
    out: list[dict[str, Any]] = []
    for cursor in cursors:
        names = [d[0] for d in cursor.description or ()]
        out.extend([dict(zip(names, row, strict=True)) for row in cursor])
    return out
