"""Store files as an older shopbridge left them, for the tests of each migration: one way to make
them (the migrations applied up to a given one), so every such test starts from the same thing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from bridge.store import MIGRATIONS


def old_store(path: Path, *, before: str) -> Database:
    """A store file at ``path`` as the shopbridge before migration ``before`` left it (open: the
    test writes what that shopbridge would have held, then closes it)."""
    db = Database(sqlite3.connect(path))
    MIGRATIONS.apply(db, stop_before=before)
    return db
