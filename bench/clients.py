"""HTTP sessions on both emulators' public APIs, as the benches' shop staff and onlookers use them."""

from __future__ import annotations

import requests

from sandbox.launch import Sandbox

__all__ = ["EmulatorClients"]


class EmulatorClients:
    """A WooCommerce session (consumer key auth) and a Square one (bearer token), with their base
    URLs, and the Square location sales are taken from (the first: the default)."""

    def __init__(self, box: Sandbox) -> None:
        wc, sq = box.woocommerce.connection_info(), box.square.connection_info()
        self.woo_url = wc["url"] + "/wp-json/wc/v3"
        self.woo = requests.Session()
        self.woo.auth = (wc["consumer_key"], wc["consumer_secret"])
        self.square_url = sq["base_url"]
        self.square = requests.Session()
        self.square.headers["Authorization"] = f"Bearer {sq['access_token']}"
        self.location = box.square.location_ids()[0]
