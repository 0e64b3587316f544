"""The adapters stay split into modules of one job each (issue 11 split a 1,465-line WooCommerce
module and a 1,260-line Square one, whose longest functions ran to 87 and 79 lines): every module
says what it is for in its opening docstring and stays small enough to read, and every function
fits on a screen, so the next channel's adapter has a shape to copy."""

from __future__ import annotations

import ast
from pathlib import Path

ADAPTERS = Path(__file__).resolve().parents[1] / "adapters"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def adapter_modules() -> list[Path]:
    return sorted(p for p in ADAPTERS.glob("*.py") if p.name != "__init__.py")


def test_every_adapter_module_says_what_it_is_for_and_stays_readable() -> None:
    modules = adapter_modules()
    assert modules
    undocumented = [p.name for p in modules if not ast.get_docstring(ast.parse(p.read_text()))]
    oversized = {p.name: n for p in modules if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert undocumented == []
    assert oversized == {}


def test_every_adapter_function_fits_on_a_screen() -> None:
    too_long = {
        f"{path.name}:{node.lineno} {node.name}": length
        for path in adapter_modules()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (length := (node.end_lineno or node.lineno) - node.lineno + 1) > MAX_FUNCTION_LINES
    }
    assert too_long == {}
