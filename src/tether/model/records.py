"""Read-only views users get back: execution descriptions, history entries, heartbeat replies."""

# Annotations stay evaluated (no `from __future__ import annotations`): these classes are
# re-exported with __module__ "tether", where pydantic could not resolve string annotations
# when it reads and writes them as HTTP bodies.
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from tether.model.payloads import JSONValue


class WorkflowStatus(StrEnum):
    """Where an execution stands."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TERMINATED = "terminated"
    """Closed from outside (``client.terminate``) without running workflow code."""
    TIMED_OUT = "timed_out"
    """Passed its workflow deadline."""
    CONTINUED = "continued"
    """This run ended with ``ContinueAsNew``; the execution goes on in its next run."""


class ActivityState(StrEnum):
    """Where an activity stands; the last four are final."""

    SCHEDULED = "scheduled"
    """Waiting for a worker to start its attempt."""
    RUNNING = "running"
    """An attempt is running in a worker."""
    ASYNC = "async"
    """An attempt went async and waits for its token to be used."""
    BACKOFF = "backoff"
    """An attempt failed; the next waits for its retry time."""
    COMPLETED = "completed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"

    @property
    def is_closed(self) -> bool:
        """Whether this state is final."""
        return self in _CLOSED


_CLOSED = {ActivityState.COMPLETED, ActivityState.FAILED, ActivityState.TIMED_OUT, ActivityState.CANCELLED}
OPEN_ATTEMPT_STATES = (ActivityState.RUNNING, ActivityState.ASYNC)


@dataclass(frozen=True, slots=True)
class HeartbeatResponse:
    """The reply to a heartbeat."""

    cancel_requested: bool
    """Whether cancellation of the activity was requested; acknowledge with report_activity_cancelled."""
    next_heartbeat_due: datetime | None = None
    """When the attempt times out unless another heartbeat comes first; None without a heartbeat timeout."""


@dataclass(frozen=True, slots=True)
class ActivityDescription:
    """One activity of an execution as it stands now."""

    activity_id: int
    name: str
    state: ActivityState
    attempt: int
    scheduled_at: datetime
    attempt_started_at: datetime | None
    last_heartbeat_at: datetime | None
    heartbeat_details: JSONValue
    last_failure: dict[str, JSONValue] | None
    cancel_requested: bool
    deadlines: dict[str, datetime]
    """Due times of the armed timers: total, attempt, heartbeat, retry."""


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """A message or request sent to an execution, and where it stands."""

    message_id: int
    kind: str
    """``message`` or ``request``."""
    name: str
    payload: JSONValue
    key: str | None
    state: str
    """``pending`` (not taken yet), ``received`` (taken; a request not answered yet), ``replied`` or ``rejected``."""
    sent_at: datetime
    answer: JSONValue = None
    """A request's reply, or its rejection's reason."""
    updated_at: datetime | None = None
    """When the workflow took it or answered it."""


@dataclass(frozen=True, slots=True)
class Published:
    """The last value an execution published under a name (``tether.publish``), and its version.

    Versions count the publishes of that name: 1, 2, ... (continuing across continue-as-new).
    """

    value: JSONValue
    """The value, as plain JSON (dicts, lists, scalars)."""
    version: int
    published_at: datetime | None = field(default=None, compare=False)
    """When the workflow task that published it was recorded."""


@dataclass(frozen=True, slots=True)
class PublishedValue:
    """A value an execution published, as its description lists it."""

    name: str
    version: int
    published_at: datetime
    value: JSONValue = None
    """The value when its JSON is at most 1 KiB; else None, with ``value_omitted`` (``client.published`` reads it)."""
    value_omitted: bool = False


@dataclass(frozen=True, slots=True)
class WorkflowDescription:
    """An execution: its status, outcome and pending activities."""

    id: str
    workflow: str
    status: WorkflowStatus
    input: list[JSONValue]
    result: JSONValue
    error: dict[str, JSONValue] | None
    started_at: datetime
    closed_at: datetime | None
    cancel_requested: bool
    task_error: dict[str, JSONValue] | None
    """Why the latest workflow task failed (for example NonDeterminism), while it stays failed."""
    pending_activities: list[ActivityDescription]
    deadline: datetime | None = None
    """When the execution times out (its workflow timeout), if it has one."""
    patches: list[str] = field(default_factory=list)
    """The patches (``tether.patched``) this run recorded, in the order it first passed them."""
    run: int = 1
    """Which run of the execution this is: 1, then one more for each ``ContinueAsNew``."""
    run_id: str = ""
    """The id this run is stored under (the execution's id for its first run)."""
    previous_run_id: str | None = None
    next_run_id: str | None = None
    """The run this one continued as (status ``continued``)."""
    parent_id: str | None = None
    """The execution that started this one as its child workflow."""
    children: list[str] = field(default_factory=list)
    """Ids of the child workflows this run started, in the order it started them."""
    messages: list[MessageInfo] = field(default_factory=list)
    """The messages and requests this run holds (the latest 100), oldest first."""
    published: list[PublishedValue] = field(default_factory=list)
    """The values this run published (``tether.publish``) or carried over from its previous run, by name."""
    priority: int = 0
    """The priority it was started with (its parent's, for a child): orders its ready work, higher first."""


@dataclass(frozen=True, slots=True)
class WorkflowSummary:
    """One row of a workflow listing."""

    id: str
    workflow: str
    status: WorkflowStatus
    started_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One history event as users read it."""

    seq: int
    type: str
    at: datetime
    data: dict[str, JSONValue]


@dataclass(frozen=True, slots=True)
class ActivityInfo:
    """An activity as its token's holder sees it: what it needs before it completes, fails or heartbeats."""

    execution_id: str
    """The run the token names (the execution's id for its first run)."""
    workflow: str
    activity_id: int
    name: str
    state: ActivityState
    attempt: int
    """The activity's current attempt (the next one, while it backs off)."""
    token_attempt: int | None
    """The attempt the token names (a call with it is refused as stale when it is not ``attempt``);
    None for an activity token, which acts on whichever attempt is current."""
    current: bool
    """Whether the token's attempt is open now: a completion, failure or heartbeat with it would be taken.
    For an activity token: whether any attempt is open (with none, only a completion or a final
    failure is taken, during a retry's back-off say)."""
    cancel_requested: bool
    last_heartbeat_at: datetime | None
    heartbeat_details: JSONValue
    deadlines: dict[str, datetime]
    """Due times of the activity's deadlines: total, attempt, heartbeat, retry."""
    result_schema: dict[str, JSONValue] | None
    """What a completion must match (JSON schema of the declared result type); None if anything goes."""


@dataclass(frozen=True, slots=True)
class WaitingActivity:
    """An activity whose current attempt went async: it waits for someone to complete or fail it."""

    execution_id: str
    workflow: str
    activity_id: int
    name: str
    attempt: int
    args: list[JSONValue]
    waiting_since: datetime
    last_heartbeat_at: datetime | None
    heartbeat_details: JSONValue
    result_schema: dict[str, JSONValue] | None
    """What a completion must match (JSON schema of the declared result type); None if anything goes."""
    inbox: bool
    """Whether the activity is marked for a person (``@tether.activity(inbox=True)`` or ``ctx.inbox``)."""
    title: str | None = None
    """What the person is asked to do, when the activity said so with ``ctx.inbox``."""
    description: str = ""
    form_schema: dict[str, JSONValue] | None = None
    """The fields the inbox's form shows, when ``ctx.inbox(form=...)`` chose them; else the result type's."""
    activity_token: str | None = None
    """Its activity token, for a caller allowed to write to its activities (``activities:write`` on
    its workflow): it completes, fails or heartbeats whichever attempt is current. None for others."""


@dataclass(frozen=True, slots=True)
class OverdueActivity:
    """An activity waiting for its token too long, or close to a deadline: what the overdue view lists.

    ``reasons`` holds ``waiting`` (it waited longer than ``overdue_after``), ``deadline`` (its
    nearest deadline falls within the view's horizon, or passed and is about to be applied), or both.
    """

    execution_id: str
    workflow: str
    activity_id: int
    name: str
    attempt: int
    waiting_since: datetime
    """When its current attempt went async (began to wait for its token)."""
    waited_ms: int
    """How long it has waited, by the engine's clock when it was listed."""
    overdue_after_ms: int | None
    """The waiting age it is held to: its own (``@tether.activity(overdue_after=...)``), else the
    view's default; None when neither applies."""
    own_overdue_after: bool
    """Whether ``overdue_after_ms`` is the activity's own, not the view's default."""
    deadline: datetime | None
    """Its nearest deadline: the activity's total, attempt or heartbeat deadline, or its workflow's."""
    deadline_kind: str | None
    """``total``, ``attempt``, ``heartbeat`` or ``workflow``; None without a deadline."""
    reasons: list[str]
    """``waiting``, ``deadline`` or both."""


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """An API key as listed: everything but its secret, which is shown once, at creation."""

    key_id: str
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None
    sigv4: bool = False
    """Whether the key has a SigV4 secret, for AWS SDKs (``tether keys sigv4``); never the secret itself."""


@dataclass(frozen=True, slots=True)
class SinkInfo:
    """A notification sink as listed: everything but its secret, which is shown when made or rotated."""

    sink_id: str
    url: str
    every_inbox_item: bool
    """Whether it is told of every activity that starts waiting for its token."""
    created_at: datetime
    disabled_at: datetime | None


@dataclass(frozen=True, slots=True)
class DeliveryInfo:
    """One notification of an execution and where its delivery stands."""

    delivery_id: str
    event: str
    """``activity.waiting`` or ``activity.closed``."""
    activity_id: int
    attempt: int
    url: str
    state: str
    """``pending``, ``retrying`` (see ``last_error``, ``next_try_at``), ``delivered``, ``failed`` (gave up),
    or ``held``: no sink is registered for its URL; ``tether sinks add URL`` sends it."""
    tries: int
    next_try_at: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime | None
