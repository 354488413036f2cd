"""The Transport protocol: what the Client needs from the embedded store or a server."""

from __future__ import annotations

from typing import Any, Protocol

from tether.engine.engine import Engine
from tether.model.records import (
    ActivityInfo,
    HeartbeatResponse,
    HistoryEvent,
    OverdueActivity,
    Published,
    WaitingActivity,
    WorkflowDescription,
    WorkflowSummary,
)
from tether.model.schedules import ScheduleInfo


class Transport(Protocol):
    """Raw, JSON-text level operations; the Client encodes and decodes around them."""

    @property
    def engine(self) -> Engine:
        """The engine, for transports that have one (workers need it)."""
        ...

    async def start_workflow(
        self,
        execution_id: str,
        workflow: str,
        args: str,
        *,
        known: bool,
        timeout_ms: int | None,
        timeout_known: bool,
        priority: int = 0,
        new_id: bool = False,
    ) -> bool:
        """Start an execution; ``known`` says the caller holds the workflow's definition (no name check).

        ``timeout_known``: the caller knows the execution's timeout, ``timeout_ms`` (None: none).
        ``priority`` orders its ready work. ``new_id``: the client made ``execution_id`` just
        now, at random, for this one call, so it cannot be taken.
        """
        ...

    async def resume(self, execution_id: str, timeout_ms: int | None) -> None:
        """Resume a failed, timed-out or terminated execution (a new deadline ``timeout_ms`` from now)."""
        ...

    async def is_known_workflow(self, name: str) -> bool: ...
    async def wait_for_result(
        self, execution_id: str, timeout: float | None
    ) -> tuple[str, str | None, dict[str, Any] | None, str]:
        """Wait for the execution to close: (status, result JSON, error, workflow name)."""
        ...

    async def cancel_workflow(self, execution_id: str) -> None: ...
    async def terminate_workflow(self, execution_id: str, reason: str) -> None: ...
    async def delete_workflow(self, execution_id: str) -> None: ...
    async def retry_activity_now(self, execution_id: str, activity_id: int) -> int: ...
    async def describe(self, execution_id: str, run: int | None = None) -> WorkflowDescription: ...
    async def history(self, execution_id: str, run: int | None = None) -> list[HistoryEvent]: ...
    async def list_workflows(
        self, *, status: str | None, workflow: str | None, limit: int, offset: int, id_prefix: str | None
    ) -> list[WorkflowSummary]: ...
    async def published(self, execution_id: str, name: str, after: int | None, wait_ms: int) -> Published:
        """The last value ``name``, waiting up to ``wait_ms`` for a version newer than ``after``."""
        ...

    async def waiting_activities(
        self, *, workflow: str | None, name: str | None, inbox_only: bool, limit: int, offset: int
    ) -> list[WaitingActivity]:
        """Activities waiting for a token, longest first, with activity tokens where the caller may write."""
        ...

    async def overdue_activities(
        self, *, waiting_longer_than_ms: int | None, due_within_ms: int | None, workflow: str | None,
        name: str | None, limit: int, offset: int,
    ) -> list[OverdueActivity]:  # fmt: skip
        """Activities waiting for a token too long or near a deadline, longest first (None: that criterion off)."""
        ...

    async def complete_activity(self, token: str, result: str, activity: str | None = None) -> bool:
        """Complete by token; ``activity`` names the activity the token must be of (None: any)."""
        ...

    async def fail_activity(
        self, token: str, *, error: str, message: str, details: Any, non_retryable: bool
    ) -> bool: ...
    async def heartbeat_activity(
        self, token: str, details: str | None, activity: str | None = None
    ) -> HeartbeatResponse: ...
    async def describe_activity(self, token: str) -> ActivityInfo: ...
    async def report_activity_cancelled(self, token: str, details: str | None) -> bool: ...
    async def send_message(self, execution_id: str, name: str, payload: str, key: str | None) -> bool:
        """Send a message (payload as JSON text); False if its key had been sent before."""
        ...

    async def send_with_start(
        self,
        execution_id: str,
        workflow: str,
        args: str,
        message: tuple[str, str, str | None],
        *,
        known: bool,
        timeout_ms: int | None,
        timeout_known: bool,
        priority: int = 0,
    ) -> bool:
        """Start the execution unless it exists and send it ``message`` (name, payload, key); True if it started."""
        ...

    async def request(self, execution_id: str, name: str, payload: str, key: str | None, timeout: float | None) -> str:
        """Send a request and wait for its reply (JSON text); TimeoutError if none came within ``timeout`` seconds."""
        ...

    async def create_schedule(
        self,
        schedule_id: str,
        workflow: str,
        args: str,
        *,
        cron: str,
        timezone: str,
        overlap: str,
        catch_up: str,
        paused: bool,
        known: bool,
    ) -> ScheduleInfo:
        """Make a schedule (``args`` as a JSON list); ``known``: the caller holds the workflow's definition."""
        ...

    async def list_schedules(self, workflow: str | None) -> list[ScheduleInfo]: ...
    async def describe_schedule(self, schedule_id: str) -> ScheduleInfo: ...
    async def pause_schedule(self, schedule_id: str) -> ScheduleInfo: ...
    async def unpause_schedule(self, schedule_id: str) -> ScheduleInfo: ...
    async def trigger_schedule(self, schedule_id: str) -> str:
        """Start the schedule's workflow now; the execution's id."""
        ...

    async def delete_schedule(self, schedule_id: str) -> None: ...
    async def close(self) -> None: ...
