"""A PostgreSQL batch's writes of many rows travel as one statement whose text does not depend on how many.

Each table's rows go as one JSON parameter, so the statement of a batch of forty workflows'
steps is the statement of a batch of twenty: psycopg keeps its text parsed, and the server
keeps it prepared. A batch of a few rows writes each row in a part of its own, which costs the
server less for each row. What the statements do to the database is what the rest of the suite
tests.
"""

from __future__ import annotations

import json

from tether.model.events import EventType
from tether.store.postgres.pending import MANY_ROWS as MANY
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


def test_the_statement_of_a_batch_of_many_writes_is_the_same_text_however_many() -> None:
    some_sql, some_params = steps(MANY)
    more_sql, more_params = steps(MANY * 3)

    assert some_sql == more_sql
    assert len(some_params) == len(more_params)
    rows = [json.loads(param) for param in more_params if isinstance(param, str) and param.startswith("[")]
    assert rows
    assert {len(table_rows) for table_rows in rows} == {MANY * 3}  # each table's rows, in one parameter


def test_a_batch_of_a_few_writes_writes_each_row_in_a_part_of_its_own() -> None:
    one_sql, _ = steps(1)
    two_sql, two_params = steps(2)

    assert "json_populate_recordset(NULL::activities" not in one_sql
    assert two_sql.count("UPDATE activities") == 2 * one_sql.count("UPDATE activities") == 2
    # The events alone go as one JSON parameter: their own JSON would cost more escaped in an array.
    assert one_sql.count("json_populate_recordset") == two_sql.count("json_populate_recordset") == 1
    (events,) = [json.loads(param) for param in two_params if isinstance(param, str) and param.startswith("[")]
    assert events == [
        {"execution_id": f"e{i}", "seq": 3, "type": EventType.ACTIVITY_COMPLETED.value, "at_ms": 5, "data": "{}"}
        for i in range(2)
    ]


def test_rows_that_set_other_columns_go_in_a_part_of_their_own() -> None:
    pending = PendingWrites()
    for i in range(MANY):
        pending.update_execution(
            f"e{i}", {"status": "completed", "closed_at_ms": i} if i % 2 else {"cancel_requested": True}
        )
    (parts,) = pending.take()

    assert len(parts) == 2
    assert [json.loads(params[0]) for _, params in parts] == [
        [{"id": f"e{i}", "cancel_requested": True} for i in range(0, MANY, 2)],
        [{"id": f"e{i}", "closed_at_ms": i, "status": "completed"} for i in range(1, MANY, 2)],
    ]
