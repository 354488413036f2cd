"""Changing workflow code under running executions: tether.patched and tether.deprecate_patch.

Each version of the workflow is registered under the same name; ``env.restart(workflows=...)``
deploys it (a new worker, an empty cache: the executions the old code left replay from
their histories).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

import tether
from tests.helpers.workflows import events_of, new_id
from tether.errors import UsageError
from tether.model.events import EventType
from tether.testing import TestEnvironment


@tether.activity
async def patch_charge(order: str) -> str:
    return f"charged {order}"


@tether.activity
async def patch_charge_v2(order: str) -> str:
    return f"charged {order} (v2)"


@tether.workflow(name="patch_order")
async def order_v1(order: str) -> str:
    charged = await patch_charge(order)
    await tether.sleep(timedelta(days=1))
    return charged


@tether.workflow(name="patch_order")
async def order_v2(order: str) -> str:
    if tether.patched("charge-v2"):
        charged = await patch_charge_v2(order)
    else:
        charged = await patch_charge(order)
    await tether.sleep(timedelta(days=1))
    # Asked again later (in another workflow task): the answer does not change.
    assert tether.patched("charge-v2") == charged.endswith("(v2)")
    return charged


@tether.workflow(name="patch_order")
async def order_v3(order: str) -> str:
    tether.deprecate_patch("charge-v2")
    charged = await patch_charge_v2(order)
    await tether.sleep(timedelta(days=1))
    return charged


@tether.workflow(name="patch_order")
async def order_v4(order: str) -> str:
    charged = await patch_charge_v2(order)
    await tether.sleep(timedelta(days=1))
    return charged


ACTIVITIES = [patch_charge, patch_charge_v2]


async def start_parked(env: TestEnvironment, prefix: str) -> tether.WorkflowHandle[str]:
    """Start an execution and let it run until it sleeps (charged, waiting a day)."""
    handle: tether.WorkflowHandle[str] = await env.client.start_workflow(order_v1, prefix, id=new_id(prefix))
    await env.wait_for_idle()
    assert (await handle.describe()).status == tether.WorkflowStatus.RUNNING
    return handle


async def markers(handle: tether.WorkflowHandle[str]) -> list[str]:
    return [e.data["name"] for e in events_of(await handle.history(), EventType.PATCH_RECORDED)]


@pytest.mark.parametrize("cached", [2000, 0], ids=["cached", "replay-every-task"])
async def test_patched_keeps_old_executions_on_the_old_branch_and_new_ones_on_the_new(cached: int) -> None:
    async with TestEnvironment(workflows=[order_v1], activities=ACTIVITIES, max_cached_workflows=cached) as env:
        old = await start_parked(env, "old")

        await env.restart(workflows=[order_v2])
        new = await start_parked(env, "new")
        assert await markers(new) == ["charge-v2"]
        assert (await new.describe()).patches == ["charge-v2"]

        await env.advance(timedelta(days=1))

        assert await old.result() == "charged old"
        assert await new.result() == "charged new (v2)"
        assert await markers(old) == []
        assert await markers(new) == ["charge-v2"]
        assert (await old.describe()).patches == []
        for handle in (old, new):
            assert (await handle.describe()).task_error is None


async def test_patched_is_true_where_an_old_execution_reaches_the_patch_after_the_deploy() -> None:
    @tether.workflow(name="patch_late")
    async def late_v1(order: str) -> str:
        await tether.sleep(timedelta(days=1))
        return await patch_charge(order)

    @tether.workflow(name="patch_late")
    async def late_v2(order: str) -> str:
        await tether.sleep(timedelta(days=1))
        if tether.patched("charge-v2"):
            return await patch_charge_v2(order)
        return await patch_charge(order)

    async with TestEnvironment(workflows=[late_v1], activities=ACTIVITIES) as env:
        handle: tether.WorkflowHandle[str] = await env.client.start_workflow(late_v1, "o", id=new_id("late"))
        await env.wait_for_idle()
        await env.restart(workflows=[late_v2])
        await env.advance(timedelta(days=1))
        # The patched point runs for the first time under the new code: it takes the new branch.
        assert await handle.result() == "charged o (v2)"
        assert (await handle.describe()).patches == ["charge-v2"]


async def test_deprecated_patch_replays_executions_that_recorded_its_marker() -> None:
    async with TestEnvironment(workflows=[order_v2], activities=ACTIVITIES) as env:
        patched_before = await start_parked(env, "recorded")
        assert await markers(patched_before) == ["charge-v2"]

        await env.restart(workflows=[order_v3])
        deprecated = await start_parked(env, "deprecated")
        await env.advance(timedelta(days=1))

        assert await patched_before.result() == "charged recorded (v2)"
        assert await deprecated.result() == "charged deprecated (v2)"
        assert await markers(patched_before) == ["charge-v2"]
        # deprecate_patch records nothing: the executions it starts no longer depend on the patch.
        assert await markers(deprecated) == []
        assert (await deprecated.describe()).patches == []
        assert (await patched_before.describe()).task_error is None


async def test_removing_a_patch_that_executions_still_recorded_is_nondeterminism() -> None:
    async with TestEnvironment(workflows=[order_v2], activities=ACTIVITIES) as env:
        handle = await start_parked(env, "removed")
        [marker] = events_of(await handle.history(), EventType.PATCH_RECORDED)

        await env.restart(workflows=[order_v4])
        await env.advance(timedelta(days=1))

        description = await handle.describe()
        assert description.status == tether.WorkflowStatus.RUNNING
        assert description.task_error is not None
        assert description.task_error["error"] == "NonDeterminism"
        assert description.task_error["details"]["event_seq"] == marker.seq
        assert "PatchRecorded 'charge-v2'" in description.task_error["message"]

        # Putting deprecate_patch back lets it finish.
        await env.restart(workflows=[order_v3])
        await env.advance(timedelta(days=1))
        assert await handle.result() == "charged removed (v2)"


async def test_patched_answers_once_and_records_one_marker_per_patch() -> None:
    @tether.workflow(name="patch_twice")
    async def twice() -> list[bool]:
        answers = [tether.patched("a"), tether.patched("a"), tether.patched("b")]
        await tether.sleep(60)
        answers.append(tether.patched("a"))
        return answers

    async with TestEnvironment(workflows=[twice], max_cached_workflows=0) as env:
        handle = await env.client.start_workflow(twice)
        assert await handle.result() == [True, True, True, True]
        assert [e.data for e in events_of(await handle.history(), EventType.PATCH_RECORDED)] == [
            {"name": "a"},
            {"name": "b"},
        ]
        assert (await handle.describe()).patches == ["a", "b"]


async def test_a_patch_id_that_is_not_a_printable_string_fails_the_workflow() -> None:
    @tether.workflow(name="patch_bad_id")
    async def bad_id() -> bool:
        return tether.patched("")

    async with TestEnvironment(workflows=[bad_id]) as env:
        handle = await env.client.start_workflow(bad_id)
        with pytest.raises(tether.errors.WorkflowFailed, match="patch id"):
            await handle.result()


def test_patched_outside_a_workflow_says_where_it_belongs() -> None:
    with pytest.raises(tether.errors.NotInWorkflow):
        tether.patched("x")
    with pytest.raises(tether.errors.NotInWorkflow):
        tether.deprecate_patch("x")
    assert issubclass(tether.errors.NotInWorkflow, UsageError)
