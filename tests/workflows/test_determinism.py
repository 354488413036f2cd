"""Replay determinism: changed workflow code fails its task with NonDeterminism; unchanged code replays alike."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest

import tether
from tests.helpers.workflows import commands_of, events_of, new_id, types_of
from tether.model.events import EventType
from tether.testing import TestEnvironment

CODE = {"variant": "original"}
"""Which version of det_order runs: switched by a test between a run and its replay."""


@tether.activity
async def det_reserve(order: str) -> str:
    return f"reserved {order}"


@tether.activity
async def det_notify(order: str) -> str:
    return f"notified {order}"


@tether.activity
async def det_charge(order: str) -> str:
    return f"charged {order}"


@tether.activity
async def det_audit(order: str) -> str:
    return f"audited {order}"


@tether.workflow
async def det_order(order: str) -> str:
    match CODE["variant"]:
        case "original":
            reserve = tether.start_activity(det_reserve, order)
            notify = tether.start_activity(det_notify, order)
        case "renamed":
            reserve = tether.start_activity(det_charge, order)
            notify = tether.start_activity(det_notify, order)
        case "reordered":
            notify = tether.start_activity(det_notify, order)
            reserve = tether.start_activity(det_reserve, order)
        case "timer_first":
            await tether.sleep(60)
            reserve = tether.start_activity(det_reserve, order)
            notify = tether.start_activity(det_notify, order)
        case "dropped":
            reserve = tether.start_activity(det_reserve, order)
            notify = reserve
        case "added":
            reserve = tether.start_activity(det_reserve, order)
            notify = tether.start_activity(det_notify, order)
            tether.start_activity(det_audit, order)
        case other:
            raise AssertionError(other)
    first = await reserve
    second = await notify
    await tether.sleep(timedelta(hours=1))
    return f"{first}, {second}"


ACTIVITIES = [det_reserve, det_notify, det_charge, det_audit]
EXPECTED = "reserved o-1, notified o-1"


@pytest.fixture(autouse=True)
def original_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CODE, "variant", "original")


def scheduled(history: list[tether.HistoryEvent], name: str) -> tether.HistoryEvent:
    [event] = events_of(history, EventType.ACTIVITY_SCHEDULED, name=name)
    return event


def first_marker(history: list[tether.HistoryEvent]) -> tether.HistoryEvent:
    return events_of(history, EventType.WORKFLOW_TASK_COMPLETED)[0]


# Each variant changes the first workflow task; the expected seq names the recorded event
# replay stops at (for an added command, the marker of the task that did not record it).
Locate = Callable[[list[tether.HistoryEvent]], tether.HistoryEvent]
VARIANTS: dict[str, tuple[Locate, list[str]]] = {
    "renamed": (lambda h: scheduled(h, "det_reserve"), ["'det_reserve'", "'det_charge'"]),
    "reordered": (lambda h: scheduled(h, "det_reserve"), ["'det_reserve'", "'det_notify'"]),
    "timer_first": (lambda h: scheduled(h, "det_reserve"), ["'det_reserve'", "TimerStarted"]),
    "dropped": (lambda h: scheduled(h, "det_notify"), ["'det_notify'", "no longer emitted"]),
    "added": (first_marker, ["'det_audit'", "does not record"]),
}


async def run_until_sleeping(env: TestEnvironment, execution_id: str) -> tether.WorkflowHandle[str]:
    handle = await env.client.start_workflow(det_order, "o-1", id=execution_id)
    await env.wait_for_idle()
    history = await handle.history()
    assert EventType.TIMER_STARTED in types_of(history)
    return handle


@pytest.mark.parametrize("variant", sorted(VARIANTS))
async def test_changed_code_fails_the_workflow_task_with_nondeterminism_naming_the_event(
    variant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    locate, words = VARIANTS[variant]
    async with TestEnvironment(workflows=[det_order], activities=ACTIVITIES) as env:
        execution_id = new_id("det")
        handle = await run_until_sleeping(env, execution_id)
        before = await handle.history()
        expected_seq = locate(before).seq

        monkeypatch.setitem(CODE, "variant", variant)
        await env.restart()
        await env.advance(timedelta(hours=1))

        description = await handle.describe()
        assert description.status == tether.WorkflowStatus.RUNNING
        assert description.task_error is not None
        assert description.task_error["error"] == "NonDeterminism"
        assert description.task_error["details"] == {"execution_id": execution_id, "event_seq": expected_seq}
        for word in words:
            assert word in description.task_error["message"]
        after = await handle.history()
        [failed] = events_of(after, EventType.WORKFLOW_TASK_FAILED)
        assert failed.data == description.task_error
        # Nothing the changed code emitted was recorded: after the failure, only the timer fired.
        assert after[: len(before)] == before
        assert types_of(after[len(before) :]) == [EventType.TIMER_FIRED, EventType.WORKFLOW_TASK_FAILED]


async def test_nondeterminism_is_detected_without_restart_when_every_task_replays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with TestEnvironment(workflows=[det_order], activities=ACTIVITIES, max_cached_workflows=0) as env:
        execution_id = new_id("det-nocache")
        handle = await run_until_sleeping(env, execution_id)
        expected_seq = scheduled(await handle.history(), "det_reserve").seq

        monkeypatch.setitem(CODE, "variant", "renamed")
        await env.advance(timedelta(hours=1))

        description = await handle.describe()
        assert description.status == tether.WorkflowStatus.RUNNING
        assert description.task_error is not None
        assert description.task_error["error"] == "NonDeterminism"
        assert description.task_error["details"]["event_seq"] == expected_seq


async def test_a_cached_workflow_keeps_running_the_code_it_started_with(monkeypatch: pytest.MonkeyPatch) -> None:
    async with TestEnvironment(workflows=[det_order], activities=ACTIVITIES) as env:
        handle = await run_until_sleeping(env, new_id("det-cached"))

        monkeypatch.setitem(CODE, "variant", "renamed")

        assert await handle.result() == EXPECTED
        assert (await handle.describe()).task_error is None


async def test_restoring_the_code_lets_the_failed_workflow_finish(monkeypatch: pytest.MonkeyPatch) -> None:
    async with TestEnvironment(workflows=[det_order], activities=ACTIVITIES) as env:
        handle = await run_until_sleeping(env, new_id("det-fixed"))
        monkeypatch.setitem(CODE, "variant", "renamed")
        await env.restart()
        await env.advance(timedelta(hours=1))
        assert (await handle.describe()).task_error is not None

        monkeypatch.setitem(CODE, "variant", "original")
        await env.restart()

        assert await handle.result() == EXPECTED
        description = await handle.describe()
        assert description.status == tether.WorkflowStatus.COMPLETED
        assert description.task_error is None
        history = await handle.history()
        names = [event.data["name"] for event in events_of(history, EventType.ACTIVITY_SCHEDULED)]
        assert names == ["det_reserve", "det_notify"]
        assert len(events_of(history, EventType.ACTIVITY_COMPLETED)) == 2


async def test_unchanged_code_replayed_on_every_task_gives_the_same_result_and_commands() -> None:
    outcomes = []
    for cache in (2000, 0):
        async with TestEnvironment(workflows=[det_order], activities=ACTIVITIES, max_cached_workflows=cache) as env:
            handle = await env.client.start_workflow(det_order, "o-1", id="det-same")
            result = await handle.result()
            outcomes.append((result, commands_of(await handle.history()), (await handle.describe()).task_error))

    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == EXPECTED
    assert outcomes[0][2] is None


async def test_unchanged_code_replays_from_scratch_after_a_restart() -> None:
    async with TestEnvironment(workflows=[det_order], activities=ACTIVITIES) as env:
        handle = await run_until_sleeping(env, new_id("det-restart"))

        await env.restart()

        assert await handle.result() == EXPECTED
        assert events_of(await handle.history(), EventType.WORKFLOW_TASK_FAILED) == []


async def test_workflow_code_may_not_do_io() -> None:
    async with TestEnvironment(workflows=[det_io], activities=[]) as env:
        handle = await env.client.start_workflow(det_io, id=new_id("det-io"))

        with pytest.raises(tether.errors.WorkflowFailed) as caught:
            await handle.result()

        assert caught.value.error == "UsageError"
        assert "activity" in caught.value.message


@tether.workflow
async def det_io() -> str:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, print, "not allowed")
    return "did I/O"


@tether.activity
async def det_remember(value: str) -> str:
    return value


@tether.workflow
async def det_generated() -> list[str]:
    made = [str(tether.uuid4()), tether.now().isoformat()]
    for value in made:
        await det_remember(value)
    await tether.sleep(timedelta(hours=1))
    return made


async def test_uuid4_and_now_give_the_same_values_when_replayed() -> None:
    async with TestEnvironment(workflows=[det_generated], activities=[det_remember], max_cached_workflows=0) as env:
        start = env.clock.now()
        handle = await env.client.start_workflow(det_generated, id=new_id("det-generated"))

        replayed = await handle.result()

        recorded = [event.data["args"][0] for event in events_of(await handle.history(), EventType.ACTIVITY_SCHEDULED)]
        assert replayed == recorded
        assert replayed[1] == start.isoformat()
