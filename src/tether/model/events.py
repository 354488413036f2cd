"""History events (past tense, stored) and workflow commands (imperative, emitted by replay)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    """Every kind of history event."""

    WORKFLOW_STARTED = "WorkflowStarted"
    WORKFLOW_TASK_COMPLETED = "WorkflowTaskCompleted"
    WORKFLOW_TASK_FAILED = "WorkflowTaskFailed"
    WORKFLOW_CANCEL_REQUESTED = "WorkflowCancelRequested"
    WORKFLOW_COMPLETED = "WorkflowCompleted"
    WORKFLOW_FAILED = "WorkflowFailed"
    WORKFLOW_CANCELLED = "WorkflowCancelled"
    WORKFLOW_TERMINATED = "WorkflowTerminated"
    WORKFLOW_TIMED_OUT = "WorkflowTimedOut"
    WORKFLOW_CONTINUED_AS_NEW = "WorkflowContinuedAsNew"
    EXECUTION_RESUMED = "ExecutionResumed"
    PATCH_RECORDED = "PatchRecorded"
    VALUE_PUBLISHED = "ValuePublished"
    CHILD_WORKFLOW_STARTED = "ChildWorkflowStarted"
    CHILD_WORKFLOW_CANCEL_REQUESTED = "ChildWorkflowCancelRequested"
    CHILD_WORKFLOW_CLOSED = "ChildWorkflowClosed"
    ACTIVITY_SCHEDULED = "ActivityScheduled"
    ACTIVITY_ATTEMPT_STARTED = "ActivityAttemptStarted"
    ACTIVITY_WENT_ASYNC = "ActivityWentAsync"
    ACTIVITY_HEARTBEAT = "ActivityHeartbeat"
    ACTIVITY_ATTEMPT_FAILED = "ActivityAttemptFailed"
    ACTIVITY_CANCEL_REQUESTED = "ActivityCancelRequested"
    ACTIVITY_COMPLETED = "ActivityCompleted"
    ACTIVITY_FAILED = "ActivityFailed"
    ACTIVITY_TIMED_OUT = "ActivityTimedOut"
    ACTIVITY_CANCELLED = "ActivityCancelled"
    HEARTBEAT_WATCH_STARTED = "HeartbeatWatchStarted"
    TIMER_STARTED = "TimerStarted"
    TIMER_FIRED = "TimerFired"
    TIMER_CANCELLED = "TimerCancelled"
    MESSAGE_SENT = "MessageSent"
    MESSAGE_RECEIVED = "MessageReceived"
    REQUEST_SENT = "RequestSent"
    REQUEST_RECEIVED = "RequestReceived"
    REQUEST_ANSWERED = "RequestAnswered"


INPUT_EVENTS = frozenset(
    {
        EventType.WORKFLOW_STARTED,
        EventType.WORKFLOW_CANCEL_REQUESTED,
        EventType.ACTIVITY_COMPLETED,
        EventType.ACTIVITY_FAILED,
        EventType.ACTIVITY_TIMED_OUT,
        EventType.ACTIVITY_CANCELLED,
        EventType.ACTIVITY_HEARTBEAT,
        EventType.TIMER_FIRED,
        EventType.CHILD_WORKFLOW_CLOSED,
        EventType.MESSAGE_SENT,
        EventType.REQUEST_SENT,
    }
)
"""Events delivered to workflow code; the rest record what happened."""


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of an execution's append-only history."""

    seq: int
    type: EventType
    at_ms: int
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Command:
    """What a workflow task asks the engine to do; recorded as the event of the same shape.

    ``key`` is what replay compares against the recorded event to detect divergence.
    """

    type: EventType
    data: dict[str, Any] = field(default_factory=dict)
    text: str | None = field(default=None, compare=False)
    """``data`` as compact JSON text, when whoever emitted the command wrote it already."""
    parts: Mapping[str, str] | None = field(default=None, compare=False)
    """JSON texts of some values of ``data``, by key, when the emitter had them already."""

    @property
    def key(self) -> tuple[str, Any, Any]:
        """The identity of this command for determinism checks."""
        return key_of(self.type, self.data)


def key_of(type_: EventType, data: dict[str, Any]) -> tuple[str, Any, Any]:
    """The identity of a command or recorded command event.

    Its type, the activity, timer, child or message it names, and its name (an activity's, a
    patch's, a message's, a published value's): replay compares these, not payloads, which code
    may compute anew.
    """
    ident = data.get("activity_id", data.get("timer_id", data.get("child_ref", data.get("message_id"))))
    return (str(type_), ident, data.get("name"))


COMMAND_EVENTS = frozenset(
    {
        EventType.ACTIVITY_SCHEDULED,
        EventType.ACTIVITY_CANCEL_REQUESTED,
        EventType.HEARTBEAT_WATCH_STARTED,
        EventType.TIMER_STARTED,
        EventType.TIMER_CANCELLED,
        EventType.PATCH_RECORDED,
        EventType.VALUE_PUBLISHED,
        EventType.WORKFLOW_COMPLETED,
        EventType.WORKFLOW_FAILED,
        EventType.WORKFLOW_CANCELLED,
        EventType.WORKFLOW_CONTINUED_AS_NEW,
        EventType.CHILD_WORKFLOW_STARTED,
        EventType.CHILD_WORKFLOW_CANCEL_REQUESTED,
        EventType.MESSAGE_RECEIVED,
        EventType.REQUEST_RECEIVED,
        EventType.REQUEST_ANSWERED,
    }
)
"""Event types a workflow task may emit as commands."""


def failure(
    error: str,
    message: str,
    *,
    details: Any = None,
    non_retryable: bool = False,
    attempt: int = 0,
    kind: str | None = None,
) -> dict[str, Any]:
    """The stored form of a failure (activity attempt, activity, or workflow)."""
    out: dict[str, Any] = {
        "error": error,
        "message": message,
        "details": details,
        "non_retryable": non_retryable,
        "attempt": attempt,
    }
    if kind is not None:
        out["kind"] = kind
    return out
