"""The daemon's figures for Prometheus (``GET /metrics`` on the webhook receiver's address).

Built on ``prometheus-client`` (its text format, escaping and histogram buckets are the reference
implementation's, not ours to get wrong). Labels are the channel and an operation only, never a
SKU, an object id or anything a customer typed: the number of series stays bounded and no personal
data leaves through a scrape. A label taken from a request (the channel in a delivery's path) is
only used when it names a configured channel, else it is ``unknown``.

Counters live in the daemon's process; what the store knows (queue depths, each channel's last
successful poll) is read from it at scrape time, so it is never stale and costs nothing between
scrapes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class _StoreFigures(Collector):
    """Gauges read from the store's figures at each scrape."""

    def __init__(self, figures: Callable[[], Mapping[str, Any]]) -> None:
        self._figures = figures

    def collect(self) -> Iterator[Metric]:
        figures = self._figures()
        depth = GaugeMetricFamily(
            "shopbridge_queue_depth",
            "Deliveries not yet processed and writes not yet done.",
            labels=["operation"],
        )
        depth.add_metric(["inbox"], figures["inbox_pending"])
        depth.add_metric(["outbox"], figures["outbox_pending"])
        yield depth
        polled = GaugeMetricFamily(
            "shopbridge_last_successful_poll_timestamp_seconds",
            "When each channel's stream was last read to its end (Unix time).",
            labels=["channel", "operation"],
        )
        for key, at in sorted(figures.get("last_poll", {}).items()):
            if at:
                channel, _, stream = key.partition(":")
                polled.add_metric([channel, stream], datetime.fromisoformat(at).timestamp())
        yield polled


class Metrics:
    """The counters the daemon moves, in a registry of their own (never the process-global one)."""

    def __init__(self, channels: Iterable[str] = ()) -> None:
        self.channels = frozenset(channels)
        self.registry = CollectorRegistry()
        self.webhooks_received = Counter(
            "shopbridge_webhooks_received",
            "Verified deliveries committed to the inbox (duplicates included).",
            ["channel"],
            registry=self.registry,
        )
        self.webhooks_rejected = Counter(
            "shopbridge_webhooks_rejected",
            "Deliveries refused, by reason (operation): signature, unknown_channel, too_large, inbox.",
            ["channel", "operation"],
            registry=self.registry,
        )

    def channel_label(self, channel: str) -> str:
        """``channel`` when it is configured, else ``unknown`` (a request's path is not trusted)."""
        return channel if channel in self.channels else "unknown"

    def read_store(self, figures: Callable[[], Mapping[str, Any]]) -> None:
        """Report the store's queue depths and last polls, read at each scrape through ``figures``."""
        self.registry.register(_StoreFigures(figures))

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return bytes(generate_latest(self.registry))
