"""Child workflows: started by a parent's workflow code, each an ordinary execution linked to its parent."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

import tether
from tests.helpers.workflows import TOKENS, events_of, new_id, types_of
from tether.errors import ChildWorkflowFailed, UsageError, WorkflowCancelled
from tether.model.events import EventType
from tether.testing import TestEnvironment

STARTS: list[str] = []


@tether.activity
async def cw_note(text: str) -> str:
    STARTS.append(text)
    return text.upper()


@tether.activity
async def cw_wait(name: str) -> str:
    TOKENS.put(name, tether.context().token)
    return tether.make_async()


@tether.workflow
async def cw_child(text: str) -> str:
    return await cw_note(text)


@tether.workflow
async def cw_child_fails(text: str) -> str:
    raise ValueError(f"bad {text}")


@tether.workflow
async def cw_child_waits(name: str) -> str:
    return await cw_wait(name)


@tether.workflow
async def cw_child_sleeps(hours: int) -> str:
    await tether.sleep(timedelta(hours=hours))
    return "woke"


@tether.workflow
async def cw_parent(text: str) -> list[str]:
    first = await tether.run_workflow(cw_child, text)
    second = tether.start_workflow(cw_child, text + "!", id=f"{tether.uuid4()}")
    return [first, await second]


@tether.workflow
async def cw_parent_of_failing(text: str) -> str:
    try:
        await tether.run_workflow(cw_child_fails, text)
    except ChildWorkflowFailed as failed:
        return f"{failed.child_id}: {failed.cause['code']} {failed.cause['error']} {failed.cause['message']}"
    return "no failure"


@tether.workflow
async def cw_parent_cancels_child(name: str) -> str:
    child = tether.start_workflow(cw_child_waits, name, id=name)
    await tether.sleep(timedelta(minutes=5))
    child.cancel()
    try:
        await child
    except ChildWorkflowFailed as failed:
        return f"{failed.cause['code']} {failed.cause['status']}"
    return "finished"


@tether.workflow
async def cw_parent_waits_on_child(name: str, policy: str) -> str:
    return await tether.run_workflow(cw_child_waits, name, id=name, parent_close=policy)


@tether.workflow
async def cw_parent_with_id(child_id: str) -> str:
    return await tether.run_workflow(cw_child, "x", id=child_id)


@tether.workflow
async def cw_parent_of_sleeper(child_id: str) -> str:
    return await tether.run_workflow(cw_child_sleeps, 2, id=child_id)


@tether.workflow
async def cw_parent_with_bad_child() -> str:
    tether.start_workflow(cw_note, "x")  # type: ignore[arg-type]  # an activity is not a workflow
    return "started"


async def test_a_child_result_reaches_its_parent_and_the_child_is_an_ordinary_execution() -> None:
    STARTS.clear()
    async with TestEnvironment(workflows=[cw_parent, cw_child], activities=[cw_note]) as env:
        parent_id = new_id("cw")
        handle = await env.client.start_workflow(cw_parent, "hi", id=parent_id)
        assert await handle.result() == ["HI", "HI!"]
        assert sorted(STARTS) == ["hi", "hi!"]

        parent = await env.client.describe(parent_id)
        assert len(parent.children) == 2
        first, second = parent.children
        assert first == f"{parent_id}-child-1"
        child = await env.client.describe(first)
        assert (child.workflow, child.status, child.result, child.parent_id) == (
            cw_child.name, tether.WorkflowStatus.COMPLETED, "HI", parent_id,
        )  # fmt: skip
        assert (await env.client.describe(second)).parent_id == parent_id
        listed = {summary.id for summary in await env.client.list_workflows(limit=100)}
        assert {parent_id, first, second} <= listed

        history = await env.client.history(parent_id)
        started = events_of(history, EventType.CHILD_WORKFLOW_STARTED)
        closed = events_of(history, EventType.CHILD_WORKFLOW_CLOSED)
        assert [e.data["id"] for e in started] == [first, second]
        assert [(e.data["id"], e.data["status"], e.data["result"]) for e in closed] == [
            (first, "completed", "HI"), (second, "completed", "HI!"),
        ]  # fmt: skip


async def test_a_child_failure_reaches_the_parent_with_its_cause() -> None:
    async with TestEnvironment(workflows=[cw_parent_of_failing, cw_child_fails]) as env:
        parent_id = new_id("cw")
        handle = await env.client.start_workflow(cw_parent_of_failing, "input", id=parent_id)
        assert await handle.result() == f"{parent_id}-child-1: workflow_failed ValueError bad input"


async def test_an_unhandled_child_failure_fails_the_parent_with_child_workflow_failed() -> None:
    @tether.workflow(name="cw_parent_unhandled")
    async def parent(text: str) -> str:
        return await tether.run_workflow(cw_child_fails, text)

    async with TestEnvironment(workflows=[parent, cw_child_fails]) as env:
        handle = await env.client.start_workflow(parent, "input", id=new_id("cw"))
        with pytest.raises(tether.errors.WorkflowFailed) as failed:
            await handle.result()
        assert failed.value.error == "ChildWorkflowFailed"


async def test_a_parent_cancels_its_child_through_the_handle() -> None:
    async with TestEnvironment(workflows=[cw_parent_cancels_child, cw_child_waits], activities=[cw_wait]) as env:
        child_id = new_id("cw-child")
        handle = await env.client.start_workflow(cw_parent_cancels_child, child_id, id=new_id("cw"))
        await TOKENS.get(child_id)
        assert await handle.result() == "workflow_cancelled cancelled"
        child = await env.client.describe(child_id)
        assert child.status == tether.WorkflowStatus.CANCELLED


@pytest.mark.parametrize(("policy", "child_status"), [("cancel", "cancelled"), ("abandon", "running")])
async def test_cancelling_the_parent_cancels_or_abandons_its_child(policy: str, child_status: str) -> None:
    async with TestEnvironment(workflows=[cw_parent_waits_on_child, cw_child_waits], activities=[cw_wait]) as env:
        child_id = new_id("cw-child")
        parent_id = new_id("cw")
        handle = await env.client.start_workflow(cw_parent_waits_on_child, child_id, policy, id=parent_id)
        token = await TOKENS.get(child_id)
        await env.client.cancel_workflow(parent_id)
        with pytest.raises(WorkflowCancelled):
            await handle.result()
        await env.wait_for_idle()
        child = await env.client.describe(child_id)
        assert child.status == child_status
        if policy == "cancel":
            # The child's activity closed with it: its token is refused.
            with pytest.raises(tether.errors.ActivityAlreadyClosed):
                await env.client.complete_activity(token, "late")
        else:
            assert await env.client.complete_activity(token, "done")
            assert await env.client.get_handle(child_id).result() == "done"
            # The parent closed: it hears nothing more of its abandoned child.
            assert events_of(await env.client.history(parent_id), EventType.CHILD_WORKFLOW_CLOSED) == []


async def test_a_child_timeout_of_its_own_activity_and_a_sleeping_child_resolve_in_order() -> None:
    async with TestEnvironment(workflows=[cw_parent_of_sleeper, cw_child_sleeps]) as env:
        child_id = new_id("cw-child")
        handle = await env.client.start_workflow(cw_parent_of_sleeper, child_id, id=new_id("cw"))
        assert await handle.result() == "woke"
        assert (await env.client.describe(child_id)).status == tether.WorkflowStatus.COMPLETED


async def test_starting_a_child_with_the_id_of_an_existing_execution_is_that_execution() -> None:
    STARTS.clear()
    async with TestEnvironment(workflows=[cw_parent_with_id, cw_child], activities=[cw_note]) as env:
        child_id = new_id("cw-existing")
        existing = await env.client.start_workflow(cw_child, "x", id=child_id)
        assert await existing.result() == "X"
        parent = await env.client.start_workflow(cw_parent_with_id, child_id, id=new_id("cw"))
        assert await parent.result() == "X"
        assert STARTS == ["x"]  # the child ran once: the parent attached to the execution that had its id
        assert (await env.client.describe(child_id)).parent_id == parent.id

        # Now it is that parent's child: another parent cannot claim it.
        other = await env.client.start_workflow(cw_parent_with_id, child_id, id=new_id("cw"))
        with pytest.raises(tether.errors.WorkflowFailed) as failed:
            await other.result()
        assert failed.value.error == "ChildWorkflowFailed"


async def test_a_child_id_of_another_workflow_fails_the_child_not_the_task() -> None:
    async with TestEnvironment(workflows=[cw_parent_with_id, cw_child, cw_child_sleeps]) as env:
        taken = new_id("cw-taken")
        await env.client.start_workflow(cw_child_sleeps, 1, id=taken)
        parent = await env.client.start_workflow(cw_parent_with_id, taken, id=new_id("cw"))
        with pytest.raises(tether.errors.WorkflowFailed) as failed:
            await parent.result()
        assert failed.value.error == "ChildWorkflowFailed"
        assert "ExecutionIdTaken" in str(failed.value.details)
        assert (await env.client.describe(parent.id)).task_error is None


async def test_a_parent_that_crashes_and_replays_does_not_start_its_child_twice() -> None:
    STARTS.clear()
    async with TestEnvironment(
        workflows=[cw_parent_waits_on_child, cw_child_waits], activities=[cw_wait], max_cached_workflows=0
    ) as env:
        child_id = new_id("cw-child")
        handle = await env.client.start_workflow(cw_parent_waits_on_child, child_id, "cancel", id=new_id("cw"))
        token = await TOKENS.get(child_id)
        await env.restart()
        assert await env.client.complete_activity(token, "done")
        assert await env.client.get_handle(handle.id).result() == "done"
        history = await env.client.history(handle.id)
        assert len(events_of(history, EventType.CHILD_WORKFLOW_STARTED)) == 1
        assert types_of(await env.client.history(child_id)).count("WorkflowStarted") == 1


async def test_start_workflow_outside_a_workflow_or_with_a_non_workflow_is_refused() -> None:
    with pytest.raises(tether.errors.NotInWorkflow):
        tether.start_workflow(cw_child, "x")
    async with TestEnvironment(workflows=[cw_parent_with_bad_child], activities=[cw_note]) as env:
        handle = await env.client.start_workflow(cw_parent_with_bad_child, id=new_id("cw"))
        with pytest.raises(tether.errors.WorkflowFailed) as failed:
            await handle.result()
        assert failed.value.error == UsageError.__name__


async def test_gather_of_children_runs_them_concurrently() -> None:
    @tether.workflow(name="cw_gather")
    async def gather(names: list[str]) -> list[str]:
        return list(await asyncio.gather(*(tether.run_workflow(cw_child_waits, n, id=n) for n in names)))

    async with TestEnvironment(workflows=[gather, cw_child_waits], activities=[cw_wait]) as env:
        names = [new_id("cw-g") for _ in range(3)]
        handle = await env.client.start_workflow(gather, names, id=new_id("cw"))
        tokens = [await TOKENS.get(n) for n in names]
        for token, answer in zip(reversed(tokens), ["c", "b", "a"], strict=True):
            assert await env.client.complete_activity(token, answer)
        assert await handle.result() == ["a", "b", "c"]
