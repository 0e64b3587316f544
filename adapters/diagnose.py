"""Saying why a channel did not answer at all, for ``doctor``: a name that does not resolve, a
port that refuses, a host that closes or times out. One reason a person can act on
(``Connection refused``), not a urllib3 repr or an exception's class name alone. (A page that
answers but is not the API is :func:`adapters.woocommerce_wire.listing`'s job.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from adapters.base import PermanentError, TransientError

__all__ = ["naming_url", "network_reason"]

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


@contextmanager
def naming_url(url: str) -> Iterator[None]:
    """A check's failure said with the URL it asked: why nothing answered, or the HTTP status and
    the channel's message (the error keeps its type, so auth failures stay auth failures)."""
    try:
        yield
    except TransientError as exc:
        if exc.status is None:
            raise TransientError(f"{url}: unreachable: {network_reason(exc.__cause__ or exc)}") from exc
        raise type(exc)(f"{url}: HTTP {exc.status}: {exc}", code=exc.code, status=exc.status) from exc
    except PermanentError as exc:  # AuthError included
        raise type(exc)(f"{url}: HTTP {exc.status}: {exc}", code=exc.code, status=exc.status) from exc
