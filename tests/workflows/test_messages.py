"""Messages into running workflows: durable from the send, received once and in order, with durable timeouts."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import tether
from tests.helpers.workflows import TOKENS, events_of, new_id, types_of
from tether.errors import (
    ExecutionClosed,
    ExecutionIdTaken,
    ExecutionNotFound,
    InvalidPayload,
    MessageKeyReused,
)
from tether.model.clock import VirtualClock
from tether.model.events import EventType
from tether.runtime.workflow_instance import WorkflowInstance
from tether.testing import TestEnvironment


class Approver(BaseModel):
    name: str
    level: int = 1


@tether.activity
async def msg_wait_for_token(key: str) -> str:
    TOKENS.put(key, tether.context().token)
    return tether.make_async()


@tether.workflow(messages={"approver-added": Approver})
async def msg_collect(count: int, key: str) -> list[str]:
    """Takes one approver before an activity, runs the activity, then takes approvers up to ``count``."""
    names = [(await tether.receive("approver-added")).name]
    names.append(await msg_wait_for_token(key))
    while len(names) < count + 1:
        approver = await tether.receive("approver-added")
        assert isinstance(approver, Approver)
        names.append(approver.name)
    return names


@tether.workflow
async def msg_with_timeout(hours: int) -> list[str]:
    outcome: list[str] = []
    try:
        outcome.append(await tether.receive("go", timeout=timedelta(hours=hours)))
    except TimeoutError:
        outcome.append("timed out")
    await tether.sleep(timedelta(hours=10))
    outcome.append(await tether.receive("go", timeout=timedelta(0)))
    return outcome


@tether.workflow
async def msg_race(key: str) -> str:
    """A receive racing an activity: whichever comes first wins; the other stays where it was."""
    waiting = asyncio.ensure_future(tether.receive("cancel-order"))
    work = tether.start_activity(msg_wait_for_token, key)
    done, _ = await asyncio.wait({waiting, work}, return_when=asyncio.FIRST_COMPLETED)
    if waiting in done:
        work.cancel()
        return f"cancelled: {waiting.result()}"
    waiting.cancel()
    later = await tether.receive("cancel-order")
    return f"worked: {work.result()}, then {later}"


@tether.workflow
async def msg_continues(runs_left: int) -> list[Any]:
    if runs_left > 0:
        await tether.sleep(timedelta(hours=1))  # the messages all reach this run while it sleeps
    taken = [await tether.receive("item")]
    if runs_left > 0:
        tether.continue_as_new(runs_left - 1)
    taken.append(await tether.receive("item"))
    return taken


async def _history_of(env: TestEnvironment, execution_id: str) -> list[tether.HistoryEvent]:
    return await env.client.history(execution_id)


async def test_messages_sent_before_the_first_step_while_waiting_and_during_an_activity_arrive_once_in_order() -> None:
    async with TestEnvironment(workflows=[msg_collect], activities=[msg_wait_for_token]) as env:
        execution_id = new_id("msg")
        # Before its first step: the start and the message are one transaction.
        handle = await env.client.send_with_start(
            msg_collect, 3, execution_id, id=execution_id, message="approver-added", payload={"name": "ann"}
        )
        token = await TOKENS.get(execution_id)  # the workflow took "ann" and now runs the activity
        assert await env.client.send(execution_id, "approver-added", {"name": "bob", "level": 2}, key="k-bob")
        await env.client.complete_activity(token, "activity")
        await env.wait_for_idle()  # it now waits for the third
        await env.client.send(execution_id, "approver-added", {"name": "cy"})
        assert await handle.result() == ["ann", "activity", "bob", "cy"]

        history = await _history_of(env, execution_id)
        sent = events_of(history, EventType.MESSAGE_SENT)
        received = events_of(history, EventType.MESSAGE_RECEIVED)
        assert [e.data["payload"]["name"] for e in sent] == ["ann", "bob", "cy"]
        assert [e.data["message_id"] for e in received] == [e.data["message_id"] for e in sent]


async def test_a_restart_between_messages_loses_none_and_duplicates_none() -> None:
    async with TestEnvironment(workflows=[msg_collect], activities=[msg_wait_for_token]) as env:
        execution_id = new_id("msg")
        handle = await env.client.start_workflow(msg_collect, 3, execution_id, id=execution_id)
        await env.wait_for_idle()
        await env.client.send(execution_id, "approver-added", {"name": "ann"})
        token = await TOKENS.get(execution_id)
        await env.client.send(execution_id, "approver-added", {"name": "bob"}, key="bob")
        await env.restart()  # the cache is gone: the workflow replays its history
        assert not await env.client.send(execution_id, "approver-added", {"name": "bob"}, key="bob")
        await env.client.complete_activity(token, "mid")
        await env.restart()
        await env.client.send(execution_id, "approver-added", {"name": "cy"}, key="cy")
        assert await handle.result() == ["ann", "mid", "bob", "cy"]
        history = await _history_of(env, execution_id)
        assert len(events_of(history, EventType.MESSAGE_SENT)) == 3
        assert len(events_of(history, EventType.MESSAGE_RECEIVED)) == 3


async def test_the_same_key_twice_is_one_message_and_another_payload_under_it_is_refused() -> None:
    async with TestEnvironment(workflows=[msg_collect], activities=[msg_wait_for_token]) as env:
        execution_id = new_id("msg")
        await env.client.start_workflow(msg_collect, 1, execution_id, id=execution_id)
        assert await env.client.send(execution_id, "approver-added", {"name": "ann"}, key="once")
        assert not await env.client.send(execution_id, "approver-added", {"name": "ann"}, key="once")
        with pytest.raises(MessageKeyReused) as reused:
            await env.client.send(execution_id, "approver-added", {"name": "eve"}, key="once")
        assert reused.value.key == "once"
        history = await _history_of(env, execution_id)
        assert [e.data["payload"] for e in events_of(history, EventType.MESSAGE_SENT)] == [{"name": "ann"}]


async def test_a_payload_that_does_not_match_the_declared_type_is_refused_and_nothing_is_stored() -> None:
    async with TestEnvironment(workflows=[msg_collect], activities=[msg_wait_for_token]) as env:
        execution_id = new_id("msg")
        await env.client.start_workflow(msg_collect, 1, execution_id, id=execution_id)
        await env.wait_for_idle()
        before = await _history_of(env, execution_id)
        with pytest.raises(InvalidPayload) as invalid:
            await env.client.send(execution_id, "approver-added", {"name": 42, "level": "high"})
        assert [error["loc"] for error in invalid.value.errors] == [["payload", "level"], ["payload", "name"]]
        assert await _history_of(env, execution_id) == before


async def test_sending_to_an_unknown_or_closed_execution_is_refused_and_stores_nothing() -> None:
    async with TestEnvironment(workflows=[msg_with_timeout]) as env:
        with pytest.raises(ExecutionNotFound):
            await env.client.send(new_id("nobody"), "go", "x")
        execution_id = new_id("msg")
        handle = await env.client.start_workflow(msg_with_timeout, 1, id=execution_id)
        await env.client.send(execution_id, "go", "first")
        await env.client.send(execution_id, "go", "second", key="second")
        assert await handle.result() == ["first", "second"]
        closed = await _history_of(env, execution_id)
        with pytest.raises(ExecutionClosed) as refused:
            await env.client.send(execution_id, "go", "late")
        assert refused.value.status == "completed"
        # A retry of a send that was stored while it ran is still acknowledged.
        assert not await env.client.send(execution_id, "go", "second", key="second")
        assert await _history_of(env, execution_id) == closed


async def test_a_receive_times_out_at_its_deadline_across_a_restart_and_a_later_message_waits_for_the_next() -> None:
    async with TestEnvironment(workflows=[msg_with_timeout]) as env:
        execution_id = new_id("msg")
        handle = await env.client.start_workflow(msg_with_timeout, 3, id=execution_id)
        await env.wait_for_idle()
        await env.advance(timedelta(hours=2))
        await env.restart()  # the timeout is a durable timer: it survives
        await env.advance(timedelta(hours=1))
        history = await _history_of(env, execution_id)
        assert EventType.TIMER_FIRED in types_of(history)
        await env.client.send(execution_id, "go", "late")  # after the timeout: kept for the next receive
        await env.advance(timedelta(hours=10))
        assert await handle.result() == ["timed out", "late"]
        history = await _history_of(env, execution_id)
        fired = events_of(history, EventType.TIMER_FIRED)[0]
        started = events_of(history, EventType.TIMER_STARTED)[0]
        assert fired.data["timer_id"] == started.data["timer_id"]
        assert fired.at - history[0].at == timedelta(hours=3)  # at its deadline, though a restart came between


async def test_a_message_before_the_timeout_cancels_its_timer() -> None:
    async with TestEnvironment(workflows=[msg_with_timeout]) as env:
        execution_id = new_id("msg")
        handle = await env.client.start_workflow(msg_with_timeout, 3, id=execution_id)
        await env.wait_for_idle()
        await env.advance(timedelta(hours=1))
        await env.client.send(execution_id, "go", "soon")
        await env.client.send(execution_id, "go", "next")
        await env.advance(timedelta(hours=10))
        assert await handle.result() == ["soon", "next"]
        history = await _history_of(env, execution_id)
        first_timer = events_of(history, EventType.TIMER_STARTED)[0].data["timer_id"]
        assert first_timer in [e.data["timer_id"] for e in events_of(history, EventType.TIMER_CANCELLED)]
        assert first_timer not in [e.data["timer_id"] for e in events_of(history, EventType.TIMER_FIRED)]


async def test_a_receive_races_an_activity_and_the_message_that_lost_stays_for_the_next_receive() -> None:
    async with TestEnvironment(workflows=[msg_race], activities=[msg_wait_for_token]) as env:
        first, second = new_id("race"), new_id("race")
        winner = await env.client.start_workflow(msg_race, first, id=first)
        await TOKENS.get(first)
        await env.client.send(first, "cancel-order", "customer asked")
        assert await winner.result() == "cancelled: customer asked"

        loser = await env.client.start_workflow(msg_race, second, id=second)
        token = await TOKENS.get(second)
        await env.client.complete_activity(token, "done")
        await env.wait_for_idle()
        await env.restart()
        await env.client.send(second, "cancel-order", "too late")
        assert await loser.result() == "worked: done, then too late"


async def test_messages_a_run_did_not_take_go_to_the_next_run_in_order() -> None:
    async with TestEnvironment(workflows=[msg_continues]) as env:
        execution_id = new_id("msg")
        handle = await env.client.start_workflow(msg_continues, 1, id=execution_id)
        await env.wait_for_idle()
        for item in (1, 2, 3):
            await env.client.send(execution_id, "item", item)
        await env.advance(timedelta(hours=1))
        assert await handle.result() == [2, 3]
        first_run = await env.client.history(execution_id, run=1)
        sent = events_of(first_run, EventType.MESSAGE_SENT)
        assert [e.data["payload"] for e in sent] == [1, 2, 3]
        assert [e.data["message_id"] for e in events_of(first_run, EventType.MESSAGE_RECEIVED)] == [
            sent[0].data["message_id"]
        ]
        second_run = await env.client.history(execution_id, run=2)
        handed = events_of(second_run, EventType.MESSAGE_SENT)
        assert [(e.data["message_id"], e.data["payload"]) for e in handed] == [
            (e.data["message_id"], e.data["payload"]) for e in sent[1:]
        ]


async def test_send_with_start_sends_to_an_existing_execution_and_refuses_an_id_of_another_workflow() -> None:
    async with TestEnvironment(workflows=[msg_collect, msg_with_timeout], activities=[msg_wait_for_token]) as env:
        execution_id = new_id("msg")
        await env.client.start_workflow(msg_with_timeout, 1, id=execution_id)
        handle = await env.client.send_with_start(msg_with_timeout, 1, id=execution_id, message="go", payload="one")
        await env.client.send(execution_id, "go", "two")
        assert await handle.result() == ["one", "two"]
        with pytest.raises(ExecutionIdTaken):
            await env.client.send_with_start(
                msg_collect, 1, "k", id=execution_id, message="approver-added", payload={"name": "x"}
            )
        with pytest.raises(ExecutionClosed):
            await env.client.send_with_start(msg_with_timeout, 1, id=execution_id, message="go", payload="three")
        history = await _history_of(env, execution_id)
        assert [e.data["payload"] for e in events_of(history, EventType.MESSAGE_SENT)] == ["one", "two"]


@tether.workflow(timeout=timedelta(hours=1))
async def msg_with_deadline() -> str:
    return str(await tether.receive("go"))


async def test_a_send_after_the_workflow_deadline_is_refused_and_the_deadline_applies_at_its_own_time() -> None:
    async with TestEnvironment(workflows=[msg_with_deadline]) as env:
        execution_id = new_id("msg")
        start = env.clock.now()
        await env.client.start_workflow(msg_with_deadline, id=execution_id)
        await env.wait_for_idle()
        env.clock.advance(timedelta(hours=2))  # no timer pass needs to run first
        with pytest.raises(ExecutionClosed) as refused:
            await env.client.send(execution_id, "go", "too late")
        assert refused.value.status == "timed_out"
        description = await env.client.describe(execution_id)
        assert description.closed_at == start + timedelta(hours=1)
        history = await _history_of(env, execution_id)
        assert EventType.MESSAGE_SENT not in types_of(history)
        assert description.messages == []


async def test_a_description_lists_messages_and_requests_with_where_they_stand() -> None:
    async with TestEnvironment(workflows=[msg_with_timeout]) as env:
        execution_id = new_id("msg")
        await env.client.start_workflow(msg_with_timeout, 3, id=execution_id)
        await env.client.send(execution_id, "go", "taken", key="a")
        await env.client.send(execution_id, "other", {"n": 1})
        await env.wait_for_idle()
        listed = (await env.client.describe(execution_id)).messages
        assert [(m.kind, m.name, m.payload, m.key, m.state) for m in listed] == [
            ("message", "go", "taken", "a", "received"),
            ("message", "other", {"n": 1}, None, "pending"),
        ]
        assert listed[0].updated_at is not None
        assert listed[1].updated_at is None


@tether.workflow(name="msg_collect", messages={"approver-added": Approver})
async def msg_collect_changed(count: int, key: str) -> list[str]:
    """msg_collect as a later version might write it: it waits for a message of another name first."""
    names = [str(await tether.receive("approver-removed"))]
    return names


async def test_a_history_with_messages_replays_and_a_change_to_what_is_received_is_caught() -> None:
    async with TestEnvironment(workflows=[msg_collect], activities=[msg_wait_for_token]) as env:
        execution_id = new_id("msg")
        handle = await env.client.start_workflow(msg_collect, 2, execution_id, id=execution_id)
        await env.client.send(execution_id, "approver-added", {"name": "ann"})
        await env.client.complete_activity(await TOKENS.get(execution_id), "mid")
        await env.client.send(execution_id, "approver-added", {"name": "bob"})
        assert await handle.result() == ["ann", "mid", "bob"]
        history = await env.client.history(execution_id)
    tether.testing.replay(msg_collect, history)
    with pytest.raises(tether.errors.NonDeterminism):
        tether.testing.replay(msg_collect_changed, history)


@tether.workflow
async def msg_takes_what_is_there() -> str:
    try:
        return str(await tether.receive("m", timeout=timedelta(0)))
    except TimeoutError:
        return "nothing came"


@pytest.mark.single_backend
async def test_a_message_that_comes_while_the_closing_step_runs_is_seen_before_the_workflow_closes(
    tmp_path: Path,
) -> None:
    # The workflow's step ran (and returned) before the message was sent, but commits after it:
    # the close is refused, and the step runs again with the message.
    url = f"sqlite:///{tmp_path / 'late.db'}"
    client = await tether.Client.connect(url, clock=VirtualClock())
    try:
        engine = client.engine
        execution_id = new_id("msg")
        await client.start_workflow(msg_takes_what_is_there, id=execution_id)
        (task,) = await engine.claim_workflow_tasks(
            owner="w", workflows_=[msg_takes_what_is_there.name], limit=1, lease_ms=60_000, cached_seq={}
        )
        instance = WorkflowInstance(execution_id, msg_takes_what_is_there)
        commands = instance.activate(task.events, engine.clock.now_ms())
        assert [c.type for c in commands] == [EventType.WORKFLOW_COMPLETED]
        await client.send(execution_id, "m", "just in time")
        closed = await engine.complete_workflow_task(
            execution_id=execution_id, owner="w", leased_until_ms=task.leased_until_ms,
            seen_seq=instance.loaded_seq, task_now_ms=instance.now_ms, commands=commands,
        )  # fmt: skip
        assert closed is None
        assert (await client.describe(execution_id)).status == tether.WorkflowStatus.RUNNING
    finally:
        await client.close()
    async with TestEnvironment(url=url, workflows=[msg_takes_what_is_there]) as env:
        assert await env.client.get_handle(execution_id).result() == "just in time"
