"""A worker that shuts down gracefully ends the attempts it interrupts, so that they are retried at once."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

import tether
from tether.testing import VirtualClock

pytestmark = pytest.mark.single_backend  # each test opens its own SQLite store

SYNC_STARTED = threading.Event()
SYNC_GATE = threading.Event()
ASYNC_STARTED: asyncio.Queue[int] = asyncio.Queue()


@tether.activity(name="ws.sync_held_on_first_attempt")
def ws_sync_held_on_first_attempt() -> str:
    attempt = tether.context().attempt
    if attempt == 1:
        SYNC_STARTED.set()
        SYNC_GATE.wait(10)  # the worker shuts down meanwhile; this return comes too late
    return f"sync attempt {attempt}"


@tether.activity(name="ws.async_held_on_first_attempt")
async def ws_async_held_on_first_attempt() -> str:
    attempt = tether.context().attempt
    await ASYNC_STARTED.put(attempt)
    if attempt == 1:
        await asyncio.Event().wait()  # cancelled by the shutdown
    return f"async attempt {attempt}"


@tether.workflow(name="ws.sync_pipeline")
async def ws_sync_pipeline() -> str:
    return await ws_sync_held_on_first_attempt()


@tether.workflow(name="ws.async_pipeline")
async def ws_async_pipeline() -> str:
    return await ws_async_held_on_first_attempt()


def sync_worker(client: tether.Client) -> tether.Worker:
    return tether.Worker(client, workflows=[ws_sync_pipeline], activities=[ws_sync_held_on_first_attempt])


def async_worker(client: tether.Client) -> tether.Worker:
    return tether.Worker(client, workflows=[ws_async_pipeline], activities=[ws_async_held_on_first_attempt])


async def attempt_failures(client: tether.Client, execution_id: str) -> list[tuple[int, str]]:
    return [
        (e.data["attempt"], e.data["failure"]["error"])
        for e in await client.history(execution_id)
        if e.type == "ActivityAttemptFailed"
    ]


async def test_graceful_shutdown_fails_a_running_sync_attempt_and_ignores_its_late_result(tmp_path: Path) -> None:
    SYNC_STARTED.clear()
    SYNC_GATE.clear()
    clock = VirtualClock()
    client = await tether.Client.connect(f"sqlite:///{tmp_path / 'tether.db'}", clock=clock)
    try:
        async with sync_worker(client):
            handle = await client.start_workflow(ws_sync_pipeline, id="ws-sync")
            assert await asyncio.to_thread(SYNC_STARTED.wait, 10)
        assert await attempt_failures(client, "ws-sync") == [(1, "WorkerShutdown")]
        SYNC_GATE.set()  # the interrupted activity returns now, with no worker to take its result

        async with sync_worker(client):
            clock.advance(1)  # the retry policy's first back-off
            assert await asyncio.wait_for(handle.result(), 10) == "sync attempt 2"
        completed = [e.data["attempt"] for e in await client.history("ws-sync") if e.type == "ActivityCompleted"]
        assert completed == [2]
    finally:
        SYNC_GATE.set()
        await client.close()


async def test_graceful_shutdown_fails_a_running_async_attempt_as_worker_shutdown(tmp_path: Path) -> None:
    clock = VirtualClock()
    client = await tether.Client.connect(f"sqlite:///{tmp_path / 'tether.db'}", clock=clock)
    try:
        async with async_worker(client):
            handle = await client.start_workflow(ws_async_pipeline, id="ws-async")
            assert await asyncio.wait_for(ASYNC_STARTED.get(), 10) == 1
        assert await attempt_failures(client, "ws-async") == [(1, "WorkerShutdown")]

        async with async_worker(client):
            clock.advance(1)
            assert await asyncio.wait_for(ASYNC_STARTED.get(), 10) == 2
            assert await asyncio.wait_for(handle.result(), 10) == "async attempt 2"
    finally:
        await client.close()
