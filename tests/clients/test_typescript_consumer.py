"""A consumer written in TypeScript finishes tether activities whose tokens it takes from a Redis queue.

The workflows run in a real ``tether server`` (tests.clients.queue_app); their activities push
jobs onto a Redis list and go async; ``clients/typescript/examples/consumer.ts``, compiled and
run by node, completes, fails, heartbeats and acknowledges cancellation through the server.
Everything is asserted from Python: results, histories, and what the consumer logged.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

import tether
from tests.cli.conftest import DEADLINE_SECONDS
from tests.clients.conftest import REDIS_URL, QueueServer
from tether.errors import WorkflowFailed

pytestmark = pytest.mark.acceptance


class Consumer:
    """The example consumer as a process; ``stop`` ends it and returns the jobs it logged."""

    def __init__(self, package: Path, server: QueueServer) -> None:
        self.queue = server.queue
        self.process = subprocess.Popen(
            ["node", "build/examples/consumer.js"], cwd=package, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env={**os.environ, **server.env(), "HEARTBEAT_EVERY_MS": "50"},
        )  # fmt: skip

    def stop(self) -> list[dict[str, Any]]:
        if self.process.poll() is None:
            with redis.Redis.from_url(REDIS_URL) as connection:
                connection.rpush(self.queue, json.dumps({"task": "stop"}))
        try:
            out, err = self.process.communicate(timeout=DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
        assert self.process.returncode == 0, f"the consumer failed:\n{err}"
        return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture
def consumer(typescript: Path, server: QueueServer) -> Iterator[Consumer]:
    running = Consumer(typescript, server)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.communicate()


@pytest.fixture
async def client(server: QueueServer) -> AsyncIterator[tether.Client]:
    async with await tether.Client.connect(server.url, api_key=server.api_key) as connected:
        yield connected


def types(history: list[tether.HistoryEvent]) -> list[str]:
    return [event.type for event in history]


def of_type(history: list[tether.HistoryEvent], kind: str) -> list[dict[str, Any]]:
    return [event.data for event in history if event.type == kind]


async def test_a_typescript_consumer_completes_the_activity_with_its_result(
    client: tether.Client, consumer: Consumer
) -> None:
    handle = await client.start_workflow("ts.checkout", "A-1", 40, id="checkout-A-1")

    assert await handle.result(timeout=DEADLINE_SECONDS) == {"order": "A-1", "charged": 40}
    history = await handle.history()
    assert types(history).count("ActivityAttemptStarted") == 1
    assert of_type(history, "ActivityCompleted")
    assert consumer.stop() == [{"task": "charge", "order": "A-1", "attempt": 1, "did": "completed", "recorded": True}]


async def test_a_retryable_failure_from_typescript_is_retried_and_the_next_attempt_completes(
    client: tether.Client, consumer: Consumer
) -> None:
    handle = await client.start_workflow("ts.checkout", "flaky-7", 25, id="checkout-flaky-7")

    assert await handle.result(timeout=DEADLINE_SECONDS) == {"order": "flaky-7", "charged": 25}
    history = await handle.history()
    [failure] = of_type(history, "ActivityAttemptFailed")
    assert (failure["failure"]["error"], failure["failure"]["message"]) == (
        "GatewayTimeout",
        "the payment gateway timed out",
    )
    assert types(history).count("ActivityAttemptStarted") == 2
    assert [(job["attempt"], job["did"]) for job in consumer.stop()] == [
        (1, "failed, to be retried"),
        (2, "completed"),
    ]


async def test_a_non_retryable_failure_from_typescript_fails_the_activity_at_once(
    client: tether.Client, consumer: Consumer
) -> None:
    handle = await client.start_workflow("ts.checkout", "B-3", 0, id="checkout-B-3")

    with pytest.raises(WorkflowFailed) as failed:
        await handle.result(timeout=DEADLINE_SECONDS)
    history = await handle.history()
    [closed] = of_type(history, "ActivityFailed")
    assert closed["failure"]["error"] == "InvalidAmount"
    assert closed["failure"]["details"] == {"amount": 0}
    assert closed["failure"]["non_retryable"] is True
    assert types(history).count("ActivityAttemptStarted") == 1
    assert (failed.value.error, failed.value.message) == ("InvalidAmount", "cannot charge 0")
    assert [job["did"] for job in consumer.stop()] == ["rejected"]


async def test_a_typescript_consumer_heartbeats_until_cancelled_and_acknowledges_it(
    client: tether.Client, consumer: Consumer
) -> None:
    handle = await client.start_workflow("ts.export", 10**9, id="export-1")
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:  # the consumer runs in another process: wait until its progress shows
        pending = (await handle.describe()).pending_activities
        progress = pending[0].heartbeat_details if pending else None
        if isinstance(progress, dict) and progress["row"] >= 2:
            break
        assert time.monotonic() < deadline, "no heartbeat from the consumer within the hang guard"
        await asyncio.sleep(0.02)

    await client.send(handle.id, "stop")

    outcome = await handle.result(timeout=DEADLINE_SECONDS)
    [job] = consumer.stop()
    assert job["did"] == "cancelled"
    assert outcome == {"cancelled": {"stoppedAt": job["row"]}}
    assert all(due is not None for due in job["deadlines"])  # the activity has a heartbeat timeout
    history = await handle.history()
    assert of_type(history, "ActivityCancelRequested")
    assert of_type(history, "ActivityCancelled")
    [cancelled] = of_type(history, "ActivityCancelled")
    assert cancelled["details"] == {"stoppedAt": job["row"]}
