"""The overdue listing's cost is that of what it lists, not of every activity waiting for its token.

Most waiting activities declare no age limit of their own and are not overdue; a store
holding many of them must still find the few past their own limit through that limit's
index. The work is counted by each database itself: SQLite's virtual machine steps (a
progress handler on the store's connection), PostgreSQL's rows of ``activities`` read.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.store.test_listing_contract import execution
from tests.store.test_overdue_contract import NOW, activity
from tether.store.base import Store, Transaction
from tether.store.postgres.transaction import PostgresTransaction
from tether.store.sqlite.transaction import SQLiteTransaction

FEW, MANY = 20, 2_000
LATE = ["late-0", "late-1", "late-2"]

_ROWS_READ = (
    "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables "
    "WHERE relname = 'activities'"
)


async def wait(store: Store, count: int, prefix: str) -> None:
    """``count`` activities waiting since just now with no limit of their own, and the LATE ones past theirs."""

    def run(tx: Transaction) -> None:
        waiting: list[tuple[str, dict[str, int], int]] = [(f"{prefix}-{i}", {}, NOW - 10) for i in range(count)]
        late = [(execution_id, {"overdue_after_ms": 500}, NOW - 600) for execution_id in LATE if prefix == "first"]
        for execution_id, options, started in [*waiting, *late]:
            tx.insert_execution(execution(execution_id))
            tx.insert_activity(activity(execution_id, options, started))
            tx.update_activity(execution_id, 1, state="async", attempt_started_at_ms=started)

    await store.run(run)


def counted(listing: Callable[[Transaction], list[str]]) -> Callable[[Transaction], tuple[list[str], int]]:
    """The listing, and the work its database did for it."""

    def run(tx: Transaction) -> tuple[list[str], int]:
        if isinstance(tx, SQLiteTransaction):
            steps = [0]

            def step() -> int:
                steps[0] += 1
                return 0  # go on

            tx._conn.set_progress_handler(step, 10)
            try:
                return listing(tx), steps[0]
            finally:
                tx._conn.set_progress_handler(None, 0)
        assert isinstance(tx, PostgresTransaction)
        before = tx._one(_ROWS_READ)
        listed = listing(tx)
        after = tx._one(_ROWS_READ)
        return listed, (int(after[0]) if after else 0) - (int(before[0]) if before else 0)

    return run


def overdue(tx: Transaction) -> list[str]:
    rows = tx.overdue_activities(now_ms=NOW, default_cut_ms=None, horizon_ms=None, limit=20, offset=0)
    return [row.execution_id for row, _, _ in rows]


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
async def test_the_overdue_listing_does_not_read_every_waiting_activity(store: Store) -> None:
    await wait(store, FEW, "first")
    among_few, work_among_few = await store.read(counted(overdue))
    await wait(store, MANY - FEW, "more")
    among_many, work_among_many = await store.read(counted(overdue))

    assert among_few == among_many == LATE
    # A hundred times as many waiting: the work is about the same (a scan would be ~100 times it).
    assert work_among_many <= 2 * work_among_few + 20, (work_among_few, work_among_many)
