"""Scratch space for a catalogue read whose items arrive in an order other than the one they are
passed on in: products in one listing, their variations in another, ordered by date or by id.

Pairing them in Python dicts made a read's memory grow with the size of the change (about 1.5 KB a
changed variation, 60 MB for 50k). A :class:`CatalogSpool` holds them in a private temporary SQLite
database instead (``sqlite3.connect("")``): SQLite keeps a few MB of its pages in memory and spills
the rest to a temporary file that it has already unlinked, so nothing is left behind whether the
read ends, fails or is killed. Items are stored as JSON of the fields the caller chose to keep; a
later copy of an item replaces an earlier one (a read that restarts sees some items twice).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

__all__ = ["CatalogSpool", "SpooledItem"]

CACHE_KIB = 4096
"""SQLite page cache of the spool: what it may hold in memory before spilling to its file."""

_SCHEMA = """
CREATE TABLE products (
    id INTEGER PRIMARY KEY, wanted INTEGER NOT NULL, variable INTEGER NOT NULL, key TEXT NOT NULL,
    date TEXT, data TEXT NOT NULL, passed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE children (
    parent INTEGER NOT NULL, position INTEGER NOT NULL, child INTEGER NOT NULL,
    PRIMARY KEY (parent, position)
) WITHOUT ROWID;
CREATE INDEX children_child ON children (child);
CREATE TABLE variations (
    id INTEGER PRIMARY KEY, parent INTEGER NOT NULL, changed INTEGER NOT NULL, new INTEGER NOT NULL,
    key TEXT NOT NULL, date TEXT, data TEXT NOT NULL
);
CREATE INDEX variations_parent ON variations (parent);
"""


@dataclass(frozen=True)
class SpooledItem:
    """One spooled product or variation: its fields as kept, and the key and date a cursor records."""

    data: dict[str, Any]
    key: str
    date: str | None


class CatalogSpool:
    """Products and variations of one read, to be passed on product by product with their variations.

    Products are *wanted* (to be passed on) or only looked up; variations are *changed* (read as
    changed, so recorded in the cursor whatever becomes of their product) and *new* (changed since
    the cursor last saw them, so their product must be passed on). A product passed on while the
    read goes on (:meth:`ready`) is *passed*, until a different copy of it or of one of its
    variations is spooled: then it is passed on again (the same copy again changes nothing)."""

    def __init__(self) -> None:
        self.db = sqlite3.connect("")
        self.db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        self.db.executescript(_SCHEMA)

    def __enter__(self) -> CatalogSpool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def add_products(self, items: Iterable[tuple[SpooledItem, bool]]) -> None:
        """Spool products as ``(item, wanted)``; a product spooled again keeps its latest copy and is
        wanted if either copy was. A batch is spooled whole or not at all."""
        with self.db:
            for item, wanted in items:
                pid = int(item.data["id"])
                self.db.execute(
                    "INSERT INTO products (id, wanted, variable, key, date, data) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET "
                    "wanted = max(wanted, excluded.wanted), variable = excluded.variable, "
                    "key = excluded.key, date = excluded.date, data = excluded.data, "
                    "passed = CASE WHEN key = excluded.key THEN passed ELSE 0 END",
                    [
                        pid,
                        int(wanted),
                        int(item.data.get("type") == "variable"),
                        item.key,
                        item.date,
                        json.dumps(item.data),
                    ],
                )
                self.db.execute("DELETE FROM children WHERE parent = ?", [pid])
                self.db.executemany(
                    "INSERT INTO children VALUES (?, ?, ?)",
                    [(pid, n, int(c)) for n, c in enumerate(item.data.get("variations") or [])],
                )

    def add_variations(self, items: Iterable[tuple[SpooledItem, bool, bool]]) -> None:
        """Spool variations as ``(item, changed, new)``; a variation spooled again keeps its latest
        copy, and stays changed or new if either copy was. A batch is spooled whole or not at all."""
        with self.db:
            for item, changed, new in items:
                # Its product is passed on again only for a copy that differs (not an overlap's).
                self.db.execute(
                    "UPDATE products SET passed = 0 WHERE id = ? AND NOT EXISTS "
                    "(SELECT 1 FROM variations WHERE id = ? AND key = ?)",
                    [int(item.data["parent_id"]), int(item.data["id"]), item.key],
                )
                self.db.execute(
                    "INSERT INTO variations VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                    "parent = excluded.parent, changed = max(changed, excluded.changed), "
                    "new = max(new, excluded.new), key = excluded.key, date = excluded.date, "
                    "data = excluded.data",
                    [
                        int(item.data["id"]),
                        int(item.data["parent_id"]),
                        int(changed),
                        int(new),
                        item.key,
                        item.date,
                        json.dumps(item.data),
                    ],
                )

    def want_parents_of_new_variations(self) -> None:
        """Mark for passing on every spooled product one of whose variations is new."""
        with self.db:
            self.db.execute(
                "UPDATE products SET wanted = 1 WHERE id IN (SELECT parent FROM variations WHERE new)"
            )

    def unspooled_products(self, ids: Iterable[int]) -> list[int]:
        """Those of ``ids`` (in their order) that no product spooled so far has."""
        wanted = list(ids)
        found: set[int] = set()
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ",".join("?" * len(part))
            rows = self.db.execute(f"SELECT id FROM products WHERE id IN ({marks})", part)
            found.update(row[0] for row in rows)
        return [i for i in wanted if i not in found]

    def missing_parents(self, size: int) -> Iterator[list[int]]:
        """Ids of products with a new variation that are not spooled, ``size`` at a time in id order
        (to be fetched and spooled as wanted between batches)."""
        yield from self._batches(
            "SELECT DISTINCT parent FROM variations WHERE new AND parent > ? "
            "AND parent NOT IN (SELECT id FROM products) ORDER BY parent LIMIT ?",
            size,
        )

    def missing_children(self, size: int) -> Iterator[list[int]]:
        """Ids of the variations of wanted variable products that are not spooled, ``size`` at a
        time in id order (to be fetched and spooled between batches)."""
        yield from self._batches(
            "SELECT DISTINCT c.child FROM products p JOIN children c ON c.parent = p.id "
            "WHERE p.wanted AND p.variable AND c.child > ? "
            "AND c.child NOT IN (SELECT id FROM variations) ORDER BY c.child LIMIT ?",
            size,
        )

    def _batches(self, sql: str, size: int) -> Iterator[list[int]]:
        # Keyset paging, one query per batch: the caller writes to the spool between batches,
        # which an open cursor over the same tables would not survive.
        last = -1
        while True:
            ids = [int(row[0]) for row in self.db.execute(sql, [last, size])]
            if not ids:
                return
            yield ids
            last = ids[-1]

    def wanted(self, size: int) -> Iterator[list[tuple[SpooledItem, list[SpooledItem]]]]:
        """Wanted products not passed on yet, in id order, ``size`` at a time, each with its spooled
        variations in the product's own order (a variation it no longer lists is left out)."""
        last = -1
        while True:
            rows = self.db.execute(
                "SELECT id, key, date, data FROM products WHERE wanted AND NOT passed AND id > ? "
                "ORDER BY id LIMIT ?",
                [last, size],
            ).fetchall()
            if not rows:
                return
            yield self._with_variations(rows)
            last = rows[-1][0]

    def ready(self, ids: Iterable[int]) -> list[tuple[SpooledItem, list[SpooledItem]]]:
        """Those of products ``ids`` that can be passed on before the read ends, marked passed: not
        passed yet, wanted or with a new variation, and whole (every variation a variable product
        lists is spooled; a trashed variable product that lists none waits for its own call)."""
        found: list[tuple[int, str, str | None, str]] = []
        wanted = sorted(set(ids))
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ",".join("?" * len(part))
            found += self.db.execute(
                f"SELECT p.id, p.key, p.date, p.data FROM products p WHERE p.id IN ({marks}) "
                "AND NOT p.passed "
                "AND (p.wanted OR EXISTS (SELECT 1 FROM variations v WHERE v.parent = p.id AND v.new)) "
                "AND NOT EXISTS (SELECT 1 FROM children c WHERE c.parent = p.id "
                "AND c.child NOT IN (SELECT id FROM variations)) "
                "AND NOT (p.variable AND json_extract(p.data, '$.status') = 'trash' "
                "AND NOT EXISTS (SELECT 1 FROM children c WHERE c.parent = p.id))",
                part,
            ).fetchall()
        with self.db:
            self.db.executemany("UPDATE products SET passed = 1 WHERE id = ?", [(row[0],) for row in found])
        return self._with_variations(found)

    def _with_variations(
        self, rows: Sequence[tuple[int, str, str | None, str]]
    ) -> list[tuple[SpooledItem, list[SpooledItem]]]:
        """Each product row ``(id, key, date, data)`` with its spooled variations, in its own order."""
        by_parent: dict[int, dict[int, SpooledItem]] = {}
        ids = [row[0] for row in rows]
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for parent, vid, key, date, data in self.db.execute(
                f"SELECT parent, id, key, date, data FROM variations WHERE parent IN ({marks})", part
            ):
                by_parent.setdefault(parent, {})[vid] = SpooledItem(json.loads(data), key, date)
        batch = []
        for pid, key, date, data in rows:
            product = SpooledItem(json.loads(data), key, date)
            known = by_parent.get(pid, {})
            children = [int(c) for c in product.data.get("variations") or []]
            batch.append((product, [known[c] for c in children if c in known]))
        return batch

    def changed_variations(self) -> Iterator[tuple[str, str | None]]:
        """``(key, date)`` of every variation read as changed, for the cursor."""
        yield from self.db.execute("SELECT key, date FROM variations WHERE changed ORDER BY id")
