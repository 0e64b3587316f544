"""One sync: read the channels, let the engine decide, record what it decided, send the writes.

This module only sequences; each step's work is elsewhere. A sync has three steps, kept apart so
that ``--dry-run`` is the first step alone and a crash between steps is harmless:

1. **read and decide**: :meth:`SyncRunner.read` reads the channels into a scratch staging file
   (:mod:`bridge.reading`, which also says what moment each count describes and what a cursor may
   move past); :meth:`StagedRead.chunks` then takes a chunk of products that can only link among
   themselves at a time, asks the store what it remembers about their SKUs (one
   :meth:`~bridge.store.Store.memory` call) and the engine what follows
   (:func:`bridge.engine.decide`: links, ledger entries, baselines, the plan), so that memory
   does not grow with the catalogue. Nothing is written to the store. (:meth:`SyncRunner.prepare`
   merges the chunks into one plan, for ``--dry-run``.)
2. **commit**: :meth:`SyncRunner.commit` records, in one transaction per chunk
   (:meth:`~bridge.store.Store.record_chunk`), what was read (last-read products, links, ledger entries,
   baselines, the agreed catalogue), queues the plan's writes in the outbox, each under its
   deterministic idempotency key (a plan computed twice queues each write once), and last moves the
   cursors.
3. **relay**: :meth:`SyncRunner.relay` sends due outbox entries (:mod:`bridge.relay`). A channel
   that fails keeps its entries queued and does not stop the others.
"""

from __future__ import annotations

import logging
import pickle
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any

from adapters.base import ChannelAdapter
from bridge import engine
from bridge.commit_behind import CommitBehind
from bridge.config import CustomerSettings
from bridge.customer_sync import CustomerReport, CustomerSync
from bridge.engine import Chunk, Context, Outcome
from bridge.ledger import LedgerEntry, LocationMap
from bridge.linking import ExistingLink, LinkGroup
from bridge.memory import ChunkRecord, Conflict, NewLink
from bridge.metrics import Metrics
from bridge.models import ChannelProduct, StockEvent, StockEventKind, StockLevel
from bridge.ownership import catalogue_ref
from bridge.plan import Change, Plan, SafetyFigures
from bridge.policy import SyncPolicy
from bridge.progress import Progress, QuietProgress
from bridge.reading import ChannelRead, ChannelReadError, LocationConfigError, NeedsPoll, Reader, Staged
from bridge.reconcile import judge
from bridge.relay import Relay, RelayReport
from bridge.relay_behind import RelayBehind
from bridge.skipped import held_skus, unread_sales
from bridge.store import Store
from bridge.store.staging import Staging
from bridge.targets import TargetRef
from bridge.unresolved import unclaimed, unlinked

__all__ = [
    "ChannelRead",
    "ChannelReadError",
    "LocationConfigError",
    "NeedsPoll",
    "PreparedSync",
    "RelayReport",
    "StagedRead",
    "SyncRunner",
    "UnsafePlan",
    "merge_prepared",
]

log = logging.getLogger(__name__)

PLANNED_MARK = "planned"
"""When a chunk was last committed: the SKUs of stock writes settled since are read again."""
EVENT_PLANNED_MARK = "planned_by_event"
"""When the event path last committed (kept apart from ``PLANNED_MARK``: a poll still reads the
SKUs of the writes settled since *it* planned, whatever the event path did in between)."""
SYNCED_MARK = "synced"
"""Set when a sync's last chunk commits: from then on no sync is a first sync (links made by hand
before it do not count, nor do catalogue cursors cleared to force a full read)."""


class UnsafePlan(Exception):
    """The plan trips a safety limit; ``reasons`` says which. Re-run with ``force`` to apply anyway."""

    def __init__(self, plan: Plan) -> None:
        super().__init__("; ".join(plan.safety.reasons))
        self.plan = plan


@dataclass
class PreparedSync:
    """What the engine decided for a chunk (or a whole sync), and what was read to decide it:
    everything :meth:`SyncRunner.commit` records."""

    outcome: Outcome
    reads: dict[str, ChannelRead]
    locations: LocationMap
    vanished: set[tuple[str, str]] = field(default_factory=set)
    """``(channel, variant id)`` deleted for good: what they were when last read is forgotten."""

    @property
    def plan(self) -> Plan:
        return self.outcome.plan

    @property
    def groups(self) -> list[LinkGroup]:
        return self.outcome.groups

    @property
    def new_entries(self) -> list[LedgerEntry]:
        return self.outcome.new_entries


class SyncRunner:
    """Syncs the given adapters through ``store`` under ``policy``.

    ``progress`` hears of each long read or write and how far it got (a bar on a terminal);
    ``metrics`` (the daemon's) how each write was settled.

    ``serial`` is held while a sync plans, commits and relays (not while it reads the channels):
    the daemon's poll and event path run on threads of their own, each with its own store
    connection (:meth:`sibling`), and share it, so they read at the same time but never plan
    against a ledger the other is changing, nor send one outbox at once (a SKU's writes stay in
    outbox order, and no entry is sent by both).
    """

    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, ChannelAdapter],
        policy: SyncPolicy,
        *,
        progress: Progress | None = None,
        max_attempts: int = 12,
        chunk_size: int = 2_000,
        metrics: Metrics | None = None,
        customers: CustomerSettings | None = None,
        serial: threading.RLock | None = None,
    ) -> None:
        self.store = store
        self.serial = serial or threading.RLock()
        self.metrics = metrics
        self.customers = customers or CustomerSettings()
        self.chunk_size = chunk_size
        self.adapters = dict(adapters)
        self.policy = policy
        self.progress: Progress = progress or QuietProgress()
        self.max_attempts = max_attempts
        self._locations: LocationMap | None = None
        self.customers_serial = threading.RLock()
        """Held by a customers stage (the poll's, on a thread of its own, or the event path's):
        one at a time, so two never match the same new record to two new persons."""

    def sibling(self, store: Store, progress: Progress | None = None) -> SyncRunner:
        """A runner over another connection to the same store (another thread's), sharing this
        one's adapters (their gates and concurrency), policy, metrics and ``serial`` lock."""
        twin = SyncRunner(
            store,
            self.adapters,
            self.policy,
            progress=progress,
            max_attempts=self.max_attempts,
            chunk_size=self.chunk_size,
            metrics=self.metrics,
            customers=self.customers,
            serial=self.serial,
        )
        twin._locations = self._locations
        twin.customers_serial = self.customers_serial
        return twin

    # ------------------------------------------------------------------------------------------
    # 1. read and decide
    # ------------------------------------------------------------------------------------------

    def locations(self, *, refresh: bool = False) -> LocationMap:
        """Canonical locations (:meth:`bridge.reading.Reader.locations`), listed once per runner
        (and again on every read)."""
        if self._locations is None or refresh:
            self._locations = self._reader().locations()
        return self._locations

    def full_read_needed(self, full: bool = False) -> bool:
        """A full read: asked for, the first sync, or a channel never read to the end (a first sync
        interrupted between its chunks)."""
        if full or self.first_sync():
            return True
        return any(self.store.get_cursor(name, "catalog") is None for name in self.adapters)

    def first_sync(self) -> bool:
        """Whether no sync has committed to the end yet: the first-sync safety limits apply, and
        stock history starts at the counts. (A store from before ``SYNCED_MARK`` has cursors.)"""
        store = self.store
        if store.get_mark(SYNCED_MARK) is not None:
            return False
        return not any(
            store.get_cursor(name, stream) is not None
            for name in self.adapters
            for stream in ("catalog", "events")
        )

    def prepare(self, *, full: bool = False) -> PreparedSync:
        """Read every channel and build the plan; writes nothing to the store.

        The plan is made in chunks (see :meth:`read`) and merged into one here, for ``--dry-run``;
        :meth:`run` commits the chunks one by one instead, so that a large catalogue (or a large
        change) does not have to fit in memory."""
        with self.read(full=self.full_read_needed(full)) as reading:
            return merge_prepared(list(reading.chunks()), self.policy)

    @contextmanager
    def read(self, *, full: bool) -> Iterator[StagedRead]:
        """Read the channels into a staging file (:meth:`bridge.reading.Reader.read`), to be planned
        chunk by chunk."""
        first = self.first_sync()
        locations = self.locations(refresh=True)
        planned_at = self.store.get_mark(PLANNED_MARK)
        with self._reader().read(
            full=full, first=first, planned_at=planned_at, locations=locations
        ) as staged:
            yield StagedRead(self, staged)

    def _reader(self) -> Reader:
        for name, adapter in self.adapters.items():
            adapter.keep_ended_in(self.store.ended_listings(name))  # a listing ended at a sell-out reads as 0
        return Reader(self.store, self.adapters, self.policy, self.progress)

    def strays(self, reads: Mapping[str, ChannelRead], claimed: set[str]) -> list[tuple[StockEvent, str]]:
        """Events read this sync that no planned SKU owns and whose variant is linked to nothing:
        a sale of a variant shopbridge does not know (not linked, no SKU, an id never read)."""
        loose = unclaimed((ev for read in reads.values() for ev in read.events), claimed)
        members = self.store.links_of_groups("variant", [(ev.channel, ev.variant_id or "") for ev in loose])
        keys = self.store.links_by_key("variant", [ev.sku for ev in loose if ev.sku])
        return unlinked(
            loose, {(r["channel"], r["channel_id"]) for r in members}, {r["canonical_key"] for r in keys}
        )

    _entry = staticmethod(Store.ledger_entry)
    """A stored ledger row as a :class:`LedgerEntry` (kept for the tests that read the ledger)."""

    # ------------------------------------------------------------------------------------------
    # 2. commit
    # ------------------------------------------------------------------------------------------

    def commit(self, prepared: PreparedSync, *, force: bool = False) -> int:
        """Record the reads and queue the plan's writes, atomically. Returns how many writes were queued.

        Raises :class:`UnsafePlan` (recording nothing) when the plan trips a safety limit and not ``force``.
        """
        plan = prepared.plan
        if not plan.safety.safe and not force:
            raise UnsafePlan(plan)
        queued, kept = self.store.record_chunk(chunk_record(prepared, self.policy))
        if kept:
            log.warning("stock moves kept out of the ledger (see status)", extra={"count": kept})
        return queued

    # ------------------------------------------------------------------------------------------
    # 3. relay
    # ------------------------------------------------------------------------------------------

    def relay(self, channels: Iterable[str] | None = None) -> RelayReport:
        """Send due outbox entries; each channel on its own, so one failing channel blocks nothing."""
        with self.serial:
            return Relay(self.store, self.adapters, self.progress, self.max_attempts, self.metrics).send(
                channels
            )

    # ------------------------------------------------------------------------------------------
    # the whole thing
    # ------------------------------------------------------------------------------------------

    def run(
        self, *, force: bool = False, rounds: int = 3, full: bool = False, keep_plans: bool = True
    ) -> tuple[list[Plan], RelayReport]:
        """Prepare, commit and relay; again while the last round created products (a created product
        needs a second round for its stock at each location), at most ``rounds`` times.

        A full read (``full``, the first sync, or an interrupted one) is committed chunk by chunk:
        each chunk's links, ledger entries and queued writes in one transaction, the cursors with
        the last. Unless ``force``, every chunk is planned once first and nothing is committed if
        the whole plan trips a safety limit. Without ``keep_plans`` only the plans' warnings are
        returned (a large first sync's changes need not stay in memory; ``planned`` counts them)."""
        plans: list[Plan] = []
        report = self.relay()  # settle what earlier runs queued before planning anew
        with _CustomersBeside(self, full=full) as customers:
            if force:
                customers.start()  # no plan to judge first: the stage goes with the read
            for round_ in range(rounds):
                try:
                    made, planned, created = self._run_chunks(
                        force,
                        full=self.full_read_needed(full and round_ == 0),
                        keep=keep_plans,
                        report=report,
                        judged=customers.start,
                    )
                except ChannelReadError as exc:
                    log.warning(
                        "channel read failed; nothing planned this round",
                        extra={"channel": exc.channel, "error": str(exc.error)},
                    )
                    report.errors.append(str(exc))
                    report.unread.append(exc.channel)
                    break
                report.planned += planned
                plans.extend(made)
                report.merge(self.relay())
                # Only a created product needs another round (its stock at each location, its links);
                # otherwise the next sync reads our writes back as echoes and finds nothing to do.
                if not created or report.deferred or report.failed:
                    break
            done = customers.result()
        with self.serial:  # the event path relays too: one relay at a time, never an entry sent twice
            self._relay_customers(done, report)
        return plans, report

    def _customers_stage(self, full: bool) -> CustomerReport:
        """The customers stage on a store connection of its own (it runs on a thread of its own)."""
        with Store(self.store.path) as store, self.customers_serial:
            return CustomerSync(store, self.adapters, self.customers).run(full=full)

    def _relay_customers(self, customers: CustomerReport, report: RelayReport, rounds: int = 3) -> None:
        """Send what a customers pass queued; a write refused as stale (the record changed or went
        since it was read) is followed by a re-read of that record, a merge and the write planned
        anew (at most ``rounds`` times). The store says which were refused: the stage ran beside
        the catalogue, so the sync's relays may have sent (and had refused) its writes already."""
        for _ in range(rounds):
            if not customers.queued:
                return
            report.merge(self.relay())
            if not self.store.customers.stale():
                return
            customers = CustomerSync(self.store, self.adapters, self.customers).run_stale()

    def run_customer_hints(self, ids: Mapping[str, Sequence[str]]) -> RelayReport:
        """The event path's customers: the records customer webhooks named, read again, merged,
        their writes queued and relayed (:meth:`bridge.customer_sync.CustomerSync.run_hinted`)."""
        report = RelayReport()
        with self.customers_serial:  # the poll's customers stage takes it too
            hinted = CustomerSync(self.store, self.adapters, self.customers).run_hinted(ids)
        with self.serial:  # the poll's relay takes it too
            self._relay_customers(hinted, report)
        return report

    def run_targets(self, refs: Mapping[str, Sequence[TargetRef]], *, force: bool = False) -> RelayReport:
        """The event path's sync: just what these resources touch (per channel, what its webhooks
        named) read again, planned by the same engine, committed and relayed like a poll's, but
        with no cursor moved and no snapshot kept (polling stays the backbone and reads it all
        again; the ledger's source ids and the outbox's keys make that harmless).

        Raises :class:`NeedsPoll` when a poll cycle must cover them instead, :class:`UnsafePlan`
        (recording nothing) when the plan trips a safety limit, :class:`ChannelReadError` when
        a channel could not be read."""
        report = RelayReport()
        with self._reader().read_targets(refs, locations=self.locations()) as staged:
            if staged is None:
                return report  # nothing we know of: a deleted resource, an unlinked product
            with self.serial:
                report.planned = self._commit_targets(StagedRead(self, staged), force=force)
                report.merge(self.relay())
        return report

    def _commit_targets(self, reading: StagedRead, *, force: bool) -> int:
        """Plan a targeted read, judge it whole, record it with no cursor or snapshot; the changes."""
        parts = list(reading.chunks())
        figures = SafetyFigures()
        for part in parts:
            figures = figures + part.plan.safety.figures
        if not force and not judge(figures, self.policy).safe:
            raise UnsafePlan(merge_prepared(parts, self.policy).plan)
        planned = 0
        for part in parts:
            record = replace(
                chunk_record(part, self.policy),
                planned_mark=EVENT_PLANNED_MARK,
                last_read={},
                vanished=set(),
                products_read=set(),
                cursors=[],
                synced_mark=None,
            )
            self.store.record_chunk(record)
            planned += len(part.plan.changes)
        return planned

    def sync_customers(self, *, dry_run: bool = False, full: bool = False) -> CustomerReport:
        """The customers stage (:mod:`bridge.customer_sync`) on this runner's connection, for a
        dry run's plan (:meth:`run` runs it beside the catalogue, on a connection of its own): the
        channels that keep customers read, their persons recorded, their writes queued (with
        ``dry_run``: only what it would write, nothing recorded)."""
        return CustomerSync(self.store, self.adapters, self.customers).run(dry_run=dry_run, full=full)

    def _run_chunks(
        self,
        force: bool,
        *,
        full: bool,
        keep: bool,
        report: RelayReport,
        judged: Callable[[], None] | None = None,
    ) -> tuple[list[Plan], int, bool]:
        """Plan and commit one read, chunk by chunk, the committed chunks' writes sent while the
        next is planned (:class:`bridge.relay_behind.RelayBehind`, what it sent added to
        ``report``): the plans (or their warnings only unless ``keep``), how many changes, and
        whether any creates a product. ``judged`` is called once the whole plan is judged safe
        (not called when it is refused, nor when ``force`` skips the judgement)."""
        with self.read(full=full) as reading, self.serial:
            parts = None if force else self._judged(reading)
            if judged is not None and not force:
                judged()
            self.progress.start("planning and queueing changes (SKUs)")
            with self._relay_behind() as behind, CommitBehind(self.store.path) as committer:
                # The relay beside is woken once the chunks before the next one are recorded;
                # the last part (cursors, links gone from every channel) waits for all of them.
                wake = partial(committer.then, behind.wake)
                if parts is None:
                    chunks = reading.chunks(wake, before_last=committer.wait)
                else:
                    chunks = parts.replayed(wake, before_last=committer.wait)
                made = self._commit_parts(chunks, keep, committer)
                committer.wait()
            report.merge(behind.report)
            return made

    def _relay_behind(self) -> RelayBehind:
        """A relay for the writes queued from now on (this sync's), on a connection of its own."""
        return RelayBehind(
            self.store.path,
            self.adapters,
            self.progress,
            self.max_attempts,
            self.metrics,
            after_id=self.store.outbox_last_id(),
        )

    def _commit_parts(
        self, parts: Iterable[PreparedSync], keep: bool, committer: CommitBehind
    ) -> tuple[list[Plan], int, bool]:
        """Hand each chunk to ``committer`` (recorded while the next is planned; the safety limits
        were judged before, or forced)."""
        plans: list[Plan] = []
        created, planned = False, 0
        for part in parts:
            committer.submit(chunk_record(part, self.policy))
            self.progress.advance(len(part.groups))
            plan = part.plan
            created = created or any(c.action == "create" for c in plan.changes)
            planned += len(plan.changes)
            if plan.changes or plan.warnings or plan.unresolved:
                kept_plan = plan if keep else Plan.build((), plan.warnings, plan.safety, skipped=plan.skipped)
                plans.append(replace(kept_plan, unresolved=plan.unresolved))
        return plans or [Plan()], planned, created

    def _judged(self, reading: StagedRead) -> _Judged:
        """Judge the whole plan before committing any of it (:class:`UnsafePlan` if it trips a
        safety limit); the chunks as judged, kept in the read's staging file to be committed as
        they are (a large plan used to be planned a second time: at 10,000 changed prices, the
        whole planning again)."""
        judged = _Judged(reading.staged.staging)
        figures = SafetyFigures()
        for part in reading.chunks():
            figures = figures + part.plan.safety.figures
            judged.keep(part)
        if not judge(figures, self.policy).safe:
            raise UnsafePlan(merge_prepared(list(judged), self.policy).plan)
        return judged


class _Judged:
    """A plan's chunks, planned once and kept until the whole plan is judged, then committed in
    the order they were planned. They wait in the read's staging file, not in memory (memory
    stays flat however large the plan), pickled: the file is this process's own scratch file
    (created private, deleted with the read), read back only by the process that wrote it."""

    def __init__(self, staging: Staging) -> None:
        self._staging = staging
        self._count = 0

    def keep(self, part: PreparedSync) -> None:
        self._staging.keep_planned(pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL))
        self._count += 1

    def __iter__(self) -> Iterator[PreparedSync]:
        for blob in self._staging.planned():
            yield pickle.loads(blob)  # noqa: S301 - our own scratch file, written just before

    def replayed(
        self, before_next: Callable[[], None], *, before_last: Callable[[], None]
    ) -> Iterator[PreparedSync]:
        """The kept chunks with :meth:`StagedRead.chunks`' calls between them: ``before_next``
        before each chunk of products but the first, ``before_last`` before the last part."""
        for n, part in enumerate(self):
            if n == self._count - 1:
                before_last()
            elif n:
                before_next()
            yield part


class _CustomersBeside:
    """A sync's customers stage (:meth:`SyncRunner._customers_stage`) on a thread of its own,
    while the catalogue and stock are read, planned and written: it reads other streams
    (customers, their orders) and waits on other calls, and under real latency its reads were
    seconds at the end of every sync. It starts once the catalogue plan is judged safe (at once
    when forced), so a sync refused for its plan changes nothing; :meth:`result` starts it if
    nothing did (a channel's catalogue could not be read: the customers are synced all the
    same) and waits for it. Its writes go out with the sync's relays."""

    def __init__(self, runner: SyncRunner, *, full: bool) -> None:
        self._runner = runner
        self._full = full
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="customers")
        self._running: Future[CustomerReport] | None = None

    def start(self) -> None:
        if self._running is None:
            self._running = self._pool.submit(self._runner._customers_stage, self._full)

    def result(self) -> CustomerReport:
        self.start()
        assert self._running is not None
        return self._running.result()

    def __enter__(self) -> _CustomersBeside:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True)  # a sync that failed still waits for the stage it started


@dataclass
class StagedRead:
    """A read staged on disk, decided in chunks of products that only link among themselves."""

    runner: SyncRunner
    staged: Staged

    @property
    def reads(self) -> dict[str, ChannelRead]:
        return self.staged.reads

    def chunks(
        self,
        before_next: Callable[[], None] | None = None,
        *,
        before_last: Callable[[], None] | None = None,
    ) -> Iterator[PreparedSync]:
        """One prepared sync per chunk; the last (perhaps without products) carries the cursors and
        the links whose variants have gone from every channel. ``before_next`` is called before
        each chunk of products but the first is planned (the chunks before it are handed over
        to be committed), ``before_last`` before the last (it reads the links they made)."""
        runner, staged = self.runner, self.staged
        issues = list({i.message: i for read in staged.reads.values() for i in read.issues}.values())
        context = self._context(issues)
        names = sorted(runner.adapters)
        # On a full read, before any chunk is committed: the links no staged variant reached.
        every_link = runner.store.links("variant") if staged.full else []
        reached = staged.staging.keys_held(f"c:{r['canonical_key']}" for r in every_link)
        orphans = [r for r in every_link if f"c:{r['canonical_key']}" not in reached]
        claimed: set[str] = set()
        for n, refs in enumerate(staged.staging.chunks(runner.chunk_size)):
            if n and before_next is not None:
                before_next()
            universe: dict[str, list[ChannelProduct]] = {name: [] for name in names}
            universe.update(staged.staging.products(refs))
            members = [(name, v.channel_id) for name in names for p in universe[name] for v in p.variants]
            part = self._decide(universe, runner.store.links_of_groups("variant", members), context)
            claimed |= part.outcome.claimed
            yield part
        if before_last is not None:
            before_last()
        last = self._decide({name: [] for name in names}, orphans, context)
        last.vanished = staged.gone
        strays = runner.strays(staged.reads, claimed | last.outcome.claimed)
        last.outcome.unresolved.extend(strays)
        last.outcome.reporting(strays)
        for name, read in staged.reads.items():
            mine = last.reads[name]
            mine.catalog_cursor, mine.events_cursor = read.catalog_cursor, read.events_cursor
        warnings = tuple(dict.fromkeys([*(i.message for i in issues), *last.plan.warnings]))
        last.outcome.plan = replace(last.plan, warnings=warnings, skipped=tuple(issues))
        yield last

    def _context(self, issues: Sequence[Any]) -> Context:
        runner, staged = self.runner, self.staged
        return Context(
            policy=runner.policy,
            capabilities={name: a.capabilities for name, a in runner.adapters.items()},
            locations=staged.locations,
            counted_at={name: read.counted_at for name, read in staged.reads.items()},
            events_read_until={name: read.events_read_at for name, read in staged.reads.items()},
            first_sync=staged.first,
            in_flight=frozenset(self._under_writes()),
            held=held_skus(runner.store, issues),
            sales_unread=unread_sales(issues),
        )

    def _under_writes(self) -> set[tuple[str, str, str]]:
        """The counts no judgement or write may come from: those under a stock write not confirmed
        yet, and those a write settled since this read began may be missing (the daemon's other
        path wrote meanwhile: its baseline holds the write, the count read before it does not, and
        judged against it the difference would be taken for a manual change)."""
        store, began = self.runner.store, self.staged.began_at
        under = store.outbox_stock_in_flight()
        if began is not None:
            under |= store.outbox_stock_settled_since(began.isoformat(timespec="microseconds"))
        return under

    def _decide(
        self, universe: dict[str, list[ChannelProduct]], links: Sequence[Mapping[str, Any]], context: Context
    ) -> PreparedSync:
        """One chunk: its counts from staging, the store's memory of its SKUs, the engine's decision."""
        staged = self.staged
        chunk = Chunk(
            products=universe,
            links=[
                ExistingLink(r["canonical_key"], r["channel"], r["channel_id"], r["parent_id"]) for r in links
            ],
            gone=frozenset(staged.gone),
            events=[ev for read in staged.reads.values() for ev in read.events],
        )
        chunk = replace(chunk, levels=self._levels(chunk, context))
        outcome = engine.decide(chunk, self.runner.store.memory(engine.wanted(chunk)), context)
        reads = {
            name: ChannelRead(
                products=universe[name],
                catalog_cursor=None,
                levels=[],
                events=[],
                events_cursor=None,
                counted_at=read.counted_at,
                events_read_at=read.events_read_at,
            )
            for name, read in staged.reads.items()
        }
        return PreparedSync(outcome, reads, staged.locations)

    def _levels(self, chunk: Chunk, context: Context) -> list[StockLevel]:
        """The staged counts of the chunk's variants (read or linked) on the channels with locations."""
        ids: dict[str, set[str]] = {name: set() for name in context.located()}
        for ex in chunk.links:
            if ex.channel in ids:
                ids[ex.channel].add(ex.variant_id)
        for name in ids:
            ids[name].update(v.channel_id for p in chunk.products.get(name, ()) for v in p.variants)
        return [
            lv for name in context.located() for lv in self.staged.staging.levels(name, sorted(ids[name]))
        ]


def merge_prepared(parts: Sequence[PreparedSync], policy: SyncPolicy) -> PreparedSync:
    """The chunks of a full read as one prepared sync (for ``--dry-run``: the whole plan at once)."""
    reads: dict[str, ChannelRead] = {}
    for part in parts:
        for name, read in part.reads.items():
            merged = reads.setdefault(
                name, ChannelRead([], None, [], [], None, read.counted_at, read.events_read_at)
            )
            merged.products.extend(read.products)
            merged.catalog_cursor = read.catalog_cursor or merged.catalog_cursor
            merged.events_cursor = read.events_cursor or merged.events_cursor
    return PreparedSync(
        engine.merge([p.outcome for p in parts], policy),
        reads,
        parts[-1].locations,
        vanished={v for p in parts for v in p.vanished},
    )


def chunk_record(prepared: PreparedSync, policy: SyncPolicy) -> ChunkRecord:
    """What the store records of ``prepared``, in one transaction (the agreed catalogue of a SKU
    filed under :func:`bridge.ownership.catalogue_ref`)."""
    outcome, plan = prepared.outcome, prepared.plan
    refs = {g.sku: catalogue_ref(g, policy) for g in outcome.groups}
    pending = {(c.channel, c.sku) for c in plan.changes if c.op is not None}
    first_events = _first_events(outcome.new_entries)
    cursors = [
        (name, stream, value)
        for name, read in prepared.reads.items()
        for stream, value in (("catalog", read.catalog_cursor), ("events", read.events_cursor))
        if value is not None
    ]
    return ChunkRecord(
        planned_mark=PLANNED_MARK,
        last_read={name: read.products for name, read in prepared.reads.items()},
        vanished=prepared.vanished,
        links=[
            NewLink(g.sku, ch, m.variant_id, m.product_id)
            for g in outcome.groups
            for ch, m in g.members.items()
        ],
        locations=prepared.locations.keys,
        entries=outcome.new_entries,
        unresolved=outcome.unresolved,
        released=outcome.released,
        catalogue=[(refs[sku], sku, data) for sku, data in plan.agreed.items() if sku in refs],
        agreed=plan.agreed,
        baselines=outcome.observed,
        pools_held=[
            (v.pool.channel, v.pool.product_id, v.pool.skus, v.expected or 0, v.pool.quantity or 0)
            for v in outcome.pools
            if v.state == "held"
        ],
        pools_kept={(v.pool.channel, v.pool.product_id) for v in outcome.pools if v.state != "agreed"},
        products_read={(name, p.channel_id) for name, r in prepared.reads.items() for p in r.products},
        conflicts=[
            Conflict(c.channel, c.sku or "", ",".join(c.fields), c.before, c.after)
            for c in plan.changes
            if c.action == "conflict"
        ],
        outbox=[_outbox_entry(c, prepared, first_events) for c in plan.changes if c.op is not None],
        echo_hashes=[
            (ch, sku, digest) for (ch, sku), digest in plan.written_hashes.items() if (ch, sku) not in pending
        ],
        cursors=cursors,
        synced_mark=SYNCED_MARK
        if any(read.catalog_cursor is not None for read in prepared.reads.values())
        else None,
    )


def _outbox_entry(
    change: Change, prepared: PreparedSync, first_events: Mapping[str, Mapping[str, datetime]]
) -> dict[str, Any]:
    """A planned write as its outbox entry: the op, and what recording its result needs (``meta``)."""
    assert change.op is not None
    counted_at = prepared.outcome.counted_at.get((change.channel, change.sku or "", change.location))
    event_at = _first_event_elsewhere(first_events, change)
    return {
        "channel": change.channel,
        "idempotency_key": change.key,
        "action": change.action,
        "sku": change.sku,
        "op": {
            "op": change.op.model_dump(mode="json"),
            "meta": {
                "location": change.location,
                "after": change.after,
                "written_hash": prepared.plan.written_hashes.get((change.channel, change.sku or "")),
                "counted_at": None if counted_at is None else counted_at.isoformat(timespec="microseconds"),
                "event_at": None if event_at is None else event_at.isoformat(timespec="microseconds"),
            },
        },
        "reason": change.reason,
    }


def _first_events(entries: Iterable[LedgerEntry]) -> dict[str, dict[str, datetime]]:
    """Per SKU and channel, the time of the earliest stock event this sync newly recorded (initial
    counts aside): gathered once per chunk, not scanned again for each of its writes (at 10,000
    counts changed, that scan was the chunk's entries times its writes)."""
    first: dict[str, dict[str, datetime]] = defaultdict(dict)
    for e in entries:
        if e.kind is StockEventKind.INITIAL:
            continue
        held = first[e.sku].get(e.channel)
        if held is None or e.occurred_at < held:
            first[e.sku][e.channel] = e.occurred_at
    return first


def _first_event_elsewhere(
    first_events: Mapping[str, Mapping[str, datetime]], change: Change
) -> datetime | None:
    """For a stock write, the time (on its own channel) of the earliest stock event this sync newly
    recorded for its SKU on another channel: what the propagation time of the write runs from
    (bridge/metrics.py). ``None`` for other writes, and for a count written without such an event."""
    if change.action not in ("set_stock", "adjust_stock") or not change.sku:
        return None
    times = [at for channel, at in first_events.get(change.sku, {}).items() if channel != change.channel]
    return min(times, default=None)
