"""Settings: a TOML file validated by pydantic, with secrets referenced rather than written in it.

A secret (API key, token, webhook secret) is a table naming where to find it::

    consumer_key = { env = "SHOPBRIDGE_WC_KEY" }            # an environment variable
    consumer_key = { file = "/etc/shopbridge/wc-key" }       # a file (first line, whitespace trimmed)
    consumer_key = { credential = "wc-key" }                 # a systemd credential ($CREDENTIALS_DIRECTORY)
    consumer_key = { value = "ck_..." }                      # literal: only if you insist

A bare string is refused so a key is never pasted into the file by accident. Secrets are resolved
once, when the file is loaded, so a missing one is reported at start-up with its key, and held as
``SecretStr`` so they never show in a repr, a log line or an error message.

Every problem in a file is reported at once, one line each, naming the file, the key and what is
wrong (:class:`ConfigError`); the CLI prints them and exits with status 2.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from bridge.logs import register_secret
from bridge.policy import SyncPolicy

__all__ = [
    "Channels",
    "Config",
    "ConfigError",
    "DaemonSettings",
    "LoggingSettings",
    "Secret",
    "ServerSettings",
    "SquareChannel",
    "StoreSettings",
    "WooCommerceChannel",
    "check_answer",
    "config_warnings",
    "load_config",
]


def _http_url(value: str) -> str:
    """A URL a client can reach: with its scheme and host (``shop.example.com`` alone is refused)."""
    if not value.startswith(("http://", "https://")) or not urlsplit(value).netloc:
        raise ValueError(f"must start with https:// and name a host (got {value!r})")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
"""Every URL in the file: the shop, Square's custom base, our public receiver and its callbacks."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Secret(_Section):
    """Where a secret comes from: exactly one of ``env``, ``file``, ``credential`` or ``value``."""

    env: str | None = None
    file: Path | None = None
    credential: str | None = None
    value: SecretStr | None = None
    _resolved: SecretStr | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _not_a_bare_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            raise ValueError(
                'a secret must be a table: { env = "VAR" }, { file = "path" }, '
                '{ credential = "name" } or, if you insist, { value = "..." }'
            )
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> Secret:
        given = [k for k in ("env", "file", "credential", "value") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of env, file, credential, value (got {given or 'none'})")
        return self

    def resolve(self, environ: Mapping[str, str], base_dir: Path | None = None) -> None:
        """Look the secret up now; a ``ValueError`` names the source, never the value. A relative
        ``file`` is relative to ``base_dir`` (the config file's directory), not to where we run."""
        if self.value is not None:
            self._resolved = self.value
            return
        if self.env is not None:
            found = environ.get(self.env)
            if not found:
                raise ValueError(f"environment variable {self.env} is not set")
            self._resolved = SecretStr(found)
            return
        if self.credential is not None:
            directory = environ.get("CREDENTIALS_DIRECTORY")
            if not directory:
                raise ValueError(
                    f"systemd credential {self.credential!r} asked for, but $CREDENTIALS_DIRECTORY is not set"
                )
            path = Path(directory) / self.credential
        else:
            assert self.file is not None
            path = self.file if base_dir is None else base_dir / self.file
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"cannot read secret file {path}: {exc.strerror}") from None
        if not text:
            raise ValueError(f"secret file {path} is empty")
        self._resolved = SecretStr(text)

    def _remember(self) -> None:
        if self._resolved is not None:
            register_secret(self._resolved.get_secret_value())

    def get(self) -> str:
        """The secret's value (resolved at load time)."""
        if self._resolved is None:
            raise RuntimeError("secret used before the configuration was resolved")
        return self._resolved.get_secret_value()


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
    webhook_debounce_seconds: float = Field(2.0, ge=0.0)
    outbox_max_attempts: int = Field(12, ge=1)


class LoggingSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "text"] = "auto"


class WooCommerceChannel(_Section):
    enabled: bool = True
    url: HttpUrl = Field(description="Shop base URL, e.g. https://shop.example.com")
    consumer_key: Secret
    consumer_secret: Secret
    webhook_secret: Secret | None = None
    timeout_seconds: float = Field(30.0, gt=0)
    verify_tls: bool = True


class SquareChannel(_Section):
    enabled: bool = True
    environment: Literal["production", "sandbox", "custom"] = "production"
    base_url: HttpUrl | None = Field(
        None, description="Only with environment = 'custom' (the local emulator)"
    )
    access_token: Secret
    signature_key: Secret | None = None
    notification_url: HttpUrl | None = Field(
        None, description="The exact URL registered in Square's webhook subscription (signed with the body)"
    )
    location_ids: list[str] = Field(default_factory=list, description="Empty means every active location")
    timeout_seconds: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _base(self) -> SquareChannel:
        if self.environment == "custom" and not self.base_url:
            raise ValueError("environment = 'custom' needs base_url")
        return self

    def resolved_base_url(self) -> str:
        if self.base_url:
            return self.base_url
        return {
            "production": "https://connect.squareup.com",
            "sandbox": "https://connect.squareupsandbox.com",
        }[self.environment]


class Channels(_Section):
    woocommerce: WooCommerceChannel | None = None
    square: SquareChannel | None = None


class Config(_Section):
    store: StoreSettings = Field(default_factory=StoreSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    sync: SyncPolicy = Field(default_factory=SyncPolicy)
    channels: Channels = Field(default_factory=Channels)
    source: Path | None = Field(None, exclude=True)

    def secrets(self) -> list[tuple[str, Secret]]:
        """Every secret in the file with its dotted key."""
        found: list[tuple[str, Secret]] = []
        for name in ("woocommerce", "square"):
            channel = getattr(self.channels, name)
            if channel is None:
                continue
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
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1]}[{part}]"] if parts else [f"[{part}]"]
        else:
            parts.append(part)
    return ".".join(parts) or "(top level)"


def _describe(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    message = str(error.get("msg", "invalid value"))
    return message.removeprefix("Value error, ")


def _channel_name_problems(config: Config, path: Path) -> list[str]:
    """Every key of ``[sync]`` that names a channel, checked against the channels in the file.

    A misspelt name would be accepted and silently do nothing (``field_owners = { price =
    "sqaure" }`` stops prices syncing). A disabled channel is still a known one. (``system_of_record``
    is one of the channels shopbridge has by its type; it may name one the file does not configure:
    ``init`` writes ``woocommerce`` for a Square-only shop, where it changes nothing.)
    """
    policy = config.sync
    known = sorted(n for n in type(config.channels).model_fields if getattr(config.channels, n) is not None)
    named = [(f"sync.field_owners.{field}", owner) for field, owner in policy.field_owners.items()]
    named += [(f"sync.buffers.{channel}", channel) for channel in policy.buffers]
    named += [(f"sync.source_locations.{channel}", channel) for channel in policy.source_locations]
    return [
        f"{path}: {key}: unknown channel {name!r}; known channels: {', '.join(known) or 'none'}"
        for key, name in named
        if name not in known
    ]


LOCATION_CHANNELS = ("square",)
"""Channels whose stock is counted per physical location: a till, whose count is the shelf."""


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
        if name in LOCATION_CHANNELS and units and getattr(config.channels, name, None) is not None
    ]


def _source_locations_on_location_channels(config: Config, path: Path) -> list[str]:
    """``[sync] source_locations`` for a channel with locations, refused: it would be ignored (each
    of its locations shows its own stock), so "sync only this till" would silently sync them all."""
    return [
        f"{path}: sync.source_locations.{name}: {name} shows each of its locations' own stock, so "
        f"source_locations does not apply to it; choose its locations with channels.{name}.location_ids"
        for name in sorted(config.sync.source_locations)
        if name in LOCATION_CHANNELS and getattr(config.channels, name, None) is not None
    ]


SQUARE_KEY = "channels.square.signature_key"


def load_config(
    path: str | Path, environ: Mapping[str, str] | None = None, *, square_key_pending: bool = False
) -> Config:
    """Read, validate and resolve the secrets of a configuration file.

    Raises :class:`ConfigError` listing every problem found (syntax, unknown keys, types, secrets).
    ``square_key_pending``: the command is about to obtain Square's signature key (``webhooks
    register``), so a key that cannot be resolved yet, or none at all, is no problem (it is None).
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
            if square_key_pending and key == SQUARE_KEY and config.channels.square is not None:
                config.channels.square.signature_key = None
            else:
                problems.append(f"{path}: {key}: {exc}")
    problems.extend(_buffers_on_location_channels(config, path))
    problems.extend(_source_locations_on_location_channels(config, path))
    if not (config.channels.woocommerce or config.channels.square):
        problems.append(
            f"{path}: channels: no channel configured ([channels.woocommerce] or [channels.square])"
        )
    else:
        problems += _channel_name_problems(config, path)
    if not square_key_pending:
        problems += [f"{path}: {problem}" for problem in _webhook_problems(config)]
    if problems:
        raise ConfigError(problems)
    return config


def _state_directory(environ: Mapping[str, str]) -> Path | None:
    """The first of systemd's ``$STATE_DIRECTORY`` entries (colon-separated), if set."""
    value = environ.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(value) if value else None


def _webhook_problems(config: Config) -> list[str]:
    """Webhooks we would receive but could never verify: every such delivery would be refused."""
    square = config.channels.square
    if square is None or square.signature_key is not None:
        return []
    if square.notification_url or config.server.public_url:
        return [
            "channels.square.signature_key: required when Square delivers webhooks ([server] public_url "
            "or notification_url is set): without it every delivery is refused (the key is on the "
            "subscription's page in Square's Developer Console)"
        ]
    return []


def config_warnings(config: Config) -> list[str]:
    """Settings that load but are probably not what was meant; ``config check`` prints them."""
    warnings: list[str] = []
    square = config.channels.square
    public = config.server.public_url
    if square is not None and square.notification_url and public:
        if not square.notification_url.startswith(public.rstrip("/") + "/"):
            warnings.append(
                f"channels.square.notification_url {square.notification_url!r} is not under [server] "
                f"public_url {public!r}: Square signs the URL it delivers to, so it must be exactly the "
                "receiver's public address (normally <public_url>/webhooks/square)"
            )
    return warnings


def check_answer(model: type[BaseModel], field: str, value: Any) -> Any:
    """``value`` validated by the rules of ``model.field`` (the config file's own), for ``init`` to
    check each answer as it is typed; a ``ValueError`` says what is wrong."""
    info = model.model_fields[field]
    annotation: Any = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    try:
        return TypeAdapter(annotation).validate_python(value)
    except ValidationError as exc:
        raise ValueError("; ".join(_describe(e) for e in exc.errors())) from None
