"""A worker that comes back under the same identity takes over what its predecessor left running."""

from __future__ import annotations

import asyncio
import sys

import pytest

import tether
from tether.testing import VirtualClock

GATE = asyncio.Event()
STARTED: asyncio.Queue[int] = asyncio.Queue()


@pytest.fixture(autouse=True)
def _fresh_queues(monkeypatch: pytest.MonkeyPatch) -> None:
    """The module's queues belong to one event loop: each test (and backend) gets its own."""
    monkeypatch.setattr(sys.modules[__name__], "GATE", asyncio.Event())
    monkeypatch.setattr(sys.modules[__name__], "STARTED", asyncio.Queue())


@tether.activity(name="wi.hold_first_attempt")
async def wi_hold_first_attempt() -> str:
    attempt = tether.context().attempt
    await STARTED.put(attempt)
    if attempt == 1:
        await GATE.wait()  # never opened: the first worker dies holding this attempt
    return f"done on attempt {attempt}"


@tether.workflow(name="wi.pipeline")
async def wi_pipeline() -> str:
    return await wi_hold_first_attempt()


async def test_a_worker_restarted_under_the_same_identity_retries_its_predecessors_running_attempt_at_once(
    store_url: str,
) -> None:
    clock = VirtualClock()
    client = await tether.Client.connect(store_url, clock=clock)
    try:
        first = tether.Worker(client, workflows=[wi_pipeline], activities=[wi_hold_first_attempt], identity="host-1")
        await first.__aenter__()
        handle = await client.start_workflow(wi_pipeline, id="wi-1")
        assert await asyncio.wait_for(STARTED.get(), 10) == 1
        await first.crash()

        async with tether.Worker(
            client, workflows=[wi_pipeline], activities=[wi_hold_first_attempt], identity="host-1"
        ):
            # No lease has to run out: the new process knows the old one with its name is gone,
            # and the attempt is retried after the policy's first back-off (1 s).
            clock.advance(1)
            assert await asyncio.wait_for(STARTED.get(), 10) == 2
            assert await asyncio.wait_for(handle.result(), 10) == "done on attempt 2"

        failures = [
            e.data["failure"]["error"] for e in await client.history("wi-1") if e.type == "ActivityAttemptFailed"
        ]
        assert failures == ["WorkerLost"]
    finally:
        await client.close()
