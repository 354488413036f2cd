"""Stopping a worker returns whatever it is doing, and leaves a store that the next worker carries on from.

A worker process that is told to stop exits, even with a sync activity that never returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import tether
from tests.helpers.workflows import events_of
from tests.recovery.test_worker_killed import output_of, start_worker_process, wait_until
from tests.recovery.worker_process import effects, wk_hung
from tether.model.events import EventType
from tether.testing import TestEnvironment, VirtualClock

SEED = int(os.environ.get("TETHER_STOP_SEED", "20261201"))
"""The stop moments are drawn from this seed, so a failing run can be replayed (``TETHER_STOP_SEED`` sets another)."""
ROUNDS = 100
STOP_GUARD_S = 30.0
"""How long one stop may take before the test calls it a hang (a hang guard, not a timing)."""
RESULT_GUARD_S = 60.0
EXIT_GUARD_S = 30.0

RETRY = tether.RetryPolicy(max_attempts=0, initial_interval=timedelta(seconds=1), backoff=1.0)
"""Attempts that a stop interrupts, or that the test fails by token, are retried a second later."""

RELEASED = threading.Event()
"""Set once the stops are over: the activities that hang or wait for a token until then return."""

PARKED: dict[str, str] = {}
"""The token of each approval waiting for one, by execution and order."""


@tether.activity(name="stop.add_one", retry=RETRY)
async def stop_add_one(value: int) -> int:
    return value + 1


@tether.activity(name="stop.double", retry=RETRY)
def stop_double(value: int) -> int:
    return value * 2


@tether.activity(name="stop.approval", retry=RETRY)
async def stop_approval(order: str) -> str:
    if RELEASED.is_set():
        return f"{order} approved"
    ctx = tether.context()
    PARKED[f"{ctx.execution_id}/{order}"] = ctx.token
    return tether.make_async()


@tether.activity(name="stop.hangs_in_thread", retry=RETRY)
def stop_hangs_in_thread() -> str:
    RELEASED.wait()  # until the test is over: a sync call that never returns, as far as a worker can tell
    return "thread released"


@tether.activity(name="stop.awaits_forever", retry=RETRY)
async def stop_awaits_forever() -> str:
    if not RELEASED.is_set():
        await asyncio.Event().wait()  # only a stop ends this attempt
    return "coroutine released"


@tether.workflow(name="stop.steps")
async def stop_steps(rounds: int) -> int:
    value = 0
    for _ in range(rounds):
        value = await stop_add_one(value)
        value = await stop_double(value)
        await tether.sleep(timedelta(seconds=1))
    return value


@tether.workflow(name="stop.approvals")
async def stop_approvals(orders: int) -> list[str]:
    approved = []
    for order in range(orders):
        approved.append(await stop_approval(f"order-{order}"))
        await tether.sleep(timedelta(hours=1))
    return approved


@tether.workflow(name="stop.day")
async def stop_day() -> str:
    await tether.sleep(timedelta(days=1))
    return "a day later"


@tether.workflow(name="stop.hung")
async def stop_hung() -> list[str]:
    return list(await asyncio.gather(stop_hangs_in_thread(), stop_awaits_forever()))


WORKFLOWS: list[tether.Workflow[..., Any]] = [stop_steps, stop_approvals, stop_day, stop_hung]
ACTIVITIES: list[tether.Activity[..., Any]] = [
    stop_add_one,
    stop_double,
    stop_approval,
    stop_hangs_in_thread,
    stop_awaits_forever,
]


def steps_result(rounds: int) -> int:
    value = 0
    for _ in range(rounds):
        value = (value + 1) * 2
    return value


async def review(client: tether.Client, key: str, token: str, *, approve: bool) -> None:
    """Complete or fail (to be retried) a parked approval, as its reviewer would."""
    # A stop or a crash may have ended that attempt meanwhile: its retry parks again.
    with contextlib.suppress(tether.errors.StaleToken, tether.errors.ActivityAlreadyClosed):
        if approve:
            await client.complete_activity(token, f"{key.rpartition('/')[2]} approved")
        else:
            await client.fail_activity(token, error="ReviewerBusy", message="try again")


async def run_a_while(rng: random.Random, client: tether.Client, clock: VirtualClock, ids: list[str]) -> None:
    """Let a worker get on with its work: turns of the event loop, store round trips, time, tokens used."""
    for _ in range(rng.randrange(0, 20)):
        move = rng.random()
        if move < 0.1:
            clock.advance(rng.choice((0.5, 1, 2, 3600)))  # short timers and retries fall due
        elif move < 0.3:
            await client.describe(rng.choice(ids))  # a round trip through the store's thread
        elif move < 0.5 and PARKED:
            key = rng.choice(sorted(PARKED))
            await review(client, key, PARKED.pop(key), approve=rng.random() < 0.5)
        else:
            await asyncio.sleep(0)  # one turn of the event loop


async def test_stopping_a_worker_at_random_moments_always_returns_and_the_next_worker_finishes_everything(
    store_url: str,
) -> None:
    rng = random.Random(SEED)
    clock = VirtualClock()
    expected: dict[str, Any] = {}
    RELEASED.clear()
    PARKED.clear()
    try:
        async with await tether.Client.connect(store_url, clock=clock) as client:
            for execution_id, workflow, args, result in (
                ("day", stop_day, (), "a day later"),
                ("hung", stop_hung, (), ["thread released", "coroutine released"]),
                ("steps-0", stop_steps, (3,), steps_result(3)),
                ("approvals", stop_approvals, (4,), [f"order-{i} approved" for i in range(4)]),
            ):
                await client.start_workflow(workflow, *args, id=execution_id)
                expected[execution_id] = result
            for round_ in range(ROUNDS):
                worker = tether.Worker(client, workflows=WORKFLOWS, activities=ACTIVITIES, identity=f"stopper-{round_}")
                await worker.__aenter__()
                if rng.random() < 0.2:
                    steps = rng.randrange(1, 4)
                    await client.start_workflow(stop_steps, steps, id=f"steps-{round_ + 1}")
                    expected[f"steps-{round_ + 1}"] = steps_result(steps)
                if not PARKED or rng.random() < 0.1:
                    orders = rng.randrange(1, 5)
                    await client.start_workflow(stop_approvals, orders, id=f"approvals-{round_ + 1}")
                    expected[f"approvals-{round_ + 1}"] = [f"order-{i} approved" for i in range(orders)]
                await run_a_while(rng, client, clock, list(expected))
                crash = rng.random() < 0.2
                stop = worker.crash() if crash else worker.__aexit__(None, None, None)
                try:
                    await asyncio.wait_for(stop, STOP_GUARD_S)
                except TimeoutError:
                    raise AssertionError(f"round {round_} (seed {SEED}): stopping the worker hung") from None
                if crash:
                    clock.advance(31)  # the crashed worker's leases run out, as a killed process's would
        RELEASED.set()

        async with TestEnvironment(url=store_url, start=clock.now(), workflows=WORKFLOWS, activities=ACTIVITIES) as env:
            for key, token in PARKED.items():
                await review(env.client, key, token, approve=True)
            results = {execution_id: await result_of(env.client, execution_id) for execution_id in expected}
            histories = {execution_id: await env.client.history(execution_id) for execution_id in expected}
    finally:
        RELEASED.set()

    assert results == expected
    for execution_id, history in histories.items():
        scheduled = [e.data["activity_id"] for e in events_of(history, EventType.ACTIVITY_SCHEDULED)]
        closed = [e.data["activity_id"] for e in history if e.type in ("ActivityCompleted", "ActivityFailed")]
        assert sorted(closed) == sorted(scheduled), f"{execution_id}: every activity closed exactly once"


async def result_of(client: tether.Client, execution_id: str) -> Any:
    """The execution's result; if it does not come, a failure that says where the execution stands."""
    try:
        return await asyncio.wait_for(client.get_handle(execution_id).result(), RESULT_GUARD_S)
    except TimeoutError:
        history = [(e.seq, e.type, e.data) for e in await client.history(execution_id)]
        described = await client.describe(execution_id)
        raise AssertionError(f"(seed {SEED}) {execution_id} never closed: {described!r}; history {history}") from None


@pytest.mark.acceptance
async def test_a_worker_process_told_to_stop_exits_though_a_sync_activity_never_returns(
    tmp_path: Path, store_url: str
) -> None:
    async with await tether.Client.connect(store_url) as client:
        await client.start_workflow(wk_hung, str(tmp_path), id="hung")
    log = tmp_path / "worker.log"
    proc = await start_worker_process(store_url, log)
    try:
        await wait_until(lambda: "hang started" in effects(tmp_path), "start of the hanging activity", proc, log)
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), EXIT_GUARD_S)
        except TimeoutError:
            pytest.fail(f"the stopped worker process did not exit (a hang guard):\n{output_of(log)}")
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, output_of(log)
    assert "worker stopped" in output_of(log)
    async with await tether.Client.connect(store_url) as client:
        failed = [e for e in await client.history("hung") if e.type == "ActivityAttemptFailed"]
    assert [(e.data["attempt"], e.data["failure"]["error"]) for e in failed] == [(1, "WorkerShutdown")]
