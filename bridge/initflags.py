"""The flags of ``shopbridge init --non-interactive``, made from each channel's own ``init``
questions in the registry (:class:`bridge.registry.ChannelInit`), and the answers they give.

A channel offered by ``init`` gets, with its ``flag_prefix`` (default: its name):

* ``--<prefix>-<key>`` for each plain answer (``--wc-url``, ``--square-environment``);
* ``--<prefix>-<flag>-env`` for each secret: the environment variable holding it
  (``--wc-key-env``, ``--square-token-env``);
* ``--<name>``: choose it with ``--systemd`` (every secret is then the systemd credential of the
  naming scheme) when none of its answers needs giving (``--square``).

A channel is connected when any of its flags is given; what it then needs (answers without a
default, secrets that are not for webhooks only) must all be given, else the usage error names
them. Nothing here prompts or prints: ``cli.init`` parses and renders, this decides.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from bridge import registry
from bridge.config import ServerSettings, check_answer
from bridge.initfile import ChannelAnswers, InitAnswers, SecretRef
from bridge.policy import SyncPolicy

__all__ = [
    "InitFlag",
    "InitRefused",
    "channels_from_flags",
    "check_answers",
    "check_instance",
    "init_flags",
    "refuse_ignored",
]


class InitRefused(ValueError):
    """The flags cannot make a config (a usage error: exit 2, nothing written)."""


@dataclass(frozen=True)
class InitFlag:
    """One flag of ``init``: which channel and key it answers, and how."""

    channel: str
    key: str
    kind: Literal["answer", "secret", "switch"]
    option: str
    help: str
    default: str | None = None

    @property
    def param(self) -> str:
        """Its name as a Python parameter (``--wc-url`` -> ``wc_url``)."""
        return self.option.removeprefix("--").replace("-", "_")


def _flags(spec: registry.ChannelSpec[Any]) -> list[InitFlag]:
    assert spec.init is not None
    prefix = spec.init.flag_prefix or spec.name
    flags = [
        InitFlag(
            spec.name, key, "answer", f"--{prefix}-{key.replace('_', '-')}", f"{spec.title} {q.strip()}.", d
        )
        for key, q, d in spec.init.answers
    ]
    for secret in spec.init.secrets:
        word = secret.flag or secret.key.replace("_", "-")
        about = f"{spec.title}: env var holding the {secret.label.strip()}" + (
            " (webhooks)." if secret.webhook else "."
        )
        flags.append(InitFlag(spec.name, secret.key, "secret", f"--{prefix}-{word}-env", about))
    if all(default is not None for _key, _q, default in spec.init.answers):
        switch = f"With --systemd --non-interactive: connect {spec.title}."
        flags.append(InitFlag(spec.name, "", "switch", f"--{spec.name}", switch))
    return flags


def init_flags() -> list[InitFlag]:
    """Every offered channel's flags, in registry order."""
    return [flag for spec in registry.channels().values() if spec.init is not None for flag in _flags(spec)]


def check_instance(instance: str | None) -> None:
    """``--systemd INSTANCE`` names a unit instance (``shopbridge@INSTANCE.service``)."""
    if instance is not None and not re.fullmatch(r"[A-Za-z0-9_.-]+", instance):
        raise InitRefused(f"--systemd: {instance!r} is not an instance name (letters, digits, _ . -)")


def refuse_ignored(given: Mapping[str, Any], systemd: bool) -> None:
    """A flag this ``init`` would ignore: ``*-env`` names with ``--systemd`` (every secret is then a
    credential of the scheme), a channel's switch without it."""
    _refuse_ignored([flag for flag in init_flags() if given.get(flag.param)], systemd)


def _refuse_ignored(given: list[InitFlag], systemd: bool) -> None:
    secrets = [flag.option for flag in given if flag.kind == "secret"]
    if systemd and secrets:
        raise InitRefused(
            "with --systemd every secret is a systemd credential of the naming scheme: "
            f"drop {', '.join(secrets)}"
        )
    for flag in given:
        if flag.kind == "switch" and not systemd:
            needs = [f.option for f in _flags(registry.channel(flag.channel)) if _needed(f, systemd=False)]
            raise InitRefused(f"{flag.option} is for --systemd; otherwise name {' and '.join(needs)}")


def _needed(flag: InitFlag, *, systemd: bool) -> bool:
    """Whether a connected channel cannot go without this flag."""
    if flag.kind != "secret":
        return flag.kind == "answer" and flag.default is None
    init = registry.channel(flag.channel).init
    assert init is not None
    webhook_only = next(s.webhook for s in init.secrets if s.key == flag.key)
    return not systemd and not webhook_only


def _channel(
    flags: list[InitFlag], given: Mapping[str, Any], *, systemd: bool, webhooks: bool
) -> ChannelAnswers:
    spec = registry.channel(flags[0].channel)
    missing = [f.option for f in flags if _needed(f, systemd=systemd) and not given.get(f.param)]
    if missing:
        raise InitRefused(f"{spec.title} needs {', '.join(missing)}")
    answers = ChannelAnswers()
    for flag in flags:
        value = given.get(flag.param)
        if flag.kind == "answer" and (value or flag.default):  # an empty default: not written
            answers.values[flag.key] = value or flag.default
        elif flag.kind == "secret" and value and not systemd:
            answers.secrets[flag.key] = SecretRef("env", value)
    if systemd:
        assert spec.init is not None
        for secret in spec.init.secrets:
            if webhooks or not secret.webhook:
                answers.secrets[secret.key] = SecretRef("credential", secret.env.lower())
    return answers


def channels_from_flags(
    given: Mapping[str, Any], *, systemd: bool, webhooks: bool
) -> dict[str, ChannelAnswers]:
    """The channels ``given`` (flag parameter -> value) connect, by name in registry order; with
    ``systemd`` every secret a credential of the naming scheme, the webhook ones when ``webhooks``."""
    flags = init_flags()
    chosen = [flag for flag in flags if given.get(flag.param)]
    _refuse_ignored(chosen, systemd)
    channels: dict[str, ChannelAnswers] = {}
    for name in dict.fromkeys(flag.channel for flag in chosen):
        mine = [flag for flag in flags if flag.channel == name]
        channels[name] = _channel(mine, given, systemd=systemd, webhooks=webhooks)
    if not channels:
        ways = [
            " ".join(f.option for f in flags if f.channel == name and _needed(f, systemd=systemd))
            or f"--{name}"
            for name in dict.fromkeys(f.channel for f in flags)
        ]
        raise InitRefused(f"configure at least one channel ({' or '.join(ways)})")
    return channels


def check_answers(answers: InitAnswers) -> None:
    """The answers by the config's own rules, before anything is written (each error names its flag)."""
    checks: list[tuple[type[BaseModel], str, Any, str]] = [
        (SyncPolicy, "system_of_record", answers.system_of_record, "--system-of-record"),
        (ServerSettings, "public_url", answers.public_url, "--public-url"),
    ]
    options = {(f.channel, f.key): f.option for f in init_flags()}
    for name, channel in answers.channels.items():
        section = registry.channel(name).section
        checks += [
            (section, key, value, options.get((name, key), f"{name} {key}"))
            for key, value in channel.values.items()
        ]
    for model, field, value, flag in checks:
        if value is not None:
            try:
                check_answer(model, field, value)
            except ValueError as exc:
                raise InitRefused(f"{flag}: {exc}") from exc
    if answers.public_url:
        _check_webhook_secrets(answers, options)


def _check_webhook_secrets(answers: InitAnswers, options: Mapping[tuple[str, str], str]) -> None:
    """Webhooks to a public URL from a channel whose deliveries cannot be verified without a secret
    not given (Square's signature key)."""
    for name, channel in answers.channels.items():
        spec = registry.channel(name)
        assert spec.init is not None
        for secret in spec.init.secrets:
            if secret.needed_for_webhooks and secret.key not in channel.secrets:
                raise InitRefused(
                    f"--public-url with {spec.title} needs {options[(name, secret.key)]}: "
                    f"{spec.title}'s webhooks are verified with its {secret.label.strip()}"
                )
