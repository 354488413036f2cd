"""A workflow looping 10,000 times with continue-as-new keeps each run small and, with retention, the store bounded."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import tether
from tether.testing import TestEnvironment

ITERATIONS = 10_000
PER_RUN = 100
RETENTION = timedelta(hours=1)


@tether.workflow
async def scale_ticker(done: int) -> int:
    for _ in range(PER_RUN):
        await tether.sleep(timedelta(minutes=1))  # a durable step: a timer started and fired
        done += 1
        if done == ITERATIONS:
            return done
    tether.continue_as_new(done)


def counts(path: str) -> tuple[int, int, int]:
    """Executions, events and the largest history of one run, read from the SQLite file."""
    with sqlite3.connect(path) as conn:
        executions = conn.execute("SELECT count(*) FROM executions").fetchone()[0]
        events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        largest = conn.execute("SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM events GROUP BY execution_id)")
        return int(executions), int(events), int(largest.fetchone()[0])


async def test_ten_thousand_iterations_stay_bounded(tmp_path: object) -> None:
    path = f"{tmp_path}/scale.db"
    async with TestEnvironment(workflows=[scale_ticker], path=path, retention=RETENTION, transport="embedded") as env:
        handle = await env.client.start_workflow(scale_ticker, 0, id="ticker")
        assert await handle.result() == ITERATIONS
        latest = await env.client.describe("ticker")
        assert latest.run == ITERATIONS // PER_RUN
        executions, events, largest = counts(path)
        # Each run's history holds its 100 steps (3 events each) and little more ...
        assert largest <= 3 * PER_RUN + 10
        # ... and retention kept the first run (the chain's name) and the runs of the last hour only.
        assert executions <= 4, executions
        assert events <= 4 * (3 * PER_RUN + 10), events
