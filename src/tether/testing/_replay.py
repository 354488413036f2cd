"""Replay a recorded history against the current workflow code, with no store and no worker.

A user's CI exports histories of real executions (``tether workflow history ID --json``)
and replays them against the code about to ship: if the new code would emit other commands
than a history records, the deploy would leave that execution stuck with NonDeterminism.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pydantic

from tether.errors import InvalidPayload, UsageError
from tether.model.clock import to_ms
from tether.model.codecs import PayloadCodec
from tether.model.events import INPUT_EVENTS, Event, EventType
from tether.model.records import HistoryEvent
from tether.runtime.definitions import Workflow
from tether.runtime.workflow_instance import WorkflowInstance

_EXPORTED = pydantic.TypeAdapter(list[HistoryEvent])
_TYPES = {str(kind): kind for kind in EventType}


def replay(
    workflow: Workflow[..., Any],
    history: Sequence[HistoryEvent] | str | os.PathLike[str],
    *,
    id: str = "replay",
    codec: PayloadCodec | None = None,
) -> None:
    """Replay ``history`` against ``workflow`` as it is now; return if the code is compatible.

    Every workflow task the history records runs again and must emit the commands it
    recorded (patches included: code that branches on ``tether.patched`` replays an old
    history down its old branch). Histories of running and of closed executions replay
    alike; what arrived after the last recorded task is not run. Works in sync and async
    tests: it does no I/O but reading the file.

    Args:
        workflow: the workflow as the code about to ship defines it.
        history: what ``client.history(id)`` returns, or the path of a JSON file written by
            ``tether workflow history ID --json``.
        id: the execution id the workflow sees (``tether.uuid4`` derives from it).
        codec: decodes the payloads of a history written with a codec (``Client.connect(codec=)``).

    Raises:
        NonDeterminism: the code diverges; ``event_seq`` names the history event where.
        InvalidPayload: the file or list is not a tether history.
        UsageError: the history is of another workflow (by name) or ``workflow`` is not one.
        UndecodablePayload: the history holds encoded payloads and ``codec`` cannot decode them.
    """
    if not isinstance(workflow, Workflow):
        raise UsageError(f"{workflow!r} is not a workflow; decorate it with @tether.workflow")
    events = _events(_read(history) if isinstance(history, (str, os.PathLike)) else list(history))
    if not events:
        raise InvalidPayload("the history is empty: it has no WorkflowStarted event")
    first = events[0]
    if first.type != EventType.WORKFLOW_STARTED:
        raise InvalidPayload(f"a history starts with WorkflowStarted, not {first.type}")
    recorded = first.data.get("workflow")
    if recorded != workflow.name:
        raise UsageError(f"the history is of workflow {recorded!r}, not of {workflow.name!r}")
    replayed = _recorded_tasks(events)
    if replayed:
        WorkflowInstance(id, workflow, codec).activate(replayed, replayed[-1].at_ms)


def _read(path: str | os.PathLike[str]) -> list[HistoryEvent]:
    text = Path(path).read_text(encoding="utf-8")
    try:
        return _EXPORTED.validate_json(text)
    except pydantic.ValidationError as exc:
        raise InvalidPayload(
            f"{os.fspath(path)} is not a history exported with `tether workflow history ID --json`: "
            f"{exc.error_count()} error(s), first: {exc.errors()[0]['msg']}",
            errors=exc.errors(),
        ) from exc


def _events(history: list[HistoryEvent]) -> list[Event]:
    events = []
    for item in history:
        kind = _TYPES.get(item.type)
        if kind is None:
            raise InvalidPayload(f"history event {item.seq} has an unknown type {item.type!r}")
        events.append(Event(item.seq, kind, to_ms(item.at), item.data))
    return events


def _recorded_tasks(events: list[Event]) -> list[Event]:
    """The history without the input events its last recorded workflow task had not seen.

    Those were for a task that never completed (or is yet to run): replaying them would run
    new code, not check old. What is neither input nor a task's record is skipped by replay.
    """
    seen = max((int(e.data["seen"]) for e in events if e.type == EventType.WORKFLOW_TASK_COMPLETED), default=None)
    if seen is None:
        return []
    return [e for e in events if not (e.type in INPUT_EVENTS and e.seq > seen)]
