"""Saying why a channel did not answer at all, for ``doctor``: a name that does not resolve, a
port that refuses, a host that closes or times out. One reason a person can act on
(``Connection refused``), not a urllib3 repr or an exception's class name alone. (A page that
answers but is not the API is :func:`adapters.woocommerce_wire.listing`'s job.)
"""

from __future__ import annotations

import re

__all__ = ["network_reason"]

_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def network_reason(exc: BaseException) -> str:
    """The innermost human reason of a network failure (``Connection refused``, ``Name or service
    not known``, ``Read timed out``), with the exception's class name."""
    text = str(exc)
    found = _ERRNO.findall(text)
    if found:
        reason = found[-1].strip()
    elif "timed out" in text.lower():
        reason = "timed out"
    elif "Remote end closed connection" in text or "Connection aborted" in text:
        reason = "the server closed the connection without answering"
    else:
        reason = text.rsplit(": ", 1)[-1][:160] or "no answer"
    return f"{type(exc).__name__}: {reason}"
