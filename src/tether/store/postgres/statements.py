"""The statements under the PostgreSQL store's queries: sending them, savepoints, marks (locks: :mod:`.locks`).

The connection stays in pipeline mode: a statement whose result nobody reads (an insert,
an update, a savepoint) is sent without waiting for the server, and travels with the next
statement whose result is read, or with the commit. A transition thus costs a round trip
per read it makes, not per statement. A statement sent ahead may fail after the call that
sent it returned: the failure is reported by the next read or by :meth:`PostgresStatements.settle`,
which the store calls at the end of every transition that shares its transaction, so
that a failure is always charged to the transition that caused it.

Every driver error becomes a :class:`~tether.store.postgres.failures.StatementFailed` where it
arises; the store turns it into StoreUnavailable, or runs the transition again when it only lost
a race.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import psycopg

from tether.store.postgres.failures import StatementFailed
from tether.store.postgres.held import HeldRows, Known, Row
from tether.store.postgres.pending import PendingWrites, statement
from tether.store.postgres.traffic import TRAFFIC
from tether.store.rows import ActivityTaskRow

logger = logging.getLogger(__name__)

# Syncs after a failure until every result of the pipeline has been collected; each
# collects what has arrived, and one suffices unless results were still in flight.
_RECOVERY_SYNCS = 8
__all__ = ["PostgresStatements", "Row"]


class PostgresStatements:
    """Statements over one connection, the locks a transition holds, the rows it knows and what it marked."""

    def __init__(self, conn: psycopg.Connection[Row]) -> None:
        self._conn = conn
        self._stack = contextlib.ExitStack()
        self._pipeline = self._stack.enter_context(conn.pipeline())
        self._cur = conn.cursor()
        """Runs the statements whose results are read."""
        self.reads_end_transactions = False
        """Whether a read's Sync goes out with it, ending the implicit transaction of its statement (no block is
        open: a read beside the transitions of one statement), rather than a flush that leaves it open."""
        self._locker = conn.cursor()
        """Runs a lock whose result is read after the statements sent behind it (see :meth:`_lock_and_read`)."""
        self._sender = conn.cursor()
        """Sends the statements whose results are not read."""
        self._unsettled = False
        """Whether statements were sent since the last time every result was collected."""
        self._inherited = False
        """Whether the running transition began while statements of earlier ones were unsettled."""
        self._pending = PendingWrites()
        """Writes not sent yet (see :mod:`tether.store.postgres.pending`)."""
        self._lazy: list[tuple[str, int]] = []
        """Savepoints entered and not sent yet (no write was sent since), with their marks in ``_pending``."""
        self._shared = False
        """Whether the running transition shares the transaction (see :meth:`enter_transition`)."""
        self._exposed = False
        """Whether a write of the running transition was sent (see :meth:`exposed`)."""
        self._start = 0
        """Where the running transition's writes begin in ``_pending``."""
        self._savepoints = 0
        self._begin_held = False
        """Whether the open transaction's BEGIN is held back (see :meth:`begin`)."""
        self._in_block = False
        """Whether BEGIN went out and neither COMMIT nor ROLLBACK since: the server holds a transaction block."""
        self.locking = True
        """Whether this transition writes (and so locks what it reads); reads do not."""
        self._locked: set[str] = set()
        """Executions locked by the running transition (lost if it rolls back)."""
        self._held: set[str] = set()
        """Executions locked by transitions of this batch that were kept."""
        self._read_rows: dict[str, Row] = {}
        """Executions the batch's reads said they ask for, as read at its start (see ``read_ahead``)."""
        self._open_expected: set[str] = set()
        """Executions whose open activities are read with their lock (a transition of the batch said it reads them)."""
        self._notice_expected: set[tuple[str, int]] = set()
        """Activities read with their execution's lock together with whether their waiting was announced."""
        self.known = HeldRows()
        """Rows of the executions in ``_locked`` and ``_held``, as this transaction left them."""
        self._known_at_start: Known = self.known.snapshot()
        self.deadlines: dict[str, int | None] = {}
        """Workflow deadlines of executions the running transition locked, as it left them."""
        self._deadlines_at_start: dict[str, int | None] = {}
        self._expected: dict[str, int] = {}
        """Executions whose events after a sequence number the running transition will likely load."""
        self.topics: set[str] = set()
        self.closed_ids: set[str] = set()
        self.hooks: list[Callable[[], None]] = []
        self.rollback_hooks: list[Callable[[], None]] = []
        self.enqueued_workflows: list[str] = []
        self.first_appended: dict[str, int] = {}
        """The first sequence number the running transition appended to each execution."""
        self.enqueued_activities: list[ActivityTaskRow] = []

    def close(self) -> None:
        """Leave pipeline mode and close the connection (quietly: it may be broken already)."""
        with contextlib.suppress(psycopg.Error):
            self._stack.close()
        with contextlib.suppress(psycopg.Error):
            self._conn.close()

    def begin_batch(self) -> None:
        """A new database transaction starts: no lock is held, nothing is known."""
        self._held = set()
        self._locked = set()
        self._read_rows = {}
        self._open_expected = set()
        self._notice_expected = set()
        self.known.clear()
        self.deadlines = {}
        self._drop_held_back()
        self._lazy = []

    def reset(self, *, locking: bool) -> None:
        """Forget what the previous transition marked."""
        self.locking = locking
        # Writes of earlier transitions still held back are sent during this one: if they
        # fail, the failure may be theirs.
        self._inherited = self._unsettled or bool(self._pending)
        self._start = self._pending.mark()
        self._shared = self._exposed = False
        self._locked = set()
        self._expected = {}
        self._known_at_start = self.known.snapshot()
        if self.deadlines:
            # Those of executions the batch holds stay true: nobody else touches their timers.
            self.deadlines = {key: due for key, due in self.deadlines.items() if key in self._held}
        self._deadlines_at_start = dict(self.deadlines)
        self.topics = set()
        self.closed_ids = set()
        self.hooks = []
        self.rollback_hooks = []
        self.enqueued_workflows = []
        self.enqueued_activities = []
        if self.first_appended:
            self.first_appended = {}

    def keep_locks(self) -> None:
        """The running transition was kept: its locks last until the batch commits."""
        self._held |= self._locked

    def discard(self) -> None:
        """The running transition was rolled back: what it locked, learnt and held back is void.

        Writes of earlier transitions of the batch still held back are kept.
        """
        self._locked = set()
        self.known.restore(self._known_at_start)
        self.deadlines = dict(self._deadlines_at_start)  # those of earlier transitions of the batch stay true
        self._pending.drop_since(self._start)
        self._lazy = []

    def enter_transition(self) -> None:
        """The running transition shares the transaction with others of the batch.

        It gets no savepoint: writes it holds back until it ends are dropped if it fails. Once
        one of its writes went out (see :meth:`exposed`), or if one of its statements fails
        (the failure says so: ``inherited``), undoing it takes rolling back the whole batch.
        """
        self._shared = True

    def exposed(self) -> bool:
        """Whether a write of the running transition went out: only rolling back the transaction undoes it."""
        return self._exposed

    # statements

    def begin(self) -> None:
        """Open a transaction that writes; its BEGIN is held back until something needs it.

        The statements a pipeline sends up to its next Sync run as one implicit transaction:
        it keeps its locks until that Sync, which commits it. A batch that sends everything
        before its commit's Sync (a step of a workflow, a heartbeat) thus needs neither BEGIN
        nor COMMIT. Whatever must not end it early sends BEGIN first (see :meth:`_open_block`):
        a Sync before the commit, a savepoint, a rollback. Sent after statements of the
        implicit transaction, BEGIN makes them part of the block it opens.
        """
        self._begin_held = True
        self._in_block = False

    def _open_block(self) -> None:
        """Send the BEGIN held back, if it is: what follows (a Sync, a savepoint) must not end the transaction."""
        if self._begin_held:
            self._begin_held = False
            self._control("BEGIN")
            self._in_block = True

    def rollback(self) -> None:
        """Roll back the open transaction, if the server still holds one; writes held back are dropped.

        One whose BEGIN is held back gets it first (its statements may have written). After
        a failed statement without BEGIN, the Sync that collected the failure rolled it back.
        """
        self._drop_held_back()  # never sent: nothing to undo, and no later Sync may commit them
        self._lazy = []
        self._open_block()
        if self._in_block:
            self._in_block = False
            self._control("ROLLBACK")

    def control(self, sql: str) -> None:
        """Send a statement of the store's own (a NOTIFY), after the writes held back, without waiting."""
        self._send_held_back()
        self._control(sql)

    def _control(self, sql: str) -> None:
        TRAFFIC.statements += 1
        try:
            self._sender.execute(sql, prepare=False)
        except psycopg.Error as exc:
            raise self._failed(exc) from exc

    def commit(self, channel: str, notice: str | None) -> None:
        """Send what is held back, a notice on ``channel`` (sent by the server at the commit) if any, and COMMIT.

        The notice travels as ``pg_notify`` in the statement of the last writes held back, if
        any are: one statement fewer than a NOTIFY of its own.
        """
        if self._lazy:
            self._send_savepoints()
        statements = [parts for parts in self._pending.take() if parts]
        if notice is not None and statements:
            statements[-1] = [*statements[-1], ("SELECT pg_notify(%s, %s)", [channel, notice])]
        for parts in statements:
            self._send_now(*statement(parts))
        if notice is not None and not statements:
            self._control(f"NOTIFY {channel}, '{notice}'")
        self._commit_block()

    def _commit_block(self) -> None:
        """End the transaction: COMMIT if BEGIN went out; otherwise the next Sync commits it."""
        self._begin_held = False
        if self._in_block:
            self._in_block = False
            self._control("COMMIT")

    def settle(self) -> None:
        """Wait for the results of every statement sent so far.

        Raises:
            StatementFailed: one of them failed (the pipeline is usable again, the
                transaction is in error until rolled back).
        """
        self._send_held_back()
        self._open_block()  # a Sync before the commit would commit the implicit transaction
        TRAFFIC.round_trips += 1
        try:
            self._pipeline.sync()
        except psycopg.Error as exc:
            raise self._failed(exc) from exc
        self._unsettled = self._inherited = False

    def settle_sent(self) -> None:
        """Settle, if statements were sent whose results were not collected yet.

        Writes still held back were never sent, so none of them can have failed: they wait
        for the next statement that goes out, and a refusal in a batch costs no round trip.
        """
        if self._unsettled:
            self.settle()

    def sent_failure(self) -> StatementFailed | None:
        """Settle what was sent; the failure of a statement, if one failed."""
        try:
            self.settle_sent()
        except StatementFailed as failed:
            return failed
        return None

    def _failed(self, exc: psycopg.Error) -> StatementFailed:
        """Collect every result still in the pipeline after a failure, so that it can be used again."""
        # A transition sharing the transaction has no savepoint: the failure aborted all of the batch.
        inherited = self._inherited or self._shared
        self._unsettled = self._inherited = False
        # Without BEGIN, the Sync below ends the failed implicit transaction: nothing is left to roll back.
        self._begin_held = False
        self._drop_held_back()
        conn = self._conn
        for _ in range(_RECOVERY_SYNCS):
            if conn.closed or conn.broken:
                break
            TRAFFIC.round_trips += 1
            try:
                self._pipeline.sync()
            except psycopg.Error:
                continue
            break
        else:
            logger.warning("the pipeline did not recover from a failed statement; closing the connection")
            with contextlib.suppress(psycopg.Error):
                conn.close()
        return StatementFailed(exc, inherited=inherited)

    def _send(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Send a statement whose result is not read; a failure shows at the next read or settle."""
        self._before_statement()
        self._send_now(sql, params)

    def _send_now(self, sql: str, params: Sequence[Any] | None = None) -> None:
        TRAFFIC.statements += 1
        try:
            self._sender.execute(sql, params)
        except psycopg.Error as exc:
            raise self._failed(exc) from exc
        self._unsettled = True

    def _hold_back_events(self, events: list[tuple[str, int, str, int, str]]) -> None:
        """Keep appended events (and their execution's new last sequence number) to send later, together.

        They are sent with the next statement of the store's own (a savepoint, the end of the
        transition, the commit), with other writes held back, or before the events are read:
        nothing else reads them or an execution's ``last_seq`` from the database while the
        transaction holds its lock.
        """
        self._pending.append_events(events)

    def _before_statement(self) -> None:
        """Before a statement that writes: the savepoints it runs under, and the writes held back that it might read."""
        self._exposed = True
        if self._lazy:
            self._send_savepoints()
        if self._pending.has_table_writes():
            self._write_pending()

    def _before_read(self) -> None:
        """Before a read: the writes held back that it might read, and the savepoints those run under.

        A read changes nothing a savepoint would undo (the row locks it takes are kept until
        the commit), so savepoints not sent yet stay so unless writes made under them must
        go out first.
        """
        if not self._pending.has_table_writes():
            return
        if not self._lazy:
            self._write_pending()
        elif self._pending.has_table_writes_since(self._lazy[0][1]):
            self._send_savepoints()
            self._write_pending()
        else:
            self._write_pending(self._lazy[0][1])

    def _send_held_back(self) -> None:
        """Send every write held back (and the savepoints they were made under)."""
        if self._lazy:
            self._send_savepoints()
        if self._pending:
            self._write_pending()

    def _send_savepoints(self) -> None:
        """Send the savepoints not sent yet, each after the writes made before it."""
        while self._lazy:
            name, mark = self._lazy[0]
            self._write_pending(mark)
            self._open_block()  # savepoints exist in transaction blocks only
            self._control(f"SAVEPOINT {name}")
            del self._lazy[0]  # sent: rolling back to it is now the way to undo its block

    def _write_pending(self, until: int | None = None) -> None:
        if min(self._pending.mark(), until or self._pending.mark()) > self._start:
            self._exposed = True  # some of the running transition's writes go out
        for parts in self._pending.take(until):
            if parts:
                self._send_now(*statement(parts))

    def _drop_held_back(self) -> None:
        self._pending.clear()

    def _sending(self, sql: str) -> None:
        """Get ready to send ``sql`` and wait for its result (a read, or a statement answering rows)."""
        if sql.startswith("SELECT"):
            self._before_read()
        else:
            self._before_statement()
        TRAFFIC.statements += 1
        TRAFFIC.round_trips += 1

    def _one(self, sql: str, params: Sequence[Any] | None = None) -> Row | None:
        self._sending(sql)
        try:
            cur = self._cur.execute(sql, params)
            if self.reads_end_transactions:
                self._pipeline.sync()
            row = cur.fetchone()
        except psycopg.Error as exc:
            raise self._failed(exc) from exc
        self._unsettled = self._inherited = False  # reading a result collects all those before it
        return row

    def _all(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> list[Row]:
        self._sending(sql)
        try:
            cur = self._cur.execute(sql, params)
            if self.reads_end_transactions:
                self._pipeline.sync()
            rows = cur.fetchall()
        except psycopg.Error as exc:
            raise self._failed(exc) from exc
        self._unsettled = self._inherited = False
        return rows

    def _count(self, sql: str, params: Sequence[Any] | None = None) -> int:
        """Run a statement and return how many rows it changed."""
        self._before_statement()
        self._open_block()  # its Sync must not end the transaction
        TRAFFIC.statements += 1
        TRAFFIC.round_trips += 1
        try:
            self._cur.execute(sql, params)
            self._pipeline.sync()
        except psycopg.Error as exc:
            raise self._failed(exc) from exc
        self._unsettled = self._inherited = False
        return self._cur.rowcount

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:  # noqa: D102
        # Sent only once a statement is (see _send_savepoints): a block whose writes are all
        # held back until it ends needs none, and one that fails drops them instead.
        self._savepoints += 1
        name = f"nested{self._savepoints}"
        locked = set(self._locked)
        known = self.known.snapshot()
        entry = (name, self._pending.mark())
        self._lazy.append(entry)
        try:
            yield
        except BaseException:
            # Row locks taken after a savepoint are released when it is rolled back.
            self._locked = locked
            self.known.restore(known)
            self.deadlines = {}
            self._pending.drop_since(entry[1])  # made since the savepoint, which is rolled back
            if entry in self._lazy:
                self._lazy.remove(entry)  # never sent: nothing of the block reached the server
            else:
                self._control(f"ROLLBACK TO SAVEPOINT {name}")
                self._control(f"RELEASE SAVEPOINT {name}")
            raise
        else:
            if entry in self._lazy:
                self._lazy.remove(entry)
            else:
                # What the block held back is sent later, as part of the enclosing transaction.
                self._control(f"RELEASE SAVEPOINT {name}")
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

    def appended_from(self) -> dict[str, int]:  # noqa: D102
        return self.first_appended

    # executions and history
