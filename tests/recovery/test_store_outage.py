"""A live worker rides out a store that fails for a while, and loses nothing.

On SQLite the outage is a full disk: the file may not grow past a page limit, so a write
that needs new pages fails, while reads and small writes go on. On PostgreSQL every
connection of the store is cut. Each test waits for the worker to report the failure (on
PostgreSQL, or for the listener to report its lost connection: the store may see that its
idle connection was ended and run on a new one before anything fails), ends
the outage, and checks that the work finishes exactly once without moving the clock (no
lease or timeout has to run out).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

import tether
from tether.errors import StoreUnavailable
from tether.store.sqlite.store import SQLiteStore
from tether.testing import VirtualClock
from tether.worker import back_off

pytestmark = pytest.mark.single_backend  # each test opens its own SQLite store

BIG = 200_000  # characters: about 50 new pages, far past what the page limit leaves
HELD = threading.Event()
GATE = threading.Event()
RUNS: list[int] = []


@tether.activity(name="so.big_report")
def so_big_report() -> str:
    RUNS.append(tether.context().attempt)
    HELD.set()
    GATE.wait(10)  # the test fills the disk meanwhile
    return "r" * BIG


@tether.activity(name="so.small_step")
def so_small_step() -> str:
    RUNS.append(tether.context().attempt)
    return "ok"


@tether.workflow(name="so.report")
async def so_report() -> int:
    return len(await so_big_report())


@tether.workflow(name="so.big_result")
async def so_big_result() -> str:
    await tether.sleep(60)
    await so_small_step()
    return "w" * BIG


@tether.activity(name="so.held_step")
def so_held_step() -> str:
    RUNS.append(tether.context().attempt)
    HELD.set()
    GATE.wait(10)  # the test cuts the store's connections meanwhile
    return "done"


@tether.workflow(name="so.sleep_then_step")
async def so_sleep_then_step() -> str:
    await tether.sleep(60)
    return await so_held_step()


class _Checkpoints:
    """What the checkpointing activity reports to the test, and the gates it waits at (made per test)."""

    def __init__(self) -> None:
        self.steps: asyncio.Queue[str] = asyncio.Queue()
        self.proceed = asyncio.Event()
        self.finish = asyncio.Event()


CHECKPOINTS: list[_Checkpoints] = []


@tether.activity(name="so.checkpointing", retry=tether.RetryPolicy(max_attempts=1))
async def so_checkpointing() -> str:
    gates = CHECKPOINTS[-1]
    await tether.heartbeat({"n": 1})
    gates.steps.put_nowait("first recorded")
    await gates.proceed.wait()  # the test fills the disk meanwhile
    try:
        await tether.heartbeat({"n": 2, "pad": "p" * BIG})
    except StoreUnavailable:
        gates.steps.put_nowait("second refused")
    else:
        gates.steps.put_nowait("second recorded")
    await gates.finish.wait()
    return "done"


@tether.workflow(name="so.checkpoints")
async def so_checkpoints() -> str:
    return await so_checkpointing()


class _Seen(logging.Handler):
    """Sets an event when a tether logger reports a warning containing one of ``texts``."""

    def __init__(self, *texts: str) -> None:
        super().__init__(logging.WARNING)
        self.texts = texts
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if any(text in record.getMessage() for text in self.texts):
            self.seen.set()


@pytest.fixture
def reset() -> Iterator[None]:
    HELD.clear()
    GATE.clear()
    RUNS.clear()
    yield
    GATE.set()


def watch(*texts: str) -> _Seen:
    handler = _Seen(*texts)
    logging.getLogger("tether").addHandler(handler)
    return handler


def unwatch(handler: _Seen) -> None:
    logging.getLogger("tether").removeHandler(handler)


async def limit_pages(client: tether.Client, spare: int | None) -> None:
    """Let the file grow by ``spare`` more pages only; None lifts the limit."""
    store = client.engine.store
    assert isinstance(store, SQLiteStore)

    def set_limit(tx: object) -> None:
        conn = tx._conn  # type: ignore[attr-defined]  # the SQLite transaction's connection
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        limit = 2**31 - 2 if spare is None else pages + spare
        conn.execute(f"PRAGMA max_page_count={limit}").fetchone()

    await store.run(set_limit)


async def test_an_activity_result_the_full_disk_refused_is_recorded_once_the_disk_frees(
    tmp_path: Path, reset: None
) -> None:
    client = await tether.Client.connect(f"sqlite:///{tmp_path / 'tether.db'}", clock=VirtualClock())
    seen = watch("could not record the attempt's outcome")
    try:
        async with tether.Worker(client, workflows=[so_report], activities=[so_big_report]):
            handle = await client.start_workflow(so_report, id="so-report")
            assert await asyncio.to_thread(HELD.wait, 10)
            await limit_pages(client, 0)
            GATE.set()
            assert await asyncio.to_thread(seen.seen.wait, 10)
            assert (await client.describe("so-report")).status == "running"

            await limit_pages(client, None)
            assert await asyncio.wait_for(handle.result(), 10) == BIG

        history = await client.history("so-report")
        assert [e.data["attempt"] for e in history if e.type == "ActivityCompleted"] == [1]
        assert not [e for e in history if e.type == "ActivityAttemptFailed"]
        assert RUNS == [1]
    finally:
        unwatch(seen)
        await client.close()


async def test_a_workflow_step_the_full_disk_refused_runs_again_once_the_disk_frees(
    tmp_path: Path, reset: None
) -> None:
    clock = VirtualClock()
    client = await tether.Client.connect(f"sqlite:///{tmp_path / 'tether.db'}", clock=clock)
    seen = watch("workflow task could not be recorded")
    try:
        async with tether.Worker(client, workflows=[so_big_result], activities=[so_small_step]) as worker:
            handle = await client.start_workflow(so_big_result, id="so-big-result")
            await asyncio.wait_for(worker.wait_for_idle(), 10)
            await limit_pages(client, 8)  # room for the timer and the activity, not the result
            clock.advance(60)
            assert await asyncio.to_thread(seen.seen.wait, 10)
            assert (await client.describe("so-big-result")).status == "running"

            await limit_pages(client, None)
            assert await asyncio.wait_for(handle.result(), 10) == "w" * BIG

        history = await client.history("so-big-result")
        assert [e.type for e in history].count("WorkflowCompleted") == 1
        assert RUNS == [1]
    finally:
        unwatch(seen)
        await client.close()


@pytest.fixture
def gates() -> _Checkpoints:
    CHECKPOINTS.append(_Checkpoints())
    return CHECKPOINTS[-1]


async def fill_the_disk_before_the_second_heartbeat(
    client: tether.Client, gates: _Checkpoints, execution_id: str
) -> tether.WorkflowHandle[str]:
    handle = await client.start_workflow(so_checkpoints, id=execution_id)
    assert await asyncio.wait_for(gates.steps.get(), 10) == "first recorded"
    await limit_pages(client, 0)
    gates.proceed.set()
    return handle


async def heartbeat_details(client: tether.Client, execution_id: str) -> object:
    (activity,) = (await client.describe(execution_id)).pending_activities
    return activity.heartbeat_details["n"]


async def test_a_heartbeat_the_full_disk_refuses_for_good_raises_store_unavailable_in_the_activity(
    tmp_path: Path, reset: None, gates: _Checkpoints
) -> None:
    client = await tether.Client.connect(f"sqlite:///{tmp_path / 'tether.db'}", clock=VirtualClock())
    try:
        async with tether.Worker(client, workflows=[so_checkpoints], activities=[so_checkpointing]):
            handle = await fill_the_disk_before_the_second_heartbeat(client, gates, "so-hb")

            assert await asyncio.wait_for(gates.steps.get(), 10) == "second refused"
            assert await heartbeat_details(client, "so-hb") == 1, "the last recorded checkpoint stays"
            await limit_pages(client, None)
            gates.finish.set()
            assert await asyncio.wait_for(handle.result(), 10) == "done"
    finally:
        await client.close()


async def test_a_heartbeat_the_store_refuses_once_is_tried_again_and_recorded(
    tmp_path: Path, reset: None, gates: _Checkpoints
) -> None:
    client = await tether.Client.connect(f"sqlite:///{tmp_path / 'tether.db'}", clock=VirtualClock())
    lifted: list[asyncio.Task[None]] = []

    class _LiftOnRetry(logging.Handler):
        """Ends the outage when the first try fails: the lift is queued to the store before the retry."""

        def emit(self, record: logging.LogRecord) -> None:
            if "could not record the heartbeat" in record.getMessage() and not lifted:
                lifted.append(asyncio.get_running_loop().create_task(limit_pages(client, None)))

    handler = _LiftOnRetry(logging.WARNING)
    logging.getLogger("tether").addHandler(handler)
    try:
        async with tether.Worker(client, workflows=[so_checkpoints], activities=[so_checkpointing]):
            handle = await fill_the_disk_before_the_second_heartbeat(client, gates, "so-hb-blip")

            assert await asyncio.wait_for(gates.steps.get(), 10) == "second recorded"
            assert lifted, "the first try failed"
            assert await heartbeat_details(client, "so-hb-blip") == 2
            gates.finish.set()
            assert await asyncio.wait_for(handle.result(), 10) == "done"
    finally:
        logging.getLogger("tether").removeHandler(handler)
        await client.close()


def cut_connections(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid != pg_backend_pid()"
        )


CUT_NOTICED = ("store unavailable", "could not", "lost the connection listening for changes")
"""What shows a cut was noticed: a transition failed, or (when the store saw its idle connection
had been ended and ran on a new one, so that nothing failed) the listener lost its connection."""


@pytest.mark.postgres
async def test_a_worker_goes_on_after_every_postgres_connection_was_cut_twice(postgres_url: str, reset: None) -> None:
    clock = VirtualClock()
    client = await tether.Client.connect(postgres_url, clock=clock)
    try:
        async with tether.Worker(client, workflows=[so_sleep_then_step], activities=[so_held_step]) as worker:
            handle = await client.start_workflow(so_sleep_then_step, id="so-cut")
            await asyncio.wait_for(worker.wait_for_idle(), 10)
            seen = watch(*CUT_NOTICED)
            try:
                cut_connections(postgres_url)  # while the workflow waits on its timer
                clock.advance(60)
                assert await asyncio.to_thread(seen.seen.wait, 10)
            finally:
                unwatch(seen)
            assert await asyncio.to_thread(HELD.wait, 10)

            seen = watch(*CUT_NOTICED)
            try:
                cut_connections(postgres_url)  # while the activity runs: its result may meet a dead connection
                GATE.set()
                assert await asyncio.to_thread(seen.seen.wait, 10)
            finally:
                unwatch(seen)
            assert await asyncio.wait_for(handle.result(), 10) == "done"

        history = await client.history("so-cut")
        assert [e.data["attempt"] for e in history if e.type == "ActivityCompleted"] == [1]
        assert [e.type for e in history].count("TimerFired") == 1
        assert RUNS == [1]
    finally:
        await client.close()


def test_waits_between_tries_double_from_50_ms_and_stay_at_5_s_however_long_the_outage() -> None:
    assert [back_off.delay(n) for n in range(1, 5)] == [0.05, 0.1, 0.2, 0.4]
    assert back_off.delay(8) == back_off.delay(10_000) == 5.0
