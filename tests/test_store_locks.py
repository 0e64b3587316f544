"""A Store opened while another is open in the same process must not drop the first one's file
locks (found by the customer webhook tests: a `customer show` subprocess then deleted the WAL the
daemon's store still used, and its next query failed with "disk I/O error")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bridge.store import Store


def test_opening_the_store_again_in_a_process_keeps_the_first_connections_locks(tmp_path: Path) -> None:
    path = tmp_path / "shopbridge.db"
    with Store(path) as first:
        first.set_cursor("square", "catalog", "c1")
        Store(path).close()  # a second Store in the same process (a thread, a test's own connection)
        # Another process (the CLI's `customer show`) opens and closes the file: it must not think it
        # was the last connection and delete the WAL the first one still uses.
        probe = (
            f"import sqlite3; c = sqlite3.connect({str(path)!r}); "
            "c.execute('SELECT 1 FROM cursors').fetchall(); c.close()"
        )
        subprocess.run([sys.executable, "-c", probe], check=True)
        first.set_cursor("square", "catalog", "c2")
        assert first.get_cursor("square", "catalog") == "c2"
        assert path.with_name(path.name + "-wal").exists()
