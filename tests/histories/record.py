"""Record the committed histories: ``python -m tests.histories.record`` rewrites tests/histories/*.json.

Each scenario of tests/helpers/workflows.py runs in a fresh TestEnvironment (virtual clock at
its default start, one activity at a time, a fixed execution id), so recording again gives
the same files. ``divergent_activities.json`` is the activities recording with one scheduled
activity renamed: a history the workflow code can no longer produce.
"""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import tether
from tests.helpers.workflows import HISTORY_SCENARIOS, Scenario, run_scenario
from tether.testing import TestEnvironment

HERE = Path(__file__).resolve().parent
DIVERGENT = "divergent_activities"


def dump_event(event: tether.HistoryEvent) -> dict[str, Any]:
    """The JSON form of one history event."""
    return {"seq": event.seq, "type": event.type, "at": event.at.isoformat(), "data": event.data}


async def record_scenario(scenario: Scenario) -> dict[str, Any]:
    """Run one scenario and return its recording."""
    async with TestEnvironment(
        workflows=scenario.workflows, activities=scenario.activities, max_concurrent_activities=1
    ) as env:
        execution_id = f"recorded-{scenario.name}"
        result = await run_scenario(env, scenario, execution_id)
        history = await env.client.history(execution_id)
    return {
        "workflow": scenario.workflow.name,
        "execution_id": execution_id,
        "args": list(scenario.args),
        "result": result,
        "events": [dump_event(event) for event in history],
    }


def diverge(recording: dict[str, Any]) -> dict[str, Any]:
    """The recording with its second scheduled activity renamed, and where replay must stop."""
    divergent = copy.deepcopy(recording)
    scheduled = [e for e in divergent["events"] if e["type"] == "ActivityScheduled"]
    target = scheduled[1]
    target["data"]["name"] = "hist_triple"
    divergent["diverges_at"] = target["seq"]
    return divergent


def write(name: str, recording: dict[str, Any]) -> None:
    """Write one recording as tests/histories/<name>.json."""
    (HERE / f"{name}.json").write_text(json.dumps(recording, indent=2, sort_keys=True) + "\n")


async def main() -> None:
    """Record every scenario, then the divergent history."""
    for scenario in HISTORY_SCENARIOS:
        recording = await record_scenario(scenario)
        write(scenario.name, recording)
        if scenario.name == "activities":
            write(DIVERGENT, diverge(recording))


if __name__ == "__main__":
    asyncio.run(main())
