"""The daemon's figures for Prometheus (``GET /metrics`` on the webhook receiver's address).

Built on ``prometheus-client`` (its text format, escaping and histogram buckets are the reference
implementation's, not ours to get wrong). Labels are the channel and an operation only, never a
SKU, an object id or anything a customer typed: the number of series stays bounded and no personal
data leaves through a scrape. A label taken from a request (the channel in a delivery's path) is
only used when it names a configured channel, else it is ``unknown``.

What the store knows is read from it at scrape time (bridge/store/flow.py), so it is never stale,
costs nothing between scrapes, and is what ``shopbridge status`` shows: events processed per
channel (stock events in the ledger, webhook deliveries processed; both tables only grow, so these
are counters that survive a restart), queue depths per channel, each channel's last successful
poll. What only the daemon sees lives in its process: webhooks received and rejected, writes per
target channel by outcome (counted by the relay as each is settled), and the propagation histogram:
from a stock event's time on its own channel (an order's, a count's) to our write of it
acknowledged by each other channel (label: the target channel).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE_LATEST", "PROPAGATION_BUCKETS", "WRITE_OUTCOMES", "Metrics"]

PROPAGATION_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
"""Seconds; issue 12's targets (300 ms with webhooks, 1 s at worst, a poll interval without) fall on
bucket edges."""

WRITE_OUTCOMES = ("applied", "deferred", "failed", "held", "retried")
"""What the relay makes of a write: applied (the channel confirmed it), deferred (kept queued for
another attempt: a retryable failure, refused credentials), held (kept queued by the channel's
budget, never sent: eBay's daily revisions), failed (refused for good, or given up on),
retried (refused for a stale version: the record is read again and the write planned anew)."""

QUEUES = ("inbox", "outbox", "outbox_due")
"""Deliveries not processed yet, writes not done yet, and of those the ones due now."""


class _StoreFigures(Collector):
    """Series read from the store at each scrape (``flow``: :meth:`bridge.store.Store.flow_figures`;
    ``figures``: :meth:`bridge.store.Store.figures`, for the last polls), a zero for each
    configured channel that has nothing yet."""

    def __init__(
        self,
        channels: Iterable[str],
        flow: Callable[[], Mapping[str, Any]],
        figures: Callable[[], Mapping[str, Any]],
    ) -> None:
        self._channels = sorted(channels)
        self._flow = flow
        self._figures = figures

    def collect(self) -> Iterator[Metric]:
        flow = self._flow()
        processed = CounterMetricFamily(
            "shopbridge_events_processed",
            "Events taken in from each channel (operation): stock events recorded in the ledger, "
            "webhook deliveries processed.",
            labels=["channel", "operation"],
        )
        events = flow["events_processed"]
        for channel in sorted({*self._channels, *events}):
            for operation in ("stock", "webhook"):
                processed.add_metric([channel, operation], events.get(channel, {}).get(operation, 0))
        yield processed
        depth = GaugeMetricFamily(
            "shopbridge_queue_depth",
            "Per channel: deliveries not processed yet (inbox), writes not done yet (outbox), of "
            "which due now (outbox_due).",
            labels=["channel", "operation"],
        )
        queues = flow["queues"]
        for channel in sorted({*self._channels, *queues}):
            for operation in QUEUES:
                depth.add_metric([channel, operation], queues.get(channel, {}).get(operation, 0))
        yield depth
        yield self._polls()

    def _polls(self) -> Metric:
        polled = GaugeMetricFamily(
            "shopbridge_last_successful_poll_timestamp_seconds",
            "When each channel's stream was last read to its end (Unix time).",
            labels=["channel", "operation"],
        )
        for key, at in sorted(self._figures().get("last_poll", {}).items()):
            if at:
                channel, _, stream = key.partition(":")
                polled.add_metric([channel, stream], datetime.fromisoformat(at).timestamp())
        return polled


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
        self.writes = Counter(
            "shopbridge_writes",
            "Writes the relay settled per target channel, by outcome (operation): applied, deferred, failed.",
            ["channel", "operation"],
            registry=self.registry,
        )
        self.propagation = Histogram(
            "shopbridge_propagation_seconds",
            "From a stock event's time on its channel to our write of it acknowledged on another "
            "channel (the target).",
            ["channel"],
            buckets=PROPAGATION_BUCKETS,
            registry=self.registry,
        )
        for channel in sorted(self.channels):  # every series from the first scrape: rate() needs a start
            self.propagation.labels(channel)
            for outcome in WRITE_OUTCOMES:
                self.writes.labels(channel, outcome)

    def channel_label(self, channel: str) -> str:
        """``channel`` when it is configured, else ``unknown`` (a request's path is not trusted)."""
        return channel if channel in self.channels else "unknown"

    def write_settled(self, channel: str, outcome: str, event_at: str | None = None) -> None:
        """The relay settled a write to ``channel`` (one of :data:`WRITE_OUTCOMES`); an applied one
        carrying the time of the stock event it propagates (ISO text) is timed from that event."""
        self.writes.labels(self.channel_label(channel), outcome).inc()
        if outcome == "applied" and event_at:
            at = datetime.fromisoformat(event_at)
            took = datetime.now(UTC) - (at if at.tzinfo else at.replace(tzinfo=UTC))
            self.propagation.labels(self.channel_label(channel)).observe(max(0.0, took.total_seconds()))

    def read_store(
        self, flow: Callable[[], Mapping[str, Any]], figures: Callable[[], Mapping[str, Any]]
    ) -> None:
        """Report the store's events processed, queue depths and last polls, read at each scrape."""
        self.registry.register(_StoreFigures(self.channels, flow, figures))

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return bytes(generate_latest(self.registry))
