"""Fixtures of the channel contract: one running harness per registered channel, and the retry
policy's waits recorded instead of slept."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest
import tenacity

import adapters.base
from tests.contract.harness import ChannelHarness
from tests.contract.registry import harness_factories

FACTORIES = harness_factories()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A contract test a channel is known to violate is a strict xfail for that channel."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        channel = callspec.params.get("harness") if callspec else None
        if channel not in FACTORIES:
            continue
        bug = FACTORIES[channel].known_violations.get(getattr(item, "originalname", item.name))
        if bug:
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"{channel}: {bug}"))


@pytest.fixture(params=list(FACTORIES))
def harness(request: pytest.FixtureRequest) -> Iterator[ChannelHarness]:
    """A started harness of each registered channel (the test runs once per channel)."""
    running = FACTORIES[request.param]()
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def retry_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every wait (seconds) the adapters' retry policy asks for, recorded instead of slept.

    Both adapters retry through :func:`adapters.base.retrying` (tenacity); its ``sleep`` is
    replaced, so a test can see that ``Retry-After`` was honoured without waiting for it, and a
    retried fault costs no wall time."""
    waits: list[float] = []
    monkeypatch.setattr(adapters.base, "Retrying", functools.partial(tenacity.Retrying, sleep=waits.append))
    return waits
