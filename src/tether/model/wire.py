"""HTTP bodies of the tether server, shared by the service and the HTTP client so they cannot drift.

Replies that mirror a record (a description, a history event) reuse the record's dataclass;
pydantic reads and writes those directly.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from tether.errors import InvalidPayload
from tether.model import payloads
from tether.model.payloads import JSONValue
from tether.model.records import HistoryEvent, OverdueActivity, WaitingActivity, WorkflowStatus, WorkflowSummary

MAX_LIST_OFFSET = 1_000_000_000
"""The furthest a listing may skip; beyond it offsets only overflow the store's integers."""

MAX_TIMEOUT_SECONDS = 100 * 366 * 86400
"""The longest workflow timeout: a century, far inside what the stores' integer milliseconds hold."""

MAX_RESULT_WAIT_SECONDS = 60.0
"""The longest one result request waits on the server; clients wait longer by asking again."""

MAX_PUBLISHED_WAIT_SECONDS = 60.0
"""The longest one request for a published value waits on the server; clients wait longer by asking again."""

MAX_VERSION = 2**53
"""The highest version of a published value a request may name (JSON's largest exact integer)."""

Token = Annotated[
    str,
    Field(
        description="A token as the activity got it: of its attempt (ctx.token) or the activity's (ctx.activity_token)."
    ),
]
"""Left unconstrained here: a malformed token is refused by its verification, as InvalidToken."""
ExpectedActivity = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=512,
        description="The activity the token must be of (its registered name); another is refused (409 wrong_activity).",
    ),
]
ExecutionId = Annotated[str, Field(min_length=1, max_length=512)]
WorkflowName = Annotated[str, Field(min_length=1, max_length=512)]
Priority = Annotated[
    int,
    Field(
        gt=-(2**31),
        lt=2**31,
        description=(
            "Orders the execution's ready workflow tasks and activity attempts before those of lower priority "
            "(first come first within one); its activities, children and later runs inherit it."
        ),
    ),
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartWorkflow(_Request):
    """Start an execution; the same id twice gives one execution."""

    workflow: WorkflowName
    args: list[JSONValue] = Field(default_factory=list, description="Positional arguments, as JSON values.")
    id: ExecutionId | None = Field(default=None, description="The execution id; a random one if omitted.")
    check_known: bool = Field(
        default=True,
        description="Refuse a workflow name no worker has registered yet (callers holding the code send false).",
    )
    timeout: float | None = Field(
        default=None,
        gt=0,
        le=MAX_TIMEOUT_SECONDS,
        description=(
            "Seconds until the execution times out; null: no deadline; omitted: the workflow's own timeout "
            "(armed from the start by the first workflow task)."
        ),
    )
    priority: Priority = 0


class ResumeWorkflow(_Request):
    """Resume a failed, timed-out or terminated execution from where it stopped."""

    timeout: float | None = Field(
        gt=0, le=MAX_TIMEOUT_SECONDS, description="Seconds from now to a new deadline; null: none."
    )


def timeout_ms(seconds: float | None) -> int | None:
    """Milliseconds of a timeout a body gives in seconds."""
    return None if seconds is None else max(1, round(seconds * 1000))


class Started(BaseModel):
    """The execution a start request names."""

    id: str
    workflow: str
    started: bool = Field(description="False when an execution with this id existed already.")


class WorkflowPage(BaseModel):
    """A page of executions, newest first."""

    items: list[WorkflowSummary]
    next_offset: int | None = Field(description="The offset of the next page; null on the last page.")


class WaitingPage(BaseModel):
    """A page of activities waiting for a token, longest waiting first."""

    items: list[WaitingActivity] = Field(
        description="Each with its activity_token when the caller may write to its activities (else null)."
    )
    next_offset: int | None = Field(description="The offset of the next page; null on the last page.")


class OverduePage(BaseModel):
    """A page of overdue activities (waiting too long, or near a deadline), longest waiting first."""

    items: list[OverdueActivity]
    next_offset: int | None = Field(description="The offset of the next page; null on the last page.")


MAX_PAGE = 1000
"""The most items one page of a listing holds; clients ask for more page by page."""


class History(BaseModel):
    """Every event of an execution, in order."""

    events: list[HistoryEvent]


class Outcome(BaseModel):
    """Where an execution stands after a result request: closed with its outcome, or still running."""

    id: str
    workflow: str
    status: WorkflowStatus
    result: JSONValue = Field(default=None, description="The result, when completed.")
    error: dict[str, JSONValue] | None = Field(default=None, description="The failure, when failed.")


class CompleteActivity(_Request):
    """Complete the activity a token names with its result."""

    token: Token
    result: JSONValue = None
    activity: ExpectedActivity = None


class Failure(_Request):
    """Fail an attempt: it is retried by policy unless non_retryable (the body of a fail callback URL)."""

    error: Annotated[str, Field(min_length=1, max_length=512, description="The failure's type name.")]
    message: str = ""
    details: JSONValue = None
    non_retryable: bool = False


class FailActivity(Failure):
    """Fail the attempt a token names; it is retried by policy unless non_retryable."""

    token: Token


class HeartbeatActivity(_Request):
    """Record a heartbeat; its details become the next attempt's checkpoint."""

    token: Token
    details: JSONValue = None
    activity: ExpectedActivity = None


class ReportActivityCancelled(_Request):
    """Acknowledge a requested cancellation."""

    token: Token
    details: JSONValue = None


class DescribeActivity(_Request):
    """Read the activity a token names."""

    token: Token


class Accepted(RootModel[None]):
    """The request was accepted; what it asked for happens next (the body is null)."""


class Acknowledged(BaseModel):
    """A change was accepted."""

    recorded: bool = Field(description="False when the same call had been recorded before (nothing changed).")


class ErrorBody(BaseModel):
    """Every refusal and failure: a stable code, a message for people, and the error's facts."""

    error: str = Field(description="The error's stable code, e.g. stale_token.")
    message: str
    details: dict[str, JSONValue] = Field(default_factory=dict)


MAX_REASON_LENGTH = 2000
"""The longest reason a termination may give, in characters."""


class TerminateWorkflow(_Request):
    """Close a running execution now, without running its code."""

    reason: Annotated[
        str, Field(max_length=MAX_REASON_LENGTH, description="Why; its result raises WorkflowTerminated with it.")
    ]


class RetryActivityNow(_Request):
    """Start the next attempt of an activity that waits out its retry back-off, now."""

    activity_id: Annotated[int, Field(ge=1, le=2**53, description="The activity, as describe lists it.")]


class RetryStarted(BaseModel):
    """The attempt that was queued."""

    attempt: int


MessageName = Annotated[str, Field(min_length=1, max_length=256, description="The message's or request's name.")]
MessageKey = Annotated[
    str | None,
    Field(
        default=None,
        min_length=1,
        max_length=512,
        description="An idempotency key: the same key sent again to the execution is the same message.",
    ),
]


class StartWith(_Request):
    """The execution to start if none has the id yet (send with start)."""

    workflow: WorkflowName
    args: list[JSONValue] = Field(default_factory=list, description="Positional arguments, as JSON values.")
    check_known: bool = Field(default=True, description="Refuse a workflow name no worker has registered yet.")
    timeout: float | None = Field(
        default=None, gt=0, le=MAX_TIMEOUT_SECONDS, description="Seconds until the execution times out (see start)."
    )
    priority: Priority = 0


class SendMessage(_Request):
    """Send a message to a running execution; it is durable at once and received in send order."""

    name: MessageName
    payload: JSONValue = None
    key: MessageKey = None
    start: StartWith | None = Field(
        default=None, description="Start the execution first unless it exists (one transaction)."
    )


class MessageSent(BaseModel):
    """A message accepted."""

    message_id: int
    stored: bool = Field(description="False when its key had been sent before (nothing changed).")
    started: bool = Field(default=False, description="True when this call started the execution (send with start).")


class SendRequest(_Request):
    """Send a request to a running execution and wait for the workflow's answer."""

    name: MessageName
    payload: JSONValue = None
    key: MessageKey = None
    wait: float = Field(
        default=0, ge=0, le=MAX_RESULT_WAIT_SECONDS, description="Seconds to wait for the answer in this call."
    )


class RequestOutcome(BaseModel):
    """Where a request stands: replied (with the reply), or still waiting for an answer."""

    request_id: int
    state: Literal["pending", "received", "replied"] = Field(
        description="pending: not taken yet; received: taken, not answered yet; replied. A rejection is 409."
    )
    reply: JSONValue = Field(default=None, description="The reply, when replied.")
    waited: float = Field(default=0, description="Seconds this call waited for the answer, by the server's clock.")


def callback_result(body: bytes) -> str:
    """The result a complete callback URL was sent, as JSON text: the whole body is the result.

    Raises:
        InvalidPayload: the body is not JSON (an empty one included: send ``null`` for no result).
    """
    try:
        value = payloads.parse(body.decode())
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        problem = "the body is empty" if not body.strip() else f"the body is not JSON: {exc}"
        raise InvalidPayload(
            f"invalid callback body: {problem}; send the activity's result as JSON",
            errors=[{"loc": [], "msg": problem, "type": "json_invalid"}],
        ) from None
    return payloads.encode(value, what="result")
