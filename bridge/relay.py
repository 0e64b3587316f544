"""Relaying the outbox: send due writes per channel in its batch sizes, record what each did.

Each channel's writes go out in lanes, up to its ``concurrency`` at once (:mod:`bridge.lanes`:
two writes of one SKU never in flight together, and applied in outbox order); only the relay's own
thread records results in the store.

Every write a sync plans is queued first (under its deterministic idempotency key) and sent from
here, so a crash between queueing and sending loses nothing, and a write sent twice is applied once.
:meth:`Relay.send` sends due outbox entries per channel, and records per entry what happened (links
for created products, the hash of what we wrote for echo suppression, the stock we wrote for
manual-change detection). A channel that fails keeps its entries queued and does not stop the
others; refused credentials keep them queued without using up their attempts.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from math import ceil
from typing import Any

from pydantic import TypeAdapter

from adapters.base import AuthError, ChannelAdapter
from bridge.capabilities import Capabilities
from bridge.lanes import Lane, split_lanes
from bridge.memory import NewLink, StockWritten, WriteRecord
from bridge.metrics import Metrics
from bridge.progress import Progress
from bridge.store import OutboxEntry, Store
from bridge.writes import CreateCustomer, CreateProduct, UpdateCustomer, WriteOp, WriteResult

__all__ = ["AUTH_RETRY", "Relay", "RelayReport"]

log = logging.getLogger(__name__)

_OP: TypeAdapter[WriteOp] = TypeAdapter(WriteOp)
STALE_VERSION = "VERSION_MISMATCH"
"""A channel's answer to a write carrying a version its record has moved past (Square customers)."""
STALE = (STALE_VERSION, "NOT_FOUND", "woocommerce_rest_invalid_id")
"""Refusals of a customer update that mean "read the record again": a stale version, or a record
gone (deleted, or retired by a Square merge: reading the old id answers the surviving profile)."""
AUTH_RETRY = timedelta(seconds=60)
"""How soon writes refused for bad credentials are tried again (they are never given up on)."""
ROUND = 5_000
"""Due writes taken per round: each round ends waiting for its last lane, so few rounds."""
SINGLES_ROUND = 500
"""At most this many writes sent one call each (customers') in a round: they fill no batch, and
each holds about 3.7 KB (its op parsed and validated) until the round ends: a round of 4,000 held
15 MB, 500 hold under 2 (traced, at 8,000 customers of ``python -m bench.customers``)."""


@dataclass
class RelayReport:
    """Outcome of sending the outbox, per channel."""

    sent: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    deferred: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors: list[str] = field(default_factory=list)
    retried: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    """Writes a channel refused because its record changed since we read it (a customer's stale
    ``version``): not failures, the record is read again, merged and the write planned anew."""
    held_ids: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    """Per channel, the outbox entries its own budget held back (eBay's daily revisions): kept
    queued, not failures; each counted once however many relays of one sync met it."""
    held_until: dict[str, str] = field(default_factory=dict)
    """Per channel with writes held, the latest moment its budget resets."""
    unread: list[str] = field(default_factory=list)
    """Channels whose read failed (see :class:`bridge.reading.ChannelReadError`)."""
    planned: int = 0
    """Changes planned (by :meth:`bridge.sync.SyncRunner.run`, whether or not the plans were kept)."""

    @property
    def held(self) -> dict[str, int]:
        """Per channel, how many writes its budget held back."""
        return {name: len(ids) for name, ids in self.held_ids.items() if ids}

    def merge(self, other: RelayReport) -> None:
        for mine, theirs in (
            (self.sent, other.sent),
            (self.failed, other.failed),
            (self.deferred, other.deferred),
            (self.retried, other.retried),
        ):
            for key, value in theirs.items():
                mine[key] += value
        for name, ids in other.held_ids.items():
            self.held_ids[name] |= ids
        for name, until in other.held_until.items():
            self.held_until[name] = max(until, self.held_until.get(name, until))
        self.errors.extend(other.errors)
        self.unread.extend(other.unread)
        self.planned += other.planned


def _now() -> datetime:
    return datetime.now(UTC)


class Relay:
    """Sends ``store``'s outbox through ``adapters``; an entry is given up on after ``max_attempts``.
    ``metrics`` (the daemon's) hears how each write was settled (:meth:`Metrics.write_settled`)."""

    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, ChannelAdapter],
        progress: Progress,
        max_attempts: int,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.adapters = dict(adapters)
        self.progress = progress
        self.max_attempts = max_attempts
        self.metrics = metrics
        for name, adapter in self.adapters.items():
            adapter.count_writes_in(store.write_counts(name))  # a daily revision budget, if it keeps one
            adapter.keep_ended_in(store.ended_listings(name))  # listings ended at a sell-out, if any

    def send(
        self, channels: Iterable[str] | None = None, *, after_id: int = 0, through_id: int | None = None
    ) -> RelayReport:
        """Send due outbox entries (only those queued after entry ``after_id``, and up to entry
        ``through_id`` if given); each channel on its own, so one failing channel blocks nothing."""
        report = RelayReport()
        window = (after_id, through_id)
        for name in sorted(channels or self.adapters):
            total = self.store.outbox_due_count(name, after_id=after_id, through_id=through_id)
            if total:
                self.progress.start(f"writing changes to {name}", total)
            workers = max(1, self.adapters[name].concurrency)
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"relay-{name}") as pool:
                while self._next_round(name, pool, workers, report, window):
                    pass
        return report

    def _next_round(
        self,
        name: str,
        pool: ThreadPoolExecutor,
        workers: int,
        report: RelayReport,
        window: tuple[int, int | None],
    ) -> bool:
        """Send the next round of ``name``'s due writes (of the entries in ``window``: queued after
        its first id, up to its second); whether another may make progress. Its entries go when it
        returns, before the next round's are read (not two rounds held)."""
        held = report.held_ids.get(name, set())
        after_id, through_id = window
        taken = self.store.outbox_due(
            name, limit=ROUND, after_id=after_id, through_id=through_id, singles=SINGLES_ROUND
        )
        due = [e for e in taken if e.id not in held]
        return bool(due) and self._send_round(name, due, pool, workers, report)

    def _send_round(
        self,
        name: str,
        due: Sequence[OutboxEntry],
        pool: ThreadPoolExecutor,
        workers: int,
        report: RelayReport,
    ) -> bool:
        """Send ``due`` in lanes, ``workers`` at once, each taken by the next free worker
        (:mod:`bridge.lanes`: a SKU's writes in one lane, in outbox order); whether another round
        may make progress (something settled, and no lane's call failed as a whole). Only this
        thread touches the store: the workers call the channel and nothing else."""
        adapter = self.adapters[name]
        ops = [_OP.validate_python(entry.op["op"]) for entry in due]
        adapter.mark_uncertain(entry.idempotency_key for entry in due if entry.attempts > 0)
        self.store.outbox_claim([entry.id for entry in due])
        # One worker: one call, batches as full as they can be. Else lanes of about what one call
        # takes (each a round trip under real latency), at least one per worker.
        parts = 1 if workers == 1 else max(workers, ceil(len(due) / adapter.writes_per_call(ops)))
        lanes = split_lanes(due, ops, [entry.sku for entry in due], parts)
        sent = {pool.submit(adapter.apply, lane.ops): lane for lane in lanes}
        progressed, failed = False, False
        for future in as_completed(sent):
            lane = sent[future]
            try:
                results = future.result()
            except Exception as exc:  # noqa: BLE001 - whatever failed, the entries stay accounted for
                self._lane_failed(name, lane.entries, exc, report)
                failed = True
                continue
            progressed = self._settle(name, lane, results, report) or progressed
        return progressed and not failed

    def _lane_failed(
        self, name: str, due: Sequence[OutboxEntry], exc: Exception, report: RelayReport
    ) -> None:
        """A lane's call failed as a whole: nothing of it is known to have happened."""
        # Refused credentials reached nothing: keep the writes queued, without using up
        # their attempts, until someone fixes the credentials.
        auth = isinstance(exc, AuthError)
        for entry in due:
            self._retry_or_give_up(name, entry, str(exc), report, auth=auth)
        report.errors.append(f"{name}: {exc}")
        log.warning("channel write failed; kept queued", extra={"channel": name, "error": str(exc)})
        self.progress.advance(len(due))

    def _settle(
        self, name: str, lane: Lane[OutboxEntry], results: Sequence[WriteResult], report: RelayReport
    ) -> bool:
        """Record what each entry's write did; whether any was settled (sent, or refused for good).

        A lane's results are recorded in one transaction: what a write did and its entry marked
        done land together (one commit, not two per write: at 10,000 writes the commits were
        most of the relay's own time), and the file is never left with one but not the other."""
        with self.store.transaction():
            progressed = self._settle_each(name, lane, results, report)
        self.progress.advance(len(lane.entries))
        return progressed

    def _settle_each(
        self, name: str, lane: Lane[OutboxEntry], results: Sequence[WriteResult], report: RelayReport
    ) -> bool:
        progressed = False
        for entry, op, result in zip(lane.entries, lane.ops, results, strict=True):
            if result.ok:
                self._applied(name, entry.sku, entry.op, op, result)
                self.store.outbox_done(entry.id, result.model_dump(mode="json"))
                report.sent[name] += 1
                self._settled(name, "applied", entry)
                progressed = True
            elif result.held_until is not None:
                # Held by the channel's budget, never sent: kept queued for a later run, not a failure.
                self.store.outbox_hold(entry.id, result.error or "held by the channel's budget")
                report.held_ids[name].add(entry.id)
                report.held_until[name] = max(result.held_until, report.held_until.get(name, ""))
                self._settled(name, "held", entry)
            elif result.retryable:
                if not self._retry_or_give_up(name, entry, result.error or "retryable failure", report):
                    report.errors.append(f"{name} {entry.action} {entry.sku or ''}: gave up: {result.error}")
            elif result.code in STALE and entry.action == "update_customer":
                self._stale(name, entry, result)
                report.retried[name] += 1
                progressed = True
            else:
                self.store.outbox_failed(entry.id, f"{result.code or 'error'}: {result.error}")
                report.failed[name] += 1
                self._settled(name, "failed", entry)
                report.errors.append(f"{name} {entry.action} {entry.sku or ''}: {result.error}")
                progressed = True
        return progressed

    def _retry_or_give_up(
        self, name: str, entry: OutboxEntry, error: str, report: RelayReport, *, auth: bool = False
    ) -> bool:
        """Keep ``entry`` queued for another attempt (``deferred``), or, its attempts used up, park
        it as ``failed``; counted in ``report`` and the metrics either way. Whether it was kept."""
        kept = self._defer(entry.id, entry.attempts, error, auth=auth)
        outcome = "deferred" if kept else "failed"
        (report.deferred if kept else report.failed)[name] += 1
        self._settled(name, outcome, entry)
        return kept

    def _stale(self, name: str, entry: OutboxEntry, result: WriteResult) -> None:
        """The channel's record changed since the write was planned: this write is dropped (it
        would overwrite the change) and the record read again and merged before the next one."""
        self.store.outbox_failed(
            entry.id, f"{STALE_VERSION}: superseded, the record is read again and merged"
        )
        self.store.customers.mark_stale(name, str(entry.op["op"]["customer_id"]), STALE_VERSION)
        self._settled(name, "retried", entry)

    def _settled(self, channel: str, outcome: str, entry: OutboxEntry) -> None:
        """Tell the metrics (if any) how a write was settled, with the time of the stock event it
        carries (its meta's ``event_at``), which an applied write's propagation time runs from."""
        if self.metrics is not None:
            self.metrics.write_settled(channel, outcome, (entry.op.get("meta") or {}).get("event_at"))

    def _defer(self, entry_id: int, attempts: int, error: str, *, auth: bool = False) -> bool:
        """Schedule another attempt with jittered backoff; False when giving up (parked as failed).
        ``auth``: the channel refused our credentials; retried every minute, never given up on."""
        if auth:
            self.store.outbox_retry_later(
                entry_id, error, (_now() + AUTH_RETRY).isoformat(timespec="microseconds"), attempted=False
            )
            return True
        if attempts + 1 >= self.max_attempts:
            self.store.outbox_failed(entry_id, error)
            return False
        delay = min(3600.0, 5.0 * 2**attempts) * (0.5 + random.random() / 2)
        when = (_now() + timedelta(seconds=delay)).isoformat(timespec="microseconds")
        self.store.outbox_retry_later(entry_id, error, when)
        return True

    def _applied(
        self, channel: str, sku: str | None, stored: Mapping[str, Any], op: WriteOp, result: WriteResult
    ) -> None:
        """Remember what a successful write did: new links, the written hash, the stock written
        (``op``: the entry's operation as parsed to be sent, not parsed again)."""
        capabilities = self.adapters[channel].capabilities
        self.store.record_write(write_record(channel, capabilities, sku, stored, result, op))
        if isinstance(op, UpdateCustomer):
            self.store.customers.record_update(channel, op.customer_id, result.version, op.fields)
        if isinstance(op, CreateCustomer) and result.channel_id and (stored.get("meta") or {}).get("person"):
            created = op.customer.model_copy(update={"channel_id": result.channel_id})
            self.store.customers.link_created(str(stored["meta"]["person"]), channel, created, result.version)


def write_record(
    channel: str,
    capabilities: Capabilities,
    sku: str | None,
    stored: Mapping[str, Any],
    result: WriteResult,
    op: WriteOp | None = None,
) -> WriteRecord:
    """What to remember of a write ``channel`` confirmed (``stored``: its outbox entry's op and meta;
    ``op``: that op already parsed, if it was)."""
    op = _OP.validate_python(stored["op"]) if op is None else op
    meta = stored.get("meta", {})
    if isinstance(op, CreateProduct):
        created = [v for v in op.product.variants if v.sku and v.sku in result.ids]
        return WriteRecord(
            channel=channel,
            op=op.op,
            key=op.key,
            sku=sku,
            channel_version=result.version,
            created=[
                NewLink(v.sku or "", channel, result.ids[v.sku or ""], result.channel_id) for v in created
            ],
            stock=[StockWritten(v.sku or "", "", v.stock, None) for v in created if v.stock is not None],
        )
    stock: list[StockWritten] = []
    if sku and op.op in ("set_stock", "adjust_stock") and meta.get("after") is not None:
        # The baseline moment: for a relative write, the count it was computed from; for an
        # absolute one, when the channel applied it (if its write version is a date).
        if op.op == "adjust_stock" and meta.get("counted_at"):
            at = meta["counted_at"]
        else:
            at = capabilities.written_at(result.version)
        stock.append(StockWritten(sku, meta.get("location") or "", int(meta["after"]), at))
    return WriteRecord(
        channel=channel,
        op=op.op,
        key=op.key,
        sku=sku,
        channel_version=result.version,
        written_hash=meta.get("written_hash") if sku else None,
        stock=stock,
    )
