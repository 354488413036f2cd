"""The embedded SQLite store: one writer at a time, group commit, WAL, durable by default.

Transitions from concurrent executions queue up and run in batches: each transition
inside its own SAVEPOINT, the whole batch committed with one fsync. A transition that
raises is rolled back alone; the others in its batch still commit.

Batches run on the store's writer thread, or on a thread that submitted a transition
with :meth:`SQLiteStore.run_in_thread` and found no batch running: that thread runs the
batch itself instead of waking the writer and waiting for it (a worker thread that just
finished an activity records the outcome without two thread hand-offs). Only the holder
of the writer lock takes jobs off the queue, so batches keep the order of submission.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlparse

from tether.errors import StoreNotFound, StoreUnavailable, UsageError
from tether.store.base import ApiKeyReads, TouchesAhead, Transaction
from tether.store.batches import ThreadSubmission, fail, hand_over, resolve, run_all
from tether.store.sqlite import schema as sqlite_schema
from tether.store.sqlite.aside import AsideReader, NoReaderHere
from tether.store.sqlite.committed import CommittedReader
from tether.store.sqlite.transaction import SQLiteTransaction, TransactionLost
from tether.store.sqlite.wal import reserve_wal

logger = logging.getLogger(__name__)

T = TypeVar("T")

_BATCH_LIMIT = 512
_EXTERNAL_POLL_SECONDS = 0.02


@dataclass(slots=True)
class _Job:
    fn: Callable[[SQLiteTransaction], Any]
    future: asyncio.Future[Any] | None
    """Settled on the event loop; None for a job submitted from another thread."""
    outcome: tuple[bool, Any] = field(default=(False, None))
    read_only: bool = False
    done: Callable[[Any, BaseException | None], None] | None = None
    """For a job from another thread: called with the outcome on the thread that ran the batch."""
    finished: bool = False


def parse_url(url: str) -> tuple[Path, str]:
    """The database path and ``synchronous`` level of a ``sqlite:///path?synchronous=...`` URL."""
    parsed = urlparse(url)
    if parsed.scheme != "sqlite":
        raise UsageError(f"not a sqlite URL: {url!r}")
    raw = parsed.netloc + parsed.path
    path = raw[1:] if raw.startswith("/") else raw
    if not path:
        raise UsageError(f"the sqlite URL {url!r} names no file; use sqlite:///path/to/tether.db")
    synchronous = parse_qs(parsed.query).get("synchronous", ["FULL"])[0].upper()
    if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise UsageError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
    return Path(path), synchronous


class SQLiteStore(ThreadSubmission):
    """The embedded store on one SQLite file.

    Open with :meth:`open`; every transition runs on one writer thread, in batches that
    share a commit. ``synchronous=FULL`` (the default) makes every acknowledged change
    survive power loss; ``?synchronous=NORMAL`` in the URL trades that for speed.
    """

    def __init__(self, url: str, path: Path, synchronous: str, *, create: bool = True) -> None:
        self.url = url
        self._path = path
        self._synchronous = synchronous
        self._create = create
        self._jobs: collections.deque[_Job] = collections.deque()
        self._mutex = threading.Lock()
        """Guards ``_jobs`` and ``_stopping``."""
        self._arrived = threading.Condition(self._mutex)
        """The writer thread waits on it for jobs."""
        self._writing = threading.Lock()
        """Held by the thread running a batch; only its holder takes jobs off the queue."""
        self._stopping = False
        self._listener: Callable[[set[str]], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._conn: sqlite3.Connection | None = None
        self._tx: SQLiteTransaction | None = None
        self._version = 0
        self._checked_at = 0.0
        self._committed = CommittedReader(path)
        self._aside = AsideReader(path)

    @classmethod
    async def open(cls, url: str, *, create: bool = True) -> SQLiteStore:
        """Open the database a URL names and bring its schema up to date.

        Args:
            url: ``sqlite:///path`` (``?synchronous=...`` optional).
            create: create the file, and its folders, when it does not exist; when false
                nothing is created, for callers that only read or close what is there.

        Raises:
            StoreNotFound: ``create`` is false and there is no file at the path.
            StoreUnavailable: the file cannot be opened.
        """
        path, synchronous = parse_url(url)
        store = cls(url, path, synchronous, create=create)
        await store._start()
        return store

    async def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = self._loop.create_future()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="tether-sqlite", daemon=True)
        self._thread.start()
        await ready

    def set_listener(self, on_change: Callable[[set[str]], None]) -> None:  # noqa: D102
        self._listener = on_change

    async def run(  # noqa: D102
        self, transition: Callable[[Transaction], T], *, touches: TouchesAhead | None = None
    ) -> T:
        # ``touches`` goes unused: locks cost no round trip here, so nothing is worth taking or
        # reading ahead. (Reading a likely-closing execution's open activities with its activity
        # cost every step of a workflow of many activities more than the one statement it saved
        # at the close: W4 with async activities 3% more instructions a step, W2 no fewer.)
        return await self._submit(transition, read_only=False)

    async def read(self, query: Callable[[Transaction], T], *, touches: TouchesAhead | None = None) -> T:  # noqa: D102
        # Reads queue behind the writes submitted before them (see Store.read), but need
        # no savepoint of their own.
        return await self._submit(query, read_only=True)

    async def read_committed(self, query: Callable[[ApiKeyReads], T]) -> T:  # noqa: D102
        # On the calling thread, on a connection of its own (see sqlite.committed); the
        # writer's path when that connection is missing, closed or would have to wait.
        reads = None if self._closed else self._committed.reads()
        if reads is not None:
            try:
                return query(reads)
            except sqlite3.Error as exc:
                logger.debug("read of committed keys on the writer's path: %s", exc)
        return await self._submit(query, read_only=True)

    async def read_aside(self, query: Callable[[Transaction], T]) -> T:  # noqa: D102
        # On a thread and connection of its own (see sqlite.aside); the writer's path when
        # the database cannot be read beside the writer (or the store is closed: refused there).
        try:
            return await self._aside.read(query)
        except NoReaderHere:
            return await self._submit(query, read_only=True)

    async def _submit(self, fn: Callable[[Transaction], T], *, read_only: bool) -> T:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        future = asyncio.get_running_loop().create_future()
        with self._arrived:
            self._jobs.append(_Job(fn, future, read_only=read_only))
            self._arrived.notify()
        return await future  # type: ignore[no-any-return]  # the job's future carries T

    def _thread_job(
        self,
        transition: Callable[[Transaction], Any],
        done: Callable[[Any, BaseException | None], None],
        touches: TouchesAhead | None,
    ) -> _Job:
        # ``touches`` goes unused, as in ``run``.
        return _Job(transition, None, done=done)

    async def close(self) -> None:  # noqa: D102
        if self._closed:
            return
        self._closed = True
        self._committed.close()
        await self._aside.close()
        with self._arrived:
            self._stopping = True
            self._arrived.notify()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)

    # writer thread

    def _connect(self) -> sqlite3.Connection:
        if self._create:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            target, uri = str(self._path), False
        else:  # mode=rw opens the file only if it exists, and never creates it
            target, uri = f"{self._path.absolute().as_uri()}?mode=rw", True
        conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False, timeout=30, uri=uri)
        self._use_wal(conn)
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA cache_size=-65536")
        return conn

    @staticmethod
    def _use_wal(conn: sqlite3.Connection) -> None:
        # Switching a new file to WAL needs a moment of exclusive access, and SQLite does
        # not wait for it (the busy timeout does not apply): retry while others open it too.
        delay = 0.001
        deadline = time.monotonic() + 30
        while True:
            try:
                (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
                if str(mode).lower() == "wal":
                    return
                conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.05)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            applied = {row[0] for row in conn.execute("SELECT version FROM schema_version")}
            # Every step not applied yet, in order, a gap below the latest included (see postgres_schema).
            for version, sql in sorted(sqlite_schema.MIGRATIONS):
                if version not in applied:
                    for statement in sql.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _serve(self, ready: asyncio.Future[None]) -> None:
        assert self._loop is not None
        try:
            conn = self._connect()
            self._migrate(conn)
            if self._synchronous in ("FULL", "EXTRA"):  # only then is every commit flushed
                reserve_wal(conn, self._path)
            tx = SQLiteTransaction(conn)
            self._version = tx.data_version()
        except (sqlite3.Error, OSError) as exc:
            error = (
                StoreNotFound(path=str(self._path.absolute()))
                if not self._create and not self._path.exists()
                else StoreUnavailable(f"cannot open {self._path}: {exc}")
            )
            error.__cause__ = exc
            self._loop.call_soon_threadsafe(fail, ready, error)
            return
        self._conn, self._tx = conn, tx
        self._checked_at = time.monotonic()
        self._loop.call_soon_threadsafe(resolve, ready, None)
        try:
            while True:
                with self._arrived:
                    if not self._jobs and not self._stopping:
                        self._arrived.wait(_EXTERNAL_POLL_SECONDS)
                    stop = self._stopping
                with self._writing:
                    self._write_batch()
                    if stop:
                        with self._arrived:
                            if not self._jobs:
                                break
        finally:
            with self._writing:
                conn.close()
                self._conn = None

    def _write_batch(self) -> None:
        """Run the queued jobs as one batch and report changes; the caller holds the writer lock."""
        assert self._loop is not None
        conn, tx = self._conn, self._tx
        with self._mutex:
            jobs = self._jobs
            batch = [jobs.popleft() for _ in range(min(len(jobs), _BATCH_LIMIT))]
        if conn is None or tx is None:
            self._deliver_error(batch, StoreUnavailable("the store is closed"))
            self._finish(batch, [], set())
            return
        changes: set[str] = set()
        hooks: list[Callable[[], None]] = []
        if batch:
            self._run_batch(conn, tx, batch, changes, hooks)
        # Commits by other processes: looked for when idle and at most every poll
        # interval while busy (the check costs about as much as a commit).
        now = time.monotonic()
        if not batch or now - self._checked_at >= _EXTERNAL_POLL_SECONDS:
            self._checked_at = now
            new_version = tx.data_version()
            if new_version != self._version:
                self._version = new_version
                changes.update(("*", "external"))
        self._finish(batch, hooks, changes)

    def _finish(self, batch: list[_Job], hooks: list[Callable[[], None]], changes: set[str]) -> None:
        assert self._loop is not None
        hand_over(self._loop, batch, hooks, self._listener, changes)

    def _run_batch(
        self,
        conn: sqlite3.Connection,
        tx: SQLiteTransaction,
        batch: list[_Job],
        changes: set[str],
        hooks: list[Callable[[], None]],
    ) -> None:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            error = StoreUnavailable(f"cannot begin a transaction: {exc}")
            error.__cause__ = exc
            self._deliver_error(batch, error)
            return
        undo: list[Callable[[], None]] = []
        # The transitions of a batch share its transaction without savepoints: most write only
        # as they end (their writes are held back until then), so one that raises has nothing
        # to undo. One that raises after it wrote cannot be undone alone: the batch is rolled
        # back and its jobs run again, each alone in a transaction of its own.
        alone = len(batch) == 1
        for job in batch:
            tx.reset()
            if job.read_only:
                try:
                    job.outcome = (True, job.fn(tx))
                except sqlite3.Error as exc:
                    if not conn.in_transaction:
                        self._lose_batch(batch, exc, hooks, undo, changes)
                        return
                    error = StoreUnavailable(f"the store failed: {exc}")
                    error.__cause__ = exc
                    job.outcome = (False, error)
                except Exception as exc:
                    job.outcome = (False, exc)
                continue
            written = conn.total_changes
            try:
                result = job.fn(tx)
                tx.flush()
            except BaseException as exc:
                run_all(tx.rollback_hooks, "rollback hook")
                if not conn.in_transaction or isinstance(exc, TransactionLost):
                    # SQLite rolled everything back by itself, or what was done cannot be
                    # undone alone: every job of the batch is lost.
                    if conn.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")
                    self._lose_batch(batch, exc, hooks, undo, changes)
                    return
                if alone:
                    conn.execute("ROLLBACK")
                elif conn.total_changes != written:
                    self._run_each_alone(conn, tx, batch, hooks, undo, changes)
                    return
                if isinstance(exc, sqlite3.Error):
                    error = StoreUnavailable(f"the store failed: {exc}")
                    error.__cause__ = exc
                    job.outcome = (False, error)
                else:
                    job.outcome = (False, exc)
            else:
                job.outcome = (True, result)
                # Work queued and not pushed to the local worker wakes the polling loops.
                if tx.enqueued_workflows:
                    changes.add("workflows")
                if tx.enqueued_activities:
                    changes.add("activities")
                changes.update(tx.topics)
                changes.update(tx.closed_ids)
                hooks.extend(tx.hooks)
                undo.extend(tx.rollback_hooks)
        if not conn.in_transaction:
            return  # the only job failed and was rolled back: nothing to commit
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            self._lose_batch(batch, exc, hooks, undo, changes)

    def _run_each_alone(
        self,
        conn: sqlite3.Connection,
        tx: SQLiteTransaction,
        batch: list[_Job],
        hooks: list[Callable[[], None]],
        undo: list[Callable[[], None]],
        changes: set[str],
    ) -> None:
        """Roll the batch back (a transition failed after it wrote) and run its jobs again, each alone."""
        conn.execute("ROLLBACK")
        run_all(undo, "rollback hook")  # what the jobs before it did is undone: they run again
        hooks.clear()
        changes.clear()
        for job in batch:
            # Lists of its own: a job lost alone clears only what it added.
            own_hooks: list[Callable[[], None]] = []
            own_changes: set[str] = set()
            self._run_batch(conn, tx, [job], own_changes, own_hooks)
            hooks.extend(own_hooks)
            changes.update(own_changes)

    def _lose_batch(
        self,
        batch: list[_Job],
        exc: BaseException,
        hooks: list[Callable[[], None]],
        undo: list[Callable[[], None]],
        changes: set[str],
    ) -> None:
        run_all(undo, "rollback hook")
        hooks.clear()
        changes.clear()
        error = StoreUnavailable(f"the transaction failed and was rolled back: {exc}")
        error.__cause__ = exc
        self._deliver_error(batch, error)

    def _deliver_error(self, batch: list[_Job], error: Exception) -> None:
        for job in batch:
            job.outcome = (False, error)
