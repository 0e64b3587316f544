"""The emulators stay split into modules of one job each (issue 11 split a 2,274-line WooCommerce
module and a 1,730-line Square one): every module says what it is for in its opening docstring and
stays small enough to read, so the next channel's emulator has a shape to copy."""

from __future__ import annotations

import ast
from pathlib import Path

SANDBOX = Path(__file__).resolve().parents[1] / "sandbox"
EMULATORS = ("woocommerce", "square", "ebay")
MAX_LINES = 500


def emulator_modules() -> list[Path]:
    return [path for name in EMULATORS for path in sorted((SANDBOX / name).glob("*.py"))]


def test_each_emulator_is_a_package_of_several_modules() -> None:
    for name in EMULATORS:
        package = SANDBOX / name
        assert (package / "__init__.py").is_file(), f"sandbox/{name} is not a package"
        assert len(list(package.glob("*.py"))) >= 8, f"sandbox/{name} is not split"


def test_every_emulator_module_says_what_it_is_for_and_stays_readable() -> None:
    modules = emulator_modules()
    assert modules
    undocumented = [p.name for p in modules if not ast.get_docstring(ast.parse(p.read_text()))]
    oversized = {p.name: n for p in modules if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert undocumented == []
    assert oversized == {}
