"""One of several tether worker processes sharing a PostgreSQL database, for the fleet test.

Run as ``python -m tests.recovery.fleet_process <db_url> <directory> <identity>``. Each
order runs a sync activity, an async one (its token is left as a file in
``<directory>/tokens`` for the test to complete) and a heartbeating one.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import tether

LEASE = timedelta(seconds=5)
"""Worker and workflow-task lease: a killed worker's work is taken over this soon."""
RETRY = tether.RetryPolicy(max_attempts=0, initial_interval=timedelta(milliseconds=200))


def leave_token(directory: str, name: str, token: str) -> None:
    """Write a token file whole (renamed into place), so a reader never sees half of one."""
    tokens = Path(directory) / "tokens"
    partial = tokens / f".{name}.{os.getpid()}"
    partial.write_text(token)
    partial.rename(tokens / name)


@tether.activity(retry=RETRY)
def fleet_sync(i: int) -> int:
    return i


@tether.activity(retry=RETRY)
async def fleet_async(directory: str, i: int) -> int:
    ctx = tether.context()
    leave_token(directory, f"{ctx.execution_id}.{ctx.activity_id}.{ctx.attempt}", ctx.token)
    return tether.make_async()


@tether.activity(heartbeat=timedelta(seconds=5), retry=RETRY)
def fleet_beating(i: int) -> int:
    for beat in range(3):
        tether.heartbeat({"beat": beat})
        time.sleep(0.001)  # some work between beats
    return i


@tether.workflow
async def fleet_order(directory: str, i: int) -> int:
    a = await fleet_sync(i)
    b = await fleet_async(directory, i)
    c = await fleet_beating(i)
    return a + b + c


WORKFLOWS: list[tether.Workflow[..., Any]] = [fleet_order]
ACTIVITIES: list[tether.Activity[..., Any]] = [fleet_sync, fleet_async, fleet_beating]


async def main(url: str, identity: str) -> None:
    """Run a worker on the real clock until killed."""
    client = await tether.Client.connect(url)
    worker = tether.Worker(
        client, workflows=WORKFLOWS, activities=ACTIVITIES, workflow_task_lease=LEASE, identity=identity
    )
    async with client, worker:
        print("ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[3]))
