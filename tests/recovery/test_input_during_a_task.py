"""Input that reaches an execution while a worker runs its task is not lost when that task commits.

After a task commits, the worker's instance skips the events the commit wrote (its own
commands), so that the next task need not load them back. Events another transition
appended between the run and the commit are input the instance has not seen: it must get
them in a task of their own.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import tether
from tether.errors import WorkflowCancelled
from tether.testing import VirtualClock

pytestmark = pytest.mark.single_backend  # the test opens its own SQLite store


@tether.activity(name="it.parked")
async def it_parked() -> str:
    return tether.make_async()


@tether.workflow(name="it.wait_for_parked")
async def it_wait_for_parked() -> str:
    return await it_parked()


async def test_a_cancellation_recorded_while_the_first_task_runs_reaches_the_workflow(tmp_path: Path) -> None:
    client = await tether.Client.connect(f"sqlite:///{tmp_path / 'tether.db'}", clock=VirtualClock())
    engine = client.engine
    commit = engine.complete_workflow_task
    requested: list[str] = []

    async def cancel_then_commit(**task: Any) -> int | None:
        # The worker has run the task; the cancellation is recorded before the task's commit.
        if not requested:
            requested.append(task["execution_id"])
            await client.cancel_workflow(task["execution_id"])
        return await commit(**task)

    engine.complete_workflow_task = cancel_then_commit  # type: ignore[method-assign]  # an interleaving, forced
    try:
        async with tether.Worker(client, workflows=[it_wait_for_parked], activities=[it_parked]):
            handle = await client.start_workflow(it_wait_for_parked, id="it-cancelled")
            with pytest.raises(WorkflowCancelled):
                await asyncio.wait_for(handle.result(), 10)
        assert requested == ["it-cancelled"]
    finally:
        await client.close()
