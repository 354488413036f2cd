"""Workflows the TypeScript client's tests serve (``tether server --worker tests.clients.queue_app``).

Their async activities push a job with the attempt's token onto a Redis list (named by
TETHER_TEST_QUEUE, on the server at TETHER_TEST_REDIS) and go async: a consumer in another
language takes the job and completes, fails or heartbeats the activity by its token.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

import redis.asyncio

import tether
from tether.errors import ActivityCancelled


async def push(task: str, **job: Any) -> None:
    """Put this attempt's job on the queue: what to do, and the token that finishes it."""
    ctx = tether.context()
    entry = {"task": task, "token": ctx.token, "activity_token": ctx.activity_token, "attempt": ctx.attempt, **job}
    async with redis.asyncio.from_url(os.environ["TETHER_TEST_REDIS"]) as queue:
        await queue.rpush(os.environ["TETHER_TEST_QUEUE"], json.dumps(entry))


@tether.activity(
    name="ts.charge",
    retry=tether.RetryPolicy(max_attempts=3, initial_interval=timedelta(milliseconds=50)),
)
async def charge(order: str, amount: int) -> dict[str, Any]:
    await push("charge", order=order, amount=amount)
    return tether.make_async()


@tether.workflow(name="ts.checkout")
async def checkout(order: str, amount: int) -> dict[str, Any]:
    return await charge(order, amount)


@tether.activity(name="ts.export_rows", heartbeat=timedelta(seconds=60), retry=tether.RetryPolicy(max_attempts=1))
async def export_rows(rows: int) -> dict[str, Any]:
    await push("export", rows=rows)
    return tether.make_async()


@tether.workflow(name="ts.export")
async def export(rows: int) -> dict[str, Any]:
    """Export rows until done, or until a message ``stop`` comes: then cancel the export and say where it stopped."""
    handle = tether.start_activity(export_rows, rows)
    await tether.receive("stop")
    handle.cancel()
    try:
        return {"exported": await handle}
    except ActivityCancelled as exc:
        return {"cancelled": exc.details}


@tether.workflow(name="ts.greeter")
async def greeter(greeting: str) -> str:
    """Greet the name a message brings, publish the greeting, and end once a request ``confirm`` says yes."""
    name = await tether.receive("name")
    text = f"{greeting}, {name}!"
    tether.publish("greeting", text)
    while True:
        request = await tether.receive_request("confirm")
        if request.payload == "yes":
            request.reply(f"confirmed for {name}")
            return text
        request.reject(f"{request.payload!r} is not yes")


@tether.workflow(name="ts.breaks")
async def breaks(why: str) -> None:
    raise ValueError(why)
