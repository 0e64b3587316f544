"""The channel registry: every channel shopbridge can talk to, and what each one provides.

A channel is a plug-in. Its own module (``adapters/<channel>_channel.py``) describes it with one
:class:`ChannelSpec`: the ``[channels.<name>]`` section of the config file (a pydantic model), how
to build its adapter from that section, its capabilities (batch size, locations, relative or
absolute stock, what its write version is), where its webhooks come in and how they are set up,
how ``init`` asks for it, what ``config check`` says about it, and its emulator for ``shopbridge
sandbox``, the demo and the tests. Config, policy, ``init``, ``config check``, ``doctor``,
``webhooks register``, the daemon's routes and the sandbox iterate the registry, so adding a
channel is its module set plus one line in :data:`CHANNEL_MODULES`.

This module imports no channel: the modules are loaded the first time the registry is asked, so
the engine's policy can validate channel names without importing any adapter.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from bridge.settings import ChannelSection

if TYPE_CHECKING:
    from adapters.base import Capabilities, ChannelAdapter
    from bridge.config import Config
    from sandbox.http import EmulatorServer
    from sandbox.seed import SeedProduct

__all__ = [
    "CHANNEL_MODULES",
    "ChannelContext",
    "ChannelEmulator",
    "ChannelInit",
    "ChannelSpec",
    "InitSecret",
    "builtin_names",
    "channel",
    "channel_names",
    "channels",
    "register",
    "unknown_channel",
]

CHANNEL_MODULES: tuple[str, ...] = (
    "adapters.woocommerce_channel",
    "adapters.square_channel",
    "adapters.ebay_channel",
)
"""The built-in channels, one line each: a module exposing ``CHANNEL``, its :class:`ChannelSpec`."""

S = TypeVar("S", bound=ChannelSection)


@dataclass(frozen=True)
class ChannelContext:
    """What a channel's section is read with besides itself: the shop's currency (prices are
    written in it) and the receiver's public URL (where the channel delivers webhooks)."""

    currency: str = "USD"
    public_url: str | None = None


class ChannelEmulator(Protocol):
    """A channel's loopback emulator, as the sandbox drives it (started, seeded, described)."""

    server: EmulatorServer

    def start(self) -> Any: ...

    def stop(self) -> None: ...

    def connection_info(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class InitSecret:
    """One secret ``init`` asks for: its key in the section, the prompt, the environment variable
    it proposes (lower-cased, the systemd credential name), and whether only webhooks need it."""

    key: str
    label: str
    env: str
    webhook: bool = False
    flag: str | None = None
    """The word of its ``init --non-interactive`` flag, ``--<prefix>-<flag>-env`` (default: the key
    with dashes)."""
    needed_for_webhooks: bool = False
    """Webhooks cannot be verified without it: ``init --public-url`` refuses to go without it."""


@dataclass(frozen=True)
class ChannelInit:
    """How ``init`` asks for a channel: the yes/no question, then its plain answers (key, prompt,
    default; each checked by the section's own rule) and its secrets. ``derived`` adds keys that
    follow from the other answers (Square's notification URL from the public URL). The flags of
    ``init --non-interactive`` are made from the same answers and secrets (bridge/initflags.py)."""

    question: str
    answers: Sequence[tuple[str, str, str | None]] = ()
    secrets: Sequence[InitSecret] = ()
    derived: Callable[[ChannelContext], Mapping[str, Any]] | None = None
    guide: Callable[[Mapping[str, Any]], str | None] | None = None
    """What to tell the user between the plain answers and the secrets, from the answers (eBay's
    consent URL: where the refresh token asked next comes from)."""
    flag_prefix: str | None = None
    """What its flags of ``init --non-interactive`` start with (``--wc-url``; default: its name):
    ``--<prefix>-<key>`` for each plain answer, ``--<prefix>-<secret flag>-env`` for each secret,
    and ``--<name>`` to choose it with ``--systemd`` when no answer needs giving."""


@dataclass(frozen=True, eq=False)
class ChannelSpec(Generic[S]):
    """Everything shopbridge knows about one channel, in one place. (Compared and hashed by
    identity: two specs are the same channel only if they are the same object.)"""

    name: str
    """The channel's name: the ``[channels.<name>]`` key, the ``channel`` of every row and route."""
    title: str
    """How people call it (messages)."""
    section: type[S]
    """The ``[channels.<name>]`` table of the config file."""
    capabilities: Capabilities
    """What the engine must know to plan writes for it (the adapter class's own)."""
    build: Callable[[S, ChannelContext], ChannelAdapter]
    """Its adapter, from its (resolved) section."""
    notification_url: Callable[[S], str | None] = field(default=lambda section: None)
    """The URL the channel was told it delivers webhooks to, when it signs that URL (Square);
    ``None``: ``<public_url>/webhooks/<name>``."""
    register_webhooks: Callable[[ChannelAdapter, str, Config], list[str]] | None = None
    """Creates (or repairs) our webhooks on the channel, pointing at the URL (``<public_url>/webhooks/
    <name>``), keeping what it answers (a signature key) where the config reads it; returns what it
    did, a line each (never a secret). ``None``: the subscriptions are made in its own dashboard."""
    problems: Callable[[S, ChannelContext], list[str]] = field(default=lambda section, context: [])
    """Settings of its section that load but cannot work (``config check`` exits 2): ``key: why``."""
    warnings: Callable[[S, ChannelContext], list[str]] = field(default=lambda section, context: [])
    """Settings that load but are probably not what was meant (``config check`` prints them)."""
    init: ChannelInit | None = None
    """How ``init`` asks for it (``None``: ``init`` does not offer it)."""
    emulator: Callable[[], ChannelEmulator] | None = None
    """A new, stopped emulator of the channel, for the sandbox, the demo and the tests."""
    sandbox_section: Callable[[ChannelEmulator, int], dict[str, str]] | None = None
    """Its ``[channels.<name>]`` table (key -> TOML value) pointing at a running emulator, for a
    receiver on the given local port."""
    seed: Callable[[ChannelEmulator, Sequence[SeedProduct], int], None] | None = None
    """Seed the emulator with a demo catalogue at the given number of locations."""


_lock = threading.RLock()
_registered: dict[str, ChannelSpec[Any]] = {}
_loaded = False


def _load() -> dict[str, ChannelSpec[Any]]:
    global _loaded
    with _lock:
        if not _loaded:
            for module_name in CHANNEL_MODULES:
                spec: ChannelSpec[Any] = importlib.import_module(module_name).CHANNEL
                _registered.setdefault(spec.name, spec)
            _loaded = True
        return _registered


def register(spec: ChannelSpec[Any]) -> ChannelSpec[Any]:
    """Add a channel that is not built in (the test suite's toy channel, a plug-in). Registering
    the same spec again is harmless; another spec under a taken name is refused."""
    known = _load()
    with _lock:
        if known.get(spec.name, spec) is not spec:
            raise ValueError(f"a channel named {spec.name!r} is already registered")
        known[spec.name] = spec
    return spec


def channels() -> Mapping[str, ChannelSpec[Any]]:
    """Every registered channel by name, built-in ones first, in registration order."""
    return dict(_load())


def builtin_names() -> list[str]:
    """The built-in channels' names (those of :data:`CHANNEL_MODULES`), in their order."""
    _load()
    return [importlib.import_module(module_name).CHANNEL.name for module_name in CHANNEL_MODULES]


def channel_names() -> list[str]:
    """The registered channels' names, sorted (what an error message lists)."""
    return sorted(_load())


def channel(name: str) -> ChannelSpec[Any]:
    """The channel called ``name``; a ``KeyError`` when there is none."""
    return _load()[name]


def unknown_channel(name: str, known: Sequence[str]) -> str:
    """The message for a name that is not one of ``known``."""
    return f"unknown channel {name!r}; known channels: {', '.join(sorted(known)) or 'none'}"
