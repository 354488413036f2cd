"""A transport that encodes payloads with the client's codec on the way out and decodes them on the way back.

The Client wraps its transport in one when connected with ``codec=``, so the embedded
store and the HTTP server only ever see encoded payloads. Descriptions, histories and
lists come back as stored, envelopes included (their payloads belong to whoever reads
them with the key); results, replies, published values and heartbeat details of one
activity come back decoded.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tether.client._transport import Transport
from tether.engine.engine import Engine
from tether.model import codecs
from tether.model.codecs import PayloadCodec
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


class EncodedTransport:
    """Encodes and decodes the payloads that pass through ``inner`` with ``codec``."""

    def __init__(self, inner: Transport, codec: PayloadCodec) -> None:
        self.inner = inner
        self.codec = codec

    @property
    def engine(self) -> Engine:
        """The inner transport's engine (a worker on this client encodes with the same codec)."""
        return self.inner.engine

    def _out(self, text: str | None) -> str | None:
        return None if text is None else codecs.encode_text(self.codec, text)

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
        """Start an execution with its arguments encoded one by one."""
        return await self.inner.start_workflow(
            execution_id, workflow, codecs.encode_args_text(self.codec, args), known=known,
            timeout_ms=timeout_ms, timeout_known=timeout_known, priority=priority, new_id=new_id,
        )  # fmt: skip

    async def resume(self, execution_id: str, timeout_ms: int | None) -> None:
        """As the inner transport."""
        await self.inner.resume(execution_id, timeout_ms)

    async def is_known_workflow(self, name: str) -> bool:
        """As the inner transport."""
        return await self.inner.is_known_workflow(name)

    async def wait_for_result(
        self, execution_id: str, timeout: float | None
    ) -> tuple[str, str | None, dict[str, Any] | None, str]:
        """The outcome, its result and failure details decoded."""
        status, result, error, workflow = await self.inner.wait_for_result(execution_id, timeout)
        if result is not None:
            result = codecs.decode_text(self.codec, result)
        if error is not None and codecs.is_encoded(error.get("details")):
            error = {**error, "details": codecs.decode(self.codec, error["details"])}
        return status, result, error, workflow

    async def cancel_workflow(self, execution_id: str) -> None:
        """As the inner transport."""
        await self.inner.cancel_workflow(execution_id)

    async def terminate_workflow(self, execution_id: str, reason: str) -> None:
        """As the inner transport."""
        await self.inner.terminate_workflow(execution_id, reason)

    async def delete_workflow(self, execution_id: str) -> None:
        """As the inner transport."""
        await self.inner.delete_workflow(execution_id)

    async def retry_activity_now(self, execution_id: str, activity_id: int) -> int:
        """As the inner transport."""
        return await self.inner.retry_activity_now(execution_id, activity_id)

    async def describe(self, execution_id: str, run: int | None = None) -> WorkflowDescription:
        """As stored: payloads stay encoded."""
        return await self.inner.describe(execution_id, run)

    async def history(self, execution_id: str, run: int | None = None) -> list[HistoryEvent]:
        """As stored: payloads stay encoded."""
        return await self.inner.history(execution_id, run)

    async def list_workflows(
        self, *, status: str | None, workflow: str | None, limit: int, offset: int, id_prefix: str | None
    ) -> list[WorkflowSummary]:
        """As the inner transport."""
        return await self.inner.list_workflows(
            status=status, workflow=workflow, limit=limit, offset=offset, id_prefix=id_prefix
        )

    async def published(self, execution_id: str, name: str, after: int | None, wait_ms: int) -> Published:
        """The value, decoded."""
        found = await self.inner.published(execution_id, name, after, wait_ms)
        if not codecs.is_encoded(found.value):
            return found
        return dataclasses.replace(found, value=codecs.decode(self.codec, found.value))

    async def waiting_activities(
        self, *, workflow: str | None, name: str | None, inbox_only: bool, limit: int, offset: int
    ) -> list[WaitingActivity]:
        """As the inner transport."""
        return await self.inner.waiting_activities(
            workflow=workflow, name=name, inbox_only=inbox_only, limit=limit, offset=offset
        )

    async def overdue_activities(
        self, *, waiting_longer_than_ms: int | None, due_within_ms: int | None, workflow: str | None,
        name: str | None, limit: int, offset: int,
    ) -> list[OverdueActivity]:  # fmt: skip
        """As the inner transport."""
        return await self.inner.overdue_activities(
            waiting_longer_than_ms=waiting_longer_than_ms, due_within_ms=due_within_ms, workflow=workflow, name=name,
            limit=limit, offset=offset,
        )  # fmt: skip

    async def complete_activity(self, token: str, result: str, activity: str | None = None) -> bool:
        """Complete with the result encoded."""
        return await self.inner.complete_activity(token, codecs.encode_text(self.codec, result), activity)

    async def fail_activity(self, token: str, *, error: str, message: str, details: Any, non_retryable: bool) -> bool:
        """Fail with the details encoded (the error type and message stay readable)."""
        return await self.inner.fail_activity(
            token, error=error, message=message, details=codecs.encode(self.codec, details),
            non_retryable=non_retryable,
        )  # fmt: skip

    async def heartbeat_activity(
        self, token: str, details: str | None, activity: str | None = None
    ) -> HeartbeatResponse:
        """Heartbeat with the details encoded."""
        return await self.inner.heartbeat_activity(token, self._out(details), activity)

    async def describe_activity(self, token: str) -> ActivityInfo:
        """The activity, its last heartbeat details decoded."""
        info = await self.inner.describe_activity(token)
        if not codecs.is_encoded(info.heartbeat_details):
            return info
        return dataclasses.replace(info, heartbeat_details=codecs.decode(self.codec, info.heartbeat_details))

    async def report_activity_cancelled(self, token: str, details: str | None) -> bool:
        """Report the cancellation with the details encoded."""
        return await self.inner.report_activity_cancelled(token, self._out(details))

    async def send_message(self, execution_id: str, name: str, payload: str, key: str | None) -> bool:
        """Send with the payload encoded."""
        return await self.inner.send_message(execution_id, name, codecs.encode_text(self.codec, payload), key)

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
        """Start and send with the arguments and the payload encoded."""
        name, payload, key = message
        return await self.inner.send_with_start(
            execution_id, workflow, codecs.encode_args_text(self.codec, args),
            (name, codecs.encode_text(self.codec, payload), key),
            known=known, timeout_ms=timeout_ms, timeout_known=timeout_known, priority=priority,
        )  # fmt: skip

    async def request(self, execution_id: str, name: str, payload: str, key: str | None, timeout: float | None) -> str:
        """Request with the payload encoded; the reply comes back decoded."""
        reply = await self.inner.request(execution_id, name, codecs.encode_text(self.codec, payload), key, timeout)
        return codecs.decode_text(self.codec, reply)

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
        """Make the schedule with its arguments encoded one by one: every execution it starts gets them so."""
        return await self.inner.create_schedule(
            schedule_id, workflow, codecs.encode_args_text(self.codec, args), cron=cron, timezone=timezone,
            overlap=overlap, catch_up=catch_up, paused=paused, known=known,
        )  # fmt: skip

    async def list_schedules(self, workflow: str | None) -> list[ScheduleInfo]:
        """As the inner transport (arguments as stored)."""
        return await self.inner.list_schedules(workflow)

    async def describe_schedule(self, schedule_id: str) -> ScheduleInfo:
        """As the inner transport (arguments as stored)."""
        return await self.inner.describe_schedule(schedule_id)

    async def pause_schedule(self, schedule_id: str) -> ScheduleInfo:
        """As the inner transport."""
        return await self.inner.pause_schedule(schedule_id)

    async def unpause_schedule(self, schedule_id: str) -> ScheduleInfo:
        """As the inner transport."""
        return await self.inner.unpause_schedule(schedule_id)

    async def trigger_schedule(self, schedule_id: str) -> str:
        """As the inner transport."""
        return await self.inner.trigger_schedule(schedule_id)

    async def delete_schedule(self, schedule_id: str) -> None:
        """As the inner transport."""
        await self.inner.delete_schedule(schedule_id)

    async def close(self) -> None:
        """As the inner transport."""
        await self.inner.close()
