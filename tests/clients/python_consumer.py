"""The queue consumer of ``clients/typescript/examples/consumer.ts``, written with tether's Python client.

    TETHER_URL=http://127.0.0.1:8080 TETHER_API_KEY=... REDIS_URL=redis://127.0.0.1:6379 \\
    QUEUE=jobs python -m tests.clients.python_consumer

It needs no database access: it talks to the tether server over HTTP with an API key.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio

import tether
from tether.errors import ActivityAlreadyClosed, StaleToken

HEARTBEAT_EVERY = int(os.environ.get("HEARTBEAT_EVERY_MS", "1000")) / 1000


async def charge(client: tether.Client, job: dict[str, Any]) -> dict[str, Any]:
    amount = job.get("amount", 0)
    if amount <= 0:
        # Retrying will not help: fail the activity for good.
        await client.fail_activity(
            job["token"], error="InvalidAmount", message=f"cannot charge {amount}", details={"amount": amount},
            non_retryable=True,
        )  # fmt: skip
        return {"did": "rejected"}
    if job["order"].startswith("flaky") and job["attempt"] == 1:
        # A passing fault: tether retries the activity by its policy, with a new job and token.
        await client.fail_activity(job["token"], error="GatewayTimeout", message="the payment gateway timed out")
        return {"did": "failed, to be retried"}
    recorded = await client.complete_activity(job["token"], {"order": job["order"], "charged": amount})
    return {"did": "completed", "recorded": recorded}


async def export_rows(client: tether.Client, job: dict[str, Any]) -> dict[str, Any]:
    deadlines = []
    row = 0
    while True:
        # Each heartbeat keeps the attempt alive, stores its progress, and says whether to stop.
        beat = await client.heartbeat_activity(job["token"], {"row": row})
        deadlines.append(beat.next_heartbeat_due)
        if beat.cancel_requested:
            await client.report_activity_cancelled(job["token"], {"stoppedAt": row})
            return {"did": "cancelled", "row": row, "deadlines": [d and d.isoformat() for d in deadlines[:2]]}
        if row == job["rows"]:
            await client.complete_activity(job["token"], {"rows": row})
            return {"did": "completed", "row": row}
        await asyncio.sleep(HEARTBEAT_EVERY)
        row += 1


TASKS: dict[str, Callable[[tether.Client, dict[str, Any]], Awaitable[dict[str, Any]]]] = {
    "charge": charge,
    "export": export_rows,
}


async def main() -> None:
    url, key = os.environ["TETHER_URL"], os.environ.get("TETHER_API_KEY")
    async with (
        await tether.Client.connect(url, api_key=key) as client,
        redis.asyncio.from_url(os.environ["REDIS_URL"]) as queue,
    ):
        while True:
            _, raw = await queue.blpop([os.environ.get("QUEUE", "jobs")])  # type: ignore[misc]  # untyped in redis
            job = json.loads(raw)
            if job["task"] == "stop":
                break
            try:
                outcome = await TASKS[job["task"]](client, job)
            except (StaleToken, ActivityAlreadyClosed) as exc:
                # Another consumer finished it, or the attempt timed out meanwhile: nothing left to do.
                outcome = {"did": "skipped", "because": exc.code}
            print(json.dumps({"task": job["task"], "order": job.get("order"), "attempt": job["attempt"], **outcome}))


if __name__ == "__main__":
    asyncio.run(main())
