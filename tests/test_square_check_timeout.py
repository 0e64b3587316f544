"""``doctor``'s Square check answers soon even when the host accepts and then never answers (a
firewall that drops, a proxy that hangs): a check waits ``CHECK_TIMEOUT`` seconds, not the 30 s a
sync's read may take on a slow but working Square."""

from __future__ import annotations

import socket
import threading

from adapters.base import TransientError
from adapters.square import CHECK_TIMEOUT, SquareAdapter


def test_a_square_host_that_never_answers_fails_the_check_within_its_short_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)  # accepts connections (the kernel does), never answers a byte
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        adapter = SquareAdapter("token", base_url=url, timeout=60.0)
        failure: list[BaseException] = []

        def check() -> None:
            try:
                adapter.check()
            except BaseException as exc:  # handed to the test thread
                failure.append(exc)

        worker = threading.Thread(target=check, daemon=True)
        worker.start()
        worker.join(CHECK_TIMEOUT + 20)  # far below the 60 s a read would wait
        assert not worker.is_alive(), "the check waited for the read timeout"
    assert failure and isinstance(failure[0], TransientError)
    message = str(failure[0])
    assert f"{url}/v2/locations" in message and "unreachable" in message
