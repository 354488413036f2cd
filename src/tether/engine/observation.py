"""What the engine tells observers (metrics, logs, spans): facts about the transitions that committed.

Telemetry observes, never decides. A transition notes facts as it goes (an execution
started, an attempt closed, a heartbeat came) with the functions here; the engine hands
them to its observers once the transition committed, and drops them if it did not: on
the event loop, or, for a transition a worker thread submitted, on the thread that
committed it (which spares the event loop a wake-up per activity). Observers must
therefore be thread-safe, as prometheus_client and logging are. A fact carries the ids
and names at hand, never payloads or tokens. Facts are read, never changed; they are not
frozen dataclasses because building a frozen one costs four times as much, on every
transition that telemetry watches.

Nothing is noted unless someone listens: the engine collects facts only while it has an
observer, and every noting function returns at once otherwise (a context variable read).
An observer that raises is logged and ignored: it never fails the transition it observes.
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tether.model.events import Event, EventType
from tether.store.rows import ActivityRow

_OPEN_ATTEMPT = frozenset({"running", "async"})
_CLOSES = frozenset(
    {
        EventType.ACTIVITY_COMPLETED,
        EventType.ACTIVITY_FAILED,
        EventType.ACTIVITY_TIMED_OUT,
        EventType.ACTIVITY_CANCELLED,
    }
)


@dataclass(slots=True)
class ExecutionStarted:
    """A new execution (a first run, a child, or a run continued as new)."""

    execution_id: str
    workflow: str


@dataclass(slots=True)
class ExecutionClosed:
    """A run closed; ``status`` is its final status (completed, failed, cancelled, terminated, timed_out, continued)."""

    execution_id: str
    workflow: str
    status: str


@dataclass(slots=True)
class AttemptStarted:
    """An attempt of an activity began to run on a worker."""

    execution_id: str
    activity_id: int
    attempt: int
    activity: str
    waited_ms: int | None
    """Schedule-to-start: how long a first attempt stood queued (None for retries)."""


@dataclass(slots=True)
class AttemptClosed:
    """An attempt ended.

    ``outcome`` is completed, failed, cancelled or timed_out_<kind> (attempt, heartbeat, total).
    """

    execution_id: str
    activity_id: int
    attempt: int
    activity: str
    outcome: str
    ran_ms: int | None
    """From the attempt's start to its end (None if it never started)."""
    error: str | None = None
    """The error type of a failed attempt."""
    final: bool = True
    """Whether the activity closed with it (False: a retry follows)."""


@dataclass(slots=True)
class WentAsync:
    """An attempt returned make_async(): it now waits for a token."""

    execution_id: str
    activity_id: int
    attempt: int
    activity: str


@dataclass(slots=True)
class Heartbeat:
    """A heartbeat of a running or waiting attempt was recorded."""

    execution_id: str
    activity_id: int
    attempt: int
    activity: str


@dataclass(slots=True)
class Resumed:
    """A workflow task was handed a closed activity: the time from that close to the workflow resuming."""

    execution_id: str
    activity_id: int
    latency_ms: int


@dataclass(slots=True)
class TokenClose:
    """A call by token that closes an attempt: complete, fail or report cancelled.

    ``outcome`` is recorded, repeat (the same call acknowledged again) or refused (``code``
    says why).
    """

    call: str
    outcome: str
    code: str | None = None


@dataclass(slots=True)
class StoreTransaction:
    """A writing transaction ran (queueing for the store included); ``error`` names what made it fail."""

    seconds: float
    error: str | None = None


Fact = (
    ExecutionStarted
    | ExecutionClosed
    | AttemptStarted
    | AttemptClosed
    | WentAsync
    | Heartbeat
    | Resumed
    | TokenClose
    | StoreTransaction
)
"""Every fact an observer may be told."""


class Observer(Protocol):
    """Something the engine tells what happened: metrics, a transition log, spans."""

    def observe(self, facts: Sequence[Fact], caller: str | None) -> None:
        """Take the facts of one committed transition (or one call), in the order they happened.

        Called on the event loop or on a worker or store thread (see the module docstring).

        ``caller`` names who asked for the transition when a server ran it for a request: its
        API key's name (see :data:`caller`).
        """
        ...


caller: contextvars.ContextVar[str | None] = contextvars.ContextVar("tether_caller", default=None)
"""Who the engine's calls run for in this task: the server sets the name of the request's API key."""


observers = 0
"""How many observers the engines of this process have: while none, transitions skip noting at once.

Noting functions are called only when this is not 0 (a module attribute read costs less than a call).
"""

_collecting: contextvars.ContextVar[list[Fact] | None] = contextvars.ContextVar("tether_facts", default=None)


def collect() -> tuple[list[Fact], contextvars.Token[list[Fact] | None]]:
    """Start collecting the facts a transition notes (on the thread that runs it); end with :func:`stop`."""
    facts: list[Fact] = []
    return facts, _collecting.set(facts)


def stop(token: contextvars.Token[list[Fact] | None]) -> None:
    """Stop collecting (see :func:`collect`)."""
    _collecting.reset(token)


def mark() -> int:
    """How many facts were noted so far; :func:`drop_since` forgets those after, when a savepoint rolls back."""
    facts = _collecting.get()
    return 0 if facts is None else len(facts)


def drop_since(count: int) -> None:
    """Forget the facts noted after :func:`mark` returned ``count``: what they tell was rolled back."""
    facts = _collecting.get()
    if facts is not None:
        del facts[count:]


def note(fact: Fact) -> None:
    """Note a fact, if anyone listens."""
    facts = _collecting.get()
    if facts is not None:
        facts.append(fact)


def listening() -> bool:
    """Whether facts are collected now: worth building one that takes work."""
    return _collecting.get() is not None


def execution_started(execution_id: str, workflow: str) -> None:
    """Note a new execution."""
    facts = _collecting.get()
    if facts is not None:
        facts.append(ExecutionStarted(execution_id, workflow))


def attempt_started(row: ActivityRow, now_ms: int) -> None:
    """Note the start of the attempt of ``row`` (as it stood before it started)."""
    facts = _collecting.get()
    if facts is not None:
        waited = now_ms - row.scheduled_at_ms if row.attempt == 1 else None
        facts.append(AttemptStarted(row.execution_id, row.activity_id, row.attempt, row.name, waited))


def attempt_closed(
    row: ActivityRow, outcome: str, now_ms: int, *, error: str | None = None, final: bool = True
) -> None:
    """Note the end of the open attempt of ``row``; nothing if no attempt was open (queued, backing off)."""
    facts = _collecting.get()
    if facts is not None and row.state in _OPEN_ATTEMPT:
        started = row.attempt_started_at_ms
        ran = None if started is None else max(0, now_ms - started)
        facts.append(
            AttemptClosed(row.execution_id, row.activity_id, row.attempt, row.name, outcome, ran, error, final)
        )


def went_async(row: ActivityRow) -> None:
    """Note that the attempt of ``row`` waits for a token."""
    facts = _collecting.get()
    if facts is not None:
        facts.append(WentAsync(row.execution_id, row.activity_id, row.attempt, row.name))


def heartbeat(row: ActivityRow) -> None:
    """Note a heartbeat of the attempt of ``row``."""
    facts = _collecting.get()
    if facts is not None:
        facts.append(Heartbeat(row.execution_id, row.activity_id, row.attempt, row.name))


def resumed(execution_id: str, events: list[Event], now_ms: int) -> None:
    """Note how long each activity close a workflow task is handed waited for it.

    The task's inputs are the events after the last task marker of the events it is given.
    """
    facts = _collecting.get()
    if facts is None:
        return
    for event in reversed(events):
        if event.type == EventType.WORKFLOW_TASK_COMPLETED:
            break
        if event.type in _CLOSES:
            facts.append(Resumed(execution_id, int(event.data["activity_id"]), max(0, now_ms - event.at_ms)))
