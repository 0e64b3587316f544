"""systemd's notification protocol (sd_notify(3)): one datagram to ``$NOTIFY_SOCKET`` per message."""

from __future__ import annotations

import os
import socket

__all__ = ["sd_notify"]


def sd_notify(message: str) -> bool:
    """Send a notification to systemd; a no-op (False) when not started by systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address[0] not in ("/", "@"):
        return False
    if address[0] == "@":
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.connect(address)
        sock.sendall(message.encode())
    return True
