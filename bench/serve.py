"""Child process for the benchmark: both emulators seeded with the same N variants, until killed.

Prints one JSON line with the connection details, then serves.
"""

from __future__ import annotations

import json
import signal
import sys
import threading

from bench.sync_bench import LOCATIONS
from sandbox.launch import Sandbox


def main() -> None:
    size = int(sys.argv[1])
    with Sandbox(products=size, locations=LOCATIONS, overlap_extras=False) as box:
        print(json.dumps(box.connection_info()), flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        stop.wait()


if __name__ == "__main__":
    main()
