"""The UI's two pure parts: the timeline laid out from recorded histories, and forms built from result types."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pydantic
import pytest

import tether
from tether.model import payloads
from tether.service.ui import forms, timeline

HISTORIES = Path(__file__).resolve().parents[1] / "histories"


def recorded(name: str) -> list[tether.HistoryEvent]:
    data = json.loads((HISTORIES / name).read_text())
    return [
        tether.HistoryEvent(e["seq"], e["type"], datetime.fromisoformat(e["at"]), e["data"]) for e in data["events"]
    ]


def closed_description(history: list[tether.HistoryEvent]) -> tether.WorkflowDescription:
    return tether.WorkflowDescription(
        id="x", workflow="w", status=tether.WorkflowStatus.COMPLETED, input=[], result=None, error=None,
        started_at=history[0].at, closed_at=history[-1].at, cancel_requested=False, task_error=None,
        pending_activities=[],
    )  # fmt: skip


def test_retries_are_bars_per_attempt_with_back_offs_and_failure_marks() -> None:
    history = recorded("retries.json")

    laid_out = timeline.build(history, closed_description(history), history[-1].at)
    flaky = next(row for row in laid_out.rows if "hist_flaky" in row.label)

    assert [s.kind for s in flaky.segments] == ["running", "backoff", "running", "backoff", "running"]
    assert [m.kind for m in flaky.marks] == ["failed", "failed", "completed"]
    starts = [s.x for s in flaky.segments]
    assert starts == sorted(starts)
    assert all(0.0 <= s.x <= 1.0 and s.x + s.width <= 1.0 + 1e-9 for s in flaky.segments)
    assert flaky.segments[1].width == pytest.approx(5 / 15, abs=0.01)  # 5 s of back-off in a 15 s run


def test_an_async_attempt_is_drawn_waiting_after_it_went_async_with_heartbeat_ticks() -> None:
    history = recorded("async_completion.json")

    laid_out = timeline.build(history, closed_description(history), history[-1].at)
    (approval,) = laid_out.rows

    assert [s.kind for s in approval.segments] == ["running", "async"]
    assert [m.kind for m in approval.marks] == ["heartbeat", "heartbeat", "completed"]


def test_timers_end_where_they_fired_or_were_cancelled() -> None:
    history = recorded("sleep.json")

    laid_out = timeline.build(history, closed_description(history), history[-1].at)
    timer_rows = [row for row in laid_out.rows if row.label.startswith("sleep")]

    assert [row.marks[-1].kind for row in timer_rows] == ["fired", "fired", "fired", "cancelled", "cancelled"]
    assert laid_out.ticks[0] == (0.0, "0 ms")


def test_an_open_attempt_reaches_now_and_its_last_heartbeat_is_a_tick() -> None:
    start = datetime(2026, 1, 1)
    history = [
        tether.HistoryEvent(1, "WorkflowStarted", start, {}),
        tether.HistoryEvent(2, "ActivityScheduled", start, {"activity_id": 1, "name": "review"}),
        tether.HistoryEvent(3, "ActivityAttemptStarted", start, {"activity_id": 1, "attempt": 1}),
        tether.HistoryEvent(4, "ActivityWentAsync", start + timedelta(seconds=1), {"activity_id": 1, "attempt": 1}),
    ]
    pending = tether.ActivityDescription(
        activity_id=1, name="review", state=tether.ActivityState.ASYNC, attempt=1, scheduled_at=start,
        attempt_started_at=start, last_heartbeat_at=start + timedelta(seconds=5), heartbeat_details={"i": 1},
        last_failure=None, cancel_requested=False, deadlines={},
    )  # fmt: skip
    description = tether.WorkflowDescription(
        id="x", workflow="w", status=tether.WorkflowStatus.RUNNING, input=[], result=None, error=None,
        started_at=start, closed_at=None, cancel_requested=False, task_error=None, pending_activities=[pending],
    )  # fmt: skip

    laid_out = timeline.build(history, description, start + timedelta(seconds=10))
    (review,) = laid_out.rows

    assert review.segments[-1].kind == "async"
    assert review.segments[-1].x + review.segments[-1].width == pytest.approx(1.0)
    assert [(m.kind, m.x) for m in review.marks] == [("heartbeat", 0.5)]


class Booking(pydantic.BaseModel):
    guest: str
    nights: int
    rate: float | None = None
    breakfast: bool = False
    room: str = pydantic.Field(default="double", json_schema_extra={"enum": ["single", "double"]})
    extras: list[str] = []


def booking_form() -> forms.Form:
    return forms.form_for(payloads.schema_of(Booking))


def test_an_object_type_gets_a_field_per_property_in_declared_order() -> None:
    form = booking_form()

    assert form.is_object
    assert [(f.name, f.kind, f.required) for f in form.fields] == [
        ("guest", "text", True), ("nights", "integer", True), ("rate", "number", False),
        ("breakfast", "boolean", False), ("room", "choice", False), ("extras", "json", False),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("submitted", "expected"),
    [
        ({"guest": "ana", "nights": "2"}, {"guest": "ana", "nights": 2, "breakfast": False}),
        ({"guest": "ana", "nights": "two"}, {"guest": "ana", "nights": "two", "breakfast": False}),
        (
            {"guest": "ana", "nights": "1", "rate": "9.5", "breakfast": "on", "room": "single", "extras": '["cot"]'},
            {"guest": "ana", "nights": 1, "rate": 9.5, "breakfast": True, "room": "single", "extras": ["cot"]},
        ),
    ],
    ids=["minimal", "unparsable number kept for the schema check", "everything"],
)
def test_submitted_inputs_become_the_result(submitted: dict[str, str], expected: dict[str, Any]) -> None:
    assert forms.read(booking_form(), submitted) == expected


def test_malformed_json_input_is_reported_by_field() -> None:
    with pytest.raises(forms.FormErrors) as caught:
        forms.read(booking_form(), {"guest": "ana", "nights": "1", "extras": "[cot"})

    assert list(caught.value.errors) == ["extras"]


def test_schema_errors_are_placed_on_their_fields() -> None:
    form = booking_form()
    with pytest.raises(tether.errors.InvalidPayload) as caught:
        payloads.check_schema('{"guest": "ana", "nights": "two"}', payloads.schema_of(Booking))

    assert list(forms.field_errors(caught.value.errors, form)) == ["nights"]


def test_a_plain_result_type_is_one_field_and_no_type_is_json() -> None:
    text = forms.form_for(payloads.schema_of(str))
    anything = forms.form_for(None)

    assert ([f.kind for f in text.fields], text.is_object) == (["text"], False)
    assert forms.read(text, {"result": "yes"}) == "yes"
    assert forms.read(anything, {"result": '{"a": [1]}'}) == {"a": [1]}


def context() -> tether.ActivityContext:
    return tether.ActivityContext(
        token="t", attempt=1, checkpoint=None, execution_id="e", activity_id=1, idempotency_key="e/1", activity="a"
    )


@pytest.mark.parametrize(("title", "form"), [("", None), ("   ", None), ("Approve", object())])
def test_asking_for_a_person_needs_a_title_and_a_describable_form(title: str, form: object) -> None:
    with pytest.raises(tether.errors.UsageError):
        context().inbox(title, form=form)


def test_asking_for_a_person_keeps_the_form_schema_of_the_type_given() -> None:
    ctx = context()

    ctx.inbox(" Approve the booking ", description="two nights", form=Booking)

    assert ctx._inbox == {
        "title": "Approve the booking", "description": "two nights", "form_schema": payloads.schema_of(Booking)
    }  # fmt: skip
