"""Child process for the benchmark: the three emulators (WooCommerce, Square, eBay) seeded with the
same N variants, until killed.

Prints one JSON line with the connection details (eBay's with a refresh token, as consent gives
one), then serves.
"""

from __future__ import annotations

import json
import signal
import sys
import threading

from bench.sync_bench import CHANNELS, LOCATIONS
from sandbox.ebay import EbayEmulator
from sandbox.launch import Sandbox


def main() -> None:
    size = int(sys.argv[1])
    with Sandbox(products=size, locations=LOCATIONS, overlap_extras=False, channels=CHANNELS) as box:
        info = box.connection_info()
        ebay = box.emulators["ebay"]
        assert isinstance(ebay, EbayEmulator)
        info["ebay"]["refresh_token"] = ebay.issue_refresh_token()
        print(json.dumps(info), flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        stop.wait()


if __name__ == "__main__":
    main()
