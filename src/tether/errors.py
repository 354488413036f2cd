"""The public error hierarchy of tether.

Every error tether raises descends from :class:`TetherError`. Each class has a stable
``code`` (used on the wire) and carries its facts as attributes, not only in the text::

    TetherError
    ├── UsageError              the program used tether wrongly; fix the code
    │   ├── NotInActivity       tether.context()/heartbeat()/make_async() outside an activity
    │   ├── NotInWorkflow       a workflow primitive outside a workflow
    │   ├── NonDeterminism      replayed workflow code diverged from its history
    │   ├── UnknownWorkflow     no workflow of that name is registered
    │   └── UnknownActivity     no activity of that name is registered
    ├── Refused                 a request was refused and nothing changed
    │   ├── InvalidToken        forged, truncated or altered task token
    │   ├── StaleToken          the token's attempt is no longer the current one
    │   ├── CallbackExpired     the callback URL's expiry has passed
    │   ├── Unauthenticated     no API key, or an unknown or revoked one
    │   ├── PermissionDenied    the caller's API key does not allow this
    │   ├── InvalidPayload      a value could not be serialised or has the wrong type
    │   ├── PayloadTooLarge     a request body exceeds the server's limit
    │   ├── RequestTimeout      a request body arrived too slowly
    │   ├── ExecutionNotFound   no execution has that id
    │   │   └── ActivityNotFound    the execution has no activity with that id
    │   ├── ExecutionIdTaken    the id belongs to an execution of another workflow
    │   ├── ApiKeyNotFound      no active API key has that id or name
    │   ├── ActivityAlreadyClosed   the activity already closed (see final_state)
    │   ├── NoAttemptOpen       by activity token: no attempt is open to heartbeat (back-off, queued)
    │   ├── WrongActivity       the token is of another activity than the call named (activity=)
    │   ├── CancellationNotRequested   a cancellation was reported that nobody requested
    │   ├── ExecutionClosed     the execution is closed already (terminate)
    │   ├── ExecutionNotClosed  the execution is still running (delete)
    │   ├── ExecutionNotResumable   only a failed, timed-out or terminated execution resumes
    │   ├── ActivityNotInBackoff    the activity waits for no retry (retry_activity_now)
    │   ├── RequestRejected     the workflow rejected a request (reason)
    │   ├── MessageKeyReused    a message key was used before with another name or payload
    │   └── NotPublished        the execution published no value of that name (yet)
    ├── StoreUnavailable        the store could not be reached or failed
    │   ├── ServerUnreachable   the tether server could not be reached (HTTP transport)
    │   └── StoreNotFound       no SQLite file at the path, and the caller asked not to create one
    └── ExecutionFailure        what workflows and handles observe
        ├── ActivityFailed      error type, message, details, attempt
        │   ├── ActivityTimeout     kind: total | attempt | heartbeat
        │   └── ActivityCancelled
        ├── WorkflowFailed
        │   ├── ChildWorkflowFailed   a child workflow failed, was cancelled or timed out (cause)
        │   └── HistoryTooLarge       a workflow task refused: the run's history passed its limit
        ├── WorkflowCancelled
        ├── WorkflowTerminated        closed from outside without running workflow code (reason)
        └── WorkflowTimedOut          the execution passed its workflow deadline
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

__all__ = [
    "ActivityAlreadyClosed",
    "ActivityCancelled",
    "ActivityFailed",
    "ActivityNotFound",
    "ActivityNotInBackoff",
    "ActivityTimeout",
    "ApiKeyNotFound",
    "CallbackExpired",
    "CancellationNotRequested",
    "ChildWorkflowFailed",
    "ExecutionClosed",
    "ExecutionFailure",
    "ExecutionIdTaken",
    "ExecutionNotClosed",
    "ExecutionNotFound",
    "ExecutionNotResumable",
    "HistoryTooLarge",
    "InvalidPayload",
    "InvalidToken",
    "MessageKeyReused",
    "NoAttemptOpen",
    "NonDeterminism",
    "NotInActivity",
    "NotInWorkflow",
    "NotPublished",
    "PayloadTooLarge",
    "PermissionDenied",
    "Refused",
    "RequestRejected",
    "RequestTimeout",
    "ServerUnreachable",
    "StaleToken",
    "StoreNotFound",
    "StoreUnavailable",
    "TetherError",
    "Unauthenticated",
    "UnknownActivity",
    "UnknownWorkflow",
    "UsageError",
    "WorkflowCancelled",
    "WorkflowFailed",
    "WorkflowTerminated",
    "WorkflowTimedOut",
    "WrongActivity",
]

TimeoutKind = Literal["total", "attempt", "heartbeat"]


class TetherError(Exception):
    """A tether operation failed."""

    code: ClassVar[str] = "tether_error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or (type(self).__doc__ or type(self).__name__).strip()
        super().__init__(self.message)

    def to_details(self) -> dict[str, Any]:
        """The structured facts of this error, as JSON-ready values."""
        return {}


class UsageError(TetherError):
    """tether was used in a way it does not support."""

    code = "usage_error"


class NotInActivity(UsageError):
    """Called outside an activity; it is only available while an activity runs."""

    code = "not_in_activity"


class NotInWorkflow(UsageError):
    """Called outside a workflow; it is only available inside workflow code."""

    code = "not_in_workflow"


class NonDeterminism(UsageError):
    """Workflow code diverged from its recorded history."""

    code = "non_determinism"

    def __init__(self, message: str, *, execution_id: str = "", event_seq: int | None = None) -> None:
        super().__init__(message)
        self.execution_id = execution_id
        self.event_seq = event_seq

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"execution_id": self.execution_id, "event_seq": self.event_seq}


class UnknownWorkflow(UsageError):
    """No workflow of that name is registered."""

    code = "unknown_workflow"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"no workflow named {name!r} is registered; decorate it with @tether.workflow and pass it to a Worker"
        )
        self.name = name

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"name": self.name}


class UnknownActivity(UsageError):
    """No activity of that name is registered."""

    code = "unknown_activity"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"no activity named {name!r} is registered; decorate it with @tether.activity and pass it to a Worker"
        )
        self.name = name

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"name": self.name}


class Refused(TetherError):
    """The request was refused and nothing changed."""

    code = "refused"


class InvalidToken(Refused):
    """The activity token is forged, truncated or altered."""

    code = "invalid_token"


class StaleToken(Refused):
    """The token belongs to an attempt that is no longer the current one."""

    code = "stale_token"

    def __init__(self, message: str | None = None, *, token_attempt: int = 0, current_attempt: int = 0) -> None:
        super().__init__(
            message or f"the token is of attempt {token_attempt}, but the current attempt is {current_attempt}"
        )
        self.token_attempt = token_attempt
        self.current_attempt = current_attempt

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"token_attempt": self.token_attempt, "current_attempt": self.current_attempt}


class CallbackExpired(Refused):
    """The callback URL's expiry has passed; nothing changed. ``expired_at`` is when (ISO 8601, UTC)."""

    code = "callback_expired"

    def __init__(self, message: str | None = None, *, expired_at: str = "") -> None:
        super().__init__(message or f"this callback URL expired at {expired_at}")
        self.expired_at = expired_at

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"expired_at": self.expired_at}


class Unauthenticated(Refused):
    """The request carries no API key, or one that is unknown or revoked."""

    code = "unauthenticated"


class PermissionDenied(Refused):
    """The caller's API key does not allow this."""

    code = "permission_denied"

    def __init__(self, message: str | None = None, *, action: str = "", workflow: str = "") -> None:
        super().__init__(message or f"this API key has no {action} scope for workflow {workflow!r}")
        self.action = action
        self.workflow = workflow

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"action": self.action, "workflow": self.workflow}


class InvalidPayload(Refused):
    """A value could not be serialised or does not match its declared type."""

    code = "invalid_payload"

    def __init__(self, message: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"errors": self.errors}


class PayloadTooLarge(Refused):
    """The request body exceeds the server's size limit."""

    code = "payload_too_large"

    def __init__(self, message: str | None = None, *, limit: int = 0) -> None:
        super().__init__(message or f"the request body exceeds the limit of {limit} bytes")
        self.limit = limit

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"limit": self.limit}


class RequestTimeout(Refused):
    """The request body did not arrive in time."""

    code = "request_timeout"


class ExecutionNotFound(Refused):
    """No workflow execution has that id."""

    code = "execution_not_found"

    def __init__(self, execution_id: str) -> None:
        super().__init__(f"no workflow execution has id {execution_id!r}")
        self.execution_id = execution_id

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"execution_id": self.execution_id}


class ActivityNotFound(ExecutionNotFound):
    """The execution has no activity with that id."""

    code = "activity_not_found"

    def __init__(self, execution_id: str, activity_id: int) -> None:
        Refused.__init__(self, f"execution {execution_id!r} has no activity {activity_id}")
        self.execution_id = execution_id
        self.activity_id = activity_id

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"execution_id": self.execution_id, "activity_id": self.activity_id}


class ExecutionIdTaken(Refused):
    """The execution id is taken by an execution of another workflow."""

    code = "execution_id_taken"

    def __init__(self, execution_id: str, *, workflow: str = "", requested: str = "") -> None:
        super().__init__(
            f"execution {execution_id!r} already exists and runs workflow {workflow!r}, not {requested!r}"
            if workflow
            else f"execution {execution_id!r} already exists and runs another workflow than {requested!r}"
        )
        self.execution_id = execution_id
        self.workflow = workflow
        self.requested = requested

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"execution_id": self.execution_id, "workflow": self.workflow, "requested": self.requested}


class ApiKeyNotFound(Refused):
    """No active API key has that id or name."""

    code = "api_key_not_found"

    def __init__(self, key: str) -> None:
        super().__init__(f"no active API key has id or name {key!r}")
        self.key = key

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"key": self.key}


class ActivityAlreadyClosed(Refused):
    """The activity is already closed."""

    code = "activity_already_closed"

    def __init__(self, final_state: str, *, execution_id: str = "", activity_id: int = 0) -> None:
        super().__init__(f"activity {activity_id} of {execution_id!r} is already closed: {final_state}")
        self.final_state = final_state
        self.execution_id = execution_id
        self.activity_id = activity_id

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {
            "final_state": self.final_state,
            "execution_id": self.execution_id,
            "activity_id": self.activity_id,
        }


class NoAttemptOpen(Refused):
    """No attempt of the activity is open: it waits for its retry, or for a worker to start its next attempt.

    Only calls by activity token get it (an attempt token names its attempt, and is refused
    as stale instead): a heartbeat or a cancellation report needs an open attempt, and so
    does a retryable failure. Nothing changed; ``next_attempt`` is the one to come.
    """

    code = "no_attempt_open"

    def __init__(self, *, execution_id: str = "", activity_id: int = 0, state: str = "", next_attempt: int = 0) -> None:
        super().__init__(
            f"activity {activity_id} of {execution_id!r} has no open attempt ({state}); attempt {next_attempt} is next"
        )
        self.execution_id = execution_id
        self.activity_id = activity_id
        self.state = state
        self.next_attempt = next_attempt

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {
            "execution_id": self.execution_id,
            "activity_id": self.activity_id,
            "state": self.state,
            "next_attempt": self.next_attempt,
        }


class WrongActivity(Refused):
    """The token is of another activity than the one the call named (``activity=``); nothing changed."""

    code = "wrong_activity"

    def __init__(self, *, expected: str = "", actual: str = "", execution_id: str = "", activity_id: int = 0) -> None:
        super().__init__(
            f"the token is of activity {actual!r} (activity {activity_id} of {execution_id!r}), not of {expected!r}"
        )
        self.expected = expected
        self.actual = actual
        self.execution_id = execution_id
        self.activity_id = activity_id

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {
            "expected": self.expected,
            "actual": self.actual,
            "execution_id": self.execution_id,
            "activity_id": self.activity_id,
        }


class CancellationNotRequested(Refused):
    """The activity's cancellation was reported, but nobody asked it to stop; it goes on as it was."""

    code = "cancellation_not_requested"

    def __init__(self, *, execution_id: str = "", activity_id: int = 0) -> None:
        super().__init__(
            f"activity {activity_id} of {execution_id!r} was not asked to stop; "
            "report a cancellation only after a heartbeat answered cancel_requested"
        )
        self.execution_id = execution_id
        self.activity_id = activity_id

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"execution_id": self.execution_id, "activity_id": self.activity_id}


class ExecutionClosed(Refused):
    """The execution is closed already; nothing changed."""

    code = "execution_closed"

    def __init__(self, execution_id: str, *, status: str = "") -> None:
        super().__init__(f"execution {execution_id!r} is closed already ({status})")
        self.execution_id = execution_id
        self.status = status

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"execution_id": self.execution_id, "status": self.status}


class ExecutionNotClosed(Refused):
    """The execution is still running; close it first (cancel or terminate)."""

    code = "execution_not_closed"

    def __init__(self, execution_id: str) -> None:
        super().__init__(f"execution {execution_id!r} is still running; cancel or terminate it first")
        self.execution_id = execution_id

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"execution_id": self.execution_id}


class ExecutionNotResumable(Refused):
    """Only a failed, timed-out or terminated execution can be resumed; nothing changed."""

    code = "execution_not_resumable"

    def __init__(self, execution_id: str, *, status: str = "") -> None:
        super().__init__(
            f"execution {execution_id!r} is {status}: only a failed, timed-out or terminated execution resumes"
        )
        self.execution_id = execution_id
        self.status = status

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"execution_id": self.execution_id, "status": self.status}


class ActivityNotInBackoff(Refused):
    """The activity does not wait for a retry; nothing changed."""

    code = "activity_not_in_backoff"

    def __init__(self, *, execution_id: str = "", activity_id: int = 0, state: str = "") -> None:
        super().__init__(f"activity {activity_id} of {execution_id!r} waits for no retry (it is {state})")
        self.execution_id = execution_id
        self.activity_id = activity_id
        self.state = state

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"execution_id": self.execution_id, "activity_id": self.activity_id, "state": self.state}


class RequestRejected(Refused):
    """The workflow rejected the request (``req.reject(reason)``); ``reason`` says why."""

    code = "request_rejected"

    def __init__(self, reason: str, *, execution_id: str = "", name: str = "") -> None:
        super().__init__(f"execution {execution_id!r} rejected request {name!r}: {reason}")
        self.reason = reason
        self.execution_id = execution_id
        self.name = name

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"reason": self.reason, "execution_id": self.execution_id, "name": self.name}


class MessageKeyReused(Refused):
    """A message's key was used before for another message (a different name, kind or payload); nothing changed."""

    code = "message_key_reused"

    def __init__(self, execution_id: str, key: str) -> None:
        super().__init__(
            f"key {key!r} of execution {execution_id!r} was used for another message or request; "
            "the same key must carry the same name and payload"
        )
        self.execution_id = execution_id
        self.key = key

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"execution_id": self.execution_id, "key": self.key}


class NotPublished(Refused):
    """The execution has published no value of that name (yet): ``client.published`` found none."""

    code = "not_published"

    def __init__(self, execution_id: str, name: str) -> None:
        super().__init__(f"execution {execution_id!r} has published no value named {name!r}")
        self.execution_id = execution_id
        self.name = name

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"execution_id": self.execution_id, "name": self.name}


class StoreUnavailable(TetherError):
    """The store could not be reached or failed."""

    code = "store_unavailable"


class ServerUnreachable(StoreUnavailable):
    """The tether server could not be reached."""

    code = "server_unreachable"

    def __init__(self, message: str | None = None, *, url: str = "") -> None:
        super().__init__(message or f"the tether server at {url} could not be reached")
        self.url = url

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"url": self.url}


class StoreNotFound(StoreUnavailable):
    """No store exists where the URL points, and the caller asked not to create one."""

    code = "store_not_found"

    def __init__(self, message: str | None = None, *, path: str = "") -> None:
        super().__init__(
            message
            or f"no store at {path}: the file does not exist (sqlite:///relative/path.db or sqlite:////absolute/path.db)"
        )
        self.path = path

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"path": self.path}


class ExecutionFailure(TetherError):
    """A workflow or activity ended without a result."""

    code = "execution_failure"


class ActivityFailed(ExecutionFailure):
    """An activity failed.

    ``error`` is the type name of the failure (the exception class name, or what
    ``fail_activity`` named), ``attempt`` the attempt that failed last.
    """

    code = "activity_failed"

    def __init__(
        self,
        message: str = "",
        *,
        error: str = "ActivityFailed",
        details: Any = None,
        attempt: int = 0,
        non_retryable: bool = False,
    ) -> None:
        super().__init__(message or f"activity failed: {error}")
        self.error = error
        self.details = details
        self.attempt = attempt
        self.non_retryable = non_retryable

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {
            "error": self.error,
            "details": self.details,
            "attempt": self.attempt,
            "non_retryable": self.non_retryable,
        }


class ActivityTimeout(ActivityFailed):
    """An activity timed out: in total, in one attempt, or between heartbeats."""

    code = "activity_timeout"

    def __init__(self, kind: TimeoutKind, *, attempt: int = 0, details: Any = None) -> None:
        super().__init__(f"activity timed out ({kind})", error="ActivityTimeout", attempt=attempt, details=details)
        self.kind: TimeoutKind = kind

    @property
    def last_heartbeat_details(self) -> Any:
        """The details of the last heartbeat recorded before the timeout (None if none were given).

        They are also in ``details["last_heartbeat_details"]``; for kind ``total``,
        ``details["last_failure"]`` holds the last attempt's failure, if one failed.
        """
        return self.details.get("last_heartbeat_details") if isinstance(self.details, dict) else None

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {**super().to_details(), "kind": self.kind}


class ActivityCancelled(ActivityFailed):
    """The activity was cancelled."""

    code = "activity_cancelled"

    def __init__(self, message: str = "activity cancelled", *, attempt: int = 0, details: Any = None) -> None:
        super().__init__(message, error="ActivityCancelled", attempt=attempt, details=details)


class WorkflowFailed(ExecutionFailure):
    """A workflow failed; ``error`` names the failure type."""

    code = "workflow_failed"

    def __init__(self, message: str = "", *, error: str = "WorkflowFailed", details: Any = None) -> None:
        super().__init__(message or f"workflow failed: {error}")
        self.error = error
        self.details = details

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"error": self.error, "details": self.details}


class WorkflowCancelled(ExecutionFailure):
    """The workflow was cancelled."""

    code = "workflow_cancelled"


class ChildWorkflowFailed(WorkflowFailed):
    """A child workflow did not complete: it failed, was cancelled, was terminated or timed out.

    ``cause`` is what its handle would raise (``WorkflowFailed``, ``WorkflowCancelled``, ...)
    as a dict of ``code``, ``message`` and ``details``; ``child_id`` names the child.
    """

    code = "child_workflow_failed"

    def __init__(self, message: str = "", *, child_id: str = "", workflow: str = "", cause: Any = None) -> None:
        super().__init__(message or f"child workflow {child_id!r} did not complete", error="ChildWorkflowFailed")
        self.child_id = child_id
        self.workflow = workflow
        self.cause = cause
        self.details = {"child_id": child_id, "workflow": workflow, "cause": cause}

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {**super().to_details(), "child_id": self.child_id, "workflow": self.workflow, "cause": self.cause}


class HistoryTooLarge(WorkflowFailed):
    """A run's history passed its limit; continue as new (``tether.ContinueAsNew``) to keep it bounded."""

    code = "history_too_large"

    def __init__(self, message: str = "", *, execution_id: str = "", events: int = 0, limit: int = 0) -> None:
        super().__init__(
            message
            or f"execution {execution_id!r} has {events} events, past its limit of {limit}: "
            "use tether.ContinueAsNew to start a new run with an empty history",
            error="HistoryTooLarge",
        )
        self.execution_id = execution_id
        self.events = events
        self.limit = limit

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {**super().to_details(), "execution_id": self.execution_id, "events": self.events, "limit": self.limit}


class WorkflowTerminated(ExecutionFailure):
    """The execution was terminated from outside; ``reason`` says why."""

    code = "workflow_terminated"

    def __init__(self, message: str = "", *, reason: str = "") -> None:
        super().__init__(message or (f"workflow terminated: {reason}" if reason else "workflow terminated"))
        self.reason = reason

    def to_details(self) -> dict[str, Any]:  # noqa: D102
        return {"reason": self.reason}


class WorkflowTimedOut(ExecutionFailure):
    """The execution passed its workflow deadline (``@tether.workflow(timeout=...)``)."""

    code = "workflow_timed_out"


def _codes() -> dict[str, type[TetherError]]:
    found: dict[str, type[TetherError]] = {}
    pending: list[type[TetherError]] = [TetherError]
    while pending:
        cls = pending.pop()
        found[cls.code] = cls
        pending.extend(cls.__subclasses__())
    return found


def from_wire(code: str, message: str, details: dict[str, Any] | None) -> TetherError:
    """Rebuild the error a server reported, as the same class with the same attributes.

    The embedded and HTTP transports thus raise identical errors. An unknown code (a newer
    server) becomes the nearest known base class, :class:`TetherError` at worst.
    """
    cls = _codes().get(code, TetherError)
    error = cls.__new__(cls)
    TetherError.__init__(error, message)
    for name, value in (details or {}).items():
        if name not in ("message", "code", "args"):
            setattr(error, name, value)
    return error
