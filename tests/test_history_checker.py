"""The history checker that runs after every behaviour test finds each kind of broken history."""

from __future__ import annotations

from typing import Any

from tests.helpers.history_checker import check_history, check_outbox, check_published
from tether.model.events import Event, EventType
from tether.store.rows import ActivityRow, ExecutionRow, OutboxRow, PublishedRow

E = EventType


def execution(status: str, last_seq: int) -> ExecutionRow:
    return ExecutionRow("x", "wf", status, "[]", None, None, 0, None, False, None, last_seq)


def activity(state: str, attempt: int = 1) -> ActivityRow:
    closed = 1 if state in ("completed", "failed", "timed_out", "cancelled") else None
    return ActivityRow(
        "x", 1, "act", state, attempt, "[]", "{}", 0, None, None, None, None, None, False, False, None, closed
    )


def history(*items: tuple[EventType, dict[str, Any]]) -> list[Event]:
    return [Event(seq, kind, 0, data) for seq, (kind, data) in enumerate(items, start=1)]


A1 = {"activity_id": 1, "attempt": 1}
OPENING: tuple[tuple[EventType, dict[str, Any]], ...] = (
    (E.WORKFLOW_STARTED, {}),
    (E.WORKFLOW_TASK_COMPLETED, {}),
    (E.ACTIVITY_SCHEDULED, {"activity_id": 1}),
    (E.ACTIVITY_ATTEMPT_STARTED, A1),
)


def problems(status: str, row: ActivityRow | None, *items: tuple[EventType, dict[str, Any]]) -> list[str]:
    events = history(*OPENING, *items)
    return check_history(execution(status, len(events)), events, {1: row})


def test_a_consistent_history_has_no_problem() -> None:
    assert problems("completed", activity("completed"), (E.ACTIVITY_COMPLETED, A1), (E.WORKFLOW_COMPLETED, {})) == []


def test_an_attempt_closed_twice_is_found() -> None:
    found = problems("running", activity("completed"), (E.ACTIVITY_COMPLETED, A1), (E.ACTIVITY_COMPLETED, A1))
    assert any("after the activity closed" in p for p in found)


def test_went_async_after_the_close_is_found() -> None:
    found = problems("running", activity("async"), (E.ACTIVITY_COMPLETED, A1), (E.ACTIVITY_WENT_ASYNC, A1))
    assert any("ActivityWentAsync (seq 6) after the activity closed" in p for p in found)
    assert any("stored as 'async'" in p for p in found)


def test_an_event_after_the_execution_closed_is_found() -> None:
    found = problems("cancelled", activity("cancelled"), (E.WORKFLOW_CANCELLED, {}), (E.ACTIVITY_CANCELLED, A1))
    assert any("follows the execution's WorkflowCancelled" in p for p in found)


def test_an_activity_left_open_by_a_closed_execution_is_found() -> None:
    found = problems("completed", activity("async"), (E.ACTIVITY_WENT_ASYNC, A1), (E.WORKFLOW_COMPLETED, {}))
    assert any("still async after the execution closed" in p for p in found)


def test_a_gap_in_sequence_numbers_is_found() -> None:
    events = history(*OPENING)
    gapped = [*events[:2], Event(4, E.ACTIVITY_SCHEDULED, 0, {"activity_id": 1})]
    assert any("dense" in p for p in check_history(execution("running", 4), gapped, {1: activity("scheduled")}))


def test_a_stored_status_the_history_does_not_end_with_is_found() -> None:
    found = problems("completed", activity("running"))
    assert any("status is 'completed' but its history says 'running'" in p for p in found)


def test_a_child_closed_twice_or_never_started_is_found() -> None:
    started, closed = (E.CHILD_WORKFLOW_STARTED, {"child_ref": 2}), (E.CHILD_WORKFLOW_CLOSED, {"child_ref": 2})
    assert problems("running", activity("running"), started, closed) == []
    twice = problems("running", activity("running"), started, closed, closed)
    assert any("child 2: ChildWorkflowClosed (seq 7) after it closed" in p for p in twice)
    never = problems("running", activity("running"), closed)
    assert any("child 2: ChildWorkflowClosed (seq 5) for a child never started" in p for p in never)


def test_a_continued_run_must_be_stored_as_continued() -> None:
    found = problems("completed", activity("cancelled"), (E.ACTIVITY_CANCELLED, A1), (E.WORKFLOW_CONTINUED_AS_NEW, {}))
    assert any("status is 'completed' but its history says 'continued'" in p for p in found)


def test_an_event_after_the_execution_was_terminated_is_found() -> None:
    cancelled = {**A1, "reason": "its workflow was terminated: stuck"}
    consistent = problems(
        "terminated", activity("cancelled"), (E.ACTIVITY_CANCELLED, cancelled), (E.WORKFLOW_TERMINATED, {})
    )
    found = problems(
        "terminated", activity("cancelled"), (E.WORKFLOW_TERMINATED, {}), (E.ACTIVITY_CANCELLED, cancelled)
    )
    assert consistent == []
    assert any("follows the execution's WorkflowTerminated" in p for p in found)


CANCELLED_BY_CLOSE = {**A1, "details": None, "reason": "its workflow timed out"}


def test_a_resume_after_a_close_reopens_the_execution_and_the_activities_it_names() -> None:
    found = problems(
        "completed",
        activity("completed", attempt=2),
        (E.ACTIVITY_CANCELLED, CANCELLED_BY_CLOSE),
        (E.WORKFLOW_TIMED_OUT, {}),
        (E.EXECUTION_RESUMED, {"activities": [1], "undone": [5, 6]}),
        (E.ACTIVITY_ATTEMPT_STARTED, {"activity_id": 1, "attempt": 2}),
        (E.ACTIVITY_COMPLETED, {"activity_id": 1, "attempt": 2}),
        (E.WORKFLOW_TASK_COMPLETED, {}),
        (E.WORKFLOW_COMPLETED, {}),
    )
    assert found == []


def test_a_resume_of_a_running_execution_is_found() -> None:
    found = problems("running", activity("running"), (E.EXECUTION_RESUMED, {"activities": [], "undone": []}))
    assert any("resumes an execution that was not closed" in p for p in found)


def test_an_attempt_of_an_activity_the_resume_did_not_reopen_is_found() -> None:
    found = problems(
        "running",
        activity("cancelled"),
        (E.ACTIVITY_CANCELLED, CANCELLED_BY_CLOSE),
        (E.WORKFLOW_TERMINATED, {}),
        (E.EXECUTION_RESUMED, {"activities": [], "undone": [5, 6]}),
        (E.ACTIVITY_ATTEMPT_STARTED, {"activity_id": 1, "attempt": 2}),
    )
    assert any("after the activity closed" in p for p in found)


def test_a_timed_out_execution_ends_with_its_closing_event() -> None:
    found = problems("timed_out", activity("cancelled"), (E.WORKFLOW_TIMED_OUT, {}), (E.ACTIVITY_CANCELLED, A1))
    assert any("follows the execution's WorkflowTimedOut" in p for p in found)


def published(rows: list[PublishedRow], *values: object, carried: bool = False) -> list[str]:
    started = {"previous_run_id": "x"} if carried else {}
    publishes = [(E.VALUE_PUBLISHED, {"name": "p", "value": value}) for value in values]
    events = history((E.WORKFLOW_STARTED, started), (E.WORKFLOW_TASK_COMPLETED, {}), *publishes)
    return check_published(execution("running", len(events)), events, rows)


def test_published_values_that_agree_with_their_history_have_no_problem() -> None:
    assert published([PublishedRow("p", "2", 2, 0)], 1, 2) == []
    assert published([PublishedRow("p", "2", 4, 0)], 1, 2, carried=True) == []
    assert published([PublishedRow("q", "1", 1, 0)], carried=True) == []


def test_a_publish_applied_twice_or_not_at_all_is_found() -> None:
    assert any("at version 3 after 2 publishes" in p for p in published([PublishedRow("p", "2", 3, 0)], 1, 2))
    assert any("no value is stored" in p for p in published([], 1))
    assert any("published another value" in p for p in published([PublishedRow("p", "1", 2, 0)], 1, 2))
    assert any("never published" in p for p in published([PublishedRow("q", "1", 1, 0)]))


def told(event: str, url: str = "http://a", attempt: int = 1) -> OutboxRow:
    return OutboxRow(f"n-{event}-{url}-{attempt}", "x", 1, attempt, event, url, "{}", "delivered", 1, None, None, 0, 0)


def outbox(rows: list[OutboxRow], *items: tuple[EventType, dict[str, Any]]) -> list[str]:
    events = history(*OPENING, *items)
    return check_outbox(execution("running", len(events)), events, rows)


def test_notifications_of_what_happened_have_no_problem_and_others_are_found() -> None:
    waited, ended = told("activity.waiting"), told("activity.closed")
    assert outbox([waited, ended], (E.ACTIVITY_WENT_ASYNC, A1), (E.ACTIVITY_COMPLETED, A1)) == []
    assert any("it never did" in p for p in outbox([waited]))
    assert any("2 times" in p for p in outbox([waited, waited], (E.ACTIVITY_WENT_ASYNC, A1)))
    assert any("unasked or before it did" in p for p in outbox([waited, ended], (E.ACTIVITY_WENT_ASYNC, A1)))
    assert any("unasked or before it did" in p for p in outbox([ended], (E.ACTIVITY_COMPLETED, A1)))
    assert any(
        "2 times" in p for p in outbox([waited, ended, ended], (E.ACTIVITY_WENT_ASYNC, A1), (E.ACTIVITY_COMPLETED, A1))
    )
