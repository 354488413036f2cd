"""Refusals: a request was refused and nothing changed (each with its HTTP status in the service)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tether.errors._base import TetherError


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

    def to_details(self) -> dict[str, Any]:
        return {"token_attempt": self.token_attempt, "current_attempt": self.current_attempt}


class CallbackExpired(Refused):
    """The callback URL's expiry has passed; nothing changed. ``expired_at`` is when (ISO 8601, UTC)."""

    code = "callback_expired"

    def __init__(self, message: str | None = None, *, expired_at: str = "") -> None:
        super().__init__(message or f"this callback URL expired at {expired_at}")
        self.expired_at = expired_at

    def to_details(self) -> dict[str, Any]:
        return {"expired_at": self.expired_at}


class InvalidSignature(Refused):
    """A notification's signature does not verify: altered, signed with another secret, or too old."""

    code = "invalid_signature"


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

    def to_details(self) -> dict[str, Any]:
        return {"action": self.action, "workflow": self.workflow}


class InvalidPayload(Refused):
    """A value could not be serialised or does not match its declared type.

    ``errors`` lists each problem in one shape wherever it was found: ``loc`` (the path to the
    invalid part: field names and list indexes), ``msg`` and ``type`` (the kind of problem,
    ``value_error`` unless the finder names one). Other keys given (pydantic's ``input``,
    ``ctx``, ``url``) are left out: they need not be JSON, and no two finders agree on them.
    """

    code = "invalid_payload"

    def __init__(self, message: str, *, errors: Sequence[Mapping[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = [_problem(found) for found in errors or ()]

    def to_details(self) -> dict[str, Any]:
        return {"errors": self.errors}


def _problem(found: Mapping[str, Any]) -> dict[str, Any]:
    loc = [part if isinstance(part, str | int) and not isinstance(part, bool) else str(part) for part in found["loc"]]
    return {"loc": loc, "msg": str(found.get("msg", "")), "type": str(found.get("type") or "value_error")}


class PayloadTooLarge(Refused):
    """The request body exceeds the server's size limit."""

    code = "payload_too_large"

    def __init__(self, message: str | None = None, *, limit: int = 0) -> None:
        super().__init__(message or f"the request body exceeds the limit of {limit} bytes")
        self.limit = limit

    def to_details(self) -> dict[str, Any]:
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

    def to_details(self) -> dict[str, Any]:
        return {"execution_id": self.execution_id}


class ActivityNotFound(ExecutionNotFound):
    """The execution has no activity with that id."""

    code = "activity_not_found"

    def __init__(self, execution_id: str, activity_id: int) -> None:
        Refused.__init__(self, f"execution {execution_id!r} has no activity {activity_id}")
        self.execution_id = execution_id
        self.activity_id = activity_id

    def to_details(self) -> dict[str, Any]:
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

    def to_details(self) -> dict[str, Any]:
        return {"execution_id": self.execution_id, "workflow": self.workflow, "requested": self.requested}


class SinkNotFound(Refused):
    """No notification sink has that id or URL."""

    code = "sink_not_found"

    def __init__(self, sink: str) -> None:
        super().__init__(f"no notification sink has id or URL {sink!r}")
        self.sink = sink

    def to_details(self) -> dict[str, Any]:
        return {"sink": self.sink}


class ScheduleNotFound(Refused):
    """No schedule has that id."""

    code = "schedule_not_found"

    def __init__(self, schedule_id: str) -> None:
        super().__init__(f"no schedule has id {schedule_id!r}")
        self.schedule_id = schedule_id

    def to_details(self) -> dict[str, Any]:
        return {"schedule_id": self.schedule_id}


class ScheduleAlreadyExists(Refused):
    """A schedule with that id exists already; delete it first to make it again."""

    code = "schedule_already_exists"

    def __init__(self, schedule_id: str) -> None:
        super().__init__(f"a schedule with id {schedule_id!r} exists already; delete it first to make it again")
        self.schedule_id = schedule_id

    def to_details(self) -> dict[str, Any]:
        return {"schedule_id": self.schedule_id}


class ApiKeyNotFound(Refused):
    """No active API key has that id or name."""

    code = "api_key_not_found"

    def __init__(self, key: str) -> None:
        super().__init__(f"no active API key has id or name {key!r}")
        self.key = key

    def to_details(self) -> dict[str, Any]:
        return {"key": self.key}


class ActivityAlreadyClosed(Refused):
    """The activity is already closed."""

    code = "activity_already_closed"

    def __init__(self, final_state: str, *, execution_id: str = "", activity_id: int = 0) -> None:
        super().__init__(f"activity {activity_id} of {execution_id!r} is already closed: {final_state}")
        self.final_state = final_state
        self.execution_id = execution_id
        self.activity_id = activity_id

    def to_details(self) -> dict[str, Any]:
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

    def to_details(self) -> dict[str, Any]:
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

    def to_details(self) -> dict[str, Any]:
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

    def to_details(self) -> dict[str, Any]:
        return {"execution_id": self.execution_id, "activity_id": self.activity_id}


class ExecutionClosed(Refused):
    """The execution is closed already; nothing changed."""

    code = "execution_closed"

    def __init__(self, execution_id: str, *, status: str = "") -> None:
        super().__init__(f"execution {execution_id!r} is closed already ({status})")
        self.execution_id = execution_id
        self.status = status

    def to_details(self) -> dict[str, Any]:
        return {"execution_id": self.execution_id, "status": self.status}


class ExecutionNotClosed(Refused):
    """The execution is still running; close it first (cancel or terminate)."""

    code = "execution_not_closed"

    def __init__(self, execution_id: str) -> None:
        super().__init__(f"execution {execution_id!r} is still running; cancel or terminate it first")
        self.execution_id = execution_id

    def to_details(self) -> dict[str, Any]:
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

    def to_details(self) -> dict[str, Any]:
        return {"execution_id": self.execution_id, "status": self.status}


class ActivityNotInBackoff(Refused):
    """The activity does not wait for a retry; nothing changed."""

    code = "activity_not_in_backoff"

    def __init__(self, *, execution_id: str = "", activity_id: int = 0, state: str = "") -> None:
        super().__init__(f"activity {activity_id} of {execution_id!r} waits for no retry (it is {state})")
        self.execution_id = execution_id
        self.activity_id = activity_id
        self.state = state

    def to_details(self) -> dict[str, Any]:
        return {"execution_id": self.execution_id, "activity_id": self.activity_id, "state": self.state}


class RequestRejected(Refused):
    """The workflow rejected the request (``req.reject(reason)``); ``reason`` says why."""

    code = "request_rejected"

    def __init__(self, reason: str, *, execution_id: str = "", name: str = "") -> None:
        super().__init__(f"execution {execution_id!r} rejected request {name!r}: {reason}")
        self.reason = reason
        self.execution_id = execution_id
        self.name = name

    def to_details(self) -> dict[str, Any]:
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

    def to_details(self) -> dict[str, Any]:
        return {"execution_id": self.execution_id, "key": self.key}


class NotPublished(Refused):
    """The execution has published no value of that name (yet): ``client.published`` found none."""

    code = "not_published"

    def __init__(self, execution_id: str, name: str) -> None:
        super().__init__(f"execution {execution_id!r} has published no value named {name!r}")
        self.execution_id = execution_id
        self.name = name

    def to_details(self) -> dict[str, Any]:
        return {"execution_id": self.execution_id, "name": self.name}
