"""What a failed command tells its user, in the two forms the CLI prints it.

A person reads ``error: ...`` lines on stderr; a script that asked for ``--json`` reads one JSON
object on stdout instead (and the same exit code), ``{"error": text, "channel": name or null,
"channels": {name: text}}``: ``channels`` names every channel at fault (several can fail at once,
and fixing one should not reveal the next), ``channel`` is that channel when there is exactly one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Failure"]


@dataclass(frozen=True)
class Failure:
    """One or more problems, each a sentence; ``channels`` maps a channel at fault to its problem."""

    messages: tuple[str, ...]
    channels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, *messages: str) -> Failure:
        return cls(tuple(messages))

    @classmethod
    def of_channels(cls, channels: Mapping[str, str]) -> Failure:
        ordered = dict(sorted(channels.items()))
        return cls(tuple(ordered.values()), ordered)

    def lines(self) -> list[str]:
        """For a terminal or a log: one ``error:`` line per problem."""
        return [f"error: {message}" for message in self.messages]

    def to_json(self) -> dict[str, Any]:
        return {
            "error": "; ".join(self.messages),
            "channel": next(iter(self.channels)) if len(self.channels) == 1 else None,
            "channels": dict(self.channels),
        }
