"""Running an emulator with its recording on, and checking every answer it recorded once the test
is done (the Square and eBay conformance helpers check them against their providers' contracts)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

__all__ = ["recorded_run"]


class Recording(Protocol):
    recorded: list[Any] | None

    def start(self) -> Any: ...

    def stop(self) -> None: ...


E = TypeVar("E", bound=Recording)


def recorded_run(emulator: E, check: Callable[[E], object]) -> Iterator[E]:
    """(Fixture body) ``emulator`` started with recording on and stopped after the test; then
    ``check`` judges what it answered (a failure there fails the test that made it)."""
    emulator.recorded = []
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()
    check(emulator)
