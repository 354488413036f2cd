"""The body of every error on the wire, one schema per code, each with the details its error reports.

An error body is ``{"error": code, "message": text, "details": {...}}``; ``details`` holds
exactly what the error's ``to_details()`` gives (the HTTP client rebuilds the error from
them). The server declares, per operation and status, the union of the bodies it can send,
discriminated on ``error``; :data:`AnyErrorBody` is the union of them all.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from tether import errors
from tether.model.payloads import JSONValue
from tether.model.records import ActivityState, WorkflowStatus


class _Details(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoDetails(_Details):
    """An error that reports no facts beyond its code and message."""


class PayloadProblem(_Details):
    """One invalid part of a request or value: where it is, what is wrong, and the kind of problem.

    Every invalid_payload reports its problems in this shape, whether the request did not
    parse, a field broke its constraints, or a value did not match its declared type.
    """

    loc: list[str | int] = Field(
        description="The path to the invalid part: field names and list indexes (empty: the whole body)."
    )
    msg: str = Field(description="What is wrong, for people.")
    type: str = Field(description="The kind of problem, e.g. missing, json_invalid, value_error.")


class InvalidPayloadDetails(_Details):
    """The details of invalid_payload: each problem found."""

    errors: list[PayloadProblem]


class StaleTokenDetails(_Details):
    """The details of stale_token: the token's attempt and the current one."""

    token_attempt: int
    current_attempt: int


class CallbackExpiredDetails(_Details):
    """The details of callback_expired."""

    expired_at: str = Field(description="When the callback URL expired (ISO 8601, UTC).")


class PermissionDeniedDetails(_Details):
    """The details of permission_denied: what was asked, and of which workflow."""

    action: str
    workflow: str


class PayloadTooLargeDetails(_Details):
    """The details of payload_too_large."""

    limit: int = Field(description="The largest request body the server takes, in bytes.")


class ExecutionDetails(_Details):
    """The details of an error about one execution."""

    execution_id: str


class ActivityDetails(_Details):
    """The details of an error about one activity of an execution."""

    execution_id: str
    activity_id: int


class ExecutionIdTakenDetails(_Details):
    """The details of execution_id_taken: the workflow that holds the id, and the one asked for."""

    execution_id: str
    workflow: str
    requested: str


class SinkNotFoundDetails(_Details):
    """The details of sink_not_found."""

    sink: str


class ScheduleDetails(_Details):
    """The details of an error about one schedule."""

    schedule_id: str


class ApiKeyNotFoundDetails(_Details):
    """The details of api_key_not_found."""

    key: str


class ActivityAlreadyClosedDetails(_Details):
    """The details of activity_already_closed: the activity and the state it closed in."""

    final_state: ActivityState
    execution_id: str
    activity_id: int


class NoAttemptOpenDetails(_Details):
    """The details of no_attempt_open: where the activity stands, and its next attempt."""

    execution_id: str
    activity_id: int
    state: ActivityState
    next_attempt: int


class WrongActivityDetails(_Details):
    """The details of wrong_activity: the activity named, and the one the token is of."""

    expected: str
    actual: str
    execution_id: str
    activity_id: int


class ExecutionStatusDetails(_Details):
    """The details of an error about an execution's status."""

    execution_id: str
    status: WorkflowStatus


class ActivityStateDetails(_Details):
    """The details of activity_not_in_backoff: the state the activity is in instead."""

    execution_id: str
    activity_id: int
    state: ActivityState


class RequestRejectedDetails(_Details):
    """The details of request_rejected: the workflow's reason."""

    reason: str
    execution_id: str
    name: str


class MessageKeyReusedDetails(_Details):
    """The details of message_key_reused."""

    execution_id: str
    key: str


class NamedValueDetails(_Details):
    """The details of not_published: the execution and the value's name."""

    execution_id: str
    name: str


class NameDetails(_Details):
    """The details of an unknown workflow or activity: its name."""

    name: str


class MissingExtraDetails(_Details):
    """The details of missing_extra: the extra to install, and the module that was missing."""

    extra: str
    module: str


class NonDeterminismDetails(_Details):
    """The details of non_determinism: the execution, and the event replay diverged at."""

    execution_id: str
    event_seq: int | None


class UndecodablePayloadDetails(_Details):
    """The details of undecodable_payload: the encoding and key id its envelope names."""

    encoding: str
    key: str | None


class UrlDetails(_Details):
    """The details of server_unreachable."""

    url: str


class PathDetails(_Details):
    """The details of store_not_found."""

    path: str


class ActivityFailedDetails(_Details):
    """The details of a failed activity: the failure's type name, its details, the attempt."""

    error: str
    details: JSONValue
    attempt: int
    non_retryable: bool


class ActivityTimeoutDetails(ActivityFailedDetails):
    """The details of activity_timeout: a failure, and which timeout passed."""

    kind: Literal["total", "attempt", "heartbeat"]


class WorkflowFailedDetails(_Details):
    """The details of a failed workflow: the failure's type name and details."""

    error: str
    details: JSONValue


class ChildWorkflowFailedDetails(WorkflowFailedDetails):
    """The details of child_workflow_failed: the child, and what its handle raised."""

    child_id: str
    workflow: str
    cause: JSONValue


class HistoryTooLargeDetails(WorkflowFailedDetails):
    """The details of history_too_large: the run's event count and its limit."""

    execution_id: str
    events: int
    limit: int


class WorkflowTerminatedDetails(_Details):
    """The details of workflow_terminated."""

    reason: str


class MethodNotAllowedDetails(_Details):
    """The details of method_not_allowed: the methods the path serves."""

    allowed: list[str]


DETAILS: dict[type[errors.TetherError], type[_Details]] = {
    errors.TetherError: NoDetails,
    errors.UsageError: NoDetails,
    errors.NotInActivity: NoDetails,
    errors.NotInWorkflow: NoDetails,
    errors.NonDeterminism: NonDeterminismDetails,
    errors.UnknownWorkflow: NameDetails,
    errors.UnknownActivity: NameDetails,
    errors.MissingExtra: MissingExtraDetails,
    errors.UndecodablePayload: UndecodablePayloadDetails,
    errors.Refused: NoDetails,
    errors.InvalidToken: NoDetails,
    errors.StaleToken: StaleTokenDetails,
    errors.CallbackExpired: CallbackExpiredDetails,
    errors.Unauthenticated: NoDetails,
    errors.PermissionDenied: PermissionDeniedDetails,
    errors.InvalidPayload: InvalidPayloadDetails,
    errors.PayloadTooLarge: PayloadTooLargeDetails,
    errors.RequestTimeout: NoDetails,
    errors.ExecutionNotFound: ExecutionDetails,
    errors.ActivityNotFound: ActivityDetails,
    errors.ExecutionIdTaken: ExecutionIdTakenDetails,
    errors.ApiKeyNotFound: ApiKeyNotFoundDetails,
    errors.SinkNotFound: SinkNotFoundDetails,
    errors.ScheduleNotFound: ScheduleDetails,
    errors.ScheduleAlreadyExists: ScheduleDetails,
    errors.InvalidSignature: NoDetails,
    errors.ActivityAlreadyClosed: ActivityAlreadyClosedDetails,
    errors.NoAttemptOpen: NoAttemptOpenDetails,
    errors.WrongActivity: WrongActivityDetails,
    errors.CancellationNotRequested: ActivityDetails,
    errors.ExecutionClosed: ExecutionStatusDetails,
    errors.ExecutionNotClosed: ExecutionDetails,
    errors.ExecutionNotResumable: ExecutionStatusDetails,
    errors.ActivityNotInBackoff: ActivityStateDetails,
    errors.RequestRejected: RequestRejectedDetails,
    errors.MessageKeyReused: MessageKeyReusedDetails,
    errors.NotPublished: NamedValueDetails,
    errors.StoreUnavailable: NoDetails,
    errors.ServerUnreachable: UrlDetails,
    errors.StoreNotFound: PathDetails,
    errors.ExecutionFailure: NoDetails,
    errors.ActivityFailed: ActivityFailedDetails,
    errors.ActivityTimeout: ActivityTimeoutDetails,
    errors.ActivityCancelled: ActivityFailedDetails,
    errors.WorkflowFailed: WorkflowFailedDetails,
    errors.ChildWorkflowFailed: ChildWorkflowFailedDetails,
    errors.HistoryTooLarge: HistoryTooLargeDetails,
    errors.WorkflowCancelled: NoDetails,
    errors.WorkflowTerminated: WorkflowTerminatedDetails,
    errors.WorkflowTimedOut: NoDetails,
}
"""The details schema of every error class: what its ``to_details()`` gives."""

SERVICE_CODES: dict[str, tuple[str, type[_Details]]] = {
    "not_found": ("NotFound", NoDetails),
    "method_not_allowed": ("MethodNotAllowed", MethodNotAllowedDetails),
    "internal_error": ("InternalError", NoDetails),
    "http_error": ("HttpError", NoDetails),
}
"""Codes the server sends of no error class (an unknown path, a method not served, a failure of its own):
the name of each one's body, and its details."""


def _body(name: str, code: str, details: type[_Details], doc: str) -> type[BaseModel]:
    literal: Any = Literal  # the code is known at run time only
    return create_model(
        f"{name}Body",
        __doc__=doc,
        __config__=ConfigDict(extra="forbid"),
        error=(literal[code], Field(description="The error's stable code.")),
        message=(str, Field(description="What happened, for people.")),
        details=(details, ...),
    )


def summary(cls: type[errors.TetherError]) -> str:
    """What an error means, in one sentence: the first line of its class's docstring."""
    return (cls.__doc__ or cls.__name__).strip().splitlines()[0]


BODIES: dict[str, type[BaseModel]] = {
    **{
        cls.code: _body(cls.__name__, cls.code, details, f"{cls.code}: {summary(cls)}")
        for cls, details in DETAILS.items()
    },
    **{code: _body(name, code, details, code) for code, (name, details) in SERVICE_CODES.items()},
}
"""The body schema of every error code."""


def body_of(cls: type[errors.TetherError]) -> type[BaseModel]:
    """The body schema of an error class."""
    return BODIES[cls.code]


def union_of(classes: list[type[errors.TetherError]]) -> Any:
    """The type of a body of any of ``classes``, discriminated on ``error`` (the one body for a single class)."""
    bodies = tuple(dict.fromkeys(body_of(cls) for cls in classes))
    return bodies[0] if len(bodies) == 1 else _discriminated(bodies)


def _discriminated(bodies: tuple[type[BaseModel], ...]) -> Any:
    union: Any = Union  # a union of classes known at run time only
    return Annotated[union[bodies], Field(discriminator="error")]


AnyErrorBody: Any = _discriminated(tuple(BODIES.values()))
"""A body of any error tether sends or raises, discriminated on ``error``."""
