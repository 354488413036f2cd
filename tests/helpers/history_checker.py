"""The invariants every stored history keeps, checked over whole stores after behaviour tests.

- sequence numbers start at 1, are dense and increase;
- an attempt has at most one closing event, and nothing of that attempt follows it;
- an activity closes once, and nothing of it follows its close;
- nothing follows the execution's closing event, and a closed execution holds no open activity,
  except an ``ExecutionResumed``: it reopens the execution and the activities it names
  (their next attempts follow, numbered higher);
- every activity's stored state (and attempt) agrees with its last event, and the
  execution's status with its closing event;
- every published value stored agrees with the run's last ``ValuePublished`` of its name, and
  its version counts that name's publishes (on top of what a continued run carried over);
- every notification out is of a fact of the history: a waiting one of an attempt that went
  async (one per attempt and URL), a closed one of an activity that closed after a URL was told
  it waited (one per close of the activity and URL).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tether.model import notifications, payloads
from tether.model.events import Event, EventType
from tether.store.base import Store, Transaction
from tether.store.rows import ActivityRow, ExecutionRow, OutboxRow, PublishedRow

_EXECUTION_CLOSES = {
    EventType.WORKFLOW_COMPLETED: "completed",
    EventType.WORKFLOW_FAILED: "failed",
    EventType.WORKFLOW_CANCELLED: "cancelled",
    EventType.WORKFLOW_CONTINUED_AS_NEW: "continued",
    EventType.WORKFLOW_TIMED_OUT: "timed_out",
    EventType.WORKFLOW_TERMINATED: "terminated",
}
_ACTIVITY_CLOSES = {
    EventType.ACTIVITY_COMPLETED: "completed",
    EventType.ACTIVITY_FAILED: "failed",
    EventType.ACTIVITY_TIMED_OUT: "timed_out",
    EventType.ACTIVITY_CANCELLED: "cancelled",
}
_ATTEMPT_EVENTS = frozenset(
    {
        EventType.ACTIVITY_ATTEMPT_STARTED,
        EventType.ACTIVITY_WENT_ASYNC,
        EventType.ACTIVITY_HEARTBEAT,
        EventType.ACTIVITY_ATTEMPT_FAILED,
        *_ACTIVITY_CLOSES,
    }
)
"""Events that belong to one attempt of an activity (their data names it)."""


class HistoryViolation(AssertionError):
    """A stored history breaks one of the invariants."""


@dataclass
class _Activity:
    attempt: int = 0
    state: str = "scheduled"
    attempt_open: bool = False
    closed_at_seq: int | None = None
    closed_attempts: dict[int, int] = field(default_factory=dict)
    """Attempt -> the seq of its closing event."""
    reopened: bool = False
    """A resume reopened it: its next attempt may skip numbers (one queued when it closed never ran)."""


def check_history(execution: ExecutionRow, events: list[Event], activities: dict[int, ActivityRow | None]) -> list[str]:
    """The invariants ``events`` (the whole history of ``execution``) break, as sentences."""
    where = f"execution {execution.id!r}"
    problems: list[str] = []
    for index, event in enumerate(events, start=1):
        if event.seq != index:
            problems.append(f"{where}: event #{index} has seq {event.seq} (sequence numbers must be dense from 1)")
            break
    if events and execution.last_seq != events[-1].seq:
        problems.append(f"{where}: last_seq is {execution.last_seq} but the last event is {events[-1].seq}")
    closed_by: Event | None = None
    seen: dict[int, _Activity] = {}
    children: dict[int, str] = {}
    """Each child started, by its reference: "open" until the one ChildWorkflowClosed that may name it."""
    for event in events:
        what = f"{event.type} (seq {event.seq})"
        if event.type == EventType.EXECUTION_RESUMED:
            if closed_by is None:
                problems.append(f"{where}: {what} resumes an execution that was not closed")
            closed_by = None
            problems.extend(_reopen(where, event, seen))
            continue
        if closed_by is not None:
            problems.append(f"{where}: {what} follows the execution's {closed_by.type} (seq {closed_by.seq})")
        if event.type in _EXECUTION_CLOSES:
            closed_by = closed_by or event
            continue
        if event.type in (EventType.CHILD_WORKFLOW_STARTED, EventType.CHILD_WORKFLOW_CLOSED):
            problems.extend(_check_child(where, event, children))
            continue
        if event.type == EventType.ACTIVITY_SCHEDULED:
            seen.setdefault(int(event.data["activity_id"]), _Activity())
            continue
        if event.type not in _ATTEMPT_EVENTS:
            continue
        activity_id = int(event.data["activity_id"])
        attempt = int(event.data["attempt"])
        state = seen.get(activity_id)
        name = f"{where}, activity {activity_id}"
        if state is None:
            problems.append(f"{name}: {what} before the activity was scheduled")
            continue
        if state.closed_at_seq is not None:
            problems.append(f"{name}: {what} after the activity closed (seq {state.closed_at_seq})")
            continue
        if event.type == EventType.ACTIVITY_ATTEMPT_STARTED:
            if state.attempt_open or attempt <= state.attempt:
                problems.append(
                    f"{name}: attempt {attempt} started (seq {event.seq}) while attempt {state.attempt} was current"
                )
            state.attempt, state.attempt_open, state.state, state.reopened = attempt, True, "running", False
            continue
        if event.type in _ACTIVITY_CLOSES and not state.attempt_open:
            # Closed between attempts (cancelled or timed out while queued or backing off): it names
            # the attempt that failed last or the one queued next.
            if attempt not in (state.attempt, state.attempt + 1) and not (state.reopened and attempt > state.attempt):
                problems.append(f"{name}: {what} names attempt {attempt}, last was {state.attempt}")
        elif not state.attempt_open or attempt != state.attempt:
            closed = state.closed_attempts.get(attempt)
            after = f" after it closed (seq {closed})" if closed is not None else ""
            problems.append(f"{name}: {what} of attempt {attempt}{after}, which is not open")
            continue
        if event.type == EventType.ACTIVITY_WENT_ASYNC:
            if state.state != "running":
                problems.append(f"{name}: went async (seq {event.seq}) while {state.state}")
            state.state = "async"
        elif event.type == EventType.ACTIVITY_HEARTBEAT:
            pass  # of the open attempt (checked above); changes nothing
        elif event.type == EventType.ACTIVITY_ATTEMPT_FAILED:
            state.closed_attempts[attempt] = event.seq
            state.attempt_open, state.state = False, "backoff"
        else:
            state.closed_attempts[attempt] = event.seq
            state.closed_at_seq = event.seq
            state.attempt = max(state.attempt, attempt)
            state.attempt_open, state.state = False, _ACTIVITY_CLOSES[event.type]
    expected_status = _EXECUTION_CLOSES[closed_by.type] if closed_by is not None else "running"
    if execution.status != expected_status:
        problems.append(f"{where}: status is {execution.status!r} but its history says {expected_status!r}")
    for activity_id, state in seen.items():
        name = f"{where}, activity {activity_id}"
        row = activities.get(activity_id)
        if row is None:
            problems.append(f"{name}: scheduled in history but no stored row")
            continue
        problems.extend(_compare(name, row, state))
        if closed_by is not None and state.closed_at_seq is None:
            problems.append(f"{name}: still {state.state} after the execution closed (seq {closed_by.seq})")
    return problems


def _check_child(where: str, event: Event, children: dict[int, str]) -> list[str]:
    ref = int(event.data["child_ref"])
    name = f"{where}, child {ref}"
    if event.type == EventType.CHILD_WORKFLOW_STARTED:
        if ref in children:
            return [f"{name}: started again (seq {event.seq})"]
        children[ref] = "open"
        return []
    state = children.get(ref)
    if state is None:
        return [f"{name}: {event.type} (seq {event.seq}) for a child never started"]
    if state != "open":
        return [f"{name}: {event.type} (seq {event.seq}) after it closed"]
    children[ref] = "closed"
    return []


def _reopen(where: str, event: Event, seen: dict[int, _Activity]) -> list[str]:
    problems = []
    for activity_id in event.data["activities"]:
        state = seen.get(int(activity_id))
        if state is None or state.closed_at_seq is None:
            problems.append(f"{where}, activity {activity_id}: reopened (seq {event.seq}) but it was not closed")
            continue
        state.closed_at_seq, state.attempt_open, state.state, state.reopened = None, False, "scheduled", True
    return problems


def _compare(name: str, row: ActivityRow, state: _Activity) -> list[str]:
    if state.state == "scheduled" and state.reopened:
        agrees = row.state == "scheduled" and row.attempt > state.attempt
    elif state.state == "backoff":
        # The retry timer moves a failed attempt's activity to its next attempt without an event.
        agrees = (row.state, row.attempt) in (("backoff", state.attempt), ("scheduled", state.attempt + 1))
    elif state.state == "scheduled":
        agrees = row.state == "scheduled" and row.attempt in (1, state.attempt + 1)
    elif state.closed_at_seq is not None:
        agrees = row.state == state.state and row.closed_at_ms is not None
    else:
        agrees = row.state == state.state and row.attempt == state.attempt
    if agrees:
        return []
    stored = f"{row.state!r} (attempt {row.attempt})"
    return [f"{name}: stored as {stored} but its history ends {state.state!r} (attempt {state.attempt})"]


def check_published(execution: ExecutionRow, events: list[Event], stored: list[PublishedRow]) -> list[str]:
    """How the published values stored for ``execution`` disagree with its history (``events``), as sentences."""
    where = f"execution {execution.id!r}"
    last: dict[str, Event] = {}
    counts: Counter[str] = Counter()
    for event in events:
        if event.type == EventType.VALUE_PUBLISHED:
            last[event.data["name"]] = event
            counts[event.data["name"]] += 1
    carried = bool(events) and "previous_run_id" in events[0].data  # a continued run starts with its values
    rows = {row.name: row for row in stored}
    problems = []
    for name, event in last.items():
        row = rows.get(name)
        if row is None:
            problems.append(f"{where}: {name!r} was published (seq {event.seq}) but no value is stored")
        elif payloads.parse(row.value) != event.data["value"]:
            problems.append(f"{where}: {name!r} is stored as {row.value} but seq {event.seq} published another value")
        elif row.version < counts[name] or (not carried and row.version != counts[name]):
            problems.append(f"{where}: {name!r} is at version {row.version} after {counts[name]} publishes")
    if not carried:
        problems.extend(f"{where}: {name!r} is stored but was never published" for name in rows.keys() - last.keys())
    return problems


def check_outbox(execution: ExecutionRow, events: list[Event], outbox: list[OutboxRow]) -> list[str]:
    """How the notifications stored for ``execution`` disagree with its history (``events``), as sentences."""
    where = f"execution {execution.id!r}"
    went_async = {(e.data["activity_id"], e.data["attempt"]) for e in events if e.type == EventType.ACTIVITY_WENT_ASYNC}
    closed = Counter(e.data["activity_id"] for e in events if e.type in _ACTIVITY_CLOSES)  # a resume reopens
    told = {(row.activity_id, row.url) for row in outbox if row.event == notifications.WAITING}
    problems = []
    waiting = Counter((r.activity_id, r.attempt, r.url) for r in outbox if r.event == notifications.WAITING)
    for (activity_id, attempt, url), count in waiting.items():
        if (activity_id, attempt) not in went_async:
            problems.append(f"{where}: {url} was told attempt {attempt} of activity {activity_id} waits; it never did")
        if count > 1:
            problems.append(f"{where}: {url} was told {count} times that attempt {attempt} of {activity_id} waits")
    ends = Counter((r.activity_id, r.url) for r in outbox if r.event == notifications.CLOSED)
    for (activity_id, url), count in ends.items():
        if activity_id not in closed or (activity_id, url) not in told:
            problems.append(f"{where}: {url} was told activity {activity_id} closed, unasked or before it did")
        if count > max(closed[activity_id], 1):
            problems.append(f"{where}: {url} was told {count} times that activity {activity_id} closed")
    return problems


_Read = tuple[ExecutionRow, list[Event], dict[int, ActivityRow | None], list[PublishedRow], list[OutboxRow]]


def _read_all(tx: Transaction) -> list[_Read]:
    out = []
    for execution in tx.list_executions(status=None, workflow=None, limit=1_000_000, offset=0):
        events = tx.load_events(execution.id)
        ids = {int(e.data["activity_id"]) for e in events if e.type == EventType.ACTIVITY_SCHEDULED}
        activities = {i: tx.get_activity(execution.id, i) for i in sorted(ids)}
        out.append((execution, events, activities, tx.published_values(execution.id), tx.outbox_of(execution.id)))
    return out


async def check_store(store: Store) -> list[str]:
    """Every invariant broken by any history of ``store``."""
    problems: list[str] = []
    for execution, events, activities, published, outbox in await store.read(_read_all):
        problems.extend(check_history(execution, events, activities))
        problems.extend(check_published(execution, events, published))
        problems.extend(check_outbox(execution, events, outbox))
    return problems


async def assert_store_consistent(store: Store) -> None:
    """Raise HistoryViolation naming every broken invariant of ``store``'s histories."""
    problems = await check_store(store)
    if problems:
        raise HistoryViolation("\n".join(problems))
