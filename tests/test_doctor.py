"""``shopbridge doctor`` as run against a shop that is not what the config says: a page that is
not WooCommerce's API, a host that does not answer; and the lines it prints for a healthy sandbox."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sandbox.launch import Sandbox
from tests.conftest import RunCli

LOGIN_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Log In &lsaquo; My Shop</title></head><body>...</body></html>"
)


class _LoginPage(BaseHTTPRequestHandler):
    """A WordPress login page (or any HTML page) answering 200 to every path."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=UTF-8")
        self.send_header("Content-Length", str(len(LOGIN_PAGE)))
        self.end_headers()
        self.wfile.write(LOGIN_PAGE)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def html_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LoginPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def woo_config(path: Path, url: str) -> None:
    path.write_text(
        "[channels.woocommerce]\n"
        f'url = "{url}"\n'
        'consumer_key = { value = "ck_1234" }\n'
        'consumer_secret = { value = "cs_1234" }\n'
    )


def test_an_html_page_is_a_failure_naming_the_url_and_what_came_back(
    tmp_path: Path, run_cli: RunCli, html_site: str
) -> None:
    woo_config(tmp_path / "shopbridge.toml", html_site)
    result = run_cli("doctor")
    assert result.returncode == 1, result.stdout
    line = next(x for x in result.stdout.splitlines() if "woocommerce" in x)
    assert line.startswith("FAIL woocommerce:")
    assert f"{html_site}/wp-json/wc/v3/products" in line
    assert "text/html" in line
    assert "<!DOCTYPE html>" in line
    assert "not JSON" in line and "web page" in line  # and the likely cause


class _Resetter:
    """Accepts each connection and closes it at once, counting them: a host that does not answer."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.accepted = 0
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()


def test_an_unreachable_shop_is_named_with_the_reason_without_retrying(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """doctor asks once: the adapters' retries (five attempts with backoff, 11 s in all) are for
    syncs, where a blip should heal; a check should answer now."""
    dead = _Resetter()
    url = f"http://127.0.0.1:{dead.port}"
    woo_config(tmp_path / "shopbridge.toml", url)
    result = run_cli("doctor")
    dead.sock.close()
    assert result.returncode == 1
    line = next(x for x in result.stdout.splitlines() if "woocommerce" in x)
    assert line.startswith("FAIL woocommerce:")
    assert f"{url}/wp-json/wc/v3/products" in line
    assert "unreachable" in line and "ConnectionError" in line
    assert dead.accepted == 1


def test_refused_connection_names_the_reason(tmp_path: Path, run_cli: RunCli) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    woo_config(tmp_path / "shopbridge.toml", f"http://127.0.0.1:{port}")
    line = next(x for x in run_cli("doctor").stdout.splitlines() if "woocommerce" in x)
    assert f"http://127.0.0.1:{port}/wp-json/wc/v3/products" in line
    assert "Connection refused" in line


def test_healthy_sandbox_lines_name_each_channel_once(tmp_path: Path, run_cli: RunCli) -> None:
    with Sandbox(products=4, locations=2) as box:
        box.write_config(tmp_path / "shopbridge.toml")
        result = run_cli("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    square = next(x for x in lines if "square" in x)
    assert square.startswith("ok   square: 2 location(s)"), square
    woo = next(x for x in lines if "woocommerce" in x)
    assert woo.startswith("ok   woocommerce: ") and woo.count("WooCommerce") + woo.count("woocommerce") == 1
    assert woo.endswith(" products")


def test_config_check_warns_when_square_notification_url_is_not_under_public_url(
    tmp_path: Path, run_cli: RunCli
) -> None:
    (tmp_path / "shopbridge.toml").write_text(
        '[server]\npublic_url = "https://sync.example.com"\n\n'
        '[channels.square]\naccess_token = { value = "EAAA_1234" }\nsignature_key = { value = "sig_1234" }\n'
        'notification_url = "https://old-host.example.com/webhooks/square"\n'
    )
    checked = run_cli("config", "check")
    assert checked.returncode == 0, checked.stderr
    assert "warning:" in checked.stderr and "not under [server] public_url" in checked.stderr
