"""The reference data the tests check against lives in tests/data, and its README says where each
file comes from: a clone tests itself with nothing beside it, and nobody has to guess a licence."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
TESTS = Path(__file__).resolve().parent


def test_readme_names_every_vendored_file() -> None:
    readme = (DATA / "README.md").read_text()
    files = [p.relative_to(DATA) for p in DATA.rglob("*") if p.is_file() and p.name != "README.md"]
    assert len(files) >= 19
    assert [str(f) for f in files if f.name not in readme] == []
    for heading in (
        "square/api.json",
        "ebay/*.json",
        "ebay/derived-from-docs/*.schema.json",
        "woocommerce/*.json",
        "woocommerce/derived-from-source/*.json",
    ):
        section = readme.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
        assert "Origin:" in section and "Licence" in section, heading


def test_no_test_reads_outside_the_repository() -> None:
    """A path to the workspace's shared folder beside the checkout works here only; a clone elsewhere
    would fail or skip. (The patterns are built, so this file does not match itself.)"""
    folder = "sha" + "red"
    outside = (f'"{folder}"', f"/{folder}/", f"../{folder}")
    others = [p for p in TESTS.glob("*.py") if p.name != Path(__file__).name]
    offenders = [p.name for p in others if any(s in p.read_text() for s in outside)]
    assert offenders == []
