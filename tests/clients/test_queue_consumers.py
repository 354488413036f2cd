"""Consumers in three clients finish tether activities whose tokens they take from a Redis queue.

The workflows run in a real ``tether server`` (tests.clients.queue_app); their activities push
jobs onto a Redis list and go async. The same consumer, written three times, takes them:
``clients/typescript/examples/consumer.ts`` (compiled, run by node, on ``@tether/client``),
``tests.clients.python_consumer`` (tether's Python client over HTTP) and
``tests.clients.boto3_consumer`` (an unmodified AWS SDK, through the Step Functions API). Each
completes, fails, heartbeats and sees cancellation through the server. Everything is asserted
from Python: results, histories, and what the consumer logged.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

import tether
from tests.cli.conftest import DEADLINE_SECONDS, ROOT
from tests.clients.conftest import REDIS_URL, QueueServer, fresh_queue, serving
from tether.errors import WorkflowFailed

pytestmark = pytest.mark.acceptance


LANGUAGES = ("typescript", "python", "boto3")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueServer]:
    """One server and queue for the module (each test's executions have ids of their own, each consumer stops)."""
    with fresh_queue() as queue, serving(tmp_path_factory.mktemp("consumers"), queue) as served:
        yield served


class Consumer:
    """An example consumer as a process; ``stop`` ends it and returns the jobs it logged."""

    def __init__(self, language: str, server: QueueServer, package: Path | None) -> None:
        self.language = language
        self.queue = server.queue
        env = {**os.environ, **server.env(), "HEARTBEAT_EVERY_MS": "50", "PYTHONPATH": str(ROOT)}
        if language == "typescript":
            assert package is not None
            command, cwd = ["node", "build/examples/consumer.js"], package
        else:
            command, cwd = [sys.executable, "-m", f"tests.clients.{language}_consumer"], ROOT
        if language == "boto3":
            env |= {"AWS_ACCESS_KEY_ID": server.key_id, "AWS_SECRET_ACCESS_KEY": server.sigv4_secret}
        self.process = subprocess.Popen(
            command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
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


@pytest.fixture(params=LANGUAGES)
def consumer(request: pytest.FixtureRequest, server: QueueServer) -> Iterator[Consumer]:
    language: str = request.param
    package = request.getfixturevalue("typescript") if language == "typescript" else None
    running = Consumer(language, server, package)
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


async def test_a_consumer_completes_the_activity_with_its_result(client: tether.Client, consumer: Consumer) -> None:
    handle = await client.start_workflow("ts.checkout", "A-1", 40, id=f"checkout-A-1-{consumer.language}")

    assert await handle.result(timeout=DEADLINE_SECONDS) == {"order": "A-1", "charged": 40}
    history = await handle.history()
    assert types(history).count("ActivityAttemptStarted") == 1
    assert of_type(history, "ActivityCompleted")
    logged = {"task": "charge", "order": "A-1", "attempt": 1, "did": "completed"}
    # Step Functions' API answers {} to a success, first or repeated: boto3 cannot tell them apart.
    assert consumer.stop() == [logged if consumer.language == "boto3" else {**logged, "recorded": True}]


async def test_a_retryable_failure_is_retried_and_the_next_attempt_completes(
    client: tether.Client, consumer: Consumer
) -> None:
    handle = await client.start_workflow("ts.checkout", "flaky-7", 25, id=f"checkout-flaky-7-{consumer.language}")

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


async def test_a_non_retryable_failure_fails_the_activity_at_once(client: tether.Client, consumer: Consumer) -> None:
    handle = await client.start_workflow("ts.checkout", "B-3", 0, id=f"checkout-B-3-{consumer.language}")

    with pytest.raises(WorkflowFailed) as failed:
        await handle.result(timeout=DEADLINE_SECONDS)
    history = await handle.history()
    [closed] = of_type(history, "ActivityFailed")
    assert closed["failure"]["error"] == "InvalidAmount"
    assert (failed.value.error, failed.value.message) == ("InvalidAmount", "cannot charge 0")
    if consumer.language == "boto3":
        # Step Functions' failures carry no details and cannot be final: the policy's 3 attempts all fail.
        assert (closed["failure"]["details"], closed["failure"]["non_retryable"]) == (None, False)
        assert types(history).count("ActivityAttemptStarted") == 3
        assert [job["did"] for job in consumer.stop()] == ["rejected"] * 3
        return
    assert closed["failure"]["details"] == {"amount": 0}
    assert closed["failure"]["non_retryable"] is True
    assert types(history).count("ActivityAttemptStarted") == 1
    assert [job["did"] for job in consumer.stop()] == ["rejected"]


async def test_a_consumer_heartbeats_until_cancelled_and_the_cancellation_is_recorded(
    client: tether.Client, consumer: Consumer
) -> None:
    handle = await client.start_workflow("ts.export", 10**9, id=f"export-1-{consumer.language}")
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:  # the consumer runs in another process: wait until its progress shows
        pending = (await handle.describe()).pending_activities
        progress = pending[0].heartbeat_details if pending else None
        if isinstance(progress, dict) and progress["row"] >= 2:
            break
        if consumer.language == "boto3" and pending and pending[0].last_heartbeat_at is not None:
            break  # Step Functions' heartbeats carry no progress
        assert time.monotonic() < deadline, "no heartbeat from the consumer within the hang guard"
        await asyncio.sleep(0.02)

    await client.send(handle.id, "stop")

    outcome = await handle.result(timeout=DEADLINE_SECONDS)
    [job] = consumer.stop()
    assert job["did"] == "cancelled"
    history = await handle.history()
    assert of_type(history, "ActivityCancelRequested")
    [cancelled] = of_type(history, "ActivityCancelled")
    if consumer.language == "boto3":  # the heartbeat answered TaskTimedOut, and tether recorded the cancellation
        assert outcome == {"cancelled": None}
        assert cancelled["details"] is None
        return
    assert outcome == {"cancelled": {"stoppedAt": job["row"]}}
    assert all(due is not None for due in job["deadlines"])  # the activity has a heartbeat timeout
    assert cancelled["details"] == {"stoppedAt": job["row"]}
