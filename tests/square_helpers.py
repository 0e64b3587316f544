"""Shared pieces of the Square tests: an emulator whose every response is checked against Square's
OpenAPI spec, a webhook receiver, and the spec-schema validator itself.

Validating in the fixture's teardown (rather than in one test at the end) means every test that
talks to the emulator is also a conformance test: a response shape that drifts from the spec fails
the test that produced it.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from adapters.square import SquareAdapter
from sandbox.square import RecordedExchange, SquareEmulator
from tests.recording import recorded_run

# Square's spec trimmed to the operations and schemas we use (origin, version, licence: tests/data/README.md).
SPEC_PATH = Path(__file__).resolve().parent / "data" / "square" / "api.json"
SPEC_URI = "urn:square-api"


@cache
def spec() -> dict[str, Any]:
    """Square's spec, with ``VERSION_MISMATCH`` added to ``ErrorCode`` (the spec names it only in prose)."""
    data: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    data = copy.deepcopy(data)
    data["components"]["schemas"]["ErrorCode"]["enum"].append("VERSION_MISMATCH")
    return data


@cache
def _registry() -> Registry:  # type: ignore[type-arg]
    return Registry().with_resource(SPEC_URI, Resource.from_contents(spec(), default_specification=DRAFT4))


@cache
def operations() -> dict[str, dict[str, Any]]:
    """operationId -> operation object of the spec."""
    out = {}
    for methods in spec()["paths"].values():
        for op in methods.values():
            if isinstance(op, dict) and "operationId" in op:
                out[op["operationId"]] = op
    return out


def schema_ref(name: str) -> dict[str, str]:
    return {"$ref": f"{SPEC_URI}#/components/schemas/{name}"}


def response_schema_name(operation_id: str) -> str:
    op = operations()[operation_id]
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    return str(ref.rsplit("/", 1)[-1])


def request_schema_name(operation_id: str) -> str:
    op = operations()[operation_id]
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return str(ref.rsplit("/", 1)[-1])


def validate(instance: Any, schema_name: str) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``instance`` fits ``components.schemas[schema_name]``."""
    jsonschema.Draft4Validator(schema_ref(schema_name), registry=_registry()).validate(instance)


ERROR_BODY_SCHEMA = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {"type": "array", "minItems": 1, "items": {"$ref": f"{SPEC_URI}#/components/schemas/Error"}}
    },
}


def validate_exchange(exchange: RecordedExchange) -> None:
    """A 2xx body against the operation's response schema; an error body against ``{"errors": [Error]}``."""
    if exchange.status < 300:
        validate(exchange.body, response_schema_name(exchange.operation_id))
    else:
        jsonschema.Draft4Validator(ERROR_BODY_SCHEMA, registry=_registry()).validate(exchange.body)


def check_recorded(emulator: SquareEmulator) -> int:
    """Validate every recorded response; returns how many there were."""
    recorded = list(emulator.recorded or [])
    for exchange in recorded:
        try:
            validate_exchange(exchange)
        except jsonschema.ValidationError as exc:
            raise AssertionError(
                f"{exchange.method} {exchange.path} ({exchange.operation_id}) -> {exchange.status} "
                f"does not match the spec: {exc.message} at {list(exc.absolute_path)}"
            ) from exc
    return len(recorded)


def running_emulator() -> Iterator[SquareEmulator]:
    """(Fixture body) A running emulator; every recorded response is checked against the spec at teardown."""
    yield from recorded_run(SquareEmulator(retry_schedule=(0.05, 0.1, 0.2)), check_recorded)


@pytest.fixture(name="emulator")
def square_emulator() -> Iterator[SquareEmulator]:
    """The ``emulator`` fixture of the Square tests: one definition, imported by each test module
    that uses it (``from square_helpers import square_emulator``), since conftest.py is not ours."""
    yield from running_emulator()


def make_adapter(em: SquareEmulator, **kwargs: Any) -> SquareAdapter:
    info = em.connection_info()
    options: dict[str, Any] = {
        "base_url": info["base_url"],
        "signature_key": info["signature_key"],
        "location_ids": info["location_ids"],
        "backoff": 0.01,
        "backoff_cap": 0.05,
    }
    options.update(kwargs)
    return SquareAdapter(info["access_token"], **options)


def call(em: SquareEmulator, method: str, path: str, body: Any = None) -> Any:
    """A direct API call to the emulator (as another app or the Dashboard would make); the JSON answer."""
    answer = requests.request(
        method,
        em.base_url + path,
        json=body,
        headers={"Authorization": f"Bearer {em.access_token}"},
        timeout=10,
    )
    return answer.json()


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)
