"""Statements planned while the tables were nearly empty are planned again as they grow.

PostgreSQL keeps a prepared statement's generic plan until its tables are analysed; on a
server where nothing analyses them (autovacuum off), a plan made for a fresh database would
scan whole tables forever. Each transition here counts the sequential scans of the
executions table it caused, from PostgreSQL's own per-transaction statistics.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from tether.model.events import EventType
from tether.store.base import ExecutionRow, Transaction
from tether.store.postgres import PostgresStore
from tether.store.postgres_transaction import PostgresTransaction

pytestmark = pytest.mark.postgres

SMALL = 5
GROWN = 30_000


def execution(execution_id: str) -> ExecutionRow:
    return ExecutionRow(execution_id, "wf", "running", "[]", None, None, 1, None, False, None, 0)


def inserting(row: ExecutionRow) -> Callable[[Transaction], bool]:
    return lambda tx: tx.insert_execution(row)


def step(execution_id: str) -> Callable[[Transaction], int]:
    """A workflow step's statements on one execution; returns the executions scanned whole meanwhile."""

    def transition(tx: Transaction) -> int:
        assert isinstance(tx, PostgresTransaction)
        tx.get_execution(execution_id)
        tx.append_events(execution_id, [(EventType.WORKFLOW_TASK_COMPLETED, "{}")], 1)
        tx.enqueue_workflow_task(execution_id, 1)
        row = tx._one("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'executions'")
        return int(row[0]) if row is not None else 0

    return transition


async def test_steps_stop_scanning_a_table_that_grew_after_their_statements_were_planned(
    empty_postgres_url: str,
) -> None:
    store = await PostgresStore.open(empty_postgres_url)
    try:
        for i in range(SMALL):
            await store.run(inserting(execution(f"small-{i}")))
        for n in range(40):  # prepared and planned for a table of five rows
            await store.run(step(f"small-{n % SMALL}"))
        with psycopg.connect(empty_postgres_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO tether.executions "
                "(id, workflow, status, input, created_at_ms, cancel_requested, last_seq) "
                "SELECT 'grown-' || g, 'wf', 'running', '[]', 1, false, 0 FROM generate_series(1, %s) g",
                (GROWN,),
            )
        for n in range(400):
            await store.run(step(f"small-{n % SMALL}"))

        scans = [await store.run(step(f"grown-{n + 1}")) for n in range(20)]
    finally:
        await store.close()

    assert scans == [0] * 20
