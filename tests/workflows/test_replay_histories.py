"""Committed histories keep replaying: the runtime reproduces their commands, and a divergent one is refused."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import tether
from tests.helpers.workflows import HISTORY_SCENARIOS, HISTORY_WORKFLOWS
from tether.errors import NonDeterminism
from tether.model.clock import to_ms
from tether.model.events import Event, EventType
from tether.runtime.workflow_instance import WorkflowInstance

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
DIVERGENT = HISTORIES / "divergent_activities.json"
RECORDED = sorted(path for path in HISTORIES.glob("*.json") if path != DIVERGENT)
WORKFLOWS = {workflow.name: workflow for workflow in HISTORY_WORKFLOWS}


def load(path: Path) -> dict[str, Any]:
    recording: dict[str, Any] = json.loads(path.read_text())
    return recording


def events_of(recording: dict[str, Any]) -> list[Event]:
    return [
        Event(
            seq=item["seq"],
            type=EventType(item["type"]),
            at_ms=to_ms(datetime.fromisoformat(item["at"])),
            data=item["data"],
        )
        for item in recording["events"]
    ]


def instance_of(recording: dict[str, Any]) -> WorkflowInstance:
    workflow: tether.Workflow[..., Any] = WORKFLOWS[recording["workflow"]]
    return WorkflowInstance(recording["execution_id"], workflow)


def test_every_scenario_has_a_committed_history() -> None:
    assert sorted(path.stem for path in RECORDED) == sorted(s.name for s in HISTORY_SCENARIOS), (
        "record the histories with: python -m tests.histories.record"
    )


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
def test_recorded_history_replays_from_scratch_to_its_recorded_end(path: Path) -> None:
    recording = load(path)
    events = events_of(recording)
    instance = instance_of(recording)

    commands = instance.activate(events, events[-1].at_ms)

    assert commands == []
    assert instance.finished
    assert events[-1].type == EventType.WORKFLOW_COMPLETED
    assert events[-1].data["result"] == recording["result"]


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
def test_recorded_history_reproduces_each_tasks_commands(path: Path) -> None:
    # Feed the history task by task, as a worker with a cached instance does, and compare
    # what the code emits now with the commands each task recorded, data included.
    recording = load(path)
    events = events_of(recording)
    instance = instance_of(recording)
    markers = [(i, e) for i, e in enumerate(events) if e.type == EventType.WORKFLOW_TASK_COMPLETED]
    assert markers, "a recorded history has at least one workflow task"
    seen = 0
    for index, marker in markers:
        upto = int(marker.data["seen"])
        batch = [e for e in events if seen < e.seq <= upto]
        recorded = events[index + 1 : index + 1 + int(marker.data["commands"])]

        commands = instance.activate(batch, int(marker.data["now_ms"]))

        assert [(c.type, c.data) for c in commands] == [(e.type, e.data) for e in recorded], (
            f"task of event {marker.seq}"
        )
        instance.committed_seq = recorded[-1].seq if recorded else marker.seq
        seen = upto
    assert instance.finished


def test_divergent_history_fails_replay_with_nondeterminism_naming_the_event() -> None:
    recording = load(DIVERGENT)
    events = events_of(recording)
    diverging = next(e for e in events if e.seq == recording["diverges_at"])
    assert diverging.type == EventType.ACTIVITY_SCHEDULED
    instance = instance_of(recording)

    with pytest.raises(NonDeterminism) as caught:
        instance.activate(events, events[-1].at_ms)

    assert caught.value.event_seq == diverging.seq
    assert caught.value.execution_id == recording["execution_id"]
    original = next(e for e in events_of(load(HISTORIES / "activities.json")) if e.seq == diverging.seq)
    assert f"'{diverging.data['name']}'" in str(caught.value)
    assert f"'{original.data['name']}'" in str(caught.value)
