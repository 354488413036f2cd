"""Options users give activities: retry policy, timeouts, flow control and priority."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tether.errors import UsageError
from tether.model import flow_control
from tether.model.clock import duration_ms


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a failed activity attempt is retried.

    The n-th retry waits ``initial_interval * backoff ** (n - 1)``, capped at
    ``max_interval``. Errors whose type name is in ``non_retryable`` fail at once.
    """

    max_attempts: int = 3
    """Attempts in all, the first included; 0 means no limit (the total timeout still applies)."""
    initial_interval: timedelta = timedelta(seconds=1)
    """Wait before the first retry."""
    backoff: float = 2.0
    """Factor by which each further wait grows."""
    max_interval: timedelta = timedelta(seconds=100)
    """Longest wait between attempts."""
    non_retryable: tuple[str, ...] | list[str] = field(default_factory=tuple)
    """Error type names that fail the activity without retrying."""

    def __post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:
        if self.max_attempts < 0:
            raise UsageError("RetryPolicy.max_attempts must be 0 (unlimited) or more")
        if self.initial_interval <= timedelta(0):
            raise UsageError("RetryPolicy.initial_interval must be positive")
        if self.backoff < 1.0:
            raise UsageError("RetryPolicy.backoff must be at least 1.0")
        if self.max_interval < self.initial_interval:
            raise UsageError("RetryPolicy.max_interval must be at least initial_interval")
        object.__setattr__(self, "non_retryable", tuple(self.non_retryable))

    def interval_ms(self, failed_attempt: int) -> int:
        """Milliseconds to wait after attempt ``failed_attempt`` (1-based) failed."""
        cap = duration_ms(self.max_interval)
        try:
            wait = duration_ms(self.initial_interval) * self.backoff ** (failed_attempt - 1)
        except OverflowError:  # after enough retries the growth is past any cap
            return cap
        return int(min(wait, cap))

    def to_json(self) -> dict[str, Any]:
        """JSON form, stored with each scheduled activity."""
        return {
            "max_attempts": self.max_attempts,
            "initial_interval_ms": duration_ms(self.initial_interval),
            "backoff": self.backoff,
            "max_interval_ms": duration_ms(self.max_interval),
            "non_retryable": list(self.non_retryable),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RetryPolicy:
        """Rebuild a policy stored by :meth:`to_json`."""
        return cls(
            max_attempts=data["max_attempts"],
            initial_interval=timedelta(milliseconds=data["initial_interval_ms"]),
            backoff=data["backoff"],
            max_interval=timedelta(milliseconds=data["max_interval_ms"]),
            non_retryable=tuple(data["non_retryable"]),
        )


@dataclass(frozen=True, slots=True)
class ActivityOptions:
    """Timeouts and retries of one scheduled activity, as the engine stores them."""

    timeout_ms: int | None = None
    """Total time from first schedule to close, across all attempts."""
    attempt_timeout_ms: int | None = None
    """Time one attempt may stay open, from its start."""
    heartbeat_ms: int | None = None
    """Longest gap between heartbeats while an attempt is open, async waiting included."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """How failed attempts are retried."""
    result_schema: dict[str, Any] | None = None
    """JSON schema of the declared result type, checked when a result arrives by token."""
    inbox: bool = False
    """Whether a person finishes it: its waiting attempts are listed in the web UI's inbox."""
    notify: tuple[str, ...] = ()
    """URLs told when an attempt starts waiting for its token, and when the activity then closes."""
    overdue_after_ms: int | None = None
    """How long an attempt may wait for its token before the overdue view lists it; None: the viewer's default."""
    max_concurrent: int | None = None
    """Attempts of this activity type running their code at once, across all workers on the store."""
    rate_limit: str | None = None
    """Attempt starts of this activity type per window across all workers (``"10/s"``, ``"5/m"``, ``"100/h"``)."""
    priority: int | None = None
    """Order among ready attempts (higher first); None: the workflow's priority."""

    @property
    def flow_limit(self) -> flow_control.FlowLimit | None:
        """The activity type's limits across workers; None when it has none."""
        if self.max_concurrent is None and self.rate_limit is None:
            return None
        rate = None if self.rate_limit is None else flow_control.parse_rate(self.rate_limit, activity="")
        return flow_control.FlowLimit(self.max_concurrent, rate)

    def to_json(self) -> dict[str, Any]:
        """JSON form for the store."""
        data: dict[str, Any] = {
            "timeout_ms": self.timeout_ms,
            "attempt_timeout_ms": self.attempt_timeout_ms,
            "heartbeat_ms": self.heartbeat_ms,
            "retry": self.retry.to_json(),
            "result_schema": self.result_schema,
        }
        if self.inbox:  # only when set: histories recorded before the option existed stay as they were
            data["inbox"] = True
        if self.notify:  # likewise
            data["notify"] = list(self.notify)
        if self.overdue_after_ms is not None:  # likewise
            data["overdue_after_ms"] = self.overdue_after_ms
        for key in ("max_concurrent", "rate_limit", "priority"):  # likewise
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ActivityOptions:
        """Rebuild options stored by :meth:`to_json`."""
        return cls(
            timeout_ms=data["timeout_ms"],
            attempt_timeout_ms=data["attempt_timeout_ms"],
            heartbeat_ms=data["heartbeat_ms"],
            retry=RetryPolicy.from_json(data["retry"]),
            result_schema=data.get("result_schema"),
            inbox=bool(data.get("inbox", False)),
            notify=tuple(data.get("notify", ())),
            overdue_after_ms=data.get("overdue_after_ms"),
            max_concurrent=data.get("max_concurrent"),
            rate_limit=data.get("rate_limit"),
            priority=data.get("priority"),
        )
