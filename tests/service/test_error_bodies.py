"""Every error has a body schema, its details are exactly what the schema says, and the client rebuilds it.

The bodies of the errors a route sends are also validated against the served document by
tests/service/test_openapi_document.py, which provokes each of them on a real server.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pydantic
import pytest

from tests.service.test_openapi_document import error_classes
from tether import errors
from tether.model import access, error_bodies, payloads, wire
from tether.service import errors as service_errors

SAMPLES: dict[type[errors.TetherError], errors.TetherError] = {
    errors.TetherError: errors.TetherError(),
    errors.UsageError: errors.UsageError("misused"),
    errors.NotInActivity: errors.NotInActivity(),
    errors.NotInWorkflow: errors.NotInWorkflow(),
    errors.NonDeterminism: errors.NonDeterminism("diverged", execution_id="e-1", event_seq=4),
    errors.UndecodablePayload: errors.UndecodablePayload("encoded", encoding="aes-gcm", key="k2"),
    errors.UnknownWorkflow: errors.UnknownWorkflow("orders.fulfil"),
    errors.UnknownActivity: errors.UnknownActivity("billing.collect"),
    errors.MissingExtra: errors.MissingExtra("postgres", module="psycopg"),
    errors.Refused: errors.Refused(),
    errors.InvalidToken: errors.InvalidToken(),
    errors.StaleToken: errors.StaleToken(token_attempt=1, current_attempt=2),
    errors.CallbackExpired: errors.CallbackExpired(expired_at="2026-01-01T00:00:00Z"),
    errors.Unauthenticated: errors.Unauthenticated(),
    errors.PermissionDenied: errors.PermissionDenied(action="workflows:read", workflow="orders.fulfil"),
    errors.InvalidPayload: errors.InvalidPayload("bad", errors=[{"loc": ["result", 0, "by"], "msg": "missing"}]),
    errors.PayloadTooLarge: errors.PayloadTooLarge(limit=1024),
    errors.RequestTimeout: errors.RequestTimeout(),
    errors.ExecutionNotFound: errors.ExecutionNotFound("e-1"),
    errors.ActivityNotFound: errors.ActivityNotFound("e-1", 3),
    errors.ExecutionIdTaken: errors.ExecutionIdTaken("e-1", workflow="a", requested="b"),
    errors.ApiKeyNotFound: errors.ApiKeyNotFound("ops"),
    errors.SinkNotFound: errors.SinkNotFound("https://hooks.example.com/tether"),
    errors.ScheduleNotFound: errors.ScheduleNotFound("nightly-report"),
    errors.ScheduleAlreadyExists: errors.ScheduleAlreadyExists("nightly-report"),
    errors.InvalidSignature: errors.InvalidSignature(),
    errors.ActivityAlreadyClosed: errors.ActivityAlreadyClosed("completed", execution_id="e-1", activity_id=1),
    errors.NoAttemptOpen: errors.NoAttemptOpen(execution_id="e-1", activity_id=1, state="backoff", next_attempt=2),
    errors.WrongActivity: errors.WrongActivity(expected="a", actual="b", execution_id="e-1", activity_id=1),
    errors.CancellationNotRequested: errors.CancellationNotRequested(execution_id="e-1", activity_id=1),
    errors.ExecutionClosed: errors.ExecutionClosed("e-1", status="completed"),
    errors.ExecutionNotClosed: errors.ExecutionNotClosed("e-1"),
    errors.ExecutionNotResumable: errors.ExecutionNotResumable("e-1", status="running"),
    errors.ActivityNotInBackoff: errors.ActivityNotInBackoff(execution_id="e-1", activity_id=1, state="async"),
    errors.RequestRejected: errors.RequestRejected("no", execution_id="e-1", name="ask"),
    errors.MessageKeyReused: errors.MessageKeyReused("e-1", "k"),
    errors.NotPublished: errors.NotPublished("e-1", "progress"),
    errors.StoreUnavailable: errors.StoreUnavailable(),
    errors.ServerUnreachable: errors.ServerUnreachable(url="http://127.0.0.1:1"),
    errors.StoreNotFound: errors.StoreNotFound(path="/nowhere.db"),
    errors.ExecutionFailure: errors.ExecutionFailure(),
    errors.ActivityFailed: errors.ActivityFailed("declined", error="Declined", details={"why": [1]}, attempt=2),
    errors.ActivityTimeout: errors.ActivityTimeout("heartbeat", attempt=1, details={"last_heartbeat_details": 3}),
    errors.ActivityCancelled: errors.ActivityCancelled(attempt=1),
    errors.WorkflowFailed: errors.WorkflowFailed("failed", error="ValueError", details=None),
    errors.ChildWorkflowFailed: errors.ChildWorkflowFailed(child_id="c-1", workflow="w", cause={"code": "x"}),
    errors.HistoryTooLarge: errors.HistoryTooLarge(execution_id="e-1", events=10, limit=5),
    errors.WorkflowCancelled: errors.WorkflowCancelled(),
    errors.WorkflowTerminated: errors.WorkflowTerminated(reason="stuck"),
    errors.WorkflowTimedOut: errors.WorkflowTimedOut(),
}
"""One instance of every error class, with facts in every detail."""


def test_every_error_class_has_a_body_schema_of_its_own_code() -> None:
    classes = error_classes()

    assert set(SAMPLES) == set(classes) == set(error_bodies.DETAILS)
    assert {cls.code for cls in classes} <= set(error_bodies.BODIES)
    assert len({cls.code for cls in classes}) == len(classes)


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda cls: cls.code)
def test_the_body_of_every_error_is_exactly_its_code_s_schema(cls: type[errors.TetherError]) -> None:
    body = service_errors.body_of(SAMPLES[cls])
    model = error_bodies.BODIES[cls.code]

    jsonschema.Draft202012Validator(pydantic.TypeAdapter(model).json_schema()).validate(body)
    assert set(body["details"]) == set(error_bodies.DETAILS[cls].model_fields)
    # The discriminated union of every body picks the code's own.
    assert type(pydantic.TypeAdapter(error_bodies.AnyErrorBody).validate_python(body)) is model


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda cls: cls.code)
def test_the_http_client_rebuilds_every_error_from_its_body(cls: type[errors.TetherError]) -> None:
    sent = SAMPLES[cls]
    body = wire.ErrorBody.model_validate_json(json.dumps(service_errors.body_of(sent)))

    rebuilt = errors.from_wire(body.error, body.message, body.details)

    assert type(rebuilt) is cls
    assert (rebuilt.message, rebuilt.to_details()) == (sent.message, sent.to_details())


class _Order(pydantic.BaseModel):
    by: str
    amount: int


def _raised(call: Any) -> errors.InvalidPayload:
    with pytest.raises(errors.InvalidPayload) as caught:
        call()
    return caught.value


@pytest.mark.parametrize(
    "provoke",
    [
        lambda: payloads.decode('{"by": 1}', _Order, what="result"),
        lambda: payloads.check_schema('{"by": 1}', pydantic.TypeAdapter(_Order).json_schema(), what="result"),
        lambda: payloads.encode(object(), what="details"),
        lambda: payloads.encode(float("nan"), what="details"),
        lambda: wire.callback_result(b"{not json"),
        lambda: access.Scope.parse("no-colons"),
    ],
    ids=["declared type", "stored schema", "not JSON", "NaN", "callback body", "scope"],
)
def test_every_invalid_payload_reports_its_problems_in_one_shape(provoke: Any) -> None:
    refusal = _raised(provoke)

    details = error_bodies.InvalidPayloadDetails.model_validate(refusal.to_details())

    assert details.errors
    assert all(set(problem) == {"loc", "msg", "type"} for problem in refusal.to_details()["errors"])
