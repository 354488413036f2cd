"""The embedded SQLite store: one writer thread, group commit, WAL, durable by default.

Transitions from concurrent executions queue up for the writer thread, which runs each
inside its own SAVEPOINT and commits the whole batch with one fsync. A transition that
raises is rolled back alone; the others in its batch still commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlparse

from tether.errors import StoreUnavailable, UsageError
from tether.model.events import Event, EventType
from tether.store import sqlite_schema
from tether.store.base import ActivityRow, ActivityTaskRow, ExecutionRow, TimerRow, Transaction

logger = logging.getLogger(__name__)

T = TypeVar("T")

_BATCH_LIMIT = 512
_EXTERNAL_POLL_SECONDS = 0.02

_EXECUTION_COLUMNS = (
    "id, workflow, status, input, result, error, created_at_ms, closed_at_ms, cancel_requested, task_error, last_seq"
)
_ACTIVITY_COLUMNS = (
    "execution_id, activity_id, name, state, attempt, args, options, scheduled_at_ms, "
    "attempt_started_at_ms, last_heartbeat_at_ms, heartbeat_details, checkpoint, last_failure, "
    "cancel_requested, watch_heartbeats, result, closed_at_ms"
)
_EXECUTION_FIELDS = frozenset(_EXECUTION_COLUMNS.split(", "))
_ACTIVITY_FIELDS = frozenset([*_ACTIVITY_COLUMNS.split(", "), "worker"])


def _execution(row: Sequence[Any]) -> ExecutionRow:
    return ExecutionRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], bool(row[8]), row[9], row[10])


def _activity(row: Sequence[Any]) -> ActivityRow:
    return ActivityRow(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9], row[10],
        row[11], row[12], bool(row[13]), bool(row[14]), row[15], row[16],
    )  # fmt: skip


class SQLiteTransaction(Transaction):
    """Transaction methods over the writer connection; used only on the writer thread."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._savepoints = 0
        self.topics: set[str] = set()
        self.closed_ids: set[str] = set()
        self.hooks: list[Callable[[], None]] = []
        self.enqueued_workflows: list[str] = []
        self.enqueued_activities: list[ActivityTaskRow] = []

    def reset(self) -> None:
        """Forget what the previous transition marked."""
        self.topics = set()
        self.closed_ids = set()
        self.hooks = []
        self.enqueued_workflows = []
        self.enqueued_activities = []

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:  # noqa: D102
        self._savepoints += 1
        name = f"nested{self._savepoints}"
        self._conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._conn.execute(f"ROLLBACK TO {name}")
            self._conn.execute(f"RELEASE {name}")
            raise
        else:
            self._conn.execute(f"RELEASE {name}")
        finally:
            self._savepoints -= 1

    def notify(self) -> None:  # noqa: D102
        self.topics.add("*")

    def wake(self, topic: str) -> None:  # noqa: D102
        self.topics.add(topic)

    def closed(self, execution_id: str) -> None:  # noqa: D102
        self.closed_ids.add(execution_id)

    def after_commit(self, callback: Callable[[], None]) -> None:  # noqa: D102
        self.hooks.append(callback)

    def take_enqueued(self) -> tuple[list[str], list[ActivityTaskRow]]:  # noqa: D102
        workflows, activities = self.enqueued_workflows, self.enqueued_activities
        self.enqueued_workflows, self.enqueued_activities = [], []
        return workflows, activities

    # executions and history

    def get_execution(self, execution_id: str) -> ExecutionRow | None:  # noqa: D102
        row = self._conn.execute(
            f"SELECT {_EXECUTION_COLUMNS} FROM executions WHERE id = ?", (execution_id,)
        ).fetchone()
        return _execution(row) if row else None

    def insert_execution(self, row: ExecutionRow) -> bool:  # noqa: D102
        return bool(self._conn.execute(
            f"INSERT INTO executions ({_EXECUTION_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO NOTHING",
            (
                row.id, row.workflow, row.status, row.input, row.result, row.error, row.created_at_ms,
                row.closed_at_ms, int(row.cancel_requested), row.task_error, row.last_seq,
            ),
        ).rowcount)  # fmt: skip

    def update_execution(self, execution_id: str, **fields: object) -> None:  # noqa: D102
        self._update("executions", "id = ?", (execution_id,), _EXECUTION_FIELDS, fields)

    def append_events(self, execution_id: str, events: Sequence[tuple[EventType, str]], at_ms: int) -> int:  # noqa: D102
        (last,) = self._conn.execute(
            "UPDATE executions SET last_seq = last_seq + ? WHERE id = ? RETURNING last_seq", (len(events), execution_id)
        ).fetchone()
        first = last - len(events) + 1
        rows = [(execution_id, first + i, str(kind), at_ms, data) for i, (kind, data) in enumerate(events)]
        if len(rows) == 1:
            self._conn.execute("INSERT INTO events (execution_id, seq, type, at_ms, data) VALUES (?,?,?,?,?)", rows[0])
        else:
            self._conn.executemany("INSERT INTO events (execution_id, seq, type, at_ms, data) VALUES (?,?,?,?,?)", rows)
        return int(last)

    def load_events(self, execution_id: str, after_seq: int = 0) -> list[Event]:  # noqa: D102
        rows = self._conn.execute(
            "SELECT seq, type, at_ms, data FROM events WHERE execution_id = ? AND seq > ? ORDER BY seq",
            (execution_id, after_seq),
        ).fetchall()
        return [Event(seq, EventType(kind), at_ms, json.loads(data)) for seq, kind, at_ms, data in rows]

    def list_executions(  # noqa: D102
        self, *, status: str | None, workflow: str | None, limit: int, offset: int
    ) -> list[ExecutionRow]:
        clauses, params = [], []
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        if workflow is not None:
            clauses.append("workflow = ?")
            params.append(workflow)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._conn.execute(
            f"SELECT {_EXECUTION_COLUMNS} FROM executions {where} ORDER BY created_at_ms DESC, id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        ).fetchall()
        return [_execution(r) for r in rows]

    def executions_with_failed_task(self) -> list[str]:  # noqa: D102
        rows = self._conn.execute(
            "SELECT id FROM executions WHERE task_error IS NOT NULL AND status = 'running'"
        ).fetchall()
        return [r[0] for r in rows]

    # activities

    def get_activity(self, execution_id: str, activity_id: int) -> ActivityRow | None:  # noqa: D102
        row = self._conn.execute(
            f"SELECT {_ACTIVITY_COLUMNS} FROM activities WHERE execution_id = ? AND activity_id = ?",
            (execution_id, activity_id),
        ).fetchone()
        return _activity(row) if row else None

    def insert_activity(self, row: ActivityRow) -> None:  # noqa: D102
        self._conn.execute(
            f"INSERT INTO activities ({_ACTIVITY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                row.execution_id, row.activity_id, row.name, row.state, row.attempt, row.args, row.options,
                row.scheduled_at_ms, row.attempt_started_at_ms, row.last_heartbeat_at_ms, row.heartbeat_details,
                row.checkpoint, row.last_failure, int(row.cancel_requested), int(row.watch_heartbeats),
                row.result, row.closed_at_ms,
            ),
        )  # fmt: skip

    def update_activity(self, execution_id: str, activity_id: int, **fields: object) -> None:  # noqa: D102
        self._update(
            "activities", "execution_id = ? AND activity_id = ?", (execution_id, activity_id), _ACTIVITY_FIELDS, fields
        )

    def open_activities(self, execution_id: str) -> list[ActivityRow]:  # noqa: D102
        rows = self._conn.execute(
            f"SELECT {_ACTIVITY_COLUMNS} FROM activities WHERE execution_id = ? AND closed_at_ms IS NULL "
            "ORDER BY activity_id",
            (execution_id,),
        ).fetchall()
        return [_activity(r) for r in rows]

    # timers

    def arm_timer(self, timer: TimerRow) -> None:  # noqa: D102
        self._conn.execute(
            "INSERT OR REPLACE INTO timers (execution_id, kind, ref, attempt, due_at_ms) VALUES (?,?,?,?,?)",
            (timer.execution_id, timer.kind, timer.ref, timer.attempt, timer.due_at_ms),
        )
        # The timer loop sleeps until the earliest due time it knew; it must look again.
        self.topics.add("timers")

    def delete_timer(self, execution_id: str, kind: str, ref: int) -> None:  # noqa: D102
        self._conn.execute(
            "DELETE FROM timers WHERE execution_id = ? AND kind = ? AND ref = ?", (execution_id, kind, ref)
        )

    def delete_activity_timers(self, execution_id: str, activity_id: int) -> None:  # noqa: D102
        self._conn.execute(
            "DELETE FROM timers WHERE execution_id = ? AND ref = ? AND kind != 'sleep'", (execution_id, activity_id)
        )

    def delete_execution_timers(self, execution_id: str) -> None:  # noqa: D102
        self._conn.execute("DELETE FROM timers WHERE execution_id = ?", (execution_id,))

    def timers_of(self, execution_id: str) -> list[TimerRow]:  # noqa: D102
        rows = self._conn.execute(
            "SELECT execution_id, kind, ref, attempt, due_at_ms FROM timers WHERE execution_id = ?", (execution_id,)
        ).fetchall()
        return [TimerRow(*r) for r in rows]

    def due_timers(self, now_ms: int, limit: int) -> list[TimerRow]:  # noqa: D102
        rows = self._conn.execute(
            "SELECT execution_id, kind, ref, attempt, due_at_ms FROM timers WHERE due_at_ms <= ? "
            "ORDER BY due_at_ms LIMIT ?",
            (now_ms, limit),
        ).fetchall()
        return [TimerRow(*r) for r in rows]

    def next_timer_due_ms(self) -> int | None:  # noqa: D102
        (due,) = self._conn.execute("SELECT min(due_at_ms) FROM timers").fetchone()
        return int(due) if due is not None else None

    # workflow tasks

    def enqueue_workflow_task(self, execution_id: str, ready_at_ms: int) -> None:  # noqa: D102
        # A task already leased by a worker is marked dirty so that it is offered again
        # when that worker finishes: the events appended now were not part of its run.
        self._conn.execute(
            "INSERT INTO workflow_tasks (execution_id, workflow, ready_at_ms) "
            "SELECT id, workflow, ? FROM executions WHERE id = ? AND status = 'running' "
            "ON CONFLICT (execution_id) DO UPDATE SET dirty = 1, ready_at_ms = min(ready_at_ms, excluded.ready_at_ms)",
            (ready_at_ms, execution_id),
        )
        self.enqueued_workflows.append(execution_id)

    def claim_workflow_tasks(  # noqa: D102
        self, *, now_ms: int, owner: str, lease_until_ms: int, workflows: Iterable[str], limit: int
    ) -> list[str]:
        rows = self._conn.execute(
            "SELECT execution_id FROM workflow_tasks WHERE leased_until_ms <= ? AND ready_at_ms <= ? "
            "AND workflow IN (SELECT value FROM json_each(?)) ORDER BY ready_at_ms LIMIT ?",
            (now_ms, now_ms, json.dumps(sorted(workflows)), limit),
        ).fetchall()
        ids = [r[0] for r in rows]
        self._conn.executemany(
            "UPDATE workflow_tasks SET leased_until_ms = ?, owner = ?, dirty = 0 WHERE execution_id = ?",
            [(lease_until_ms, owner, i) for i in ids],
        )
        return ids

    def claim_workflow_task(  # noqa: D102
        self, execution_id: str, *, now_ms: int, owner: str, lease_until_ms: int, workflows: Iterable[str]
    ) -> bool:
        names = workflows if isinstance(workflows, frozenset) else frozenset(workflows)
        return bool(
            self._conn.execute(
                "UPDATE workflow_tasks SET leased_until_ms = ?, owner = ?, dirty = 0 "
                "WHERE execution_id = ? AND leased_until_ms <= ? AND ready_at_ms <= ? "
                "AND workflow IN (SELECT value FROM json_each(?))",
                (lease_until_ms, owner, execution_id, now_ms, now_ms, _names_json(names)),
            ).rowcount
        )

    def claim_activity_task(self, task: ActivityTaskRow) -> bool:  # noqa: D102
        cursor = self._conn.execute(
            "DELETE FROM activity_tasks WHERE execution_id = ? AND activity_id = ? AND attempt = ?",
            (task.execution_id, task.activity_id, task.attempt),
        )
        return cursor.rowcount > 0

    def finish_workflow_task(self, execution_id: str, owner: str) -> bool:  # noqa: D102
        deleted = self._conn.execute(
            "DELETE FROM workflow_tasks WHERE execution_id = ? AND owner = ? AND dirty = 0", (execution_id, owner)
        ).rowcount
        if deleted:
            return True
        requeued = self._conn.execute(
            "UPDATE workflow_tasks SET leased_until_ms = 0, owner = NULL, dirty = 0 "
            "WHERE execution_id = ? AND owner = ? AND dirty = 1",
            (execution_id, owner),
        ).rowcount
        if requeued:
            self.topics.add("workflows")
        return bool(requeued)

    def holds_workflow_task(self, execution_id: str, owner: str) -> bool:  # noqa: D102
        row = self._conn.execute("SELECT owner FROM workflow_tasks WHERE execution_id = ?", (execution_id,)).fetchone()
        return row is not None and row[0] == owner

    def release_workflow_tasks(self, owner: str) -> None:  # noqa: D102
        self._conn.execute("UPDATE workflow_tasks SET leased_until_ms = 0, owner = NULL WHERE owner = ?", (owner,))
        self.topics.add("workflows")

    def next_lease_expiry_ms(self, now_ms: int) -> int | None:  # noqa: D102
        (due,) = self._conn.execute(
            "SELECT min(leased_until_ms) FROM workflow_tasks WHERE leased_until_ms > ?", (now_ms,)
        ).fetchone()
        return int(due) if due is not None else None

    def has_ready_work(self, now_ms: int) -> bool:  # noqa: D102
        row = self._conn.execute(
            "SELECT 1 FROM workflow_tasks WHERE leased_until_ms <= ? AND ready_at_ms <= ? "
            "UNION ALL SELECT 1 FROM activity_tasks LIMIT 1",
            (now_ms, now_ms),
        ).fetchone()
        return row is not None

    # activity tasks

    def enqueue_activity_task(self, task: ActivityTaskRow) -> None:  # noqa: D102
        self._conn.execute(
            "INSERT OR REPLACE INTO activity_tasks (execution_id, activity_id, attempt, name) VALUES (?,?,?,?)",
            (task.execution_id, task.activity_id, task.attempt, task.name),
        )
        self.enqueued_activities.append(task)

    def delete_activity_task(self, execution_id: str, activity_id: int) -> None:  # noqa: D102
        self._conn.execute(
            "DELETE FROM activity_tasks WHERE execution_id = ? AND activity_id = ?", (execution_id, activity_id)
        )

    def claim_activity_tasks(self, *, activities: Iterable[str], limit: int) -> list[ActivityTaskRow]:  # noqa: D102
        rows = self._conn.execute(
            "SELECT id, execution_id, activity_id, attempt, name FROM activity_tasks "
            "WHERE name IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT ?",
            (json.dumps(sorted(activities)), limit),
        ).fetchall()
        self._conn.executemany("DELETE FROM activity_tasks WHERE id = ?", [(r[0],) for r in rows])
        return [ActivityTaskRow(r[1], r[2], r[3], r[4]) for r in rows]

    # worker liveness

    def renew_worker(self, owner: str, lease_until_ms: int) -> None:  # noqa: D102
        self._conn.execute(
            "INSERT INTO workers (owner, lease_until_ms) VALUES (?, ?) "
            "ON CONFLICT (owner) DO UPDATE SET lease_until_ms = excluded.lease_until_ms",
            (owner, lease_until_ms),
        )

    def remove_worker(self, owner: str) -> None:  # noqa: D102
        self._conn.execute("DELETE FROM workers WHERE owner = ?", (owner,))

    def attempts_of_lost_workers(self, now_ms: int, alive: str, limit: int) -> list[tuple[str, int, int]]:  # noqa: D102
        rows = self._conn.execute(
            "SELECT a.execution_id, a.activity_id, a.attempt FROM activities a "
            "LEFT JOIN workers w ON w.owner = a.worker "
            "WHERE a.state = 'running' AND a.worker IS NOT NULL AND a.worker != ? "
            "AND (w.owner IS NULL OR w.lease_until_ms <= ?) LIMIT ?",
            (alive, now_ms, limit),
        ).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def next_worker_expiry_ms(self, now_ms: int, alive: str) -> int | None:  # noqa: D102
        (due,) = self._conn.execute(
            "SELECT min(w.lease_until_ms) FROM workers w WHERE w.owner != ? AND w.lease_until_ms > ? "
            "AND EXISTS (SELECT 1 FROM activities a WHERE a.state = 'running' AND a.worker = w.owner)",
            (alive, now_ms),
        ).fetchone()
        return int(due) if due is not None else None

    # registry and keys

    def register_workflows(self, names: Iterable[str]) -> None:  # noqa: D102
        self._conn.executemany("INSERT OR IGNORE INTO known_workflows (name) VALUES (?)", [(n,) for n in names])

    def is_known_workflow(self, name: str) -> bool:  # noqa: D102
        return self._conn.execute("SELECT 1 FROM known_workflows WHERE name = ?", (name,)).fetchone() is not None

    def signing_keys(self) -> dict[int, bytes]:  # noqa: D102
        return {k: bytes(s) for k, s in self._conn.execute("SELECT key_id, secret FROM signing_keys")}

    def insert_signing_key(self, key_id: int, secret: bytes, created_at_ms: int) -> None:  # noqa: D102
        self._conn.execute(
            "INSERT OR IGNORE INTO signing_keys (key_id, secret, created_at_ms) VALUES (?,?,?)",
            (key_id, secret, created_at_ms),
        )

    # helpers

    def _update(
        self, table: str, where: str, key: tuple[object, ...], allowed: frozenset[str], fields: dict[str, object]
    ) -> None:
        unknown = set(fields) - allowed
        if unknown:
            raise UsageError(f"unknown columns for {table}: {sorted(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        values = [int(v) if isinstance(v, bool) else v for v in fields.values()]
        self._conn.execute(f"UPDATE {table} SET {assignments} WHERE {where}", (*values, *key))

    def data_version(self) -> int:
        """SQLite's counter of commits made by other connections."""
        (version,) = self._conn.execute("PRAGMA data_version").fetchone()
        return int(version)


@functools.lru_cache(maxsize=64)
def _names_json(names: frozenset[str]) -> str:
    return json.dumps(sorted(names))


@dataclass(slots=True)
class _Job:
    fn: Callable[[SQLiteTransaction], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    outcome: tuple[bool, Any] = field(default=(False, None))


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


class SQLiteStore:
    """The embedded store on one SQLite file.

    Open with :meth:`open`; every transition runs on one writer thread, in batches that
    share a commit. ``synchronous=FULL`` (the default) makes every acknowledged change
    survive power loss; ``?synchronous=NORMAL`` in the URL trades that for speed.
    """

    def __init__(self, url: str, path: Path, synchronous: str) -> None:
        self.url = url
        self._path = path
        self._synchronous = synchronous
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._listener: Callable[[set[str]], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    @classmethod
    async def open(cls, url: str) -> SQLiteStore:
        """Open (creating if needed) the database a URL names and bring its schema up to date.

        Raises:
            StoreUnavailable: the file cannot be opened.
        """
        path, synchronous = parse_url(url)
        store = cls(url, path, synchronous)
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

    async def run(self, transition: Callable[[Transaction], T]) -> T:  # noqa: D102
        if self._closed:
            raise StoreUnavailable("the store is closed")
        loop = asyncio.get_running_loop()
        job = _Job(transition, loop.create_future(), loop)
        self._queue.put(job)
        return await job.future  # type: ignore[no-any-return]  # the job's future carries T

    read = run

    async def close(self) -> None:  # noqa: D102
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)

    # writer thread

    def _connect(self) -> sqlite3.Connection:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False, timeout=30)
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
            row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
            current = row[0] or 0
            for version, sql in sqlite_schema.MIGRATIONS:
                if version > current:
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
            tx = SQLiteTransaction(conn)
            version = tx.data_version()
        except (sqlite3.Error, OSError) as exc:
            error = StoreUnavailable(f"cannot open {self._path}: {exc}")
            error.__cause__ = exc
            self._loop.call_soon_threadsafe(_fail, ready, error)
            return
        self._loop.call_soon_threadsafe(_resolve, ready, None)
        try:
            while True:
                try:
                    first = self._queue.get(timeout=_EXTERNAL_POLL_SECONDS)
                except queue.Empty:
                    first = _POLL
                stop = first is None
                batch: list[_Job] = [] if first is None or first is _POLL else [first]
                while not stop and len(batch) < _BATCH_LIMIT:
                    try:
                        job = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:
                        stop = True
                    else:
                        batch.append(job)
                changes: set[str] = set()
                if batch:
                    self._run_batch(conn, tx, batch, changes)
                new_version = tx.data_version()
                if new_version != version:
                    version = new_version
                    changes.update(("*", "external"))
                if changes and self._listener is not None:
                    self._loop.call_soon_threadsafe(self._listener, changes)
                if stop:
                    break
        finally:
            conn.close()

    def _run_batch(self, conn: sqlite3.Connection, tx: SQLiteTransaction, batch: list[_Job], changes: set[str]) -> None:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            error = StoreUnavailable(f"cannot begin a transaction: {exc}")
            error.__cause__ = exc
            self._deliver_error(batch, error)
            return
        hooks: list[Callable[[], None]] = []
        for job in batch:
            tx.reset()
            conn.execute("SAVEPOINT transition")
            try:
                result = job.fn(tx)
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK TO transition")
                conn.execute("RELEASE transition")
                error = StoreUnavailable(f"the store failed: {exc}")
                error.__cause__ = exc
                job.outcome = (False, error)
            except BaseException as exc:
                conn.execute("ROLLBACK TO transition")
                conn.execute("RELEASE transition")
                job.outcome = (False, exc)
            else:
                conn.execute("RELEASE transition")
                job.outcome = (True, result)
                # Work queued and not pushed to the local worker wakes the polling loops.
                if tx.enqueued_workflows:
                    changes.add("workflows")
                if tx.enqueued_activities:
                    changes.add("activities")
                changes.update(tx.topics)
                changes.update(tx.closed_ids)
                hooks.extend(tx.hooks)
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            changes.clear()
            error = StoreUnavailable(f"the commit failed: {exc}")
            error.__cause__ = exc
            self._deliver_error(batch, error)
            return
        # Hooks run before callers resume, so work pushed to a local worker is visible
        # as in flight by the time anyone looks at the result of this batch.
        assert self._loop is not None
        self._loop.call_soon_threadsafe(_finish_batch, hooks, batch)

    def _deliver_error(self, batch: list[_Job], error: Exception) -> None:
        for job in batch:
            job.outcome = (False, error)
            job.loop.call_soon_threadsafe(_settle, job)


_POLL: Any = object()


def _finish_batch(hooks: list[Callable[[], None]], batch: list[_Job]) -> None:
    for hook in hooks:
        try:
            hook()
        except Exception:
            logger.exception("after-commit hook failed")
    for job in batch:
        _settle(job)


def _settle(job: _Job) -> None:
    if job.future.done():
        return
    ok, value = job.outcome
    if ok:
        job.future.set_result(value)
    else:
        job.future.set_exception(value)


def _resolve(future: asyncio.Future[None], value: None) -> None:
    if not future.done():
        future.set_result(value)


def _fail(future: asyncio.Future[None], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
