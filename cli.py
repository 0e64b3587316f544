"""The ``shopbridge`` command line: parse, call the core, render. No sync logic lives here.

Exit codes: 0 success; 1 a runtime failure (a channel unreachable, a write refused); 2 a usage or
configuration error (bad flag, bad config file, missing secret).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any

import typer

from bridge.config import Config, ConfigError, load_config
from bridge.initfile import InitAnswers, SecretRef, render_config, write_private
from bridge.logs import configure_logging
from bridge.store import SchemaTooNew, Store

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

log = logging.getLogger("shopbridge")

app = typer.Typer(
    name="shopbridge",
    help="Keep a WooCommerce shop, Square POS and marketplaces in step: one catalogue, one stock.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect the configuration file.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@dataclass
class State:
    config_path: Path
    verbosity: int

    def config(self) -> Config:
        """The loaded configuration; on any problem prints one line each and exits 2."""
        try:
            config = load_config(self.config_path)
        except ConfigError as exc:
            for line in exc.problems:
                typer.echo(f"error: {line}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        level = {-1: "warning", 0: config.logging.level, 1: "debug"}.get(self.verbosity, "debug")
        configure_logging(level, config.logging.format)
        return config

    def store(self, config: Config) -> Store:
        try:
            return Store(config.store_path())
        except SchemaTooNew as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_FAILURE) from None


def _version(value: bool) -> None:
    if value:
        try:
            typer.echo(f"shopbridge {version('shopbridge')}")
        except PackageNotFoundError:
            typer.echo("shopbridge (not installed)")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path,
        typer.Option(
            "--config",
            "-c",
            envvar="SHOPBRIDGE_CONFIG",
            help="Configuration file.",
            show_default=True,
        ),
    ] = Path("shopbridge.toml"),
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug detail.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Log warnings and errors only.")] = False,
    _show_version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """shopbridge: one catalogue, one stock, one customer record across your channels."""
    ctx.obj = State(config_path=config, verbosity=1 if verbose else (-1 if quiet else 0))


# ------------------------------------------------------------------------------------------------
# init
# ------------------------------------------------------------------------------------------------


def _ask_secret(label: str, default_env: str, secrets_dir: Path) -> SecretRef:
    """Ask where a secret lives; a pasted value goes to its own 0600 file, never into the config."""
    kind = typer.prompt(
        f"{label}: from an environment variable (env), a file (file), a systemd credential "
        "(credential), or paste it now (paste)?",
        default="env",
    ).strip()
    if kind == "env":
        return SecretRef("env", typer.prompt("  environment variable name", default=default_env))
    if kind == "file":
        return SecretRef("file", typer.prompt("  file path"))
    if kind == "credential":
        return SecretRef("credential", typer.prompt("  credential name", default=default_env.lower()))
    if kind == "paste":
        value = typer.prompt("  value (not shown)", hide_input=True)
        target = secrets_dir / default_env.lower()
        write_private(target, value + "\n")
        typer.echo(f"  saved to {target} (mode 0600)")
        return SecretRef("file", str(target))
    typer.echo("  please answer env, file, credential or paste", err=True)
    return _ask_secret(label, default_env, secrets_dir)


@app.command()
def init(
    ctx: typer.Context,
    non_interactive: Annotated[
        bool, typer.Option("--non-interactive", help="Take everything from flags; never prompt.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    store_path: Annotated[str, typer.Option(help="SQLite file for the mapping store.")] = "shopbridge.db",
    system_of_record: Annotated[
        str, typer.Option(help="Which channel owns catalogue data: woocommerce or square.")
    ] = "woocommerce",
    wc_url: Annotated[str | None, typer.Option(help="WooCommerce shop URL.")] = None,
    wc_key_env: Annotated[str | None, typer.Option(help="Env var holding the consumer key.")] = None,
    wc_secret_env: Annotated[str | None, typer.Option(help="Env var holding the consumer secret.")] = None,
    wc_webhook_secret_env: Annotated[
        str | None, typer.Option(help="Env var holding the webhook secret.")
    ] = None,
    square_token_env: Annotated[
        str | None, typer.Option(help="Env var holding the Square access token.")
    ] = None,
    square_environment: Annotated[str, typer.Option(help="production or sandbox.")] = "production",
    square_signature_key_env: Annotated[
        str | None, typer.Option(help="Env var holding the Square webhook signature key.")
    ] = None,
    public_url: Annotated[
        str | None, typer.Option(help="Public URL where channels deliver webhooks.")
    ] = None,
) -> None:
    """Write a configuration file (mode 0600) with secret references, never secret values."""
    state: State = ctx.obj
    path = state.config_path
    if path.exists() and not force:
        typer.echo(f"error: {path} exists; use --force to overwrite it", err=True)
        raise typer.Exit(EXIT_USAGE)
    answers = InitAnswers(store_path=store_path, system_of_record=system_of_record, public_url=public_url)
    if system_of_record not in {"woocommerce", "square"}:
        typer.echo("error: --system-of-record must be woocommerce or square", err=True)
        raise typer.Exit(EXIT_USAGE)
    if non_interactive:
        if wc_url and wc_key_env and wc_secret_env:
            answers.woocommerce_url = wc_url
            answers.woocommerce_key = SecretRef("env", wc_key_env)
            answers.woocommerce_secret = SecretRef("env", wc_secret_env)
            if wc_webhook_secret_env:
                answers.woocommerce_webhook_secret = SecretRef("env", wc_webhook_secret_env)
        elif wc_url or wc_key_env or wc_secret_env:
            typer.echo(
                "error: WooCommerce needs --wc-url, --wc-key-env and --wc-secret-env together", err=True
            )
            raise typer.Exit(EXIT_USAGE)
        if square_token_env:
            answers.square_token = SecretRef("env", square_token_env)
            answers.square_environment = square_environment
            if square_signature_key_env:
                answers.square_signature_key = SecretRef("env", square_signature_key_env)
        if not (answers.woocommerce_url or answers.square_token):
            typer.echo(
                "error: configure at least one channel (--wc-url ... or --square-token-env ...)", err=True
            )
            raise typer.Exit(EXIT_USAGE)
    else:
        secrets_dir = path.parent / "secrets"
        if typer.confirm("Connect a WooCommerce shop?", default=True):
            answers.woocommerce_url = typer.prompt("  shop URL (https://...)")
            answers.woocommerce_key = _ask_secret("  consumer key", "SHOPBRIDGE_WC_KEY", secrets_dir)
            answers.woocommerce_secret = _ask_secret("  consumer secret", "SHOPBRIDGE_WC_SECRET", secrets_dir)
            answers.woocommerce_webhook_secret = _ask_secret(
                "  webhook secret", "SHOPBRIDGE_WC_WEBHOOK_SECRET", secrets_dir
            )
        if typer.confirm("Connect Square?", default=True):
            answers.square_environment = typer.prompt(
                "  environment (production/sandbox)", default="production"
            )
            answers.square_token = _ask_secret("  access token", "SHOPBRIDGE_SQUARE_TOKEN", secrets_dir)
            answers.square_signature_key = _ask_secret(
                "  webhook signature key", "SHOPBRIDGE_SQUARE_SIGNATURE_KEY", secrets_dir
            )
        answers.system_of_record = typer.prompt(
            "Which channel owns the catalogue (woocommerce/square)?", default=system_of_record
        )
        answers.public_url = typer.prompt("Public URL for webhooks (empty: polling only)", default="") or None
    write_private(path, render_config(answers))
    typer.echo(f"wrote {path} (mode 0600). Next: shopbridge config check, then shopbridge sync --dry-run")


# ------------------------------------------------------------------------------------------------
# config check, status
# ------------------------------------------------------------------------------------------------


@config_app.command("check")
def config_check(ctx: typer.Context) -> None:
    """Validate the file and resolve every secret; one line per problem, exit 2 if any."""
    state: State = ctx.obj
    config = state.config()
    channels = [n for n in ("woocommerce", "square") if getattr(config.channels, n)]
    typer.echo(
        f"ok: {state.config_path}: channels {', '.join(channels)}; store {config.store_path()}; "
        f"{len(config.secrets())} secrets resolved"
    )


def _render_status(figures: dict[str, Any]) -> str:
    lines = [
        f"store schema v{figures['schema_version']}: {figures['variants']} variants, "
        f"{figures['customers']} customers, {figures['stock_events']} stock events",
    ]
    for channel, entities in sorted(figures["linked"].items()):
        parts = ", ".join(f"{n} {entity}s" for entity, n in sorted(entities.items()))
        lines.append(f"  {channel}: linked {parts}")
    if not figures["linked"]:
        lines.append("  nothing linked yet (run shopbridge sync --dry-run)")
    lines.append(
        f"inbox pending {figures['inbox_pending']}, outbox pending {figures['outbox_pending']}, "
        f"outbox failed {figures['outbox_failed']}, open conflicts {figures['open_conflicts']}"
    )
    for key, when in sorted(figures["last_poll"].items()):
        lines.append(f"  last successful poll {key}: {when or 'never'}")
    return "\n".join(lines)


@app.command()
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object, for machines.")] = False,
) -> None:
    """Store figures: links per channel, queue depths, last successful poll per channel."""
    state: State = ctx.obj
    config = state.config()
    with state.store(config) as store:
        figures = store.figures()
    typer.echo(json.dumps(figures, indent=None if as_json else 2) if as_json else _render_status(figures))


def main() -> None:
    """Console-script entry point: runs the app and maps unexpected failures to exit status 1."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("SHOPBRIDGE_DEBUG"):
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAILURE)


if __name__ == "__main__":
    main()
