"""Statements planned while the tables were nearly empty are planned again as they grow.

PostgreSQL keeps a prepared statement's generic plan until its tables are analysed; on a
server where nothing analyses them (autovacuum off), a plan made for a fresh database would
scan whole tables forever. Each transition here counts the rows of the executions table
its statements read, from PostgreSQL's own statistics of the session.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from tether.model.events import EventType
from tether.store.base import Transaction
from tether.store.postgres.pending import MANY_ROWS
from tether.store.postgres.store import PostgresStore
from tether.store.postgres.transaction import PostgresTransaction
from tether.store.rows import ExecutionRow

from .test_store_contract import activity

pytestmark = pytest.mark.postgres

SMALL = 5
GROWN = 30_000


def execution(execution_id: str) -> ExecutionRow:
    return ExecutionRow(execution_id, "wf", "running", "[]", None, None, 1, None, False, None, 0)


def inserting(row: ExecutionRow) -> Callable[[Transaction], bool]:
    return lambda tx: tx.insert_execution(row)


ROWS_READ = (
    "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables "
    "WHERE relname = 'executions'"
)
"""Rows of the executions table the session has read and not yet reported (it reports between transactions)."""


def step(execution_ids: list[str]) -> Callable[[Transaction], int]:
    """A workflow step's statements on each execution; returns how many rows of executions they read."""

    def transition(tx: Transaction) -> int:
        assert isinstance(tx, PostgresTransaction)
        before = tx._one(ROWS_READ)
        for execution_id in execution_ids:
            tx.get_execution(execution_id)
            tx.append_events(execution_id, [(EventType.WORKFLOW_TASK_COMPLETED, "{}")], 1)
            tx.enqueue_workflow_task(execution_id, 1)
        tx.settle()  # every statement sent has run
        after = tx._one(ROWS_READ)
        return (int(after[0]) if after else 0) - (int(before[0]) if before else 0)

    return transition


def activity_step(execution_ids: list[str]) -> Callable[[Transaction], int]:
    """An attempt's start on each execution (its activity 1 updated); returns how many rows of activities it read."""

    def transition(tx: Transaction) -> int:
        assert isinstance(tx, PostgresTransaction)
        before = tx._one(ACTIVITY_ROWS_READ)
        for execution_id in execution_ids:
            assert tx.get_activity(execution_id, 1) is not None
            tx.update_activity(execution_id, 1, state="running", attempt_started_at_ms=2)
        tx.settle()
        after = tx._one(ACTIVITY_ROWS_READ)
        return (int(after[0]) if after else 0) - (int(before[0]) if before else 0)

    return transition


ACTIVITY_ROWS_READ = ROWS_READ.replace("'executions'", "'activities'")

WIDTHS = pytest.mark.parametrize("width", [1, MANY_ROWS * 6], ids=["a-row-a-part", "a-table-a-part"])
"""Executions a step writes: one (a part per row written) or enough for a part per table (see pending.MANY_ROWS)."""


def starting(execution_id: str) -> Callable[[Transaction], None]:
    return lambda tx: tx.insert_activity(activity(execution_id, 1))


async def rows_read_once_grown(
    url: str, step: Callable[[list[str]], Callable[[Transaction], int]], width: int, *, activities: bool = False
) -> list[int]:
    """Rows read by 20 steps of ``width`` executions added once the table grew, prepared while it was small.

    ``activities``: each execution has an activity 1, small and grown ones alike.
    """

    def small(n: int) -> list[str]:
        return [f"small-{(n + k) % SMALL}" for k in range(width)]

    store = await PostgresStore.open(url)
    try:
        for i in range(SMALL):
            await store.run(inserting(execution(f"small-{i}")))
            if activities:
                await store.run(starting(f"small-{i}"))
        for n in range(40):  # prepared and planned for a small table
            await store.run(step(small(n)))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO tether.executions "
                "(id, workflow, status, input, created_at_ms, cancel_requested, last_seq) "
                "SELECT 'grown-' || g, 'wf', 'running', '[]', 1, false, 0 FROM generate_series(1, %s) g",
                (GROWN,),
            )
            if activities:
                conn.execute(
                    "INSERT INTO tether.activities "
                    "(execution_id, activity_id, name, state, attempt, args, options, scheduled_at_ms) "
                    "SELECT 'grown-' || g, 1, 'act', 'scheduled', 1, '[]', '{}', 1 FROM generate_series(1, %s) g",
                    (GROWN,),
                )
        for n in range(400):
            await store.run(step(small(n)))
        return [await store.run(step([f"grown-{n * width + k + 1}" for k in range(width)])) for n in range(20)]
    finally:
        await store.close()


@WIDTHS
async def test_steps_stop_scanning_a_table_that_grew_after_their_statements_were_planned(
    empty_postgres_url: str, width: int
) -> None:
    read = await rows_read_once_grown(empty_postgres_url, step, width)

    assert max(read) <= 10 * width, f"rows of executions read by each step: {read}"


@WIDTHS
async def test_updates_of_activities_stop_scanning_a_table_that_grew_after_they_were_planned(
    empty_postgres_url: str, width: int
) -> None:
    read = await rows_read_once_grown(empty_postgres_url, activity_step, width, activities=True)

    assert max(read) <= 10 * width, f"rows of activities read by each step: {read}"
