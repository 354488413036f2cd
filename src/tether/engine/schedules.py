"""Schedules: executions started at the times of a cron expression, each occurrence once, as transitions.

A schedule is a row holding its next occurrence due (``next_fire_at_ms``). Workers fire
due occurrences (``fire_due``): in one transition each due schedule's row is claimed
(locked on PostgreSQL, passed over if another worker holds it), its executions started and
its next occurrence moved on, so an occurrence fires once however many workers look.

An occurrence's execution id is derived from the schedule and the occurrence's time
(``<schedule>-2026-03-09T08:00:00Z``, in UTC): starting it twice gives one execution.
A trigger (``trigger``) starts ``<schedule>-<time to the millisecond>Z`` at once, whatever
the cron expression, the overlap policy or a pause say: it is a person's explicit request.

Overlap (while the execution started last still runs): ``skip`` records the occurrence as
skipped; ``buffer_one`` holds it back and starts it once that execution closes (one held at
most: later ones are skipped meanwhile); ``allow`` starts it anyway.

Catch-up, for occurrences that fell due while no worker ran: ``one`` (the default) fires the
latest of them only; ``all`` fires each, oldest first (:data:`CATCH_UP_BATCH` per pass);
``none`` fires only an occurrence less than :data:`GRACE_MS` late. A pause is not downtime:
unpausing moves the next occurrence to the first one after now, and nothing missed while
paused fires.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import UTC, datetime
from typing import Any

from tether.engine import runs, schedule_times, starting, workflows
from tether.errors import (
    ExecutionIdTaken,
    ExecutionNotFound,
    InvalidPayload,
    PermissionDenied,
    ScheduleAlreadyExists,
    ScheduleNotFound,
)
from tether.model.access import Access, Action
from tether.model.records import WorkflowStatus
from tether.model.schedules import CatchUp, Overlap, ScheduleFire, ScheduleInfo
from tether.store.base import Transaction
from tether.store.schedule_columns import ScheduleFireRow, ScheduleRow

logger = logging.getLogger(__name__)

GRACE_MS = 60_000
"""How late an occurrence may be and still count as on time (catch-up ``none`` fires it)."""
CATCH_UP_BATCH = 100
"""Occurrences of one schedule a pass fires at most (catch-up ``all``); the next pass goes on."""
CLAIM_LIMIT = 64
"""Schedules one pass handles at most; the loop runs another pass at once when it had work."""
RECENT_FIRES = 20
"""The fires ``describe`` shows."""
ID_LIMIT = starting.NAME_LIMIT - 32
"""The longest schedule id: room is left for the time its executions' ids add."""

_RUNNING = WorkflowStatus.RUNNING.value
STARTED, SKIPPED, BUFFERED = "started", "skipped", "buffered"


def check_id(schedule_id: str) -> None:
    """Refuse a schedule id that could not name its executions or sit in a URL path.

    Raises:
        InvalidPayload: empty, too long, holding control characters or '/'.
    """
    starting.check_name(schedule_id, "id")
    problem = None
    if len(schedule_id) > ID_LIMIT:
        problem = f"must have at most {ID_LIMIT} characters"
    elif "/" in schedule_id:
        problem = "must not hold '/'"
    if problem is not None:
        raise InvalidPayload(f"the schedule id {problem}", errors=[{"loc": ["id"], "msg": problem}])


def policies(overlap: str, catch_up: str) -> tuple[Overlap, CatchUp]:
    """The overlap and catch-up policies these names give.

    Raises:
        InvalidPayload: a name that is not one of them.
    """
    try:
        chosen_overlap = Overlap(overlap)
    except ValueError:
        raise _invalid("overlap", f"overlap must be one of {[o.value for o in Overlap]}, not {overlap!r}") from None
    try:
        chosen_catch_up = CatchUp(catch_up)
    except ValueError:
        raise _invalid("catch_up", f"catch_up must be one of {[c.value for c in CatchUp]}, not {catch_up!r}") from None
    return chosen_overlap, chosen_catch_up


def create(tx: Transaction, row: ScheduleRow, access: Access | None) -> ScheduleInfo:
    """Make a schedule (its definition checked by the caller); its first occurrence is the first after now.

    Raises:
        PermissionDenied: ``access`` may not start executions of its workflow.
        ScheduleAlreadyExists: the id is taken; nothing changed.
    """
    if access is not None:
        access.require(Action.START_WORKFLOWS, row.workflow)
    if not tx.insert_schedule(row):
        raise ScheduleAlreadyExists(row.schedule_id)
    return info(row)


def find(tx: Transaction, schedule_id: str, access: Access | None, action: Action) -> ScheduleRow:
    """A schedule, once ``access`` may do ``action`` to executions of its workflow.

    Raises:
        ScheduleNotFound: no schedule has this id.
        PermissionDenied: ``access`` may not.
    """
    row = tx.get_schedule(schedule_id)
    if row is None:
        raise ScheduleNotFound(schedule_id)
    if access is not None and not access.allows(action, row.workflow):
        if not access.allows(Action.READ_WORKFLOWS, row.workflow):
            # The caller named the schedule, not its workflow: a workflow it may not read stays unnamed.
            who = f"API key {access.key_name!r}" if access.key_name else "this API key"
            raise PermissionDenied(f"{who} has no {action.value} scope for this schedule", action=action.value)
        access.require(action, row.workflow)
    return row


def describe(tx: Transaction, schedule_id: str, access: Access | None) -> ScheduleInfo:
    """A schedule with its latest fires, newest first."""
    row = find(tx, schedule_id, access, Action.READ_WORKFLOWS)
    return info(row, tx.schedule_fires(schedule_id, RECENT_FIRES))


def pause(tx: Transaction, schedule_id: str, access: Access | None, now_ms: int) -> ScheduleInfo:
    """Stop firing a schedule until it is unpaused (pausing a paused one changes nothing)."""
    row = find(tx, schedule_id, access, Action.WRITE_WORKFLOWS)
    if row.paused:
        return info(row)
    tx.update_schedule(schedule_id, paused=True, updated_at_ms=now_ms)
    return info(_with(row, paused=True, updated_at_ms=now_ms))


def unpause(tx: Transaction, schedule_id: str, access: Access | None, now_ms: int) -> ScheduleInfo:
    """Fire a paused schedule again, from its first occurrence after now: none missed while paused fires."""
    row = find(tx, schedule_id, access, Action.WRITE_WORKFLOWS)
    if not row.paused:
        return info(row)
    next_ms = schedule_times.next_after(row.cron, row.timezone, now_ms)
    tx.update_schedule(schedule_id, paused=False, next_fire_at_ms=next_ms, updated_at_ms=now_ms)
    return info(_with(row, paused=False, next_fire_at_ms=next_ms, updated_at_ms=now_ms))


def delete(tx: Transaction, schedule_id: str, access: Access | None) -> None:
    """Remove a schedule: it fires no more; the executions it started are left as they are."""
    find(tx, schedule_id, access, Action.WRITE_WORKFLOWS)
    tx.delete_schedule(schedule_id)


def trigger(tx: Transaction, schedule_id: str, access: Access | None, now_ms: int) -> str:
    """Start the schedule's workflow now, whatever its cron expression, overlap policy or pause; its id.

    Raises:
        ScheduleNotFound: no schedule has this id.
        PermissionDenied: ``access`` may not start executions of its workflow.
        ExecutionIdTaken: an execution of another workflow holds the id (started by hand).
    """
    row = find(tx, schedule_id, access, Action.START_WORKFLOWS)
    execution_id = execution_id_of(schedule_id, now_ms, manual=True)
    workflows.start(tx, execution_id, row.workflow, row.args, now_ms)
    tx.update_schedule(schedule_id, last_execution_id=execution_id)
    tx.insert_schedule_fire(ScheduleFireRow(schedule_id, now_ms, now_ms, STARTED, execution_id, manual=True))
    return execution_id


def fire_due(tx: Transaction, now_ms: int) -> int:
    """Fire the occurrences due by ``now_ms`` of the schedules no other worker holds; how many were handled.

    Held-back occurrences (``buffer_one``) whose running execution closed start too.
    """
    handled = 0
    for row in tx.claim_due_schedules(now_ms, CLAIM_LIMIT):
        handled += _fire(tx, row, now_ms)
    return handled


def execution_id_of(schedule_id: str, at_ms: int, *, manual: bool = False) -> str:
    """The id of the execution an occurrence at ``at_ms`` starts: ``<schedule>-<UTC time>Z``.

    A trigger's time has milliseconds, so that it never names the execution of a cron occurrence.
    """
    moment = datetime.fromtimestamp(at_ms / 1000, UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if manual:
        text += f".{at_ms % 1000:03d}"
    return f"{schedule_id}-{text}Z"


def _fire(tx: Transaction, row: ScheduleRow, now_ms: int) -> int:
    handled = 0
    last = row.last_execution_id
    buffered = row.buffered_at_ms
    if buffered is not None and not _runs(tx, last):
        started = _start(tx, row, buffered, now_ms)
        outcome = SKIPPED if started is None else STARTED
        tx.insert_schedule_fire(
            ScheduleFireRow(
                row.schedule_id, buffered, now_ms, outcome, execution_id_of(row.schedule_id, buffered), False
            )
        )
        last, buffered = started or last, None
        handled += 1
    next_ms = row.next_fire_at_ms
    if next_ms is not None and next_ms <= now_ms:
        for nominal, on_time in _due(row, next_ms, now_ms):
            handled += 1
            outcome = SKIPPED  # catch-up "none" passes over a missed one; overlap "skip" over a running one
            if on_time and (row.overlap == Overlap.ALLOW or not _runs(tx, last)):
                started = _start(tx, row, nominal, now_ms)
                if started is not None:
                    outcome, last = STARTED, started
            elif on_time and row.overlap == Overlap.BUFFER_ONE and buffered is None:
                outcome, buffered = BUFFERED, nominal
            execution_id = execution_id_of(row.schedule_id, nominal)
            tx.insert_schedule_fire(ScheduleFireRow(row.schedule_id, nominal, now_ms, outcome, execution_id, False))
            next_ms = nominal
        next_ms = schedule_times.next_after(row.cron, row.timezone, next_ms)
    if not handled:
        return 0  # a held-back occurrence whose execution still runs: nothing to write (a write wakes the loops)
    tx.update_schedule(
        row.schedule_id, next_fire_at_ms=next_ms, last_execution_id=last, buffered_at_ms=buffered, updated_at_ms=now_ms
    )
    return handled


def _due(row: ScheduleRow, first_ms: int, now_ms: int) -> list[tuple[int, bool]]:
    """The occurrences to handle now, oldest first, each with whether it may start (False: skipped, missed)."""
    latest = schedule_times.latest_at_or_before(row.cron, row.timezone, now_ms)
    if latest is None or latest < first_ms:
        latest = first_ms
    if row.catch_up == CatchUp.ALL:
        due = [first_ms]
        while len(due) < CATCH_UP_BATCH:
            following = schedule_times.next_after(row.cron, row.timezone, due[-1])
            if following is None or following > now_ms:
                break
            due.append(following)
        return [(at, True) for at in due]
    if row.catch_up == CatchUp.NONE:
        return [(latest, now_ms - latest < GRACE_MS)]
    return [(latest, True)]


def _start(tx: Transaction, row: ScheduleRow, nominal_ms: int, now_ms: int) -> str | None:
    """Start the execution of an occurrence; its id, or None if an execution of another workflow holds it."""
    execution_id = execution_id_of(row.schedule_id, nominal_ms)
    try:
        with tx.savepoint():
            workflows.start(tx, execution_id, row.workflow, row.args, now_ms)
    except ExecutionIdTaken:
        logger.warning(
            "schedule %s skipped an occurrence: execution %s belongs to another workflow",
            row.schedule_id, execution_id, extra={"schedule_id": row.schedule_id, "execution_id": execution_id},
        )  # fmt: skip
        return None
    return execution_id


def _runs(tx: Transaction, execution_id: str | None) -> bool:
    """Whether the execution (its chain's latest run, if it continued) is still running."""
    return execution_id is not None and running_run(tx, execution_id) is not None


def running_run(tx: Transaction, execution_id: str) -> str | None:
    """The id of the execution's current run if it is running (the chain's latest, if it continued)."""
    try:
        run = runs.current_run(tx, execution_id)
    except ExecutionNotFound:
        return None  # deleted
    return run.id if run.status == _RUNNING else None


def info(row: ScheduleRow, fires: list[ScheduleFireRow] | None = None) -> ScheduleInfo:
    """How a schedule reads back to callers."""
    return ScheduleInfo(
        schedule_id=row.schedule_id,
        workflow=row.workflow,
        args=json.loads(row.args),
        cron=row.cron,
        timezone=row.timezone,
        overlap=Overlap(row.overlap),
        catch_up=CatchUp(row.catch_up),
        paused=row.paused,
        next_fire_at=_time(row.next_fire_at_ms),
        last_execution_id=row.last_execution_id,
        buffered_at=_time(row.buffered_at_ms),
        created_at=_at(row.created_at_ms),
        updated_at=_at(row.updated_at_ms),
        recent=[
            ScheduleFire(_at(f.nominal_at_ms), _at(f.fired_at_ms), f.outcome, f.execution_id, f.manual)
            for f in fires or ()
        ],
    )


def _with(row: ScheduleRow, **changes: Any) -> ScheduleRow:
    return dataclasses.replace(row, **changes)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _time(ms: int | None) -> datetime | None:
    return None if ms is None else _at(ms)


def _invalid(field: str, problem: str) -> InvalidPayload:
    return InvalidPayload(problem, errors=[{"loc": [field], "msg": problem}])
