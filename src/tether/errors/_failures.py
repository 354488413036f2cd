"""A store that cannot be reached, and the failures workflows and handles observe."""

from __future__ import annotations

from typing import Any, Literal

from tether.errors._base import TetherError

TimeoutKind = Literal["total", "attempt", "heartbeat"]


class StoreUnavailable(TetherError):
    """The store could not be reached or failed."""

    code = "store_unavailable"


class ServerUnreachable(StoreUnavailable):
    """The tether server could not be reached."""

    code = "server_unreachable"

    def __init__(self, message: str | None = None, *, url: str = "") -> None:
        super().__init__(message or f"the tether server at {url} could not be reached")
        self.url = url

    def to_details(self) -> dict[str, Any]:
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

    def to_details(self) -> dict[str, Any]:
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

    def to_details(self) -> dict[str, Any]:
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

    def to_details(self) -> dict[str, Any]:
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

    def to_details(self) -> dict[str, Any]:
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

    def to_details(self) -> dict[str, Any]:
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

    def to_details(self) -> dict[str, Any]:
        return {**super().to_details(), "execution_id": self.execution_id, "events": self.events, "limit": self.limit}


class WorkflowTerminated(ExecutionFailure):
    """The execution was terminated from outside; ``reason`` says why."""

    code = "workflow_terminated"

    def __init__(self, message: str = "", *, reason: str = "") -> None:
        super().__init__(message or (f"workflow terminated: {reason}" if reason else "workflow terminated"))
        self.reason = reason

    def to_details(self) -> dict[str, Any]:
        return {"reason": self.reason}


class WorkflowTimedOut(ExecutionFailure):
    """The execution passed its workflow deadline (``@tether.workflow(timeout=...)``)."""

    code = "workflow_timed_out"
