"""The statements under the PostgreSQL store's queries: running them, locking, savepoints, marks.

Every driver error becomes :class:`StatementFailed` where it arises; the store turns it into
StoreUnavailable, or runs the transition again when it only lost a race.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from tether.store.base import ActivityTaskRow

# Errors after which the same transition, run again, may well succeed.
_CONFLICTS = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure, pg_errors.LockNotAvailable)

Row = tuple[Any, ...]


class StatementFailed(BaseException):  # a signal through user and engine handlers
    """A statement failed in the database; the whole transition is rolled back.

    A BaseException so that no ``except Exception`` in the engine (a timer that keeps
    failing is dropped, a workflow task that fails inline is run by the worker) mistakes a
    lost lock race or a broken connection for a failure of its own.
    """

    def __init__(self, cause: psycopg.Error) -> None:
        super().__init__(str(cause))
        self.cause = cause

    @property
    def is_conflict(self) -> bool:
        """Whether the transition lost a race (a deadlock) and may simply run again."""
        return isinstance(self.cause, _CONFLICTS)


class PostgresStatements:
    """Statements over one connection, the locks a transition holds and what it marked."""

    def __init__(self, conn: psycopg.Connection[Row]) -> None:
        self._conn = conn
        self._cur = conn.cursor()
        self._savepoints = 0
        self.locking = True
        """Whether this transition writes (and so locks what it reads); reads do not."""
        self._locked: set[str] = set()
        """Executions locked by the running transition (lost if it rolls back)."""
        self._held: set[str] = set()
        """Executions locked by transitions of this batch that were kept."""
        self.topics: set[str] = set()
        self.closed_ids: set[str] = set()
        self.hooks: list[Callable[[], None]] = []
        self.rollback_hooks: list[Callable[[], None]] = []
        self.enqueued_workflows: list[str] = []
        self.enqueued_activities: list[ActivityTaskRow] = []

    def begin_batch(self) -> None:
        """A new database transaction starts: no lock is held."""
        self._held = set()

    def reset(self, *, locking: bool) -> None:
        """Forget what the previous transition marked."""
        self.locking = locking
        self._locked = set()
        self.topics = set()
        self.closed_ids = set()
        self.hooks = []
        self.rollback_hooks = []
        self.enqueued_workflows = []
        self.enqueued_activities = []

    def keep_locks(self) -> None:
        """The running transition was kept: its locks last until the batch commits."""
        self._held |= self._locked

    # statements

    def control(self, sql: str) -> None:
        """Run a statement of the store's own (BEGIN, SAVEPOINT, COMMIT, NOTIFY; several at once)."""
        self._execute(sql)

    def _execute(self, sql: str, params: Sequence[Any] | None = None) -> psycopg.Cursor[Row]:
        try:
            return self._cur.execute(sql, params)
        except psycopg.Error as exc:
            raise StatementFailed(exc) from exc

    def _one(self, sql: str, params: Sequence[Any] | None = None) -> Row | None:
        cursor = self._execute(sql, params)
        try:
            return cursor.fetchone()
        except psycopg.Error as exc:
            raise StatementFailed(exc) from exc

    def _all(self, sql: str, params: Sequence[Any] | None = None) -> list[Row]:
        cursor = self._execute(sql, params)
        try:
            return cursor.fetchall()
        except psycopg.Error as exc:
            raise StatementFailed(exc) from exc

    def _count(self, sql: str, params: Sequence[Any] | None = None) -> int:
        return self._execute(sql, params).rowcount

    def _lock(self, execution_id: str) -> None:
        """Lock an execution's row before touching anything of that execution (see the module doc)."""
        if not self.locking or execution_id in self._locked or execution_id in self._held:
            return
        if self._one("SELECT 1 FROM executions WHERE id = %s FOR UPDATE", (execution_id,)) is not None:
            self._locked.add(execution_id)

    def _holds(self, execution_id: str) -> bool:
        return execution_id in self._locked or execution_id in self._held

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:  # noqa: D102
        self._savepoints += 1
        name = f"nested{self._savepoints}"
        locked = set(self._locked)
        self._execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            # Row locks taken after a savepoint are released when it is rolled back.
            self._locked = locked
            self._execute(f"ROLLBACK TO SAVEPOINT {name}")
            self._execute(f"RELEASE SAVEPOINT {name}")
            raise
        else:
            self._execute(f"RELEASE SAVEPOINT {name}")
        finally:
            self._savepoints -= 1

    def notify(self) -> None:  # noqa: D102
        self.topics.add("*")

    def wake(self, topic: str) -> None:  # noqa: D102
        self.topics.add(topic)

    def closed(self, execution_id: str) -> None:  # noqa: D102
        self.closed_ids.add(execution_id)

    def closed_executions(self) -> set[str]:  # noqa: D102
        return set(self.closed_ids)

    def after_commit(self, callback: Callable[[], None]) -> None:  # noqa: D102
        self.hooks.append(callback)

    def on_rollback(self, callback: Callable[[], None]) -> None:  # noqa: D102
        self.rollback_hooks.append(callback)

    def take_enqueued(self) -> tuple[list[str], list[ActivityTaskRow]]:  # noqa: D102
        workflows, activities = self.enqueued_workflows, self.enqueued_activities
        self.enqueued_workflows, self.enqueued_activities = [], []
        return workflows, activities

    # executions and history
