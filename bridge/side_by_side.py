"""Independent channels read at once, their pages consumed on the caller's thread.

A sync reads every channel's catalogue, then their stock events; the channels know nothing of each
other, so reading them one after the other only adds their latencies (and a poll cycle's length is
what a sale waits for when no webhook comes). The pages are staged by the caller, whose SQLite
connection stays on its own thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["at_once", "interleaved"]

T = TypeVar("T")

READ_AHEAD = 8
"""Pages each channel may read ahead of the caller: what bounds the memory a faster channel takes."""
_POLL = 0.05
"""Seconds a blocked reader waits before looking whether the caller has stopped listening."""


@dataclass(frozen=True)
class _Item(Generic[T]):
    name: str
    item: T


@dataclass(frozen=True)
class _Done:
    name: str
    error: Exception | None


def at_once(calls: Mapping[str, Callable[[], T]]) -> dict[str, T]:
    """Each channel's call on a thread of its own, all at once (the channels are independent: a
    targeted read waits for the slower one, not for both one after the other); the first error
    is raised once every call has ended. Each call talks to its channel only, never the store."""
    if len(calls) <= 1:
        return {name: call() for name, call in calls.items()}
    with ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="read") as pool:
        futures = {name: pool.submit(call) for name, call in calls.items()}
    return {name: future.result() for name, future in futures.items()}


def interleaved(sources: Mapping[str, Callable[[], Iterator[T]]]) -> Iterator[tuple[str, T]]:
    """``(name, item)`` for every item of every source, as they come, each source iterated on a
    thread of its own (one source is iterated on the caller's thread).

    The first error of a source is raised here once every source has stopped, and nothing read
    after it is passed on (a read that failed on one channel plans nothing). A caller that stops
    early stops the sources at their next item; each source's iterator is closed on its own thread.
    """
    if len(sources) <= 1:
        for name, source in sources.items():
            for item in source():
                yield name, item
        return
    out: queue.Queue[_Item[T] | _Done] = queue.Queue(maxsize=READ_AHEAD * len(sources))
    stop = threading.Event()
    threads = [
        threading.Thread(target=_produce, args=(name, source, out, stop), name=f"read-{name}", daemon=True)
        for name, source in sources.items()
    ]
    for thread in threads:
        thread.start()
    try:
        error = yield from _consume(out, stop, len(threads))
    finally:
        stop.set()
        _drain_until_ended(out, threads)
    if error is not None:
        raise error


def _consume(
    out: queue.Queue[_Item[T] | _Done], stop: threading.Event, running: int
) -> Generator[tuple[str, T], None, Exception | None]:
    """The items until every source is done; returns the first error (the others are stopped)."""
    error: Exception | None = None
    while running:
        got = out.get()
        if isinstance(got, _Done):
            running -= 1
            if got.error is not None and error is None:
                error = got.error
                stop.set()
        elif error is None:
            yield got.name, got.item
    return error


def _produce(
    name: str,
    source: Callable[[], Iterator[T]],
    out: queue.Queue[_Item[T] | _Done],
    stop: threading.Event,
) -> None:
    error: Exception | None = None
    try:
        iterator = source()
        try:
            for item in iterator:
                if stop.is_set() or not _put(out, _Item(name, item), stop):
                    break
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
    except Exception as exc:  # noqa: BLE001 (handed to the caller's thread and raised there)
        error = exc
    out.put(_Done(name, error))  # always taken: by the caller, or by its drain once it stopped


def _put(out: queue.Queue[_Item[T] | _Done], got: _Item[T], stop: threading.Event) -> bool:
    """Hand ``got`` over, unless the caller stopped listening meanwhile (then False)."""
    while True:
        try:
            out.put(got, timeout=_POLL)
            return True
        except queue.Full:
            if stop.is_set():
                return False


def _drain_until_ended(out: queue.Queue[_Item[T] | _Done], threads: list[threading.Thread]) -> None:
    """Let every reader end: a reader blocked on a full queue sees ``stop`` once there is room."""
    for thread in threads:
        while thread.is_alive():
            try:
                while True:
                    out.get_nowait()
            except queue.Empty:
                pass
            thread.join(_POLL)
