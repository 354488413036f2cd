"""A PostgreSQL batch's writes travel as one statement whose text does not depend on how many rows it writes.

Each table's rows go as one JSON parameter, so the statement of a batch of ten workflows'
steps is the statement of a batch of one: psycopg keeps its text parsed, and the server keeps
it prepared. What the statement does to the database is what the rest of the suite tests.
"""

from __future__ import annotations

import json

from tether.model.events import EventType
from tether.store.postgres.pending import PendingWrites, WorkflowTask, statement
from tether.store.rows import ActivityTaskRow


def steps(count: int) -> tuple[str, list[object]]:
    """The statement of the writes of ``count`` workflows' steps, one execution each."""
    pending = PendingWrites()
    for i in range(count):
        execution_id = f"e{i}"
        pending.update_execution(execution_id, {"status": "running", "task_error": None})
        pending.insert_activity(
            (execution_id, 2),
            {"execution_id": execution_id, "activity_id": 2, "name": "act", "state": "scheduled", "attempt": 1},
        )
        pending.update_activity((execution_id, 1), {"state": "completed", "closed_at_ms": 5, "result": "1"})
        pending.queue_attempt(ActivityTaskRow(execution_id, 2, 1, "act"))
        pending.delete_attempt((execution_id, 1), 1)
        pending.set_workflow_task(execution_id, None, WorkflowTask("wf", 5, 0, None, False, 0))
        pending.append_events([(execution_id, 3, EventType.ACTIVITY_COMPLETED.value, 5, "{}")])
    (parts,) = pending.take()
    sql, params = statement(parts)
    return sql, list(params)


def test_the_statement_of_a_batch_of_writes_is_the_same_text_for_one_row_or_many() -> None:
    one_sql, one_params = steps(1)
    many_sql, many_params = steps(7)

    assert one_sql == many_sql
    assert len(one_params) == len(many_params)
    rows = [json.loads(param) for param in many_params if isinstance(param, str) and param.startswith("[")]
    assert sorted(len(table_rows) for table_rows in rows) == [7] * len(rows)  # each table's rows, in one parameter


def test_rows_that_set_other_columns_go_in_a_part_of_their_own() -> None:
    pending = PendingWrites()
    pending.update_execution("e1", {"status": "completed", "closed_at_ms": 5})
    pending.update_execution("e2", {"cancel_requested": True})
    pending.update_execution("e3", {"closed_at_ms": 6, "status": "failed"})
    (parts,) = pending.take()

    assert len(parts) == 2
    assert [json.loads(params[0]) for _, params in parts] == [
        [{"id": "e1", "closed_at_ms": 5, "status": "completed"}, {"id": "e3", "closed_at_ms": 6, "status": "failed"}],
        [{"id": "e2", "cancel_requested": True}],
    ]
