"""The ``shopbridge`` command line: parse, call the core, render. No sync logic lives here.

Exit codes: 0 success; 1 a runtime failure (a channel unreachable, a write refused); 2 a usage or
configuration error (bad flag, bad config file, missing secret).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import BaseModel
from rich.console import Console

from adapters.base import AdapterError
from adapters.issues import ReadIssue
from bridge import registry
from bridge.config import (
    Config,
    ConfigError,
    ServerSettings,
    check_answer,
    config_warnings,
    load_config,
)
from bridge.customer_render import render_conflicts, render_person
from bridge.customer_view import ConflictNotFound, find_persons, open_conflicts, person_view, resolve_conflict
from bridge.failure import Failure
from bridge.httpd import ListenError
from bridge.initfile import (
    ChannelAnswers,
    InitAnswers,
    SecretRef,
    render_config,
    render_dropin,
    write_private,
)
from bridge.initflags import (
    InitFlag,
    InitRefused,
    channels_from_flags,
    check_answers,
    check_instance,
    init_flags,
    refuse_ignored,
)
from bridge.links import LinkRefused, link_by_hand, unlink_by_hand
from bridge.logs import configure_logging
from bridge.metrics import Metrics
from bridge.plan import Plan
from bridge.policy import SyncPolicy
from bridge.progress import BarProgress, Progress, QuietProgress
from bridge.storage import StoreFigures
from bridge.store import SchemaTooNew, Store, utcnow
from bridge.store.flow import FlowFigures
from bridge.sync import ChannelReadError, LocationConfigError, RelayReport, SyncRunner, UnsafePlan

PROG = "shopbridge"
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

log = logging.getLogger("shopbridge")

_CHANNELS = " or ".join(registry.channel_names())
"""The registered channels, as help texts name them (a plug-in registered before this module is
imported is among them)."""

app = typer.Typer(
    name="shopbridge",
    help="Keep a WooCommerce shop, Square POS and marketplaces in step: one catalogue, one stock.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (shell found by shellingham)
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
config_app = typer.Typer(help="Inspect the configuration file.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@dataclass
class _Output:
    """Whether failures print as one JSON object on stdout (``--json``) or as ``error:`` lines on
    stderr. Set by each command that takes ``--json``; main() reads it for the failures it catches
    after the command is gone."""

    json_errors: bool = False


OUTPUT = _Output()


def _print_failure(failure: Failure, result: dict[str, Any] | None = None) -> None:
    """``failure`` as the user asked for output; under ``--json`` merged into ``result``, if any
    (a sync's result or a refused plan stays the object it is, with the error in it)."""
    if OUTPUT.json_errors:
        typer.echo(json.dumps({**(result or {}), **failure.to_json()}, default=str))
    else:
        for line in failure.lines():
            typer.echo(line, err=True)


def _fail(code: int, failure: Failure, result: dict[str, Any] | None = None) -> NoReturn:
    _print_failure(failure, result)
    raise typer.Exit(code)


@dataclass
class State:
    config_path: Path
    verbosity: int

    def config(self, *, webhook_keys_pending: bool = False) -> Config:
        """The loaded configuration; on any problem prints one line each and exits 2."""
        try:
            config = load_config(self.config_path, webhook_keys_pending=webhook_keys_pending)
        except ConfigError as exc:
            _fail(EXIT_USAGE, Failure(tuple(exc.problems)))
        level = {-1: "warning", 0: config.logging.level, 1: "debug"}.get(self.verbosity, "debug")
        configure_logging(level, config.logging.format)
        return config

    def store(self, config: Config) -> Store:
        try:
            return Store(config.store_path())
        except SchemaTooNew as exc:
            _fail(EXIT_FAILURE, Failure.of(str(exc)))

    @contextmanager
    def writer(self, config: Config) -> Iterator[Store]:
        """The store for a command that changes it by hand (link, unlink, conflicts resolve): held
        under the one-writer lock (:func:`_exclusive`), so it never interleaves with a sync."""
        with self.store(config) as store, _exclusive(config.store_path()):
            yield store


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


def _ask_valid(question: str, model: type[BaseModel], field: str, default: str | None = None) -> Any:
    """Ask until the answer passes the config's own rule for ``model.field`` (one source of truth:
    an answer ``init`` takes is one ``config check`` accepts). An empty answer to an optional
    field is ``None``."""
    while True:
        text = typer.prompt(question, default=default) if default is not None else typer.prompt(question)
        text = text.strip()
        if not text and default == "":
            return None
        try:
            return check_answer(model, field, text)
        except ValueError as exc:
            typer.echo(f"  {exc}; try again", err=True)


def _ask_secret(label: str, default_env: str, config_dir: Path, systemd: bool = False) -> SecretRef:
    """Ask where a secret lives; a pasted value goes to its own 0600 file beside the config (named
    relative to it, as the config's paths are), never into the config. For the systemd unit
    (``systemd``), every secret is the credential of the naming scheme."""
    if systemd:
        typer.echo(f"{label}: systemd credential {default_env.lower()}")
        return SecretRef("credential", default_env.lower())
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
        relative = Path("secrets") / default_env.lower()
        write_private(config_dir / relative, value + "\n")
        typer.echo(f"  saved to {config_dir / relative} (mode 0600)")
        return SecretRef("file", str(relative))
    typer.echo("  please answer env, file, credential or paste", err=True)
    return _ask_secret(label, default_env, config_dir, systemd)


def _usage_error(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def _offered() -> list[registry.ChannelSpec[Any]]:
    """The channels ``init`` offers to connect, in registry order."""
    return [spec for spec in registry.channels().values() if spec.init is not None]


def _ask_channel(spec: registry.ChannelSpec[Any], config_dir: Path, systemd: bool) -> ChannelAnswers:
    """One channel's questions (its own, from the registry), each answer checked as it is typed."""
    assert spec.init is not None
    answers = ChannelAnswers()
    for key, question, default in spec.init.answers:
        answers.values[key] = _ask_valid(question, spec.section, key, default=default)
    guide = spec.init.guide(answers.values) if spec.init.guide is not None else None
    if guide:
        typer.echo(guide)
    for secret in spec.init.secrets:
        answers.secrets[secret.key] = _ask_secret(secret.label, secret.env, config_dir, systemd)
    return answers


def _ask_interactively(answers: InitAnswers, config_dir: Path, systemd: bool) -> None:
    """The questions of an interactive ``init``, each answer checked as it is typed."""
    offered = _offered()
    for spec in offered:
        assert spec.init is not None
        if typer.confirm(spec.init.question, default=True):
            answers.channels[spec.name] = _ask_channel(spec, config_dir, systemd)
    if not answers.channels:
        titles = " or ".join(spec.title for spec in offered)
        _usage_error(f"configure at least one channel ({titles}); nothing written")
    answers.system_of_record = _ask_valid(
        f"Which channel owns the catalogue ({'/'.join(s.name for s in offered if s.capabilities.may_own)})?",
        SyncPolicy,
        "system_of_record",
        default=answers.system_of_record,
    )
    answers.public_url = _ask_valid(
        "Public URL for webhooks (empty: polling only)", ServerSettings, "public_url", default=""
    )


def _write_dropin(answers: InitAnswers, config_path: Path, instance: str) -> None:
    """The unit's drop-in beside the config, and how to install both."""
    dropin = config_path.parent / f"shopbridge@{instance}.service.d" / "credentials.conf"
    dropin.parent.mkdir(parents=True, exist_ok=True)
    dropin.write_text(render_dropin(answers, instance), encoding="utf-8")
    typer.echo(f"wrote {dropin}: the credentials this shop needs. Install (as root):")
    typer.echo(f"  install -Dm600 {config_path} /etc/shopbridge/{instance}.toml")
    typer.echo(
        f"  install -Dm644 {dropin} /etc/systemd/system/shopbridge@{instance}.service.d/credentials.conf"
    )
    typer.echo(f"  install -dm700 /etc/shopbridge/{instance}")
    for channel in answers.channels.values():
        for ref in channel.secrets.values():
            typer.echo(
                f"  systemd-creds encrypt --name={ref.name} - /etc/shopbridge/{instance}/{ref.name}.cred"
            )


def _flag_annotation(flag: InitFlag) -> Any:
    """A channel's ``init`` flag as typer reads it from a parameter's annotation."""
    shown = flag.help + (f" [default: {flag.default}]" if flag.default else "")
    if flag.kind == "switch":
        return Annotated[bool, typer.Option(flag.option, help=shown)]
    return Annotated[str | None, typer.Option(flag.option, help=shown)]


def _with_channel_flags(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` with every offered channel's ``init`` flags in place of its ``**flags``: typer
    reads the signature, so the flags are those each channel's registry entry describes
    (bridge/initflags.py), not a list kept here."""
    signature = inspect.signature(command, eval_str=True)
    fixed = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    flags = [
        inspect.Parameter(
            flag.param,
            inspect.Parameter.KEYWORD_ONLY,
            default=False if flag.kind == "switch" else None,
            annotation=_flag_annotation(flag),
        )
        for flag in init_flags()
    ]
    command.__signature__ = signature.replace(parameters=[*fixed, *flags])  # type: ignore[attr-defined]
    return command


@app.command()
@_with_channel_flags
def init(
    ctx: typer.Context,
    non_interactive: Annotated[
        bool, typer.Option("--non-interactive", help="Take everything from flags; never prompt.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    store_path: Annotated[str, typer.Option(help="SQLite file for the mapping store.")] = "shopbridge.db",
    system_of_record: Annotated[
        str, typer.Option(help=f"Which channel owns catalogue data: {_CHANNELS}.")
    ] = "woocommerce",
    public_url: Annotated[
        str | None, typer.Option(help="Public URL where channels deliver webhooks.")
    ] = None,
    systemd: Annotated[
        str | None,
        typer.Option(
            "--systemd",
            metavar="INSTANCE",
            help="For shopbridge@INSTANCE.service: every secret a systemd credential, plus the unit's "
            "drop-in naming them.",
        ),
    ] = None,
    **flags: Any,
) -> None:
    """Write a configuration file (mode 0600) with secret references, never secret values. Each
    channel's flags are its own: its answers, the environment variables holding its secrets, and
    with --systemd a switch for a channel that needs no answer."""
    state: State = ctx.obj
    path = state.config_path
    if path.exists() and not force:
        typer.echo(f"error: {path} exists; use --force to overwrite it", err=True)
        raise typer.Exit(EXIT_USAGE)
    answers = InitAnswers(store_path=store_path, system_of_record=system_of_record, public_url=public_url)
    try:
        check_instance(systemd)
        if non_interactive:
            webhooks = public_url is not None
            answers.channels = channels_from_flags(flags, systemd=systemd is not None, webhooks=webhooks)
        else:
            refuse_ignored(flags, systemd is not None)
        check_answers(answers)
    except InitRefused as refused:
        _usage_error(str(refused))
    if not non_interactive:
        _ask_interactively(answers, path.parent, systemd is not None)
    write_private(path, render_config(answers))
    typer.echo(f"wrote {path} (mode 0600). Next: shopbridge config check, then shopbridge sync --dry-run")
    if systemd is not None:
        _write_dropin(answers, path, systemd)


# ------------------------------------------------------------------------------------------------
# config check, status
# ------------------------------------------------------------------------------------------------


@config_app.command("check")
def config_check(ctx: typer.Context) -> None:
    """Validate the file and resolve every secret; one line per problem, exit 2 if any."""
    state: State = ctx.obj
    config = state.config()
    channels = list(config.channels.sections())
    for warning in config_warnings(config):
        typer.echo(f"warning: {state.config_path}: {warning}", err=True)
    typer.echo(
        f"ok: {state.config_path}: channels {', '.join(channels)}; store {config.store_path()}; "
        f"{len(config.secrets())} secrets resolved"
    )


def _render_status(figures: StoreFigures) -> str:
    catalogue = figures["catalogue"]
    lines = [
        f"store schema v{figures['schema_version']}: {figures['variants']} variants, "
        f"{figures['customers']} customers, {figures['stock_events']} stock events",
        f"catalogue: {catalogue['products']} products, {catalogue['variants']} variants "
        f"({catalogue['archived_variants']} archived)",
    ]
    for channel, entities in sorted(figures["linked"].items()):
        parts = [
            f"{n} of the {figures['variants']} variants" if entity == "variant" else f"{n} {entity}s"
            for entity, n in sorted(entities.items(), key=lambda item: item[0] != "variant")
        ]
        lines.append(f"  {channel}: linked {', '.join(parts)}")
    if not figures["linked"]:
        lines.append("  nothing linked yet (run shopbridge sync --dry-run)")
    lines.append(
        f"inbox pending {figures['inbox_pending']}, outbox pending {figures['outbox_pending']}, "
        f"outbox failed {figures['outbox_failed']}, open conflicts {figures['open_conflicts']}"
    )
    for key, when in sorted(figures["last_poll"].items()):
        lines.append(f"  last successful poll {key}: {when or 'never'}")
    if figures["unresolved_count"]:
        lines.append(f"stock moves not in the ledger yet (kept until linked): {figures['unresolved_count']}")
        lines.extend(f"  - {u['summary']}" for u in figures["unresolved"])
    for pool in figures.get("stock_pools_held", []):
        lines.append(
            f"stock pool held: {pool['channel']} product {pool['product_id']} ({', '.join(pool['skus'])}) "
            f"shows {pool['shown']}, expected {pool['expected']}, since {pool['since']}: a change no SKU "
            f"explains; not written until it shows {pool['expected']} or its variations get their own stock"
        )
    return "\n".join(lines)


def _render_ended(ended: Mapping[str, Mapping[str, int | bool]]) -> str:
    """Per marketplace, the listings ended at a sell-out (an account refusing a quantity of 0) and
    not listed again yet: a seller looking for a listing in Seller Hub learns why it is gone."""
    lines = [
        f"  {channel}: {_listings(int(shown['ended']))} ended at a sell-out (listed again at the next "
        f"restock), {int(shown['relisted'])} listed again so far"
        + ("; this account refuses a quantity of 0" if shown["refuses_zero"] else "")
        for channel, shown in sorted(ended.items())
    ]
    return "\n" + "\n".join(["ended listings:", *lines]) if lines else ""


def _listings(n: int) -> str:
    return f"{n} listing" if n == 1 else f"{n} listings"


def _render_flow(
    flow: FlowFigures, channels: Sequence[str] = (), today: Mapping[str, Mapping[str, int]] | None = None
) -> str:
    """Per channel (every configured one, with nothing yet too) what came in, went out and waits,
    and the SKUs written today (a marketplace limits revisions a day); how long a stock event took
    to reach each other channel (what ``/metrics`` exports, as the store holds it)."""
    lines = []
    today = today or {}
    for channel in sorted({*channels, *flow["events_processed"], *flow["writes"], *flow["queues"]}):
        events = flow["events_processed"].get(channel, {})
        writes = flow["writes"].get(channel, {})
        queues = flow["queues"].get(channel, {})
        lines.append(
            f"  {channel}: processed {events.get('stock', 0)} stock events, {events.get('webhook', 0)} "
            f"webhooks; writes applied {writes.get('applied', 0)}, failed {writes.get('failed', 0)}, "
            f"queued {writes.get('queued', 0)} (retrying {writes.get('retrying', 0)}, due now "
            f"{queues.get('outbox_due', 0)}); inbox pending {queues.get('inbox', 0)}"
        )
        if channel in today:
            written = today[channel]
            lines.append(
                f"    written today (UTC): {written['skus']} SKUs, {written['writes']} writes, at most "
                f"{written['most']} for one SKU"
            )
    for channel, took in flow["propagation"].items():
        lines.append(
            f"  propagation to {channel} (stock event -> write acknowledged, latest {took['count']} "
            f"writes): p50 {took['p50']:.3f} s, p95 {took['p95']:.3f} s, p99 {took['p99']:.3f} s, "
            f"max {took['max']:.3f} s"
        )
    return "\n" + "\n".join(["per channel:", *lines]) if lines else ""


@app.command()
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object, for machines.")] = False,
) -> None:
    """Store figures: links per channel, queue depths, last successful poll per channel, the
    stock moves kept out of the ledger until their variant is linked; per channel the events
    processed, writes by outcome and queues, the SKUs written today (eBay allows a listing 250
    revisions a day), how long stock events took to reach each channel, and the listings ended at a
    sell-out on an account refusing a quantity of 0."""
    OUTPUT.json_errors = as_json
    state: State = ctx.obj
    config = state.config()
    with state.store(config) as store:
        figures, flow, today = store.figures(), store.flow_figures(), store.write_count_figures()
        ended = store.ended_listing_figures()
    if as_json:
        typer.echo(json.dumps({**figures, **flow, "written_today": today, "ended_listings": ended}))
    else:
        channels = list(config.channels.sections())
        typer.echo(_render_status(figures) + _render_flow(flow, channels, today) + _render_ended(ended))


# ------------------------------------------------------------------------------------------------
# sync, link, unlink
# ------------------------------------------------------------------------------------------------

DRY_RUN_MARK = "dry_run"


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress]:
    """A progress bar per phase on a terminal; on a pipe or with ``--json``, phases go to the debug
    log only."""
    if not enabled or not sys.stderr.isatty():
        yield QuietProgress()
        return
    with BarProgress(Console(stderr=True)) as bar:
        yield bar


@contextmanager
def _exclusive(store_path: Path) -> Iterator[None]:
    """One writer of a store at a time: ``sync`` and the daemon would otherwise plan from different
    counts and both send. The lock is the kernel's (flock), so a killed process never leaves it held."""
    import fcntl

    store_path.parent.mkdir(parents=True, exist_ok=True)
    with open(store_path.with_name(store_path.name + ".lock"), "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _fail(EXIT_FAILURE, Failure.of(f"another shopbridge is syncing {store_path} (the daemon?)"))
        yield


def _runner(config: Config, store: Store, progress: Progress, metrics: Metrics | None = None) -> SyncRunner:
    from bridge.channels import build_adapters

    return SyncRunner(
        store,
        build_adapters(config),
        config.sync,
        progress=progress,
        max_attempts=config.daemon.outbox_max_attempts,
        metrics=metrics,
        customers=config.customers,
    )


@app.command()
def sync(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; change nothing anywhere.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="The plan (or the result) as one JSON object.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Apply a plan that trips a safety limit.")] = False,
    full: Annotated[
        bool, typer.Option("--full", help="Re-read every channel completely (drift check).")
    ] = False,
) -> None:
    """Bring every channel in line with the catalogue owner and the stock ledger."""
    OUTPUT.json_errors = as_json
    state: State = ctx.obj
    config = state.config()
    with state.store(config) as store:
        runner = _runner(config, store, QuietProgress())
        if dry_run:
            try:
                with _progress(not as_json) as runner.progress:
                    plan = runner.prepare(full=full).plan
                customer_writes = runner.sync_customers(dry_run=True, full=full).writes
            except ChannelReadError as exc:
                _fail(EXIT_FAILURE, Failure.of_channels(_unreadable(runner, {exc.channel: str(exc)})))
            store.set_mark(DRY_RUN_MARK, utcnow())
            typer.echo(_dry_run_output(plan, customer_writes, as_json))
            return
        if runner.first_sync() and store.get_mark(DRY_RUN_MARK) is None and not force:
            _fail(
                EXIT_USAGE,
                Failure.of(
                    "this is the first sync: review its plan with `shopbridge sync --dry-run` first "
                    "(or pass --force)"
                ),
            )
        with _exclusive(config.store_path()):
            try:
                with _progress(not as_json) as runner.progress:
                    plans, report = runner.run(force=force, full=full)
            except UnsafePlan as exc:
                if not as_json:
                    typer.echo(exc.plan.render())
                refused = Failure.of(
                    "nothing was applied: the plan exceeds a safety limit (see above); "
                    "re-run with --force if it is what you want"
                )
                _fail(EXIT_FAILURE, refused, exc.plan.to_json())
        unread = _unreadable(runner, _read_failures(report))
    skipped = list({i.message: i for plan in plans for i in plan.skipped}.values())  # once, not per round
    _render_sync_result(plans, report, as_json, unread, skipped, forced=force)
    if report.failed or report.deferred or unread or skipped:
        raise typer.Exit(EXIT_FAILURE)


def _dry_run_output(plan: Plan, customer_writes: list[tuple[str, str, str]], as_json: bool) -> str:
    """The plan, and the customer writes the customers stage would queue (when there are any)."""
    if not customer_writes:
        return plan.dumps() if as_json else plan.render()
    if as_json:
        writes = [{"channel": c, "op": op, "customer_id": cid} for c, op, cid in customer_writes]
        return json.dumps({**json.loads(plan.dumps()), "customer_writes": writes})
    lines = [f"  {channel}: {op} {cid}" for channel, op, cid in customer_writes]
    return "\n".join([plan.render(), f"customers: {len(lines)} writes", *lines])


def _read_failures(report: RelayReport) -> dict[str, str]:
    """The channels a sync could not read, each with its error line."""
    return {
        name: next((e for e in report.errors if e.startswith(f"{name}: ")), f"{name}: read failed")
        for name in report.unread
    }


def _write_failures(report: RelayReport) -> dict[str, str]:
    """The channels with writes refused or left queued, each with what became of them."""
    names = sorted(set(report.failed) | set(report.deferred))
    return {
        name: f"{name}: {report.failed.get(name, 0)} writes refused, "
        f"{report.deferred.get(name, 0)} queued for retry"
        for name in names
        if report.failed.get(name) or report.deferred.get(name)
    }


def _unreadable(runner: SyncRunner, failed: dict[str, str]) -> dict[str, str]:
    """``failed`` and every other channel that fails its check now. A read stops at the first
    channel that fails, but a user fixing that one should hear of the others at the same time."""
    if not failed:
        return failed
    out = dict(failed)
    for name, adapter in sorted(runner.adapters.items()):
        if name not in out:
            try:
                adapter.check()
            except AdapterError as exc:
                out[name] = str(ChannelReadError(name, exc))
    return out


def _render_sync_result(
    plans: list[Plan],
    report: RelayReport,
    as_json: bool,
    unread: dict[str, str],
    skipped: list[ReadIssue],
    *,
    forced: bool = False,
) -> None:
    """What a sync did, printed once its progress display has stopped (a redraw would cover it)."""
    if as_json:
        result = {
            # A write that follows a create is listed by the round that sent it (with its op), not twice.
            "changes": [c.to_dict() for plan in plans for c in plan.changes if c.follows is None],
            "sent": dict(report.sent),
            "failed": dict(report.failed),
            "deferred": dict(report.deferred),
            "held": dict(report.held),
            "held_until": dict(report.held_until),
            "errors": report.errors + [m for name, m in unread.items() if name not in report.unread],
            "skipped": [issue.to_dict() for issue in skipped],
            "unresolved": [dict(u) for plan in plans for u in plan.unresolved],
        }
        failing = _write_failures(report) | unread
        if failing:
            _print_failure(Failure.of_channels(failing), result)
        else:
            typer.echo(json.dumps(result, default=str))
        return
    if plans and plans[0].changes:
        typer.echo(plans[0].render(forced=forced))
    channels = sorted(set(report.sent) | set(report.failed) | set(report.deferred) | set(report.retried))
    for name in channels:
        again = f", {report.retried[name]} stale (read again and merged)" if report.retried.get(name) else ""
        typer.echo(
            f"{name}: {report.sent.get(name, 0)} applied, {report.failed.get(name, 0)} refused, "
            f"{report.deferred.get(name, 0)} queued for retry{again}"
        )
    for name, count in sorted(report.held.items()):
        if count:
            typer.echo(
                f"{name}: {count} writes held until the revision budget resets at "
                f"{report.held_until.get(name, '?')} (kept queued; a later sync sends them)"
            )
    for error in report.errors + [m for name, m in unread.items() if name not in report.unread]:
        typer.echo(f"  ! {error}")
    for issue in skipped:
        typer.echo(f"  ! {issue.message}")
    if unread:
        typer.echo(
            f"nothing planned: could not read {', '.join(unread)} "
            "(writes already queued were sent; run sync again once they answer)"
        )
    elif not channels and not skipped and not any(report.held.values()):
        typer.echo("in sync: nothing to change")
    waiting = sum(len(plan.unresolved) for plan in plans)
    if waiting:
        typer.echo(
            f"{waiting} stock move(s) of unknown variants kept out of the ledger: see `shopbridge status`"
        )


def _check_channel(config: Config, channel: str) -> None:
    """Exit 2 unless ``channel`` is a channel configured in the file."""
    configured = list(config.channels.sections())
    if channel not in configured:
        typer.echo(
            f"error: channel {channel!r} is not configured (configured: {', '.join(configured) or 'none'})",
            err=True,
        )
        raise typer.Exit(EXIT_USAGE)


def _refused(refused: LinkRefused) -> NoReturn:
    """Exit 2 with why ``link``/``unlink`` changed nothing."""
    for problem in refused.problems:
        typer.echo(f"error: {problem}", err=True)
    if refused.hint:
        typer.echo(f"  {refused.hint}", err=True)
    raise typer.Exit(EXIT_USAGE)


NEXT_SYNC_REREADS = "the next sync re-reads every channel's catalogue to take this into account"
"""Said after ``link``/``unlink``: a changed link is only seen by a sync that reads its products
again, and an incremental read would find nothing changed, so both drop the catalogue cursors."""


@app.command("link")
def link_command(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument(help="The canonical SKU to link.")],
    channel: Annotated[str, typer.Option("--channel", help=f"The channel: {_CHANNELS}.")],
    channel_id: Annotated[str, typer.Option("--id", help="The channel's id of the variant.")],
    product_id: Annotated[
        str | None,
        typer.Option("--product-id", help="Its parent product/item id (default: as last read)."),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Replace the SKU's link on the channel and the variant's link to another SKU, if any.",
        ),
    ] = False,
) -> None:
    """Link a SKU to a channel's variant by hand (fixes a match the linker reported).

    The variant must be one shopbridge has read from the channel. A link in the way (the SKU already
    linked there, or the variant linked to another SKU) is refused unless ``--replace``."""
    state: State = ctx.obj
    config = state.config()
    _check_channel(config, channel)
    with state.writer(config) as store:
        try:
            linked = link_by_hand(store, sku, channel, channel_id, product_id=product_id, replace=replace)
        except LinkRefused as refused:
            _refused(refused)
    if linked.already:
        typer.echo(f"{sku} is already linked to {channel} {channel_id}: nothing to change")
        return
    for old_sku, old_id in linked.displaced:
        typer.echo(f"unlinked {old_sku} from {channel} {old_id}")
    typer.echo(f"linked {sku} to {channel} {channel_id} (its SKU there: {linked.sku_there or 'none'})")
    typer.echo(NEXT_SYNC_REREADS)


@app.command("unlink")
def unlink_command(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument(help="The canonical SKU.")],
    channel: Annotated[str, typer.Option("--channel", help=f"The channel: {_CHANNELS}.")],
) -> None:
    """Forget a link (the products on the channel are not touched)."""
    state: State = ctx.obj
    config = state.config()
    with state.writer(config) as store:
        try:
            unlinked = unlink_by_hand(store, sku, channel)
        except LinkRefused as refused:
            _refused(refused)
    typer.echo(f"unlinked {sku} from {channel} {unlinked.channel_id}")
    typer.echo(NEXT_SYNC_REREADS)


# ------------------------------------------------------------------------------------------------
# customer show, conflicts
# ------------------------------------------------------------------------------------------------

customer_app = typer.Typer(
    help="One person across the channels: contact details and purchases.", no_args_is_help=True
)
app.add_typer(customer_app, name="customer")
conflicts_app = typer.Typer(
    help="Open conflicts (customers and catalogue), and settling one.", invoke_without_command=True
)
app.add_typer(conflicts_app, name="conflicts")


@customer_app.command("show")
def customer_show(
    ctx: typer.Context,
    who: Annotated[
        str, typer.Argument(help="An email, a phone number, a person id or a channel's customer id.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object, for machines.")] = False,
) -> None:
    """The person: each channel's id, contact details and where each came from, open conflicts,
    purchases newest first. The only command that prints contact details."""
    OUTPUT.json_errors = as_json
    state: State = ctx.obj
    config = state.config()
    with state.store(config) as store:
        found = find_persons(store, who, config.customers.default_country)
        if not found:
            _fail(EXIT_FAILURE, Failure.of(f"no customer matches {who!r}"))
        views = [person_view(store, person) for person in found]
    if as_json:
        typer.echo(json.dumps(views[0] if len(views) == 1 else {"persons": views}, default=str))
        return
    typer.echo("\n\n".join(render_person(view) for view in views))


@conflicts_app.callback()
def conflicts_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object, for machines.")] = False,
) -> None:
    """Every open conflict: customer records several persons could be, and catalogue conflicts."""
    if ctx.invoked_subcommand is not None:
        return
    OUTPUT.json_errors = as_json
    state: State = ctx.obj
    config = state.config()
    with state.store(config) as store:
        found = open_conflicts(store)
    if as_json:
        typer.echo(json.dumps({"conflicts": found}, default=str))
        return
    typer.echo(render_conflicts(found))


@conflicts_app.command("resolve")
def conflicts_resolve(
    ctx: typer.Context,
    conflict_id: Annotated[str, typer.Argument(metavar="ID", help="As `shopbridge conflicts` lists it.")],
    keep: Annotated[
        str,
        typer.Option(
            "--keep", help="A customer conflict: a person id or `new`; a catalogue one: a channel or a value."
        ),
    ],
) -> None:
    """Settle one conflict; the next sync applies it."""
    state: State = ctx.obj
    config = state.config()
    with state.writer(config) as store:
        try:
            kind = resolve_conflict(store, conflict_id, keep)
        except ConflictNotFound as exc:
            _fail(EXIT_USAGE, Failure.of(str(exc)))
    typer.echo(f"{conflict_id} settled ({kind}): keeping {keep}; the next sync applies it")


# ------------------------------------------------------------------------------------------------
# doctor, webhooks, daemon
# ------------------------------------------------------------------------------------------------


@app.command()
def doctor(ctx: typer.Context) -> None:
    """Check the configuration, the store and every channel's credentials; one line each."""
    from bridge.channels import build_adapters

    state: State = ctx.obj
    config = state.config()
    typer.echo(f"ok   config {state.config_path}")
    failed = False
    with state.store(config) as store:
        if store.integrity_ok():
            typer.echo(f"ok   store {store.path} (schema v{store.schema_version})")
        else:
            typer.echo(f"FAIL store {store.path}: integrity check failed")
            failed = True
    for name, adapter in build_adapters(config).items():
        try:
            typer.echo(f"ok   {name}: {adapter.check()}")
        except AdapterError as exc:
            failed = True
            typer.echo(f"FAIL {name}: {exc}")
    if failed:
        raise typer.Exit(EXIT_FAILURE)


webhooks_app = typer.Typer(help="Manage the webhooks channels send us.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("register")
def webhooks_register(ctx: typer.Context) -> None:
    """Create (or repair) our webhooks on each channel that makes them over its API (WooCommerce's
    webhooks, Square's subscription), pointing at [server] public_url."""
    from bridge.channels import build_adapters

    state: State = ctx.obj
    config = state.config(webhook_keys_pending=True)  # Square answers its key now
    if not config.server.public_url:
        typer.echo("error: set [server] public_url to the address channels can reach", err=True)
        raise typer.Exit(EXIT_USAGE)
    for name, adapter in build_adapters(config).items():
        register = registry.channel(name).register_webhooks
        if register is not None:
            url = f"{config.server.public_url.rstrip('/')}/webhooks/{name}"
            try:
                for line in register(adapter, url, config):
                    typer.echo(f"{name}: {line}")
            except AdapterError as exc:
                _fail(EXIT_FAILURE, Failure.of(f"{name}: {exc}"))
        else:
            typer.echo(f"{name}: register the webhook subscription in the provider's dashboard")


@app.command()
def daemon(ctx: typer.Context) -> None:
    """Run continuously: receive webhooks, poll every interval, apply through the outbox."""
    from bridge.channels import notification_urls
    from bridge.daemon import Daemon, sync_cycle
    from bridge.events import EventPath, Window
    from bridge.server import WebhookServer
    from bridge.watchdog import BeatingProgress, Liveness

    state: State = ctx.obj
    config = state.config()
    liveness = Liveness()
    metrics = Metrics(config.channels.sections())
    with state.store(config) as store, ExitStack() as stack:
        runner = _runner(config, store, BeatingProgress(liveness), metrics)
        adapters = runner.adapters
        if runner.first_sync():
            typer.echo(
                "error: run the first sync by hand (`shopbridge sync --dry-run`, then `sync`)", err=True
            )
            raise typer.Exit(EXIT_USAGE)
        try:
            runner.locations(refresh=True)  # a misnamed location is a config error: fail at start
        except ChannelReadError as exc:
            log.warning("cannot list locations yet; retrying each cycle", extra={"error": str(exc)})

        settings = config.daemon
        # The event path runs on its own thread: its own store connection, the poll's adapters.
        event_store = stack.enter_context(Store(store.path))
        event_liveness = Liveness()
        loop = Daemon(
            store,
            partial(sync_cycle, runner),
            interval=settings.poll_interval_seconds,
            liveness=liveness,
            events=EventPath(event_store, runner.sibling(event_store, BeatingProgress(event_liveness))),
            window=Window(settings.webhook_window_seconds, settings.webhook_debounce_seconds),
            event_liveness=event_liveness,
        )
        try:
            server = WebhookServer(
                store,
                adapters,
                host=config.server.host,
                port=config.server.port,
                public_url=config.server.public_url,
                max_body_bytes=config.server.max_body_bytes,
                notification_urls=notification_urls(config),
                on_event=loop.wake,
                metrics=metrics,
            ).start()
        except ListenError as exc:
            _fail(
                EXIT_FAILURE,
                Failure.of(
                    f"webhook receiver: {exc} (another shopbridge daemon? "
                    f"set [server] port or host in {state.config_path})"
                ),
            )
        liveness.watch("webhook receiver", server.serving)
        loop.install_signal_handlers()
        log.info("listening for webhooks", extra={"url": server.url})
        try:
            with _exclusive(config.store_path()):
                loop.run()
        finally:
            server.stop()


# ------------------------------------------------------------------------------------------------
# sandbox, demo
# ------------------------------------------------------------------------------------------------


@app.command()
def sandbox(
    as_json: Annotated[
        bool, typer.Option("--json", help="First stdout line: connection details as JSON.")
    ] = False,
    seed_products: Annotated[int, typer.Option(help="About how many variants to seed.")] = 24,
    locations: Annotated[int, typer.Option(help="Square locations.")] = 2,
    write_config: Annotated[Path | None, typer.Option(help="Also write a shopbridge config for it.")] = None,
) -> None:
    """Serve local emulators of every built-in channel (WooCommerce, Square, eBay) with a demo shop
    until interrupted."""
    import signal as signals
    import threading

    from sandbox.launch import Sandbox

    emulated = [name for name in registry.builtin_names() if registry.channel(name).emulator is not None]
    with Sandbox(products=seed_products, locations=locations, channels=emulated) as box:
        info = box.connection_info()
        if write_config is not None:
            box.write_config(write_config, store_path=str(write_config.with_suffix(".db").name))
        if as_json:
            typer.echo(json.dumps(info))
        else:
            width = max(len(spec.title) for spec in box.specs) + len(" emulator:")
            for spec in box.specs:
                typer.echo(f"{spec.title + ' emulator:':<{width}} {box.emulators[spec.name].server.url}")
            if write_config is not None:
                typer.echo(
                    f"config written to {write_config}: try shopbridge -c {write_config} sync --dry-run"
                )
            typer.echo("serving; Ctrl-C to stop")
        sys.stdout.flush()
        stop = threading.Event()
        signals.signal(signals.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass


@app.command()
def demo(
    forever: Annotated[
        bool, typer.Option("--forever", help="Play random actions until Ctrl-C instead of the story.")
    ] = False,
    settle: Annotated[
        float, typer.Option(help="Seconds a change may take to show on every channel.", min=1.0)
    ] = 30.0,
    seed: Annotated[int | None, typer.Option(help="Seed of --forever's random actions.")] = None,
    keep: Annotated[
        Path | None,
        typer.Option(help="Keep the config, store and daemon log in this (empty or new) folder."),
    ] = None,
) -> None:
    """Run the real daemon on the built-in sandbox; watch sales, a refund, a till count and a price
    change reach every channel.

    Exit 0 when every change showed on every channel within --settle seconds and nothing was
    written after; 1 otherwise. With --forever, the first Ctrl-C stops playing and lets the last
    changes settle (then the same verdict and exit status); a second Ctrl-C quits at once (130).
    """
    from bridge.demo import DemoFailed, DemoOptions, run_demo

    options = DemoOptions(forever=forever, settle_seconds=settle, seed=seed)
    try:
        status = run_demo(options, Console(), keep)
    except DemoFailed as exc:
        _fail(EXIT_USAGE, Failure.of(str(exc)))
    raise typer.Exit(status)


def main() -> None:
    """Console-script entry point: runs the app and maps unexpected failures to exit status 1."""
    try:
        app(prog_name=PROG)  # also under `python -m cli`: completion is keyed by the program's name
    except KeyboardInterrupt:
        sys.exit(130)
    except LocationConfigError as exc:  # from any command that lists locations: a usage error
        _print_failure(Failure.of(str(exc)))
        sys.exit(EXIT_USAGE)
    except ChannelReadError as exc:
        _print_failure(Failure.of_channels({exc.channel: str(exc)}))
        sys.exit(EXIT_FAILURE)
    except Exception as exc:
        if os.environ.get("SHOPBRIDGE_DEBUG"):
            raise
        _print_failure(Failure.of(str(exc)))
        sys.exit(EXIT_FAILURE)


if __name__ == "__main__":
    main()
