"""What a workflow task's events say about the execution beyond its code: a deadline to arm, a resume."""

from __future__ import annotations

from typing import Any

from tether.model.events import Event, EventType
from tether.runtime.definitions import Workflow


def first_task_deadline(workflow: Workflow[..., Any], events: list[Event]) -> int | None:
    """The deadline the first workflow task arms (UTC ms): the definition's timeout from the start.

    Only when ``events`` are the whole history of an execution no task completed yet, and
    its start did not know the timeout (a start by name, over HTTP or the CLI, from a
    caller without the definition): such a ``WorkflowStarted`` records no ``timeout_ms``.
    """
    if workflow.timeout_ms is None or not events or events[0].type != EventType.WORKFLOW_STARTED:
        return None
    if "timeout_ms" in events[0].data or any(e.type in _NOT_FIRST for e in events):
        return None  # not the first task, or the start decided; a resume sets its own deadline, if any
    return events[0].at_ms + workflow.timeout_ms


_NOT_FIRST = frozenset({EventType.WORKFLOW_TASK_COMPLETED, EventType.EXECUTION_RESUMED})


def resumed_in(events: list[Event]) -> bool:
    """Whether ``events`` hold a resume: a cached instance cannot take them, the history is replayed anew."""
    return any(event.type == EventType.EXECUTION_RESUMED for event in events)


def as_replayed(events: list[Event]) -> list[Event]:
    """``events`` without those a later resume undid (``ExecutionResumed`` names them; see ``engine/resume``).

    What a resume undid did not happen, as far as the workflow code knows: the task that
    failed it, its closing event, the failures it reopened. Replay reads what is left.
    """
    undone = {seq for event in events if event.type == EventType.EXECUTION_RESUMED for seq in event.data["undone"]}
    if not undone:
        return events
    return [event for event in events if event.seq not in undone]
