"""Issue 9, case 16 beyond typos: a key naming a real channel where it cannot do anything.

``source_locations`` chooses which locations a single-pool channel (the web shop) sums; Square
shows each of its locations' own stock, so ``source_locations = { square = [...] }`` used to be
accepted and silently ignored (a shop owner meaning "sync only this till" got every location).
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunCli
from tests.test_location_buffers import SQUARE


def test_source_locations_for_square_is_a_configuration_error_pointing_at_location_ids(
    tmp_path: Path, run_cli: RunCli
) -> None:
    path = tmp_path / "shopbridge.toml"
    path.write_text(
        SQUARE.format(buffers="").replace("[sync]\n", '[sync]\nsource_locations = { square = ["L1"] }\n')
    )
    result = run_cli("--config", str(path), "config", "check")
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = [x for x in result.stderr.splitlines() if "source_locations" in x]
    assert (
        str(path) in line
        and "sync.source_locations.square" in line
        and "channels.square.location_ids" in line
    )
