"""Settings: a TOML file validated by pydantic, with secrets referenced rather than written in it.

A secret (API key, token, webhook secret) is a table naming where to find it (see
:class:`bridge.settings.Secret`). A bare string is refused so a key is never pasted into the file
by accident. Secrets are resolved once, when the file is loaded, so a missing one is reported at
start-up with its key, and held as ``SecretStr`` so they never show in a repr, a log line or an
error message.

Every problem in a file is reported at once, one line each, naming the file, the key and what is
wrong (:class:`ConfigError`); the CLI prints them and exits with status 2.

Each ``[channels.<name>]`` table is the section its channel declares in the registry
(:mod:`bridge.registry`); ``[channels]`` accepts exactly the registered channels.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    create_model,
    field_validator,
)

from bridge import registry
from bridge.ownership import owner_problems
from bridge.policy import SyncPolicy
from bridge.registry import ChannelContext
from bridge.settings import ChannelSection, HttpUrl, Secret
from bridge.settings import Section as _Section

__all__ = [
    "Channels",
    "Config",
    "ConfigError",
    "CustomerSettings",
    "DaemonSettings",
    "LoggingSettings",
    "Secret",
    "ServerSettings",
    "StoreSettings",
    "check_answer",
    "config_warnings",
    "load_config",
]


class StoreSettings(_Section):
    path: Path = Field(
        Path("shopbridge.db"), description="SQLite file; relative paths are from the config file"
    )


class ServerSettings(_Section):
    host: str = Field("127.0.0.1", description="Interface the webhook receiver listens on")
    port: int = Field(8787, ge=1, le=65535)
    public_url: HttpUrl | None = Field(
        None, description="Public base URL of the receiver (what channels deliver to; Square signs it)"
    )
    max_body_bytes: int = Field(1_048_576, ge=1024)


class DaemonSettings(_Section):
    poll_interval_seconds: float = Field(
        300.0, ge=1.0, description="Polling is the backbone; webhooks are hints"
    )
    webhook_window_seconds: float = Field(
        0.02, ge=0.0, description="How long a webhook waits to be taken with others after a quiet spell"
    )
    webhook_debounce_seconds: float = Field(
        0.1, ge=0.0, description="The longest that window grows to while webhooks keep coming (a burst)"
    )
    outbox_max_attempts: int = Field(12, ge=1)


def _country(value: str) -> str:
    """An ISO 3166-1 alpha-2 country that phone numbers can be read in (``GB``, ``US``)."""
    code = value.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"must be an ISO 3166-1 alpha-2 country code such as GB or US (got {value!r})")
    return code


class CustomerSettings(_Section):
    """``[customers]``: one person record across the channels (issue 13)."""

    create_missing: bool = Field(
        False, description="Create a customer on a channel that has none for the person (off by default)"
    )
    default_country: Annotated[str, AfterValidator(_country)] = Field(
        "US", description="Country a phone number written without a country code is read in"
    )
    propagate_deletions: bool = Field(
        False, description="A customer deleted on one channel is not deleted elsewhere unless this is on"
    )


class LoggingSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "text"] = "auto"


class Channels(_Section):
    """``[channels]``: one optional table per registered channel (the model is made from the
    registry by :func:`channels_model`, so a channel registered later is accepted too)."""

    def sections(self) -> dict[str, ChannelSection]:
        """The channels the file configures (enabled or not), by name, in registry order."""
        found = {name: getattr(self, name, None) for name in registry.channels()}
        return {name: section for name, section in found.items() if isinstance(section, ChannelSection)}

    def section(self, name: str) -> ChannelSection | None:
        """The ``[channels.<name>]`` table, if the file has one."""
        return self.sections().get(name)

    def enabled(self) -> dict[str, ChannelSection]:
        """The configured channels that are enabled."""
        return {name: section for name, section in self.sections().items() if section.enabled}


def channels_model() -> type[Channels]:
    """The ``[channels]`` model for the channels registered now."""
    return _channels_model(tuple(registry.channels().values()))


@lru_cache(maxsize=8)
def _channels_model(specs: tuple[registry.ChannelSpec[Any], ...]) -> type[Channels]:
    fields: dict[str, Any] = {spec.name: (spec.section | None, None) for spec in specs}
    return create_model("Channels", __base__=Channels, **fields)


class Config(_Section):
    store: StoreSettings = Field(default_factory=StoreSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    sync: SyncPolicy = Field(default_factory=SyncPolicy)
    customers: CustomerSettings = Field(default_factory=CustomerSettings)
    channels: Channels = Field(default_factory=lambda: channels_model()())
    source: Path | None = Field(None, exclude=True)

    @field_validator("channels", mode="before")
    @classmethod
    def _registered_channels(cls, value: Any) -> Any:
        """Each table by its channel's own section, as registered when the file is read."""
        return value if isinstance(value, Channels) else channels_model().model_validate(value)

    def channel_context(self) -> ChannelContext:
        """What a channel's section is read with besides itself."""
        return ChannelContext(currency=self.sync.currency, public_url=self.server.public_url)

    def secrets(self) -> list[tuple[str, Secret]]:
        """Every secret in the file with its dotted key."""
        found: list[tuple[str, Secret]] = []
        for name, channel in self.channels.sections().items():
            for field_name in type(channel).model_fields:
                value = getattr(channel, field_name)
                if isinstance(value, Secret):
                    found.append((f"channels.{name}.{field_name}", value))
        return found

    _state_directory: Path | None = PrivateAttr(default=None)
    """systemd's ``$STATE_DIRECTORY`` when the service runs under its unit (set by load_config)."""

    def store_path(self) -> Path:
        """A relative store path is from the config file's directory, or under systemd from the
        unit's ``StateDirectory=`` (the config is then a read-only credential)."""
        if self.store.path.is_absolute():
            return self.store.path
        if self._state_directory is not None:
            return self._state_directory / self.store.path
        if self.source is None:
            return self.store.path
        return self.source.parent / self.store.path


class ConfigError(Exception):
    """One or more problems with a configuration file; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _dotted(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if part == "[key]":
            continue  # pydantic's mark of a dict key that is wrong: the key itself is the part before
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1]}[{part}]"] if parts else [f"[{part}]"]
        else:
            parts.append(part)
    return ".".join(parts) or "(top level)"


def _describe(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    loc = tuple(error.get("loc", ()))
    if kind == "extra_forbidden" and len(loc) == 2 and loc[0] == "channels":
        return registry.unknown_channel(str(loc[1]), registry.channel_names())
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    if loc and loc[-1] == "[key]":
        return f"unknown key {error.get('input')!r}: {error.get('msg', 'not allowed')}"
    message = str(error.get("msg", "invalid value"))
    return message.removeprefix("Value error, ")


def _channel_name_problems(config: Config, path: Path) -> list[str]:
    """Every key of ``[sync]`` that names a channel, checked against the channels in the file.

    A misspelt name would be accepted and silently do nothing (``field_owners = { price =
    "sqaure" }`` stops prices syncing), and an owner must keep the field it owns
    (:func:`bridge.ownership.owner_problems`). A disabled channel is still a known one. (``system_of_record``
    is one of the channels shopbridge has by its type; it may name one the file does not configure:
    ``init`` writes ``woocommerce`` for a Square-only shop, where it changes nothing.)
    """
    policy = config.sync
    known = sorted(config.channels.sections())
    capabilities = {name: registry.channel(name).capabilities for name in known}
    problems = [f"{path}: {key}: {why}" for key, why in owner_problems(policy, capabilities)]
    named = [(f"sync.buffers.{channel}", channel) for channel in policy.buffers]
    named += [(f"sync.source_locations.{channel}", channel) for channel in policy.source_locations]
    return problems + [
        f"{path}: {key}: {registry.unknown_channel(name, known)}" for key, name in named if name not in known
    ]


def _location_channels(config: Config) -> list[str]:
    """The configured channels whose stock is counted per physical location: a till, whose count
    is the shelf (their capabilities say so)."""
    return [name for name in config.channels.sections() if registry.channel(name).capabilities.has_locations]


def _buffers_on_location_channels(config: Config, path: Path) -> list[str]:
    """``[sync] buffers`` for a channel with locations, refused: a till's count is the shelf, which
    staff count and a physical count replaces. Shown shelf minus a buffer, every count of the real
    shelf would read as units received (and the till would refuse to sell units it holds). Buffers
    hold stock back from single-pool channels (the web shop), where they are a promise kept small."""
    return [
        f"{path}: sync.buffers.{name}: a buffer cannot apply to {name}, whose count per location is the "
        "physical shelf (a count of the shelf would read as units received); hold stock back on the "
        "web shop instead (e.g. buffers = { woocommerce = 2 })"
        for name, units in sorted(config.sync.buffers.items())
        if name in _location_channels(config) and units
    ]


def _source_locations_on_location_channels(config: Config, path: Path) -> list[str]:
    """``[sync] source_locations`` for a channel with locations, refused: it would be ignored (each
    of its locations shows its own stock), so "sync only this till" would silently sync them all."""
    return [
        f"{path}: sync.source_locations.{name}: {name} shows each of its locations' own stock, so "
        f"source_locations does not apply to it; choose its locations with channels.{name}.location_ids"
        for name in sorted(config.sync.source_locations)
        if name in _location_channels(config)
    ]


def _webhook_key(config: Config, key: str) -> tuple[ChannelSection, str] | None:
    """The section and field of ``key`` when it is a webhook signature key (a secret the channel's
    ``init`` marks as needed only by webhooks), else ``None``."""
    prefix, _, rest = key.partition(".")
    name, _, field = rest.partition(".")
    section = config.channels.section(name) if prefix == "channels" else None
    spec = registry.channel(name) if section is not None else None
    if spec is None or spec.init is None:
        return None
    webhook_keys = {secret.key for secret in spec.init.secrets if secret.webhook}
    return (section, field) if section is not None and field in webhook_keys else None


def load_config(
    path: str | Path, environ: Mapping[str, str] | None = None, *, webhook_keys_pending: bool = False
) -> Config:
    """Read, validate and resolve the secrets of a configuration file.

    Raises :class:`ConfigError` listing every problem found (syntax, unknown keys, types, secrets).
    ``webhook_keys_pending``: the command is about to obtain the channels' webhook signature keys
    (``webhooks register``: Square answers one with its subscription), so a key that cannot be
    resolved yet, or none at all, is no problem (it is None).
    """
    path = Path(path)
    env = os.environ if environ is None else environ
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found (create one with `shopbridge init`)"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = [f"{path}: {_dotted(e['loc'])}: {_describe(e)}" for e in exc.errors()]
        raise ConfigError(problems) from None
    config.source = path
    config._state_directory = _state_directory(env)
    problems = []
    for key, secret in config.secrets():
        try:
            secret.resolve(env, path.parent)
            secret._remember()
        except ValueError as exc:
            pending = _webhook_key(config, key) if webhook_keys_pending else None
            if pending is not None:
                setattr(pending[0], pending[1], None)
            else:
                problems.append(f"{path}: {key}: {exc}")
    problems.extend(_buffers_on_location_channels(config, path))
    problems.extend(_source_locations_on_location_channels(config, path))
    if not config.channels.sections():
        tables = " or ".join(f"[channels.{name}]" for name in registry.channels())
        problems.append(f"{path}: channels: no channel configured ({tables})")
    else:
        problems += _channel_name_problems(config, path)
    if not webhook_keys_pending:
        problems += [f"{path}: {problem}" for problem in _webhook_problems(config)]
    if problems:
        raise ConfigError(problems)
    return config


def _state_directory(environ: Mapping[str, str]) -> Path | None:
    """The first of systemd's ``$STATE_DIRECTORY`` entries (colon-separated), if set."""
    value = environ.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(value) if value else None


def _webhook_problems(config: Config) -> list[str]:
    """What each configured channel finds wrong with its section given the rest of the file
    (webhooks we would receive but could never verify: every such delivery would be refused)."""
    context = config.channel_context()
    return [
        problem
        for name, section in config.channels.sections().items()
        for problem in registry.channel(name).problems(section, context)
    ]


def config_warnings(config: Config) -> list[str]:
    """Settings that load but are probably not what was meant; ``config check`` prints them."""
    context = config.channel_context()
    return [
        warning
        for name, section in config.channels.sections().items()
        for warning in registry.channel(name).warnings(section, context)
    ]


def check_answer(model: type[BaseModel], field: str, value: Any) -> Any:
    """``value`` validated by the rules of ``model.field`` (the config file's own), for ``init`` to
    check each answer as it is typed; a ``ValueError`` says what is wrong."""
    info = model.model_fields[field]
    annotation: Any = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    try:
        return TypeAdapter(annotation).validate_python(value)
    except ValidationError as exc:
        raise ValueError("; ".join(_describe(e) for e in exc.errors())) from None
