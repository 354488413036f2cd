"""Execution and activity rows as the SQLite queries read them: the execution columns and the rows built from a result.

Shared by the query families of :class:`~tether.store.sqlite.transaction.SQLiteTransaction`
(the activity columns are :data:`tether.store.sqlite.pending.ACTIVITY_COLUMNS`, which the
held-back inserts write).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tether.store.rows import ActivityRow, ExecutionRow

EXECUTION_COLUMNS = (
    "id, workflow, status, input, result, error, created_at_ms, closed_at_ms, cancel_requested, task_error, priority"
)
# An execution's last sequence number is its history's (migration 4): kept nowhere else, it
# costs no write per transition.
EXECUTION_SELECT = f"{EXECUTION_COLUMNS}, (SELECT coalesce(max(seq), 0) FROM events WHERE execution_id = executions.id)"


def execution_row(row: Sequence[Any]) -> ExecutionRow:
    """The execution row of a result row that starts with :data:`EXECUTION_SELECT`'s columns."""
    return ExecutionRow(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], bool(row[8]), row[9], row[11], row[10]
    )


def activity_row(row: Sequence[Any]) -> ActivityRow:
    """The activity row of a result row that starts with the activity columns (its two flags are integers)."""
    return ActivityRow(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9], row[10],
        row[11], row[12], bool(row[13]), bool(row[14]), row[15], row[16],
    )  # fmt: skip
