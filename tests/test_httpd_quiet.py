"""A client that goes away mid-request (a daemon SIGKILLed while it waits for an answer, a browser
closing its tab) is routine for a server: nothing is printed for it, where the standard library
prints a full traceback to stderr (the soak's output held one per kill)."""

from __future__ import annotations

import socket
import struct
import time
from http.server import BaseHTTPRequestHandler

import pytest

from bridge.httpd import ServerThread


class _Slow(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(0.2)
        self.send_response(200)
        self.end_headers()


def test_a_client_resetting_its_connection_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    server = ServerThread(_Slow, host="127.0.0.1", port=0, name="quiet-test")
    server.start()
    try:
        host, port = server.httpd.server_address[:2]
        with socket.create_connection((str(host), int(port))) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # headers never finished
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
        time.sleep(0.5)
    finally:
        server.stop()
    assert "Traceback" not in capfd.readouterr().err
