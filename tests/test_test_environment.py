"""TestEnvironment, as users' own test suites use it."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

import tether
from tests.helpers.activity_tests import Mailbox, advance, box, post_context, result_of, times
from tether.testing import TestEnvironment


@tether.workflow(name="te.sleeper")
async def te_sleeper(days: int) -> str:
    await tether.sleep(timedelta(days=days))
    return tether.now().isoformat()


def _store_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "tether-sqlite")


async def test_time_skips_to_the_timer_while_a_result_is_awaited() -> None:
    async with TestEnvironment(workflows=[te_sleeper]) as env:
        started = env.clock.now()
        handle = await env.client.start_workflow(te_sleeper, 3)

        finished = await handle.result()

        assert finished == (started + timedelta(days=3)).isoformat()


@tether.workflow(name="te.quick")
async def te_quick() -> str:
    return "done"


async def test_awaiting_the_result_of_a_closed_execution_skips_no_time(monkeypatch: pytest.MonkeyPatch) -> None:
    async with TestEnvironment(workflows=[te_sleeper, te_quick]) as env:
        await env.client.start_workflow(te_sleeper, 3)  # a timer due in three days, for time to skip to
        quick = await env.client.start_workflow(te_quick)
        assert await quick.result() == "done"
        before = env.clock.now()
        engine = env.engine
        read = engine.get_execution
        counted: list[int] = []

        async def reading(*args: object, **kwargs: object) -> object:
            # Time skips only while a caller is counted as waiting: one reading a closed run is not.
            counted.append(engine.notifier.result_waiters)
            return await read(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(engine, "get_execution", reading)
        for _ in range(5):
            assert await env.client.get_handle(quick.id).result() == "done"

        assert counted == [0] * 5
        assert env.clock.now() == before


async def test_an_exception_in_the_body_propagates_unwrapped_and_releases_the_store() -> None:
    before = _store_threads()

    async def failing_test() -> None:
        async with TestEnvironment(workflows=[te_sleeper]) as env:
            await env.client.start_workflow(te_sleeper, 1)
            raise ValueError("the test failed")

    with pytest.raises(ValueError, match="the test failed"):
        await failing_test()

    assert _store_threads() == before


async def test_the_database_file_is_removed_after_use_unless_a_path_was_given() -> None:
    async with TestEnvironment(workflows=[te_sleeper]) as env:
        path = env.path
        assert path.exists()

    assert not path.exists()


@tether.workflow(name="te.three_naps")
async def te_three_naps() -> list[str]:
    woke = []
    for _ in range(3):
        await tether.sleep(timedelta(seconds=10))
        woke.append(tether.now().isoformat())
    return woke


@tether.activity(
    name="te.silent",
    heartbeat=timedelta(seconds=60),
    retry=tether.RetryPolicy(max_attempts=2, initial_interval=timedelta(seconds=1)),
)
async def te_silent() -> str:
    post_context()
    return tether.make_async()


@tether.workflow(name="te.wait_for_silent")
async def te_wait_for_silent() -> str:
    return await te_silent()


@tether.activity(name="te.busy")
async def te_busy() -> str:
    post_context()
    await box().wait_for_gate()
    return "done"


@tether.activity(name="te.busy_in_thread")
def te_busy_in_thread() -> str:
    post_context()
    box().wait_for_gate_in_thread()
    return "done"


@tether.workflow(name="te.nap_beside")
async def te_nap_beside(in_thread: bool) -> str:
    work = tether.start_activity(te_busy_in_thread if in_thread else te_busy)
    await tether.sleep(timedelta(seconds=5))
    return await work


async def test_advance_fires_each_timer_at_its_own_due_time_in_order() -> None:
    async with TestEnvironment(workflows=[te_three_naps]) as env:
        started = env.clock.now()
        handle = await env.client.start_workflow(te_three_naps)

        await advance(env, timedelta(seconds=35))

        assert env.clock.now() == started + timedelta(seconds=35)
        naps = [started + timedelta(seconds=s) for s in (10, 20, 30)]
        assert times(await env.client.history(handle.id), "TimerFired") == naps
        assert (await handle.describe()).status == tether.WorkflowStatus.COMPLETED
        assert await handle.result() == [t.isoformat() for t in naps]


async def test_advance_times_out_an_attempt_at_its_deadline_and_retries_after_the_back_off() -> None:
    async with TestEnvironment(workflows=[te_wait_for_silent], activities=[te_silent]) as env:
        mailbox = Mailbox()
        await env.client.start_workflow(te_wait_for_silent, id=mailbox.id)
        await mailbox.context()
        await env.wait_for_idle()
        started = env.clock.now()

        await advance(env, timedelta(seconds=67))

        history = await env.client.history(mailbox.id)
        assert times(history, "ActivityAttemptFailed") == [started + timedelta(seconds=60)]
        assert times(history, "ActivityAttemptStarted") == [started, started + timedelta(seconds=61)]
        assert (await mailbox.context()).attempt == 2


@pytest.mark.parametrize("in_thread", [False, True], ids=["async", "sync"])
async def test_advance_does_not_wait_for_an_attempt_that_is_running(in_thread: bool) -> None:
    async with TestEnvironment(workflows=[te_nap_beside], activities=[te_busy, te_busy_in_thread]) as env:
        mailbox = Mailbox()
        started = env.clock.now()
        handle = await env.client.start_workflow(te_nap_beside, in_thread, id=mailbox.id)
        await mailbox.context()

        await advance(env, timedelta(seconds=8))

        assert times(await env.client.history(mailbox.id), "TimerFired") == [started + timedelta(seconds=5)]
        mailbox.open_gate()
        assert await result_of(handle) == "done"
