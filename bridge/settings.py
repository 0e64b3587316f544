"""The pieces of the configuration file every section shares: strict sections, URLs and secrets.

They live apart from :mod:`bridge.config` so that a channel's own ``[channels.<name>]`` section
(declared with its channel, see :mod:`bridge.registry`) can be built from them without importing
the whole configuration, which itself looks the channels up in the registry.

A secret (API key, token, webhook secret) is a table naming where to find it::

    consumer_key = { env = "SHOPBRIDGE_WC_KEY" }            # an environment variable
    consumer_key = { file = "/etc/shopbridge/wc-key" }       # a file (first line, whitespace trimmed)
    consumer_key = { credential = "wc-key" }                 # a systemd credential ($CREDENTIALS_DIRECTORY)
    consumer_key = { value = "ck_..." }                      # literal: only if you insist
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from bridge.logs import register_secret

__all__ = ["DEFAULT_CONCURRENCY", "MAX_CONCURRENCY", "ChannelSection", "HttpUrl", "Secret", "Section"]

DEFAULT_CONCURRENCY = 4
"""Requests in flight at once per channel unless its section says otherwise: a few, as a shop's
API answers them side by side without its rate limits (or its PHP workers) taking offence."""
MAX_CONCURRENCY = 32
"""More is refused: beyond it a channel only answers 429s, and a typo (400) would be a flood."""


def _http_url(value: str) -> str:
    """A URL a client can reach: with its scheme and host (``shop.example.com`` alone is refused)."""
    if not value.startswith(("http://", "https://")) or not urlsplit(value).netloc:
        raise ValueError(f"must start with https:// and name a host (got {value!r})")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
"""Every URL in the file: the shop, Square's custom base, our public receiver and its callbacks."""


class Section(BaseModel):
    """A table of the file: an unknown key in it is an error, never silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Secret(Section):
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


class ChannelSection(Section):
    """What every ``[channels.<name>]`` table has; each channel's own section extends it."""

    enabled: bool = True
    concurrency: int = Field(DEFAULT_CONCURRENCY, ge=1, le=MAX_CONCURRENCY)
    """Requests sent to the channel at once: write batches (never two writes of one SKU) and, where
    the channel's paging allows, read pages. 1 sends one call at a time."""
