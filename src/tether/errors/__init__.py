"""The public error hierarchy of tether.

Every error tether raises descends from :class:`TetherError`. Each class has a stable
``code`` (used on the wire) and carries its facts as attributes, not only in the text::

    TetherError
    ├── UsageError              the program used tether wrongly; fix the code
    │   ├── NotInActivity       tether.context()/heartbeat()/make_async() outside an activity
    │   ├── NotInWorkflow       a workflow primitive outside a workflow
    │   ├── NonDeterminism      replayed workflow code diverged from its history
    │   ├── UndecodablePayload  an encoded payload, and no codec or key here to decode it (or altered data)
    │   ├── UnknownWorkflow     no workflow of that name is registered
    │   ├── UnknownActivity     no activity of that name is registered
    │   └── MissingExtra        a feature's packages are not installed (extra: install tether[extra])
    ├── Refused                 a request was refused and nothing changed
    │   ├── InvalidToken        forged, truncated or altered task token
    │   ├── StaleToken          the token's attempt is no longer the current one
    │   ├── CallbackExpired     the callback URL's expiry has passed
    │   ├── InvalidSignature    a notification's signature does not verify (verify_notification)
    │   ├── Unauthenticated     no API key, or an unknown or revoked one
    │   ├── PermissionDenied    the caller's API key does not allow this
    │   ├── InvalidPayload      a value could not be serialised or has the wrong type
    │   ├── PayloadTooLarge     a request body exceeds the server's limit
    │   ├── RequestTimeout      a request body arrived too slowly
    │   ├── ExecutionNotFound   no execution has that id
    │   │   └── ActivityNotFound    the execution has no activity with that id
    │   ├── ExecutionIdTaken    the id belongs to an execution of another workflow
    │   ├── ApiKeyNotFound      no active API key has that id or name
    │   ├── SinkNotFound        no notification sink has that id or URL
    │   ├── ScheduleNotFound    no schedule has that id
    │   ├── ScheduleAlreadyExists   a schedule with that id exists already
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

from typing import Any

from tether.errors._base import (
    MissingExtra,
    NonDeterminism,
    NotInActivity,
    NotInWorkflow,
    TetherError,
    UndecodablePayload,
    UnknownActivity,
    UnknownWorkflow,
    UsageError,
)
from tether.errors._failures import (
    ActivityCancelled,
    ActivityFailed,
    ActivityTimeout,
    ChildWorkflowFailed,
    ExecutionFailure,
    HistoryTooLarge,
    ServerUnreachable,
    StoreNotFound,
    StoreUnavailable,
    WorkflowCancelled,
    WorkflowFailed,
    WorkflowTerminated,
    WorkflowTimedOut,
)
from tether.errors._refusals import (
    ActivityAlreadyClosed,
    ActivityNotFound,
    ActivityNotInBackoff,
    ApiKeyNotFound,
    CallbackExpired,
    CancellationNotRequested,
    ExecutionClosed,
    ExecutionIdTaken,
    ExecutionNotClosed,
    ExecutionNotFound,
    ExecutionNotResumable,
    InvalidPayload,
    InvalidSignature,
    InvalidToken,
    MessageKeyReused,
    NoAttemptOpen,
    NotPublished,
    PayloadTooLarge,
    PermissionDenied,
    Refused,
    RequestRejected,
    RequestTimeout,
    ScheduleAlreadyExists,
    ScheduleNotFound,
    SinkNotFound,
    StaleToken,
    Unauthenticated,
    WrongActivity,
)

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
    "InvalidSignature",
    "InvalidToken",
    "MessageKeyReused",
    "MissingExtra",
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
    "ScheduleAlreadyExists",
    "ScheduleNotFound",
    "ServerUnreachable",
    "SinkNotFound",
    "StaleToken",
    "StoreNotFound",
    "StoreUnavailable",
    "TetherError",
    "Unauthenticated",
    "UndecodablePayload",
    "UnknownActivity",
    "UnknownWorkflow",
    "UsageError",
    "WorkflowCancelled",
    "WorkflowFailed",
    "WorkflowTerminated",
    "WorkflowTimedOut",
    "WrongActivity",
]

for _name in __all__:
    globals()[_name].__module__ = __name__  # one public module, whichever file defines the class


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
