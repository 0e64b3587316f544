"""A threaded HTTP server run from a background thread: the webhook receiver and the emulators share it."""

from __future__ import annotations

import logging
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["ListenError", "ServerThread"]


class ListenError(OSError):
    """The address could not be bound. The OS says only ``[Errno 98] Address already in use``; this
    says which address (``filename``), so that a user knows which setting or process to look at."""

    def __str__(self) -> str:
        return f"cannot listen on {self.filename}: {self.strerror}"


class _Server(ThreadingHTTPServer):
    """A client going away mid-request (a daemon SIGKILLed while it waits, a closed tab) is routine:
    the standard library prints a traceback to stderr for it; this says nothing. Any other error in
    a handler thread is logged (once, with its traceback) instead of printed."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return
        log.error("request from %s failed", client_address[0], exc_info=error)


class ServerThread:
    """``ThreadingHTTPServer`` bound at construction (so ``url`` is known before ``start``)."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, host: str, port: int, name: str) -> None:
        try:
            self.httpd: ThreadingHTTPServer = _Server((host, port), handler)
        except OSError as exc:
            raise ListenError(exc.errno, exc.strerror, f"{host}:{port}") from exc
        self.httpd.daemon_threads = True
        self.name = name
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name=self.name, daemon=True)
        self._thread.start()

    def serving(self) -> bool:
        """Whether the server thread is still accepting requests (the watchdog's check)."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)
