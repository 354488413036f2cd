"""The PostgreSQL store: many workers and servers, on many machines, on one database.

Each store (one per process, usually) runs its transitions on one connection, one batch at a
time, exactly as the SQLite store does: transitions queue up in order, run in batches inside
one database transaction, and share a commit. A transition of a batch gets no
SAVEPOINT: one that fails before any of its writes went out (they are mostly held back
until the commit) is undone by dropping them; otherwise the batch is rolled back and each
of its transitions runs again in a transaction of its own. Reads
queue behind the writes submitted before them (see ``Store.read``), except the listings,
which a third connection answers beside them (see :mod:`tether.store.postgres.aside`), and
a request's API key reads, which a fourth answers on the event loop (see
:mod:`tether.store.postgres.committed`). Concurrency between
processes is settled in the database (see :mod:`tether.store.postgres.transaction`):
transitions on one execution take turns on its row lock and claims skip locked rows. A
transition that loses a deadlock to another process is rolled back alone and run again
in the next batch.

A transition may say ahead what it will lock first (a call by token: its execution and
activity). A batch of several such takes all of their locks, and reads what each needs
behind them, in one round trip at its start, where each would otherwise wait for its own.

A connection the server ended while it sat idle (a restart, an administrator, a timeout)
is replaced before the next batch runs on it. A batch that loses its connection fails,
unless it only reads: it changed nothing and runs again, once, on a new connection.

A batch that gives other processes work, or closes executions, sends a NOTIFY with its
commit; a second thread LISTENs and reports the commits of other stores (see :mod:`tether.store.postgres.listener`).

Batches run on the connection's thread, or on a thread that submitted a transition with
:meth:`PostgresStore.run_in_thread` and found no batch running: that thread runs the batch
itself (a worker thread that just ran a sync activity records its outcome, and runs the
workflow's next activity, without the event loop or the connection's thread in between). Only
the holder of the writing lock takes jobs off the queue and uses the connection, so batches
keep the order of submission.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import select
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg

from tether.errors import StoreUnavailable
from tether.store.base import ApiKeyReads, TouchesAhead, Transaction
from tether.store.batches import ThreadSubmission, fail, hand_over, resolve, run_all
from tether.store.postgres import ahead
from tether.store.postgres import schema as postgres_schema
from tether.store.postgres.aside import AsideReader
from tether.store.postgres.committed import CommittedReader
from tether.store.postgres.connection import check_url, connect, without_password
from tether.store.postgres.failures import StatementFailed, unavailable
from tether.store.postgres.held import Row
from tether.store.postgres.listener import CHANNEL, CONNECT_TIMEOUT, TOPICS, ChangeListener, stop_notice
from tether.store.postgres.transaction import PostgresTransaction

logger = logging.getLogger(__name__)

T = TypeVar("T")

_BATCH_LIMIT = 64
_MAX_CONFLICT_RETRIES = 50
_FIRST_REPLAN = 256
"""Transitions on a connection before its prepared statements are first planned again."""


@dataclass(slots=True)
class _Job:
    fn: Callable[[PostgresTransaction], Any]
    future: asyncio.Future[Any] | None
    """Settled on the event loop; None for a job submitted from another thread."""
    outcome: tuple[bool, Any] = field(default=(False, None))
    read_only: bool = False
    touches: TouchesAhead | None = None
    conflicts: int = 0
    alone: bool = False
    """Run in a transaction of its own (after a failure that could not be told apart from its neighbours')."""
    reconnected: bool = False
    """A read run again on a new connection after it met a lost one."""
    done: Callable[[Any, BaseException | None], None] | None = None
    """For a job from another thread: called with the outcome on the thread that ran the batch."""
    finished: bool = False


class PostgresStore(ThreadSubmission):
    """A store on a PostgreSQL database, shared safely by any number of processes.

    Open with :meth:`open`; the schema is created or migrated on open.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._conninfo = check_url(url)
        self._aside = AsideReader(self._conninfo)
        self._committed = CommittedReader(self._conninfo)
        self._id = uuid.uuid4().hex
        self._jobs: collections.deque[_Job] = collections.deque()
        """Jobs in the order they were submitted; those a batch must run again go back to its front."""
        self._mutex = threading.Lock()
        """Guards ``_jobs`` and ``_stopping``."""
        self._arrived = threading.Condition(self._mutex)
        """The connection's thread waits on it for jobs."""
        self._writing = threading.Lock()
        """Held by the thread running a batch; only its holder takes jobs off the queue and uses the connection."""
        self._listener: Callable[[set[str]], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._listen_thread: threading.Thread | None = None
        self._conn: psycopg.Connection[Row] | None = None
        self._tx: PostgresTransaction | None = None
        self._idle_poll: select.poll | None = None
        """Watches the connection between batches, when the server has nothing to say unless it ends it."""
        self._stopping = False
        """Set by close: the connection's thread runs what is queued, then ends."""
        self._stop_listening = threading.Event()
        """Set when the store closes: the listener's thread ends."""
        self._closed = False
        self._transitions = 0
        self._replan_at = _FIRST_REPLAN

    @classmethod
    async def open(cls, url: str) -> PostgresStore:
        """Open the database a URL names and bring its schema up to date.

        Raises:
            UsageError: the URL is not a postgresql:// URL naming a database.
            StoreUnavailable: the database cannot be reached or refused.
        """
        store = cls(url)
        await store._start()
        return store

    async def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = self._loop.create_future()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="tether-postgres", daemon=True)
        self._thread.start()
        await ready
        listening: asyncio.Future[None] = self._loop.create_future()
        listener = ChangeListener(self._conninfo, self._id, self._loop, self._stop_listening, self._report_external)
        self._listen_thread = threading.Thread(
            target=listener.run, args=(listening,), name="tether-postgres-listen", daemon=True
        )
        self._listen_thread.start()
        try:
            await listening
        except BaseException:
            await self.close()
            raise

    def set_listener(self, on_change: Callable[[set[str]], None]) -> None:  # noqa: D102
        self._listener = on_change

    def _report_external(self, changes: set[str]) -> None:
        if self._listener is not None:
            self._listener(changes)

    async def run(  # noqa: D102
        self, transition: Callable[[Transaction], T], *, touches: TouchesAhead | None = None
    ) -> T:
        return await self._submit(transition, read_only=False, touches=touches)

    async def read(self, query: Callable[[Transaction], T], *, touches: TouchesAhead | None = None) -> T:  # noqa: D102
        return await self._submit(query, read_only=True, touches=touches)

    async def read_aside(self, query: Callable[[Transaction], T]) -> T:  # noqa: D102
        return await self._aside.read(query)

    async def read_committed(self, query: Callable[[ApiKeyReads], T]) -> T:  # noqa: D102
        # Beside the transitions: a request's key is not read after a transition that waits
        # for a lock another process holds; on the loop that asks, without a thread's hand-off.
        return await self._committed.read(query, lambda: self._aside.read_committed(query))

    async def _submit(
        self,
        fn: Callable[[Transaction], T],
        *,
        read_only: bool,
        touches: TouchesAhead | None = None,
    ) -> T:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        job = _Job(fn, asyncio.get_running_loop().create_future(), read_only=read_only, touches=touches)
        with self._arrived:
            self._jobs.append(job)
            self._arrived.notify()
        assert job.future is not None
        return await job.future  # type: ignore[no-any-return]  # the job's future carries T

    def _thread_job(
        self,
        transition: Callable[[Transaction], Any],
        done: Callable[[Any, BaseException | None], None],
        touches: TouchesAhead | None,
    ) -> _Job:
        return _Job(transition, None, touches=touches, done=done)

    async def close(self) -> None:  # noqa: D102
        if self._closed:
            return
        self._closed = True
        await self._committed.close()
        await self._aside.close()
        self._stop_listening.set()
        with self._arrived:
            self._stopping = True
            self._arrived.notify()
        for thread in (self._thread, self._listen_thread):
            if thread is not None:
                await asyncio.to_thread(thread.join)

    # the connection's thread

    def _open_connection(self) -> PostgresTransaction:
        if self._tx is not None:
            self._tx.close()
        self._conn = self._tx = self._idle_poll = None
        conn = connect(self._conninfo)
        self._conn = conn
        self._tx = PostgresTransaction(conn)
        self._idle_poll = select.poll()
        self._idle_poll.register(conn.fileno(), select.POLLIN)
        return self._tx

    def _serve(self, ready: asyncio.Future[None]) -> None:
        assert self._loop is not None
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
            try:
                postgres_schema.migrate(conn)
            finally:
                conn.close()
            self._open_connection()
        except psycopg.Error as exc:
            error = StoreUnavailable(f"cannot open {without_password(self.url)}: {exc}")
            error.__cause__ = exc
            self._loop.call_soon_threadsafe(fail, ready, error)
            return
        self._loop.call_soon_threadsafe(resolve, ready, None)
        try:
            while True:
                with self._arrived:
                    while not self._jobs and not self._stopping:
                        self._arrived.wait()
                    stop = self._stopping
                with self._writing:
                    self._write_batch()
                    if stop:
                        with self._mutex:
                            if not self._jobs:  # what lost a race runs again before the thread ends
                                break
        finally:
            with self._writing:
                self._wake_listener_to_stop()
                if self._tx is not None:
                    self._tx.close()

    def _write_batch(self) -> None:
        """Run the jobs at the front of the queue as one batch; the caller holds the writing lock."""
        with self._mutex:
            batch = self._take_batch()
        if not batch:
            return
        changes: set[str] = set()
        hooks: list[Callable[[], None]] = []
        retry = self._run_batch(batch, changes, hooks)
        if retry:
            with self._mutex:
                self._jobs.extendleft(reversed(retry))
            again = {id(job) for job in retry}
            done = [job for job in batch if id(job) not in again]
        else:
            done = batch
        self._replan_as_tables_grow(len(done))
        assert self._loop is not None
        hand_over(self._loop, done, hooks, self._listener, changes)

    def _take_batch(self) -> list[_Job]:
        """The next batch off the queue (the caller holds the mutex): one job to run alone, or those up to the next."""
        jobs = self._jobs
        if not jobs:
            return []
        batch = [jobs.popleft()]
        if batch[0].alone:
            return batch
        while jobs and len(batch) < _BATCH_LIMIT and not jobs[0].alone:
            batch.append(jobs.popleft())
        return batch

    def _replan_as_tables_grow(self, transitions: int) -> None:
        """Plan the statements afresh, on a new connection, each time the count of transitions doubles.

        PostgreSQL keeps a prepared statement's generic plan until the statistics of its
        tables change. A plan made while tether's tables were nearly empty (a fresh database)
        may scan a whole table, and keeps doing so as the table grows to millions of rows,
        for as long as nothing analyses it (never, with autovacuum off). Statements prepared
        again are planned for the tables as they are now; the doubling bounds the work to a
        few dozen statements and a connection, a logarithmic number of times.

        A new connection rather than ``DEALLOCATE ALL`` on this one: psycopg clears its own
        list of prepared statements only when it meets that text for the first time since it
        last cleared it, and would go on using statements the server had dropped.
        """
        self._transitions += transitions
        if self._transitions < self._replan_at or self._tx is None:
            return
        self._replan_at = self._transitions * 2
        try:
            self._open_connection()
        except psycopg.Error:
            # None is left open: the next batch connects (or fails, as it would have anyway).
            logger.warning("could not connect again to plan the statements afresh", exc_info=True)

    def _connection(self) -> PostgresTransaction:
        conn, tx = self._conn, self._tx
        if conn is None or tx is None or conn.closed or conn.broken or self._ended_by_server():
            return self._open_connection()
        return tx

    def _ended_by_server(self) -> bool:
        """Whether the server ended the connection while it sat idle (a restart, an administrator, a timeout).

        Every batch collects all of its results, so between batches the server has nothing to
        send to a connection that does not LISTEN, except the error it sends before it closes
        one; a proxy that drops it closes the socket. Either makes the socket readable: the
        next batch runs on a new connection rather than failing on this one.
        """
        poll = self._idle_poll
        if poll is None or not poll.poll(0):
            return False
        logger.info("the server ended the store's idle connection; connecting again")
        return True

    def _run_batch(self, batch: list[_Job], changes: set[str], hooks: list[Callable[[], None]]) -> list[_Job]:
        """Run a batch in one transaction; returns the jobs to run again (in the batch's order)."""
        try:
            tx = self._connection()
        except psycopg.Error as exc:
            self._deliver_error(batch, unavailable("cannot reach the database", exc))
            return []
        writes = any(not job.read_only for job in batch)
        single = len(batch) == 1
        shared = writes and not single
        undo: list[Callable[[], None]] = []
        wrote = False
        tx.begin_batch()
        try:
            if writes:
                tx.begin()
            self._ahead(tx, batch, writes)
            for index, job in enumerate(batch):
                tx.reset(locking=not job.read_only)
                # A read shares the transaction without a savepoint: it has nothing to undo.
                nested = shared and not job.read_only
                if nested:
                    # No savepoint: most transitions send only reads before the commit, and writes
                    # held back are dropped if they fail. One that fails after a write went out
                    # (or whose statement failed) has the batch run again, each alone.
                    tx.enter_transition()
                try:
                    result = job.fn(tx)
                except BaseException as raised:
                    error: BaseException = raised
                    exposed = nested and tx.exposed()
                    tx.discard()  # before anything else is sent: what it held back is void
                    if not isinstance(error, StatementFailed):
                        # A statement sent before it raised may have failed: that decides.
                        error = tx.sent_failure() or error
                    run_all(tx.rollback_hooks, "rollback hook")
                    if isinstance(error, StatementFailed) and self._lost():
                        raise error from None
                    if (isinstance(error, StatementFailed) and error.inherited) or exposed:
                        return self._run_alone(tx, batch, undo, changes, hooks)
                    if shared:
                        # A refusal that sent no write changed nothing on the server (what it held
                        # back was dropped); a failed statement aborted the transaction.
                        if isinstance(error, StatementFailed):
                            return self._run_alone(tx, batch, undo, changes, hooks)
                    elif writes:
                        tx.rollback()
                    if (
                        isinstance(error, StatementFailed)
                        and error.is_conflict
                        and job.conflicts < _MAX_CONFLICT_RETRIES
                    ):
                        # Lost a deadlock to another process: what ran before commits now,
                        # this job and those after it run again, in order, in the next batch.
                        for later in batch[index:]:
                            later.conflicts += 1
                        if not single:
                            self._finish(tx, wrote, changes)
                        else:
                            tx.settle()
                        return batch[index:]
                    job.outcome = (False, _translate(error))
                    continue
                job.outcome = (True, result)
                if job.read_only:
                    continue
                wrote = True
                tx.keep_locks()
                # Work queued and not pushed to the local worker wakes the polling loops.
                if tx.enqueued_workflows:
                    changes.add("workflows")
                if tx.enqueued_activities:
                    changes.add("activities")
                changes.update(tx.topics)
                changes.update(tx.closed_ids)
                hooks.extend(tx.hooks)
                undo.extend(tx.rollback_hooks)
            if writes and not (single and not wrote):
                try:
                    self._finish(tx, wrote, changes)
                except StatementFailed as exc:
                    if self._lost():
                        raise
                    if not single:
                        return self._run_alone(tx, batch, undo, changes, hooks)
                    job = batch[0]
                    if not (exc.is_conflict and job.conflicts < _MAX_CONFLICT_RETRIES):
                        raise
                    # A statement the lone transition sent failed only now, so nothing
                    # committed: it runs again in the next batch, as if it had failed itself.
                    tx.rollback()
                    tx.settle()
                    run_all(undo, "rollback hook")
                    hooks.clear()
                    changes.clear()
                    job.conflicts += 1
                    return batch
            else:
                tx.settle()
        except StatementFailed as exc:
            # The connection broke, or a statement of the batch itself failed: nothing of
            # the batch committed (or whether it did is unknown).
            if not self._lost():
                with contextlib.suppress(StatementFailed):
                    tx.rollback()
                    tx.settle()
            run_all(undo, "rollback hook")
            hooks.clear()
            changes.clear()
            self._deliver_error(batch, unavailable("the transaction failed and was rolled back", exc.cause))
            # Reads that met a lost connection changed nothing: they run again, once, on a new
            # one (their outcome is then their new run's), even beside writes of their batch. A
            # write still fails: whether it committed may be unknown.
            again = [job for job in batch if job.read_only and not job.reconnected] if self._lost() else []
            for job in again:
                job.reconnected = True
            return again
        return []

    def _ahead(self, tx: PostgresTransaction, batch: list[_Job], writes: bool) -> None:
        """Read the executions the batch's reads said they ask for, and take the locks its writes said they take first.

        Each would otherwise wait for the server on its own, one after another: here the
        reads take one round trip, and the locks, with what is read behind them, another. What
        is read behind the locks is known to the whole batch, as if an earlier transition of
        it had locked it. If either fails (a lock timeout, a deadlock with another process),
        the transaction starts again and each transition reads and locks as it goes.
        """
        locks, reads = ahead.said((job.read_only, job.touches) for job in batch)
        try:
            if ahead.worth_reading(reads):
                tx.read_ahead(reads)
            if writes and ahead.worth_locking(locks):
                tx.lock_ahead(locks)
            elif writes:
                tx.expect_reads(locks)
        except StatementFailed:
            if self._lost():
                raise
            if writes:
                tx.rollback()
            tx.settle()
            tx.begin_batch()
            if writes:
                tx.begin()

    def _run_alone(
        self,
        tx: PostgresTransaction,
        batch: list[_Job],
        undo: list[Callable[[], None]],
        changes: set[str],
        hooks: list[Callable[[], None]],
    ) -> list[_Job]:
        """Roll the whole batch back and run each of its transitions again in a transaction of its own.

        A statement sent ahead failed, and it may have been sent by any transition whose
        results were not collected yet: run alone, each one's failure is its own.
        """
        tx.rollback()
        tx.settle()
        run_all(undo, "rollback hook")
        hooks.clear()
        changes.clear()
        for job in batch:
            job.alone = True
        return batch

    def _finish(self, tx: PostgresTransaction, wrote: bool, changes: set[str]) -> None:
        """Commit the open transaction; one that gave other processes something to do tells them with a NOTIFY.

        The notice names the loops the commit gives work to (and ``closed`` when executions
        closed), so that other processes wake those only: a step of one workflow no longer
        sends every idle worker scanning every queue. A commit that names neither (a
        heartbeat, a step whose next activity this process took itself) sends none: its
        receivers would only look for closed executions, and every listening process, and
        its backend on the server, would wake for nothing.
        """
        touched = sorted(changes & TOPICS) + (["closed"] if changes - TOPICS else [])
        tx.commit(CHANNEL, " ".join([self._id, *touched]) if wrote and touched else None)
        tx.settle()

    def _lost(self) -> bool:
        """Whether the connection broke, so that nothing of the batch can be kept."""
        conn = self._conn
        return conn is None or conn.closed or conn.broken

    def _deliver_error(self, batch: list[_Job], error: Exception) -> None:
        for job in batch:
            job.outcome = (False, error)

    def _wake_listener_to_stop(self) -> None:
        tx = self._tx
        if tx is None or self._lost():
            return
        with contextlib.suppress(StatementFailed):
            tx.control(f"NOTIFY {CHANNEL}, '{stop_notice(self._id)}'")
            tx.settle()


def _translate(exc: BaseException) -> BaseException:
    """What the caller of a failed transition gets: driver errors become StoreUnavailable."""
    if isinstance(exc, StatementFailed):
        return unavailable("the store failed", exc.cause)
    return exc
