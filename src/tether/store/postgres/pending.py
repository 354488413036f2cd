"""Writes a PostgreSQL transaction has made and not sent yet, sent together as one statement.

A transition writes the rows of the executions it holds locked: activities, queued attempts,
the workflow task, events. Nobody else changes those rows while the lock is held (see
:mod:`tether.store.postgres.transaction`), so nothing is lost by sending the writes later,
as long as they are sent before any other statement of the transaction (which might read
them) and in one go. Writes to one row are merged first (an activity inserted and then
started is one insert; an attempt queued and then taken is a delete), so that each row is
written at most once: then all of them can travel as the parts of one statement with
data-modifying ``WITH`` queries, which all run against the same snapshot and do not see
each other's changes.

Each write is logged in order; a savepoint marks the log (see :meth:`PendingWrites.mark`),
so that writes made after it can be dropped, or sent only after the savepoint itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from tether.model import payloads
from tether.store.rows import ActivityTaskRow

Part = tuple[str, list[Any]]
"""One statement (or one part of a statement with WITH queries) and its parameters."""


class WorkflowTask(NamedTuple):
    """A workflow_tasks row (all but its execution's id)."""

    workflow: str
    ready_at_ms: int
    leased_until_ms: int
    owner: str | None
    dirty: bool
    priority: int


WORKFLOW_TASK_COLUMNS = "workflow, ready_at_ms, leased_until_ms, owner, dirty, priority"


@dataclass(slots=True)
class _Activity:
    insert: bool
    values: dict[str, object]


@dataclass(slots=True)
class _Attempt:
    task: ActivityTaskRow | None
    """The attempt queued (replacing any other of the activity); None: deleted."""
    attempts: set[int] | None = None
    """With ``task`` None: the attempts deleted (None: whichever is queued)."""
    order: int = 0
    """Where in the log it was queued: attempts are queued (and numbered) in that order."""


@dataclass(slots=True)
class _Task:
    before: WorkflowTask | None
    after: WorkflowTask | None


class _Merged(NamedTuple):
    """The writes of one statement, each row's merged (see ``_merge``)."""

    activities: dict[tuple[str, int], _Activity]
    attempts: dict[tuple[str, int], _Attempt]
    tasks: dict[str, _Task]
    events: list[tuple[str, int, str, int, str]]
    executions: dict[str, dict[str, object]]
    timers: list[str]


class PendingWrites:
    """The log of writes not sent yet (see the module doc)."""

    def __init__(self) -> None:
        self._log: list[tuple[str, Any]] = []
        self._base = 0
        """How many writes were taken out of the log before its first entry."""

    def __bool__(self) -> bool:
        return bool(self._log)

    def mark(self) -> int:
        """A position in the log: the writes made from now on come after it."""
        return self._base + len(self._log)

    def drop_since(self, mark: int) -> None:
        """Forget the writes made since ``mark`` (they were rolled back); none of them was sent."""
        del self._log[max(0, mark - self._base) :]

    def clear(self) -> None:
        """Forget every write (the transaction is rolled back)."""
        self._base += len(self._log)
        self._log = []

    def has_table_writes(self) -> bool:
        """Whether writes other than events wait (events alone may wait for the transition's end)."""
        return any(kind != "events" for kind, _ in self._log)

    def has_table_writes_since(self, mark: int) -> bool:
        """Whether writes other than events were made since ``mark``."""
        return any(kind != "events" for kind, _ in self._log[max(0, mark - self._base) :])

    def events(self) -> list[tuple[str, int, str, int, str]]:
        """The events appended and not sent yet: (execution, seq, type, at_ms, data)."""
        return [row for kind, rows in self._log if kind == "events" for row in rows]

    # writes

    def insert_activity(self, key: tuple[str, int], values: dict[str, object]) -> None:
        """Insert an activity with these columns."""
        self._log.append(("activity", (key, True, values)))

    def update_activity(self, key: tuple[str, int], values: dict[str, object]) -> None:
        """Set columns of an activity."""
        self._log.append(("activity", (key, False, values)))

    def queue_attempt(self, task: ActivityTaskRow) -> None:
        """Queue an attempt, replacing any other of the same activity (it goes to the back of the queue)."""
        self._log.append(("attempt", ((task.execution_id, task.activity_id), task, None)))

    def delete_attempt(self, key: tuple[str, int], attempt: int | None) -> None:
        """Delete the queued attempt of an activity (only if it is ``attempt``, unless None)."""
        self._log.append(("attempt", (key, None, attempt)))

    def set_workflow_task(self, execution_id: str, before: WorkflowTask | None, after: WorkflowTask | None) -> None:
        """The execution's workflow task becomes ``after`` (None: no row)."""
        self._log.append(("task", (execution_id, before, after)))

    def update_execution(self, execution_id: str, values: dict[str, object]) -> None:
        """Set columns of an execution."""
        self._log.append(("execution", (execution_id, values)))

    def delete_timers(self, execution_id: str) -> None:
        """Delete every timer of an execution."""
        self._log.append(("timers", execution_id))

    def append_events(self, rows: list[tuple[str, int, str, int, str]]) -> None:
        """Insert events (their executions' ``last_seq`` becomes the last seq of each)."""
        self._log.append(("events", rows))

    # sending

    def take(self, until: int | None = None) -> list[list[Part]]:
        """Take the writes out of the log (those before the mark ``until``, if given) as statements.

        Each statement is a list of parts: writes to distinct rows, to send as one statement.
        """
        count = len(self._log) if until is None else max(0, until - self._base)
        log, self._log = self._log[:count], self._log[count:]
        self._base += count
        statements: list[list[Part]] = []
        while log:
            merged, log = _merge(log)
            statements.append(merged)
        return statements


def _merge(log: list[tuple[str, Any]]) -> tuple[list[Part], list[tuple[str, Any]]]:
    """The parts of one statement merging the longest head of ``log`` that merges; and the rest."""
    activities: dict[tuple[str, int], _Activity] = {}
    attempts: dict[tuple[str, int], _Attempt] = {}
    tasks: dict[str, _Task] = {}
    events: list[tuple[str, int, str, int, str]] = []
    executions: dict[str, dict[str, object]] = {}
    timers: dict[str, None] = {}
    for index, (kind, entry) in enumerate(log):
        if kind == "activity":
            key, insert, values = entry
            known = activities.get(key)
            if known is None:
                activities[key] = _Activity(insert, dict(values))
            elif insert:
                # A second insert: its own statement.
                return _parts(_Merged(activities, attempts, tasks, events, executions, list(timers))), log[index:]
            else:
                known.values.update(values)
        elif kind == "attempt":
            key, task, attempt = entry
            _merge_attempt(attempts, key, task, attempt, index)
        elif kind == "task":
            execution_id, before, after = entry
            known_task = tasks.get(execution_id)
            if known_task is None:
                tasks[execution_id] = _Task(before, after)
            else:
                known_task.after = after
        elif kind == "execution":
            execution_id, values = entry
            # One update of the row: with the last_seq of events appended before, if any.
            executions.setdefault(execution_id, _last_seq(events, execution_id)).update(values)
        elif kind == "timers":
            timers[entry] = None
        else:
            events.extend(entry)
            for row in entry:
                if row[0] in executions:
                    executions[row[0]]["last_seq"] = row[1]
    return _parts(_Merged(activities, attempts, tasks, events, executions, list(timers))), []


def _last_seq(events: list[tuple[str, int, str, int, str]], execution_id: str) -> dict[str, object]:
    seqs = [row[1] for row in events if row[0] == execution_id]
    return {"last_seq": seqs[-1]} if seqs else {}


def _merge_attempt(
    attempts: dict[tuple[str, int], _Attempt],
    key: tuple[str, int],
    task: ActivityTaskRow | None,
    attempt: int | None,
    order: int,
) -> None:
    known = attempts.get(key)
    if task is not None or known is None:
        attempts[key] = _Attempt(task, None if attempt is None else {attempt}, order)
    elif known.task is not None:
        if attempt is None or attempt == known.task.attempt:
            attempts[key] = _Attempt(None)  # queued here, then taken: whatever was queued before is gone too
    elif known.attempts is not None:
        known.attempts = None if attempt is None else known.attempts | {attempt}


def _parts(writes: _Merged) -> list[Part]:
    """The statements of the writes: a part per row for a few rows, a part per table for many (see ``MANY_ROWS``)."""
    rows = len(writes.activities) + len(writes.attempts) + len(writes.tasks) + len(writes.executions)
    return _json_parts(writes) if rows >= MANY_ROWS else _row_parts(writes)


MANY_ROWS = 16
"""Rows from which a batch's writes go a statement per table rather than per row.

A part per row costs the server least for each row (no JSON to read, each row found by its key
directly), and the few texts a few rows make are kept parsed and prepared like any other; the
texts of many rows are not, and their parameters are dumped one by one. Measured: heartbeats in
batches of eight, and a chain's single steps, are cheaper a part per row; 500 workflows started
at once, in batches of dozens, far cheaper a part per table.
"""


def _row_parts(writes: _Merged) -> list[Part]:
    """The statements of the writes, one per row written, and the events in one JSON parameter.

    No array parameters: psycopg dumps a list in Python, item by item, at many times a scalar's
    cost (and in text escapes each quote of the events' JSON). Events as arrays of their columns
    made a W4 step a fifth more instructions.
    """
    activities, attempts, tasks, events, executions, timers = writes
    parts: list[Part] = []
    for execution_id in timers:
        parts.append(("DELETE FROM timers WHERE execution_id = %s", [execution_id]))
    for execution_id, values in executions.items():
        assignments = ", ".join(f"{name} = %s" for name in values)
        parts.append((f"UPDATE executions SET {assignments} WHERE id = %s", [*values.values(), execution_id]))
    for (execution_id, activity_id), activity in activities.items():
        names = list(activity.values)
        if activity.insert:
            parts.append(
                (
                    f"INSERT INTO activities ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})",
                    list(activity.values.values()),
                )
            )
        else:
            assignments = ", ".join(f"{name} = %s" for name in names)
            parts.append(
                (
                    f"UPDATE activities SET {assignments} WHERE execution_id = %s AND activity_id = %s",
                    [*activity.values.values(), execution_id, activity_id],
                )
            )
    queue = sorted((a.order, a.task) for a in attempts.values() if a.task is not None)
    if queue:
        # One row each, in the order they were queued: the ids they are given keep it.
        parts.append(
            (
                "INSERT INTO activity_tasks (execution_id, activity_id, attempt, name, priority) "
                f"VALUES {', '.join(['(%s,%s,%s,%s,%s)'] * len(queue))} "
                "ON CONFLICT (execution_id, activity_id) DO UPDATE SET "
                "id = nextval('activity_tasks_id_seq'), attempt = excluded.attempt, name = excluded.name, "
                "priority = excluded.priority",
                [v for _, t in queue for v in (t.execution_id, t.activity_id, t.attempt, t.name, t.priority)],
            )
        )
    for (execution_id, activity_id), queued in attempts.items():
        if queued.task is not None:
            continue
        if queued.attempts is None:
            parts.append(
                (
                    "DELETE FROM activity_tasks WHERE execution_id = %s AND activity_id = %s",
                    [execution_id, activity_id],
                )
            )
        else:
            parts.append(
                (
                    "DELETE FROM activity_tasks WHERE execution_id = %s AND activity_id = %s AND attempt = ANY(%s)",
                    [execution_id, activity_id, sorted(queued.attempts)],
                )
            )
    for execution_id, task_change in tasks.items():
        after = task_change.after
        if after == task_change.before:
            continue  # e.g. queued, claimed and finished in one transaction
        if after is None:
            parts.append(("DELETE FROM workflow_tasks WHERE execution_id = %s", [execution_id]))
        else:
            parts.append(
                (
                    f"INSERT INTO workflow_tasks (execution_id, {WORKFLOW_TASK_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s) "
                    "ON CONFLICT (execution_id) DO UPDATE SET workflow = excluded.workflow, "
                    "ready_at_ms = excluded.ready_at_ms, leased_until_ms = excluded.leased_until_ms, "
                    "owner = excluded.owner, dirty = excluded.dirty, priority = excluded.priority",
                    [execution_id, *after],
                )
            )
    if events:
        # Executions updated above have their last_seq set there: a row is written once.
        last_seqs = {row[0]: row[1] for row in events if row[0] not in executions}
        for execution_id, last_seq in last_seqs.items():  # a part each: no array for psycopg to dump in Python
            parts.append(("UPDATE executions SET last_seq = %s WHERE id = %s", [last_seq, execution_id]))
        parts.append(_events_part(events))
    return parts


def _json_parts(writes: _Merged) -> list[Part]:
    """The statements of the writes, one per table and kind of write, each row of it in one JSON parameter.

    A statement's text then depends on which tables are written and which columns, not on how
    many rows: the statement of a large batch's writes repeats, so psycopg keeps it parsed and
    the server prepared, and no array is dumped parameter by parameter.
    """
    activities, attempts, tasks, events, executions, timers = writes
    parts: list[Part] = []
    if timers:
        parts.append(("DELETE FROM timers WHERE execution_id = ANY(%s)", [timers]))
    for names, rows in _by_columns([((e,), values) for e, values in executions.items()], ("id",)).items():
        parts.append(_update("executions", ("id",), names, rows))
    inserts = [((), a.values) for a in activities.values() if a.insert]  # the values hold the key
    for names, rows in _by_columns(inserts, ()).items():
        columns = ", ".join(names)
        parts.append(
            (f"INSERT INTO activities ({columns}) SELECT {columns} FROM {_ROWS.format('activities')}", [_json(rows)])
        )
    updates = [(key, a.values) for key, a in activities.items() if not a.insert]
    for names, rows in _by_columns(updates, ("execution_id", "activity_id")).items():
        parts.append(_update("activities", ("execution_id", "activity_id"), names, rows))
    queue = sorted((a.order, a.task) for a in attempts.values() if a.task is not None)
    if queue:
        # In the order they were queued: the ids they are given keep it.
        rows = [
            {
                "execution_id": t.execution_id,
                "activity_id": t.activity_id,
                "attempt": t.attempt,
                "name": t.name,
                "priority": t.priority,
            }
            for _, t in queue
        ]
        parts.append((_QUEUE, [_json(rows)]))
    whole = [
        {"execution_id": e, "activity_id": a} for (e, a), q in attempts.items() if q.task is None and q.attempts is None
    ]
    if whole:
        parts.append((_DEQUEUE, _keyed(whole, _ATTEMPT_KEY)))
    some = [
        {"execution_id": e, "activity_id": a, "attempt": attempt}
        for (e, a), q in attempts.items()
        if q.task is None and q.attempts is not None
        for attempt in sorted(q.attempts)
    ]
    if some:
        parts.append((_DEQUEUE + " AND t.attempt = v.attempt", _keyed(some, _ATTEMPT_KEY)))
    changed = {e: change.after for e, change in tasks.items() if change.after != change.before}
    gone = [e for e, after in changed.items() if after is None]
    if gone:
        parts.append(("DELETE FROM workflow_tasks WHERE execution_id = ANY(%s)", [gone]))
    kept = [{"execution_id": e, **after._asdict()} for e, after in changed.items() if after is not None]
    if kept:
        parts.append((_TASKS, [_json(kept)]))
    if events:
        # Executions updated above have their last_seq set there: a row is written once.
        last_seqs = {row[0]: row[1] for row in events if row[0] not in executions}
        if last_seqs:
            parts.append(
                _update("executions", ("id",), ("last_seq",), [{"id": e, "last_seq": q} for e, q in last_seqs.items()])
            )
        parts.append(_events_part(events))
    return parts


_ROWS = "json_populate_recordset(NULL::{0}, %s::json) AS v"
"""The rows of a JSON parameter (a list of objects by column name), as rows of ``{0}``: absent columns are NULL."""
_EVENTS = (
    "INSERT INTO events (execution_id, seq, type, at_ms, data) "
    f"SELECT v.execution_id, v.seq, v.type, v.at_ms, v.data FROM {_ROWS.format('events')}"
)
_QUEUE = (
    "INSERT INTO activity_tasks (execution_id, activity_id, attempt, name, priority) "
    "SELECT v.execution_id, v.activity_id, v.attempt, v.name, v.priority "
    "FROM json_populate_recordset(NULL::activity_tasks, %s::json) WITH ORDINALITY AS v ORDER BY v.ordinality "
    "ON CONFLICT (execution_id, activity_id) DO UPDATE SET "
    "id = nextval('activity_tasks_id_seq'), attempt = excluded.attempt, name = excluded.name, "
    "priority = excluded.priority"
)
_ATTEMPT_KEY = ("execution_id", "activity_id")
_TASKS = (
    f"INSERT INTO workflow_tasks (execution_id, {WORKFLOW_TASK_COLUMNS}) "
    f"SELECT v.execution_id, {', '.join(f'v.{c}' for c in WORKFLOW_TASK_COLUMNS.split(', '))} "
    f"FROM {_ROWS.format('workflow_tasks')} "
    "ON CONFLICT (execution_id) DO UPDATE SET workflow = excluded.workflow, "
    "ready_at_ms = excluded.ready_at_ms, leased_until_ms = excluded.leased_until_ms, "
    "owner = excluded.owner, dirty = excluded.dirty, priority = excluded.priority"
)


def _events_part(events: list[tuple[str, int, str, int, str]]) -> Part:
    """The events' insert, every row in one JSON parameter (in both ways of writing a batch)."""
    rows = [{"execution_id": e, "seq": q, "type": t, "at_ms": at, "data": d} for e, q, t, at, d in events]
    return _EVENTS, [_json(rows)]


def _by_columns(
    writes: list[tuple[tuple[Any, ...], dict[str, object]]], key: tuple[str, ...]
) -> dict[tuple[str, ...], list[dict[str, object]]]:
    """Rows to write (the values of ``key`` and those set), grouped by the columns each sets (in name order)."""
    groups: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for ids, values in writes:
        names = tuple(sorted(values))
        groups.setdefault(names, []).append({**dict(zip(key, ids, strict=True)), **values})
    return groups


def _update(table: str, key: tuple[str, ...], names: tuple[str, ...], rows: list[dict[str, object]]) -> Part:
    """An update of ``table`` setting ``names`` in each row (found by its ``key`` columns) to the row's values."""
    assignments = ", ".join(f"{name} = v.{name}" for name in names)
    return f"UPDATE {table} t SET {assignments} FROM {_ROWS.format(table)} WHERE {_by_key(key)}", _keyed(rows, key)


def _by_key(key: tuple[str, ...]) -> str:
    """Rows of ``t`` joined to the JSON rows ``v`` by ``key``, found by their index.

    The planner cannot tell how many rows a JSON parameter holds (it guesses 100): joined by the
    key alone, it may scan the whole table. The key's values, also given as arrays, let it look
    each row up by the index of the key.
    """
    return " AND ".join(f"t.{column} = v.{column} AND t.{column} = ANY(%s)" for column in key)


def _keyed(rows: list[dict[str, object]], key: tuple[str, ...]) -> list[Any]:
    """The parameters of a statement on ``rows`` matched by :func:`_by_key`: the rows, then each key column's values."""
    return [_json(rows), *(sorted({row[column] for row in rows}) for column in key)]  # type: ignore[type-var]


def _json(rows: list[dict[str, object]]) -> str:
    # pydantic's encoder: the same JSON values as json.dumps, in a fifth of its instructions.
    return payloads.json_text(rows)


def statement(parts: list[Part]) -> Part:
    """One statement doing all the parts (each its own WITH query, but the last)."""
    if len(parts) == 1:
        return parts[0]
    head = ", ".join(f"w{i} AS ({sql})" for i, (sql, _) in enumerate(parts[:-1]))
    params = [param for _, part_params in parts for param in part_params]
    return f"WITH {head} {parts[-1][0]}", params


_DEQUEUE = f"DELETE FROM activity_tasks t USING {_ROWS.format('activity_tasks')} WHERE {_by_key(_ATTEMPT_KEY)}"
