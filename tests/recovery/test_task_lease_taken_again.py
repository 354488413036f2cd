"""A workflow task whose lease ran out belongs to its new lease, even when the same worker took it again.

A worker's run of a task can outlast the task's lease (a long pause, an overloaded host);
the task is then offered again, and may be taken again by a worker of the same name (that
worker itself, when a timer fires, or its successor restarted under the same name). The
late completion of the first run must not end the task the second run holds: that run
carries events the first never saw, and the workflow would wait for ever for them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import tether
from tests.helpers.workflows import new_id
from tether.engine.workflows import WorkflowTask
from tether.model.clock import VirtualClock
from tether.model.events import Command
from tether.runtime.workflow_instance import WorkflowInstance
from tether.testing import TestEnvironment

LEASE_MS = 30_000
GUARD_S = 30.0
"""How long a result may take before the test calls it lost (a hang guard, not a timing)."""


@dataclass
class Run:
    """One run of the task: the claim it ran under, its instance and the commands it returned."""

    task: WorkflowTask
    instance: WorkflowInstance
    commands: list[Command]


@tether.workflow(name="lease.waits_for_a_word")
async def lease_waits_for_a_word() -> str:
    return str(await tether.receive("word"))


async def taken_again(client: tether.Client, clock: VirtualClock, execution_id: str) -> tuple[Run, Run]:
    """A first run of the task, late to report; its lease runs out, the word comes, and host-1 takes the task again."""
    engine = client.engine
    names = [lease_waits_for_a_word.name]
    await client.start_workflow(lease_waits_for_a_word, id=execution_id)
    (first,) = await engine.claim_workflow_tasks(
        owner="host-1", workflows_=names, limit=1, lease_ms=LEASE_MS, cached_seq={}
    )
    early = WorkflowInstance(execution_id, lease_waits_for_a_word)
    assert early.activate(first.events, clock.now_ms()) == [], "it waits for the word"
    clock.advance(LEASE_MS / 1000 + 1)
    await client.send(execution_id, "word", "hello")
    (second,) = await engine.claim_workflow_tasks(
        owner="host-1", workflows_=names, limit=1, lease_ms=LEASE_MS, cached_seq={}
    )
    assert [e.type for e in second.events][-1] == "MessageSent"
    late = WorkflowInstance(execution_id, lease_waits_for_a_word)
    return Run(first, early, []), Run(second, late, late.activate(second.events, clock.now_ms()))


async def report(client: tether.Client, execution_id: str, run: Run) -> int | None:
    """Complete the task as ``run`` ran it, under its own lease."""
    return await client.engine.complete_workflow_task(
        execution_id=execution_id, owner="host-1", leased_until_ms=run.task.leased_until_ms,
        seen_seq=run.instance.loaded_seq, task_now_ms=run.instance.now_ms, commands=run.commands,
    )  # fmt: skip


async def test_a_late_completion_of_a_task_taken_again_by_the_same_worker_is_refused(store_url: str) -> None:
    execution_id = new_id("lease")
    clock = VirtualClock()
    async with await tether.Client.connect(store_url, clock=clock) as client:
        early, late = await taken_again(client, clock, execution_id)
        assert await report(client, execution_id, early) is None, "its lease is over"
        assert await report(client, execution_id, late) is not None
        assert await client.get_handle(execution_id).result() == "hello"
        history = await client.history(execution_id)
    assert [e.type for e in history] == [
        "WorkflowStarted",
        "MessageSent",
        "WorkflowTaskCompleted",
        "MessageReceived",
        "WorkflowCompleted",
    ]


async def test_a_workflow_finishes_when_the_run_that_took_its_task_again_is_lost_after_a_late_completion(
    store_url: str,
) -> None:
    execution_id = new_id("lease")
    clock = VirtualClock()
    async with await tether.Client.connect(store_url, clock=clock) as client:
        early, _ = await taken_again(client, clock, execution_id)
        await report(client, execution_id, early)
        start = clock.now()
    # The second run never reports (its host died): once its lease runs out, another worker runs it.
    async with TestEnvironment(url=store_url, start=start, workflows=[lease_waits_for_a_word]) as env:
        assert await asyncio.wait_for(env.client.get_handle(execution_id).result(), GUARD_S) == "hello"
