"""shopbridge command line (placeholder, being written)."""

import typer

app = typer.Typer()


def main() -> None:
    app()
