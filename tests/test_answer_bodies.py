"""What the Square and eBay clients make of an answer that is not the JSON object they asked for,
over loopback against their emulators: a web page where JSON was expected (a proxy's or a
maintenance page) is a transient failure naming what came back; an error page keeps the page's
text in the error's message; an empty answer is an empty object. Both clients read the body through
one helper (``adapters.base.answer_body``), so they behave alike here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from adapters.base import TransientError
from adapters.ebay_auth import EbayAuth
from adapters.ebay_client import EbayClient
from adapters.square import SquareAdapter
from sandbox.ebay import EbayEmulator
from sandbox.http import EmulatorServer, FaultRule
from sandbox.square import SquareEmulator

Channel = tuple[EmulatorServer, Callable[[], Any], str]
"""A channel's emulator server (for faults), one API call of its client, and its name."""

PAGE = "<!DOCTYPE html>\n<html><head><title>Briefly unavailable for scheduled maintenance</title>"


def _square() -> Iterator[Channel]:
    with SquareEmulator() as em:
        info = em.connection_info()
        adapter = SquareAdapter(
            info["access_token"], base_url=info["base_url"], max_attempts=1, backoff=0.01, backoff_cap=0.05
        )
        yield em.server, lambda: adapter._request("GET", "/v2/locations"), "Square"


def _ebay() -> Iterator[Channel]:
    with EbayEmulator() as em:
        auth = EbayAuth(em.base_url, em.client_id, em.client_secret, em.issue_refresh_token())
        client = EbayClient(em.base_url, auth, max_attempts=1, backoff=0.01, backoff_cap=0.05)
        auth.access_token()  # the token first, so the faults below hit only the API call
        yield em.server, lambda: client.request("GET", "/sell/inventory/v1/inventory_item"), "eBay"


@pytest.fixture(params=[_square, _ebay], ids=["square", "ebay"])
def channel(request: pytest.FixtureRequest) -> Iterator[Channel]:
    yield from request.param()


def test_a_web_page_answered_with_200_is_a_transient_failure_naming_it(
    channel: Channel,
) -> None:
    server, call, name = channel
    server.faults.add(FaultRule(kind="status", status=200, times=None, content_type="text/html", body=PAGE))
    with pytest.raises(TransientError) as raised:
        call()
    assert f"unexpected {name} answer: <!DOCTYPE html>" in str(raised.value)
    assert raised.value.status == 200


def test_an_error_page_keeps_its_text_in_the_error(
    channel: Channel,
) -> None:
    server, call, _name = channel
    server.faults.add(FaultRule(kind="status", status=502, times=None, content_type="text/html", body=PAGE))
    with pytest.raises(TransientError) as raised:
        call()
    assert raised.value.status == 502
    assert "Briefly unavailable" in str(raised.value)


def test_an_empty_answer_is_an_empty_object(channel: Channel) -> None:
    server, call, _name = channel
    empty = FaultRule(kind="status", status=200, times=None, content_type="application/json", body="")
    server.faults.add(empty)
    assert call() == {}
