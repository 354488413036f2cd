"""PostgreSQL rows: their columns, and what a transaction knows of the executions it holds locked.

A writing transition locks an execution's row before it reads or writes anything of that
execution, and every writer takes that lock first (see :mod:`tether.store.postgres.transaction`).
So while the database transaction holds the lock, nobody else changes the execution, its
activities, its history or its queued attempts: what this transaction read of them, or
wrote to them, is exactly what the database holds. Reads of rows known here are answered
without a round trip; writes update the copy here as their statements are sent.

A savepoint or a transition that is rolled back restores what was known before it (see
:meth:`HeldRows.snapshot`); a new database transaction starts knowing nothing.
"""

from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass
from typing import Any, NamedTuple

from tether.model import notifications, payloads
from tether.model.events import Event, EventType
from tether.store.postgres.pending import WORKFLOW_TASK_COLUMNS, WorkflowTask
from tether.store.rows import ActivityRow, ExecutionRow, LinkRow

Row = tuple[Any, ...]

EXECUTION_COLUMNS = (
    "id, workflow, status, input, result, error, created_at_ms, closed_at_ms, cancel_requested, task_error, last_seq, "
    "priority"
)
ACTIVITY_COLUMNS = (
    "execution_id, activity_id, name, state, attempt, args, options, scheduled_at_ms, "
    "attempt_started_at_ms, last_heartbeat_at_ms, heartbeat_details, checkpoint, last_failure, "
    "cancel_requested, watch_heartbeats, result, closed_at_ms"
)
TIMER_COLUMNS = "execution_id, kind, ref, attempt, due_at_ms"
API_KEY_COLUMNS = "key_id, name, secret_hash, scopes, created_at_ms, revoked_at_ms, sigv4_secret"
API_KEY_BY_ID = f"SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_id = %s"
ANY_ACTIVE_API_KEY = "SELECT 1 FROM api_keys WHERE revoked_at_ms IS NULL LIMIT 1"
LINK_COLUMNS = "id, chain_id, run, parent_id, parent_ref, parent_close, has_children"
_BEHIND_COLUMNS = (
    "d.due_at_ms, w.execution_id, "
    + ", ".join(f"w.{c}" for c in WORKFLOW_TASK_COLUMNS.split(", "))
    + ", "
    + ", ".join(f"l.{c}" for c in LINK_COLUMNS.split(", "))
)
_ACTIVITY_COLUMNS = ", ".join(f"a.{c}" for c in ACTIVITY_COLUMNS.split(", "))
_TOLD_WAITING = (
    "EXISTS (SELECT 1 FROM outbox ob WHERE ob.execution_id = a.execution_id AND ob.activity_id = a.activity_id "
    f"AND ob.event = '{notifications.WAITING}')"
)
"""Whether the activity's waiting was announced (its close is announced to the same URLs), read with it:
a call by token that closes it then reads no outbox when none was (false where there is no activity)."""
_TOLD_AND_ACTIVITY = f"{_TOLD_WAITING}, {_ACTIVITY_COLUMNS}"
BEHIND_LOCK = (
    f"SELECT {_BEHIND_COLUMNS} FROM (VALUES (1)) AS one"
    " LEFT JOIN timers d ON d.execution_id = %s AND d.kind = 'workflow' AND d.ref = 0"
    " LEFT JOIN workflow_tasks w ON w.execution_id = %s"
    " LEFT JOIN execution_links l ON l.id = %s"
)
"""What a transition reads behind an execution's lock: its workflow deadline (a timer of kind
``workflow``), its workflow task and its link, in one row (NULLs where there is none)."""
WITH_ACTIVITY = (
    BEHIND_LOCK.replace(" FROM (VALUES", f", NULL, {_ACTIVITY_COLUMNS} FROM (VALUES")
    + " LEFT JOIN activities a ON a.execution_id = %s AND a.activity_id = %s"
)
"""The same and one of its activities (its columns follow a NULL: whether its waiting was announced is not read
here, see :data:`WITH_NOTICED_ACTIVITY`)."""
WITH_NOTICED_ACTIVITY = WITH_ACTIVITY.replace(", NULL, a.", f", {_TOLD_WAITING}, a.", 1)
""":data:`WITH_ACTIVITY`, saying in place of the NULL whether the activity's waiting was announced: for a
transition that said it will likely ask (it closes an activity that went async). Not read for every
activity: a step of sync activities never asks."""
_EVENTS = (
    ", (SELECT json_agg(json_build_array(h.seq, h.type, h.at_ms, h.data) ORDER BY h.seq)"
    " FROM events h WHERE h.execution_id = %s AND h.seq > %s) FROM (VALUES"
)
BEHIND_LOCK_EVENTS = BEHIND_LOCK.replace(" FROM (VALUES", _EVENTS)
""":data:`BEHIND_LOCK`, and then the execution's events after a sequence number, as a JSON list of
[seq, type, at_ms, data] (NULL: none); its parameters come first."""
WITH_ACTIVITY_EVENTS = WITH_ACTIVITY.replace(" FROM (VALUES", _EVENTS)
"""The same with :data:`WITH_ACTIVITY`."""
WITH_NOTICED_ACTIVITY_EVENTS = WITH_NOTICED_ACTIVITY.replace(" FROM (VALUES", _EVENTS)
"""The same with :data:`WITH_NOTICED_ACTIVITY`."""
_OPEN_ACTIVITIES = (
    "(SELECT json_agg(json_build_array("
    + ", ".join(f"o.{c}" for c in ACTIVITY_COLUMNS.split(", "))
    + ") ORDER BY o.activity_id) FROM activities o WHERE {} AND o.execution_id = {} AND o.closed_at_ms IS NULL)"
)


def with_open_activities(behind: str) -> str:
    """A read behind a lock (:data:`BEHIND_LOCK` and the like), then the execution's open activities.

    As a JSON list of their columns' values (NULL: none); the execution's id is its first parameter.
    """
    return behind.replace(" FROM (VALUES", ", " + _OPEN_ACTIVITIES.format("true", "%s") + " FROM (VALUES", 1)


CLAIMED_BEHIND = (
    "SELECT " + ", ".join(f"e.{c}" for c in EXECUTION_COLUMNS.split(", ")) + f", {_BEHIND_COLUMNS}, {_ACTIVITY_COLUMNS}"
    " FROM json_to_recordset(current_setting('tether.claimed')::json) AS c(e text, a bigint)"
    " CROSS JOIN LATERAL (SELECT * FROM executions WHERE id = c.e OFFSET 0) e"
    " LEFT JOIN LATERAL (SELECT due_at_ms FROM timers WHERE execution_id = c.e AND kind = 'workflow' AND ref = 0"
    " OFFSET 0) d ON true"
    " LEFT JOIN LATERAL (SELECT * FROM workflow_tasks WHERE execution_id = c.e OFFSET 0) w ON true"
    " LEFT JOIN LATERAL (SELECT * FROM execution_links WHERE id = c.e OFFSET 0) l ON true"
    " LEFT JOIN LATERAL (SELECT * FROM activities WHERE execution_id = c.e AND activity_id = c.a OFFSET 0) a ON true"
)
"""Behind the locks of a claim, for each attempt it claimed (named by the claim in ``tether.claimed``): the
execution's row, then what :data:`WITH_ACTIVITY` reads of it and of the attempt's activity. Each row is
looked up by its key (``OFFSET 0`` keeps the planner from joining whole tables: it cannot tell how few
attempts a claim names)."""
LOCK_AHEAD = "SELECT id FROM executions WHERE id = ANY(%b) ORDER BY id FOR UPDATE"
"""Lock executions a batch's transitions will touch, in one order (that of every batch, in every process).

The ids go as a binary array: psycopg dumps a list in text at several times the cost."""
READ_AHEAD = CLAIMED_BEHIND.replace(f", {_ACTIVITY_COLUMNS}", f", {_TOLD_AND_ACTIVITY}", 1).replace(
    " FROM json_to_recordset(current_setting('tether.claimed')::json) AS c(e text, a bigint)",
    ", c.s, (SELECT json_agg(json_build_array(h.seq, h.type, h.at_ms, h.data) ORDER BY h.seq)"
    " FROM events h WHERE c.s IS NOT NULL AND h.execution_id = c.e AND h.seq > c.s)"
    ", c.o, "
    + _OPEN_ACTIVITIES.format("c.o", "c.e")
    + " FROM json_to_recordset(%s::json) AS c(e text, a bigint, s bigint, o boolean)",
)
"""Behind the locks of :data:`LOCK_AHEAD`, what :data:`CLAIMED_BEHIND` reads of each (execution, activity or
NULL) pair its parameter names, then ``s`` and the execution's events after ``s`` as in
:data:`BEHIND_LOCK_EVENTS` (NULL where ``s`` is NULL or there are none), then ``o`` and, where ``o`` is
true, the execution's open activities as a JSON list of their columns' values (NULL: none)."""
TASK_AT = 1
LINK_AT = TASK_AT + 1 + len(WORKFLOW_TASK_COLUMNS.split(", "))
TOLD_AT = LINK_AT + len(LINK_COLUMNS.split(", "))
"""Where a read with an activity says whether its waiting was announced; the activity's columns follow."""
ACTIVITY_AT = TOLD_AT + 1


def execution_row(row: Row) -> ExecutionRow:
    """An execution as selected with EXECUTION_COLUMNS."""
    return ExecutionRow(*row)


def activity_row(row: Row) -> ActivityRow:
    """An activity as selected with ACTIVITY_COLUMNS."""
    return ActivityRow(*row)


class _History(NamedTuple):
    """The events a held execution gained in this transaction (replaced, never changed: snapshots share it).

    A named tuple: one is made anew for every step's events, which a frozen dataclass's
    ``__init__`` and ``dataclasses.replace`` make at two and three times the cost.
    """

    base_seq: int
    """The execution's last sequence number when it was first known here: later events are all below."""
    events: tuple[tuple[int, str, int, str], ...] = ()
    """(seq, type, at_ms, JSON data) of each event appended since."""
    read_after: int | None = None
    """The events after this sequence number and up to ``base_seq`` were read behind the lock (None: none)."""
    read: tuple[tuple[int, str, int, str], ...] = ()
    """Those events (seq, type, at_ms, JSON data; the data as stored, not parsed)."""


@dataclass(slots=True)
class Known:
    """A copy of what is known, to restore after a rollback."""

    executions: dict[str, Row]
    activities: dict[tuple[str, int], Row]
    histories: dict[str, _History]
    queued: dict[tuple[str, int], int]
    workflow_tasks: dict[str, WorkflowTask | None]
    links: dict[str, LinkRow | None]
    all_open: frozenset[str]
    told_waiting: dict[tuple[str, int], bool]


_EXECUTION_NAMES = [f.name for f in dataclasses.fields(ExecutionRow)]
_EXECUTION_INDEX = {name: i for i, name in enumerate(_EXECUTION_NAMES)}
_LAST_SEQ = _EXECUTION_INDEX["last_seq"]
_execution_values = operator.attrgetter(*_EXECUTION_NAMES)
_ACTIVITY_NAMES = [f.name for f in dataclasses.fields(ActivityRow)]
_ACTIVITY_INDEX = {name: i for i, name in enumerate(_ACTIVITY_NAMES)}
_activity_values = operator.attrgetter(*_ACTIVITY_NAMES)
_CLOSED_AT = _ACTIVITY_INDEX["closed_at_ms"]
_ACTIVITY_ID = operator.itemgetter(_ACTIVITY_INDEX["activity_id"])


def _replaced(values: Row, index: dict[str, int], fields: dict[str, object]) -> Row:
    """``values`` with some columns set (columns ``index`` does not know are not kept)."""
    changed = list(values)
    for name, value in fields.items():
        position = index.get(name)
        if position is not None:
            changed[position] = value
    return tuple(changed)


class HeldRows:
    """Rows of executions this transaction holds locked, as they stand after its own writes.

    Rows are kept as tuples of column values (in the order of the row classes' fields) and
    handed out as new row objects, which callers may keep; a snapshot is a shallow copy.
    """

    def __init__(self) -> None:
        self._executions: dict[str, Row] = {}
        self._activities: dict[tuple[str, int], Row] = {}
        self._histories: dict[str, _History] = {}
        self._queued: dict[tuple[str, int], int] = {}
        """The attempt of each activity (execution, activity) this transaction queued and nobody took since."""
        self._workflow_tasks: dict[str, WorkflowTask | None] = {}
        """The workflow task of held executions (None: none), as this transaction left it."""
        self._links: dict[str, LinkRow | None] = {}
        """The link of held executions (None: none), as read behind their lock."""
        self._all_open: frozenset[str] = frozenset()
        """Held executions each of whose open activities is known (read behind the lock, or written since)."""
        self._told_waiting: dict[tuple[str, int], bool] = {}
        """Whether activities read behind their lock were announced as waiting (True once this transaction does)."""

    def clear(self) -> None:
        """A new database transaction: no lock is held, nothing is known."""
        self._executions = {}
        self._activities = {}
        self._histories = {}
        self._queued = {}
        self._workflow_tasks = {}
        self._links = {}
        self._all_open = frozenset()
        self._told_waiting = {}

    def snapshot(self) -> Known:
        """What is known now; :meth:`restore` brings it back."""
        histories = dict(self._histories)
        return Known(
            dict(self._executions),
            dict(self._activities),
            histories,
            dict(self._queued),
            dict(self._workflow_tasks),
            dict(self._links),
            self._all_open,
            dict(self._told_waiting),
        )

    def restore(self, known: Known) -> None:
        """Forget what was learnt since ``known`` was taken (its statements were rolled back)."""
        self._executions = known.executions
        self._activities = known.activities
        self._histories = known.histories
        self._queued = known.queued
        self._workflow_tasks = known.workflow_tasks
        self._links = known.links
        self._all_open = known.all_open
        self._told_waiting = known.told_waiting

    def told_waiting(self, execution_id: str, activity_id: int) -> bool | None:
        """Whether the activity's waiting was announced, if known (read with its lock, or announced since)."""
        return self._told_waiting.get((execution_id, activity_id))

    def learn_told_waiting(self, execution_id: str, activity_id: int, told: bool) -> None:
        """Keep whether the activity's waiting was announced (read with it, or announced by this transaction)."""
        self._told_waiting[execution_id, activity_id] = told

    # executions

    def execution(self, execution_id: str) -> ExecutionRow | None:
        """The held execution's row, if known."""
        values = self._executions.get(execution_id)
        return ExecutionRow(*values) if values is not None else None

    def last_seq(self, execution_id: str) -> int | None:
        """The held execution's last sequence number, if known."""
        values = self._executions.get(execution_id)
        return int(values[_LAST_SEQ]) if values is not None else None

    def learn_execution(self, row: ExecutionRow | Row) -> None:
        """Keep an execution's row (or its column values) as read or inserted under its lock."""
        values: Row = row if isinstance(row, tuple) else _execution_values(row)
        execution_id = values[0]
        self._executions[execution_id] = values
        if execution_id not in self._histories:
            self._histories[execution_id] = _History(int(values[_LAST_SEQ]))

    def update_execution(self, execution_id: str, fields: dict[str, object]) -> None:
        """Apply an update sent for the execution (field names are ExecutionRow's)."""
        values = self._executions.get(execution_id)
        if values is not None:
            self._executions[execution_id] = _replaced(values, _EXECUTION_INDEX, fields)

    def appended(self, execution_id: str, events: list[tuple[int, str, int, str]]) -> None:
        """Events sent for the execution (their sequence numbers follow its last one)."""
        values = self._executions.get(execution_id)
        if values is None:
            return
        self._executions[execution_id] = _replaced(values, _EXECUTION_INDEX, {"last_seq": events[-1][0]})
        history = self._histories.get(execution_id)
        if history is not None:
            self._histories[execution_id] = _History(
                history.base_seq, (*history.events, *events), history.read_after, history.read
            )

    def learn_events(self, execution_id: str, after_seq: int, events: list[Row]) -> None:
        """Keep the held execution's stored events after ``after_seq``, as read behind its lock."""
        history = self._histories.get(execution_id)
        if history is not None and not history.events:
            rows = tuple((int(seq), str(kind), int(at_ms), str(data)) for seq, kind, at_ms, data in events)
            self._histories[execution_id] = _History(history.base_seq, history.events, after_seq, rows)

    def events_after(self, execution_id: str, after_seq: int) -> list[Event] | None:
        """The execution's events after ``after_seq``, if this transaction wrote or read every one of them."""
        history = self._histories.get(execution_id)
        if history is None or execution_id not in self._executions:
            return None
        if after_seq >= history.base_seq:
            rows = history.events
        elif history.read_after is not None and after_seq >= history.read_after:
            rows = (*history.read, *history.events)
        else:
            return None
        return [
            Event(seq, EventType(kind), at_ms, payloads.parse(data))
            for seq, kind, at_ms, data in rows
            if seq > after_seq
        ]

    def forget(self, execution_ids: set[str]) -> None:
        """Drop all that is known of executions whose rows were deleted."""
        for execution_id in execution_ids:
            self._executions.pop(execution_id, None)
            self._histories.pop(execution_id, None)
        self._activities = {k: v for k, v in self._activities.items() if k[0] not in execution_ids}
        self._queued = {k: v for k, v in self._queued.items() if k[0] not in execution_ids}
        for execution_id in execution_ids:
            self._workflow_tasks.pop(execution_id, None)
            self._links.pop(execution_id, None)
        self._all_open -= execution_ids

    # activities

    def activity(self, execution_id: str, activity_id: int) -> ActivityRow | None:
        """A held execution's activity, if known."""
        values = self._activities.get((execution_id, activity_id))
        return ActivityRow(*values) if values is not None else None

    def learn_activity(self, row: ActivityRow | Row) -> None:
        """Keep an activity's row (or its column values) as read or inserted under its execution's lock."""
        values: Row = row if isinstance(row, tuple) else _activity_values(row)
        self._activities[(values[0], values[1])] = values

    def update_activity(self, execution_id: str, activity_id: int, fields: dict[str, object]) -> None:
        """Apply an update sent for the activity (columns that are not ActivityRow's are not kept)."""
        key = (execution_id, activity_id)
        values = self._activities.get(key)
        if values is not None:
            self._activities[key] = _replaced(values, _ACTIVITY_INDEX, fields)
        elif execution_id in self._all_open:
            # An activity not known was closed when read: one updated may open again, unseen here.
            self._all_open -= {execution_id}

    def learn_open_activities(self, execution_id: str, rows: list[Row]) -> None:
        """Keep the held execution's open activities as read behind its lock: all of them, as of then.

        Rows known already are as this transaction left them, and stay.
        """
        for values in rows:
            if (values[0], values[1]) not in self._activities:
                self._activities[(values[0], values[1])] = tuple(values)
        self._all_open |= {execution_id}

    def open_activities(self, execution_id: str) -> list[ActivityRow] | None:
        """The held execution's open activities in id order, if each is known (see :meth:`learn_open_activities`)."""
        if execution_id not in self._all_open:
            return None
        rows = [
            values
            for (owner, _), values in self._activities.items()
            if owner == execution_id and values[_CLOSED_AT] is None
        ]
        return [ActivityRow(*values) for values in sorted(rows, key=_ACTIVITY_ID)]

    # queued attempts

    def queued(self, execution_id: str, activity_id: int, attempt: int) -> None:
        """This transaction queued the attempt (replacing any other of the activity)."""
        self._queued[(execution_id, activity_id)] = attempt

    def dequeued(self, execution_id: str, activity_id: int) -> None:
        """The activity's queued attempt was deleted or taken."""
        self._queued.pop((execution_id, activity_id), None)

    def queued_here(self, execution_id: str, activity_id: int, attempt: int) -> bool:
        """Whether this transaction queued the attempt and it is still queued."""
        return self._queued.get((execution_id, activity_id)) == attempt

    # workflow tasks

    def knows_workflow_task(self, execution_id: str) -> bool:
        """Whether the held execution's workflow task (or that it has none) is known."""
        return execution_id in self._workflow_tasks

    def workflow_task(self, execution_id: str) -> WorkflowTask | None:
        """The held execution's workflow task (None: none; ask :meth:`knows_workflow_task` first)."""
        return self._workflow_tasks[execution_id]

    def learn_workflow_task(self, execution_id: str, task: WorkflowTask | None) -> None:
        """Keep the execution's workflow task as read, written or inserted under its lock."""
        self._workflow_tasks[execution_id] = task

    def forget_workflow_tasks(self) -> None:
        """Forget every workflow task known (changed by a statement that did not say which)."""
        self._workflow_tasks = {}

    # links

    def knows_link(self, execution_id: str) -> bool:
        """Whether the held execution's link (or that it has none) is known."""
        return execution_id in self._links

    def link(self, execution_id: str) -> LinkRow | None:
        """The held execution's link (None: none; ask :meth:`knows_link` first)."""
        return self._links[execution_id]

    def learn_link(self, execution_id: str, link: LinkRow | None) -> None:
        """Keep the execution's link as read under its lock."""
        self._links[execution_id] = link

    def forget_link(self, execution_id: str) -> None:
        """Forget the execution's link (a statement changed it)."""
        self._links.pop(execution_id, None)
