"""Locks on executions and what a transition reads behind them, in the round trip that takes them.

A writing transition locks an execution's row before it reads or writes anything of that
execution (see :mod:`tether.store.postgres.transaction`). Each way of taking locks here
reads, in the same round trip and behind the locks, what the transitions holding them need
next: one execution as a transition first touches it, the attempts or workflow tasks a
claim took, or all the executions a batch's transitions said they touch.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import psycopg

from tether.model import payloads
from tether.store.base import Touches
from tether.store.postgres.held import (
    ACTIVITY_AT,
    BEHIND_LOCK,
    BEHIND_LOCK_EVENTS,
    CLAIMED_BEHIND,
    EXECUTION_COLUMNS,
    LINK_AT,
    LOCK_AHEAD,
    READ_AHEAD,
    TASK_AT,
    TOLD_AT,
    WITH_ACTIVITY,
    WITH_ACTIVITY_EVENTS,
    WITH_NOTICED_ACTIVITY,
    WITH_NOTICED_ACTIVITY_EVENTS,
    Row,
    with_open_activities,
)
from tether.store.postgres.pending import WorkflowTask
from tether.store.postgres.statements import PostgresStatements
from tether.store.postgres.traffic import TRAFFIC
from tether.store.rows import LinkRow

_EXECUTION_WIDTH = len(EXECUTION_COLUMNS.split(", "))
_LOCK_ONE = f"SELECT {EXECUTION_COLUMNS} FROM executions WHERE id = %s FOR UPDATE"
_with_open_activities = functools.cache(with_open_activities)


class PostgresLocks(PostgresStatements):
    """Taking the locks of executions, and learning what is read behind them (see :class:`HeldRows`)."""

    def _lock(self, execution_id: str) -> None:
        """Lock an execution's row before touching anything of that execution (see the module doc).

        The row read with the lock is kept: reads of it in this transaction need no round trip.
        """
        if not self.locking or execution_id in self._locked or execution_id in self._held:
            return
        self._lock_and_read(execution_id)

    def _lock_and_read(self, execution_id: str, activity_id: int | None = None) -> tuple[Row | None, Row | None]:
        """Lock an execution's row and, behind the lock in the same round trip, read what a transition needs of it.

        Returns the execution's row and, if ``activity_id`` is given, that activity's. Every
        transition that writes checks the workflow deadline of what it locks, and most finish
        or queue its workflow task: both are read here, in the same statement as the activity,
        at no round trip of their own.

        Under READ COMMITTED each statement reads from a snapshot taken when it starts. The
        read is a statement of its own, which the server starts only once the lock is held,
        so it sees everything committed before the lock was granted. (One statement that
        locks a row and joins another re-checks only the locked row after waiting: the
        joined one would come from before the wait.) The events the transition said it
        expects (see ``expect_events``) are read the same way, in the same round trip, and so
        are the execution's open activities and whether the activity's waiting was announced
        when its transition said it reads them (see :meth:`expect_reads`).
        """
        self._before_read()
        after = self._expected.pop(execution_id, None)
        params: list[object] = [execution_id, execution_id, execution_id]
        if activity_id is not None:
            params += [execution_id, activity_id]
        noticed = activity_id is not None and (execution_id, activity_id) in self._notice_expected
        if activity_id is None:
            sql = BEHIND_LOCK if after is None else BEHIND_LOCK_EVENTS
        elif noticed:
            self._notice_expected.discard((execution_id, activity_id))
            sql = WITH_NOTICED_ACTIVITY if after is None else WITH_NOTICED_ACTIVITY_EVENTS
        else:
            sql = WITH_ACTIVITY if after is None else WITH_ACTIVITY_EVENTS
        reads_open = execution_id in self._open_expected
        if reads_open:
            self._open_expected.discard(execution_id)
            sql = _with_open_activities(sql)
            params = [execution_id, *params]
        if after is not None:
            params = [execution_id, after, *params]
        rows, (behind,) = self._lock_then_read(_LOCK_ONE, (execution_id,), sql, params)  # one row behind, always
        if not rows:
            return None, None
        locked = rows[0]
        if reads_open:
            open_rows, behind = behind[-1], behind[:-1]
        if after is not None:
            events, behind = behind[-1], behind[:-1]
            self._learn_behind(execution_id, locked, behind)
            self.known.learn_events(execution_id, after, events or [])
        else:
            self._learn_behind(execution_id, locked, behind)
        if reads_open:
            self.known.learn_open_activities(execution_id, open_rows or [])
        if activity_id is None or behind[ACTIVITY_AT] is None:
            return locked, None
        if noticed:
            self.known.learn_told_waiting(execution_id, activity_id, bool(behind[TOLD_AT]))
        return locked, behind[ACTIVITY_AT:]

    def _lock_then_read(
        self, lock: str, lock_params: Sequence[Any], read: str, read_params: Sequence[Any] | None
    ) -> tuple[list[Row], list[Row]]:
        """Send a statement that takes locks and a read behind them, and wait once for both; the rows of each.

        The read is a statement of its own, which the server starts once the locks are held
        (see :meth:`_lock_and_read`).
        """
        TRAFFIC.statements += 2
        TRAFFIC.round_trips += 1
        try:
            self._locker.execute(lock, lock_params)
            self._cur.execute(read, read_params)
            locked = self._locker.fetchall()
            behind = self._cur.fetchall()
        except psycopg.Error as exc:
            raise self._failed(exc) from exc
        self._unsettled = self._inherited = False
        return locked, behind

    def _learn_behind(self, execution_id: str, locked: Row, behind: Row) -> None:
        """Keep an execution this transaction locked, and what was read of it behind the lock (see BEHIND_LOCK)."""
        self._locked.add(execution_id)
        self.known.learn_execution(locked)
        self.deadlines[execution_id] = None if behind[0] is None else int(behind[0])
        if behind[TASK_AT] is None:
            self.known.learn_workflow_task(execution_id, None)
        else:
            self.known.learn_workflow_task(execution_id, WorkflowTask(*behind[TASK_AT + 1 : LINK_AT]))
        link = behind[LINK_AT:TOLD_AT]
        self.known.learn_link(execution_id, None if link[0] is None else LinkRow(*link))

    def _claim_and_read(self, claim: str, params: Sequence[Any]) -> list[Row]:
        """Run a claim that locks executions and names what it claimed in ``tether.claimed``; read behind its locks.

        The claim (a statement locking rows ``FOR UPDATE ... SKIP LOCKED``) records the
        (execution, activity or NULL) pairs it claimed in the transaction's setting ``tether.claimed``;
        the read (:data:`CLAIMED_BEHIND`) is a statement of its own, sent in the same round trip,
        which the server starts once the claim finished and its locks are held: it sees
        everything committed before them (see :meth:`_lock_and_read`). Each claimed
        execution not held yet is learnt with its activity. Returns the claim's rows.
        """
        self._before_statement()
        claimed, behind = self._lock_then_read(claim, params, CLAIMED_BEHIND, None)
        width = _EXECUTION_WIDTH
        for row in behind:
            execution_id = row[0]
            if execution_id in self._locked or execution_id in self._held:
                continue  # already known as this transaction left it
            self._learn_behind(execution_id, row[:width], row[width:])
        for row in behind:
            activity = row[width + TOLD_AT :]  # a claim's read says nothing of notices: the activity follows the link
            if activity[0] is not None and self.known.activity(activity[0], activity[1]) is None:
                self.known.learn_activity(activity)
        return claimed

    def expect_reads(self, touched: Sequence[Touches]) -> None:
        """Read with the lock each takes what the transitions of ``touched`` said they will likely read of it.

        The open activities of executions, and whether activities' waiting was announced. For
        transitions whose locks are not taken ahead (see :meth:`lock_ahead`, which reads both itself).
        """
        self._open_expected = {touches.execution_id for touches in touched if touches.reads_open_activities}
        self._notice_expected = {
            (touches.execution_id, touches.activity_id)
            for touches in touched
            if touches.reads_waiting_notice and touches.activity_id is not None
        }

    def lock_ahead(self, touched: Sequence[Touches]) -> None:
        """Lock the executions of ``touched`` and read what their transitions need behind the locks, in one round trip.

        Called at the start of a batch's transaction, before its first transition: the locks
        are the batch's (see :meth:`keep_locks`), and what is read is known to all of its
        transitions. Executions that do not exist are left for their transitions to find so.
        """
        pairs: dict[tuple[str, int | None], None] = {}  # in order, once each
        after: dict[str, int] = {}
        open_read: set[str] = set()
        for touches in touched:
            execution_id, events_after = touches.execution_id, touches.events_after
            pairs[execution_id, touches.activity_id] = None
            if events_after is not None:
                after[execution_id] = min(events_after, after.get(execution_id, events_after))
            if touches.reads_open_activities:
                open_read.add(execution_id)
        locks = sorted({execution_id for execution_id, _ in pairs})
        # The events and the open activities are read once for an execution, with its first pair.
        claimed = [{"e": e, "a": a, "s": after.pop(e, None), "o": _once(open_read, e)} for e, a in pairs]
        self._before_read()
        _, behind = self._lock_then_read(LOCK_AHEAD, (locks,), READ_AHEAD, (payloads.json_text(claimed),))
        width = _EXECUTION_WIDTH
        activity_at = width + ACTIVITY_AT
        for row in behind:
            execution_id = row[0]
            if execution_id not in self._locked:
                self._learn_behind(execution_id, row[:width], row[width:])
            activity = row[activity_at:-4]
            if activity[0] is not None:
                self.known.learn_activity(activity)
                self.known.learn_told_waiting(activity[0], activity[1], bool(row[activity_at - 1]))
            if row[-4] is not None:
                self.known.learn_events(execution_id, int(row[-4]), row[-3] or [])
            if row[-2]:
                self.known.learn_open_activities(execution_id, row[-1] or [])
        self.keep_locks()

    def _holds(self, execution_id: str) -> bool:
        return execution_id in self._locked or execution_id in self._held


def _once(executions: set[str], execution_id: str) -> bool:
    """Whether ``execution_id`` is in ``executions``, taking it out."""
    if execution_id in executions:
        executions.discard(execution_id)
        return True
    return False
