"""Published values: ``tether.publish`` in workflow code, ``client.published`` from outside, long polls included."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

import tether
from tests.helpers.workflows import TOKENS, events_of, new_id, types_of
from tether.errors import ExecutionNotFound, InvalidPayload, NotPublished, UsageError
from tether.model.events import EventType
from tether.testing import TestEnvironment


@tether.activity
async def pub_wait(step: int) -> str:
    ctx = tether.context()
    TOKENS.put(f"{ctx.execution_id}/{step}", ctx.token)
    return tether.make_async()


@tether.workflow
async def pub_progress(steps: int) -> str:
    for done in range(steps):
        tether.publish("progress", {"done": done, "of": steps})
        await pub_wait(done)
    tether.publish("progress", {"done": steps, "of": steps})  # in the closing task
    return "finished"


@tether.workflow
async def pub_after_a_step() -> str:
    answer = await pub_wait(0)
    tether.publish("answer", answer)
    return answer


@tether.workflow
async def pub_turns(turn: int) -> int:
    answer = await pub_wait(turn)
    tether.publish("turn", {"turn": turn, "answer": answer})
    if answer == "again":
        tether.continue_as_new(turn + 1)
    return turn


@tether.workflow
async def pub_refusals() -> list[str]:
    refused = []
    for name, value in (("", 1), ("a/b", 1), ("x" * 257, 1), ("ok", object()), ("nan", float("nan"))):
        try:
            tether.publish(name, value)
        except InvalidPayload as invalid:
            refused.append(invalid.code)
    tether.publish("ok", "fine")
    return refused


PUBLISH_AS = {"name": "stage", "value": "one"}
"""What pub_changing publishes: switched by a test between a run and its replay."""


@tether.workflow
async def pub_changing() -> str:
    tether.publish(PUBLISH_AS["name"], PUBLISH_AS["value"])
    return await pub_wait(0)


@tether.workflow
async def pub_odd_name() -> None:
    tether.publish("50% done? #1 état", [1, 2])


@tether.workflow
async def pub_big(size: int) -> None:
    tether.publish("small", {"n": 1})
    tether.publish("big", "x" * size)


async def step_token(execution_id: str, step: int) -> str:
    return await TOKENS.get(f"{execution_id}/{step}")


async def parked(env: TestEnvironment, task: asyncio.Task[Any]) -> None:
    """Return once ``task`` (a long poll) waits on the engine for a publish."""
    while env.engine.notifier.parked_on("messages") == 0:
        assert not task.done(), task
        await asyncio.sleep(0)


async def test_a_value_published_while_running_is_read_from_outside() -> None:
    async with TestEnvironment(workflows=[pub_progress], activities=[pub_wait]) as env:
        execution_id = new_id("pub")
        await env.client.start_workflow(pub_progress, 3, id=execution_id)
        await step_token(execution_id, 0)

        progress = await env.client.published(execution_id, "progress")

        assert progress == tether.Published({"done": 0, "of": 3}, 1)
        assert progress.published_at == env.clock.now()
        assert (await env.client.describe(execution_id)).status == tether.WorkflowStatus.RUNNING


async def test_a_name_of_any_printable_characters_is_read_under_an_id_holding_slashes() -> None:
    async with TestEnvironment(workflows=[pub_odd_name]) as env:
        execution_id = new_id("orders/2026/pub")
        await env.client.start_workflow(pub_odd_name, id=execution_id)
        await env.client.get_handle(execution_id).result()

        assert await env.client.published(execution_id, "50% done? #1 état") == tether.Published([1, 2], 1)


async def test_the_last_publish_wins_and_versions_count_one_two_three() -> None:
    async with TestEnvironment(workflows=[pub_progress], activities=[pub_wait]) as env:
        execution_id = new_id("pub")
        handle = await env.client.start_workflow(pub_progress, 2, id=execution_id)
        seen = []
        for step in range(2):
            token = await step_token(execution_id, step)
            seen.append(await env.client.published(execution_id, "progress"))
            await env.client.complete_activity(token, "ok")
        assert await handle.result() == "finished"
        seen.append(await env.client.published(execution_id, "progress"))

        assert seen == [
            tether.Published({"done": 0, "of": 2}, 1),
            tether.Published({"done": 1, "of": 2}, 2),
            tether.Published({"done": 2, "of": 2}, 3),
        ]


async def test_a_value_stays_readable_after_close_and_its_publish_precedes_the_close() -> None:
    async with TestEnvironment(workflows=[pub_progress], activities=[pub_wait]) as env:
        execution_id = new_id("pub")
        handle = await env.client.start_workflow(pub_progress, 1, id=execution_id)
        await env.client.complete_activity(await step_token(execution_id, 0), "ok")
        await handle.result()

        assert await env.client.published(execution_id, "progress") == tether.Published({"done": 1, "of": 1}, 2)
        history = await env.client.history(execution_id)
        assert types_of(history)[-3:] == ["WorkflowTaskCompleted", "ValuePublished", "WorkflowCompleted"]
        assert history[-2].data == {"name": "progress", "value": {"done": 1, "of": 1}}


async def test_reading_before_any_publish_raises_not_published() -> None:
    async with TestEnvironment(workflows=[pub_after_a_step], activities=[pub_wait]) as env:
        execution_id = new_id("pub")
        await env.client.start_workflow(pub_after_a_step, id=execution_id)
        await step_token(execution_id, 0)

        with pytest.raises(NotPublished) as none_yet:
            await env.client.published(execution_id, "answer")
        assert (none_yet.value.execution_id, none_yet.value.name) == (execution_id, "answer")
        with pytest.raises(NotPublished):
            await env.client.published(execution_id, "answer", wait=0)
        with pytest.raises(ExecutionNotFound):
            await env.client.published(new_id("missing"), "answer")


async def test_a_long_poll_wakes_when_the_workflow_publishes() -> None:
    async with TestEnvironment(workflows=[pub_progress], activities=[pub_wait]) as env:
        execution_id = new_id("pub")
        await env.client.start_workflow(pub_progress, 2, id=execution_id)
        token = await step_token(execution_id, 0)
        first = await env.client.published(execution_id, "progress")
        started = env.clock.now()

        poll = asyncio.create_task(
            env.client.published(execution_id, "progress", after=first.version, wait=timedelta(hours=1))
        )
        await parked(env, poll)
        await env.client.complete_activity(token, "ok")  # the workflow publishes its next step

        assert await poll == tether.Published({"done": 1, "of": 2}, first.version + 1)
        assert env.clock.now() == started  # woken by the publish, not by the end of the wait


async def test_a_long_poll_for_a_first_value_wakes_when_it_is_published() -> None:
    async with TestEnvironment(workflows=[pub_after_a_step], activities=[pub_wait]) as env:
        execution_id = new_id("pub")
        await env.client.start_workflow(pub_after_a_step, id=execution_id)
        token = await step_token(execution_id, 0)

        poll = asyncio.create_task(env.client.published(execution_id, "answer", wait=600))
        await parked(env, poll)
        await env.client.complete_activity(token, "yes")

        assert await poll == tether.Published("yes", 1)


async def test_a_long_poll_that_expires_returns_the_value_unchanged() -> None:
    async with TestEnvironment(workflows=[pub_progress], activities=[pub_wait]) as env:
        execution_id = new_id("pub")
        await env.client.start_workflow(pub_progress, 2, id=execution_id)
        await step_token(execution_id, 0)

        poll = asyncio.create_task(env.client.published(execution_id, "progress", after=1, wait=30))
        await parked(env, poll)
        await env.advance(timedelta(seconds=29))
        assert not poll.done()
        await env.advance(timedelta(seconds=1))

        assert await poll == tether.Published({"done": 0, "of": 2}, 1)


async def test_a_long_poll_for_a_name_never_published_raises_not_published_when_it_expires() -> None:
    async with TestEnvironment(workflows=[pub_progress], activities=[pub_wait]) as env:
        execution_id = new_id("pub")
        await env.client.start_workflow(pub_progress, 1, id=execution_id)
        await step_token(execution_id, 0)

        poll = asyncio.create_task(env.client.published(execution_id, "other", wait=timedelta(seconds=45)))
        await parked(env, poll)
        await env.advance(timedelta(seconds=45))

        with pytest.raises(NotPublished):
            await poll


async def test_a_long_poll_longer_than_one_request_waits_its_whole_time() -> None:
    async with TestEnvironment(workflows=[pub_progress], activities=[pub_wait]) as env:
        execution_id = new_id("pub")
        await env.client.start_workflow(pub_progress, 1, id=execution_id)
        token = await step_token(execution_id, 0)

        poll = asyncio.create_task(env.client.published(execution_id, "progress", after=1, wait=150))
        for _ in range(2):  # over HTTP, each request waits a minute at most: the client asks again
            await parked(env, poll)
            await env.advance(timedelta(seconds=60))
        await parked(env, poll)
        await env.client.complete_activity(token, "ok")

        assert await poll == tether.Published({"done": 1, "of": 1}, 2)


async def test_replay_after_a_worker_restart_publishes_nothing_again() -> None:
    async with TestEnvironment(workflows=[pub_progress], activities=[pub_wait]) as env:
        execution_id = new_id("pub")
        handle = await env.client.start_workflow(pub_progress, 2, id=execution_id)
        await env.client.complete_activity(await step_token(execution_id, 0), "ok")
        token = await step_token(execution_id, 1)
        assert (await env.client.published(execution_id, "progress")).version == 2

        await env.restart()  # the next task replays the history from its start
        await env.client.complete_activity(token, "ok")
        assert await handle.result() == "finished"

        assert await env.client.published(execution_id, "progress") == tether.Published({"done": 2, "of": 2}, 3)
        assert len(events_of(await env.client.history(execution_id), EventType.VALUE_PUBLISHED)) == 3


async def test_replay_compares_the_name_published_not_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    async with TestEnvironment(workflows=[pub_changing], activities=[pub_wait]) as env:
        execution_id = new_id("pub")
        handle = await env.client.start_workflow(pub_changing, id=execution_id)
        token = await step_token(execution_id, 0)

        monkeypatch.setitem(PUBLISH_AS, "value", "two")  # a value computed anew replays as it was
        await env.restart()
        await env.client.complete_activity(token, "done")

        assert await handle.result() == "done"
        assert await env.client.published(execution_id, "stage") == tether.Published("one", 1)


async def test_publishing_under_another_name_on_replay_is_nondeterminism(monkeypatch: pytest.MonkeyPatch) -> None:
    async with TestEnvironment(workflows=[pub_changing], activities=[pub_wait]) as env:
        execution_id = new_id("pub")
        handle = await env.client.start_workflow(pub_changing, id=execution_id)
        token = await step_token(execution_id, 0)
        published = events_of(await env.client.history(execution_id), EventType.VALUE_PUBLISHED)

        monkeypatch.setitem(PUBLISH_AS, "name", "phase")
        await env.restart()
        await env.client.complete_activity(token, "done")
        await env.wait_for_idle()

        task_error = (await handle.describe()).task_error
        assert task_error is not None
        assert task_error["error"] == "NonDeterminism"
        assert task_error["details"]["event_seq"] == published[0].seq
        assert "ValuePublished 'stage'" in task_error["message"]
        assert "ValuePublished 'phase'" in task_error["message"]
        with pytest.raises(NotPublished):
            await env.client.published(execution_id, "phase")


async def test_continue_as_new_keeps_the_value_readable_by_the_chain_id() -> None:
    async with TestEnvironment(workflows=[pub_turns], activities=[pub_wait]) as env:
        execution_id = new_id("pub")
        handle = await env.client.start_workflow(pub_turns, 1, id=execution_id)
        await env.client.complete_activity(await step_token(execution_id, 1), "again")
        token = await step_token(f"{execution_id}#run-2", 2)

        # The second run has published nothing yet: the chain's id reads what the first published.
        carried = await env.client.published(execution_id, "turn")
        assert carried == tether.Published({"turn": 1, "answer": "again"}, 1)
        first_run = await env.client.history(execution_id, run=1)
        assert types_of(first_run)[-2:] == ["ValuePublished", "WorkflowContinuedAsNew"]

        poll = asyncio.create_task(env.client.published(execution_id, "turn", after=1, wait=timedelta(days=1)))
        await parked(env, poll)
        await env.client.complete_activity(token, "done")
        assert await handle.result() == 2

        assert await poll == tether.Published({"turn": 2, "answer": "done"}, 2)
        assert await env.client.published(f"{execution_id}#run-2", "turn") == await poll
        listed = (await env.client.describe(execution_id)).published
        assert [(p.name, p.version, p.value) for p in listed] == [("turn", 2, {"turn": 2, "answer": "done"})]


async def test_bad_names_and_values_are_refused_at_the_call_and_publish_nothing() -> None:
    async with TestEnvironment(workflows=[pub_refusals]) as env:
        execution_id = new_id("pub")
        handle = await env.client.start_workflow(pub_refusals, id=execution_id)

        assert await handle.result() == ["invalid_payload"] * 5
        assert await env.client.published(execution_id, "ok") == tether.Published("fine", 1)
        assert len(events_of(await env.client.history(execution_id), EventType.VALUE_PUBLISHED)) == 1


async def test_a_reader_is_refused_bad_names_versions_and_waits() -> None:
    async with TestEnvironment(workflows=[pub_refusals]) as env:
        execution_id = new_id("pub")
        await env.client.start_workflow(pub_refusals, id=execution_id)
        for name in ("", "a/b", "x" * 257, "line\nbreak"):
            with pytest.raises(InvalidPayload):
                await env.client.published(execution_id, name)
        for after in (-1, True, 1.5, 2**60):
            with pytest.raises(InvalidPayload):
                await env.client.published(execution_id, "ok", after=after)  # type: ignore[arg-type]  # the point
        for wait in (-1, float("nan"), "5", timedelta(days=-1)):
            with pytest.raises(UsageError):
                await env.client.published(execution_id, "ok", wait=wait)  # type: ignore[arg-type]  # the point


async def test_describe_lists_the_published_values_and_leaves_out_large_ones() -> None:
    async with TestEnvironment(workflows=[pub_big]) as env:
        execution_id = new_id("pub")
        await env.client.start_workflow(pub_big, 5000, id=execution_id)
        await env.client.get_handle(execution_id).result()

        listed = (await env.client.describe(execution_id)).published

        assert [(p.name, p.version, p.value, p.value_omitted) for p in listed] == [
            ("big", 1, None, True),
            ("small", 1, {"n": 1}, False),
        ]
        assert all(p.published_at == env.clock.now() for p in listed)
        assert (await env.client.published(execution_id, "big")).value == "x" * 5000


async def test_deleting_an_execution_deletes_its_values() -> None:
    async with TestEnvironment(workflows=[pub_big]) as env:
        execution_id = new_id("pub")
        await env.client.start_workflow(pub_big, 10, id=execution_id)
        await env.client.get_handle(execution_id).result()

        await env.client.delete(execution_id)
        with pytest.raises(ExecutionNotFound):
            await env.client.published(execution_id, "small")
        # The id started again: the new execution holds nothing of the deleted one's.
        await env.client.start_workflow(pub_big, 10, id=execution_id)
        await env.client.get_handle(execution_id).result()
        assert (await env.client.published(execution_id, "small")).version == 1


async def test_retention_deletes_the_values_of_every_run_of_a_chain() -> None:
    async with TestEnvironment(workflows=[pub_turns], activities=[pub_wait], retention=timedelta(days=1)) as env:
        execution_id = new_id("pub")
        handle = await env.client.start_workflow(pub_turns, 1, id=execution_id)
        await env.client.complete_activity(await step_token(execution_id, 1), "again")
        await env.client.complete_activity(await step_token(f"{execution_id}#run-2", 2), "done")
        await handle.result()
        assert (await env.client.published(execution_id, "turn")).version == 2

        await env.advance(timedelta(days=2))

        with pytest.raises(ExecutionNotFound):
            await env.client.published(execution_id, "turn")
        rows = await env.engine.store.read(
            lambda tx: [tx.published_values(run) for run in (execution_id, f"{execution_id}#run-2")]
        )
        assert rows == [[], []]
