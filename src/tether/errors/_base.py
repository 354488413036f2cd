"""The root of tether's errors, and the errors of a program that uses tether wrongly."""

from __future__ import annotations

from typing import Any, ClassVar


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

    def to_details(self) -> dict[str, Any]:
        return {"execution_id": self.execution_id, "event_seq": self.event_seq}


class UnknownWorkflow(UsageError):
    """No workflow of that name is registered."""

    code = "unknown_workflow"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"no workflow named {name!r} is registered; decorate it with @tether.workflow and pass it to a Worker"
        )
        self.name = name

    def to_details(self) -> dict[str, Any]:
        return {"name": self.name}


class UnknownActivity(UsageError):
    """No activity of that name is registered."""

    code = "unknown_activity"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"no activity named {name!r} is registered; decorate it with @tether.activity and pass it to a Worker"
        )
        self.name = name

    def to_details(self) -> dict[str, Any]:
        return {"name": self.name}


class MissingExtra(UsageError):
    """A feature needs packages that only one of tether's extras installs."""

    code = "missing_extra"

    def __init__(self, extra: str, *, module: str = "") -> None:
        missing = f"{module} is not installed; it comes with" if module else "this needs"
        super().__init__(f"{missing} tether[{extra}]: pip install 'tether[{extra}]'")
        self.extra = extra
        self.module = module

    def to_details(self) -> dict[str, Any]:
        return {"extra": self.extra, "module": self.module}


class UndecodablePayload(UsageError):
    """A payload is encoded and cannot be decoded here: no codec, an unknown key, or altered data.

    ``encoding`` and ``key`` name what its envelope says it was encoded with (``key`` is None
    when the encoding has no key ids). Give the client or worker the codec (and every key
    still in use) that wrote it; an altered payload cannot be read by anyone.
    """

    code = "undecodable_payload"

    def __init__(self, message: str, *, encoding: str = "", key: str | None = None) -> None:
        super().__init__(message)
        self.encoding = encoding
        self.key = key

    def to_details(self) -> dict[str, Any]:
        return {"encoding": self.encoding, "key": self.key}
