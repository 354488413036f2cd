"""The embedded transport: the engine over a store in this process."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from tether.engine import message_states, tracing
from tether.engine.engine import Engine
from tether.model import extras
from tether.model.clock import Clock, SystemClock
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
from tether.store.base import Store
from tether.store.sqlite.store import SQLiteStore


async def open_store(url: str, *, create: bool = True) -> Store:
    """Open a store by URL; psycopg is imported only for ``postgresql://`` URLs.

    ``create=False`` leaves a missing SQLite file uncreated (StoreNotFound); a PostgreSQL
    database is never created here, so it changes nothing there.
    """
    if url.startswith(("postgresql:", "postgres:")):
        with extras.required(extras.POSTGRES, "psycopg"):
            from tether.store.postgres import store as postgres  # SQLite users never import psycopg

        return await postgres.PostgresStore.open(url)
    return await SQLiteStore.open(url, create=create)


class EmbeddedTransport:
    """Runs every client call as an engine transition in this process."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @classmethod
    async def open(cls, url: str, clock: Clock | None, *, create: bool = True) -> EmbeddedTransport:
        """Open the store a URL names: a SQLite file or a PostgreSQL database."""
        return cls(Engine(await open_store(url, create=create), clock or SystemClock()))

    @property
    def engine(self) -> Engine:
        return self._engine

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
        return await self._engine.start_workflow(
            execution_id,
            workflow,
            args,
            timeout_ms=timeout_ms,
            timeout_known=timeout_known,
            priority=priority,
            trace=tracing.current(),
            new_id=new_id,
        )

    async def resume(self, execution_id: str, timeout_ms: int | None) -> None:
        await self._engine.resume(execution_id, timeout_ms)

    async def is_known_workflow(self, name: str) -> bool:
        return await self._engine.is_known_workflow(name)

    async def wait_for_result(
        self, execution_id: str, timeout: float | None
    ) -> tuple[str, str | None, dict[str, Any] | None, str]:
        row = await self._engine.wait_for_close(execution_id, timeout)
        return row.status, row.result, json.loads(row.error) if row.error else None, row.workflow

    async def cancel_workflow(self, execution_id: str) -> None:
        await self._engine.cancel_workflow(execution_id)

    async def terminate_workflow(self, execution_id: str, reason: str) -> None:
        await self._engine.terminate_workflow(execution_id, reason)

    async def delete_workflow(self, execution_id: str) -> None:
        await self._engine.delete_workflow(execution_id)

    async def retry_activity_now(self, execution_id: str, activity_id: int) -> int:
        return await self._engine.retry_activity_now(execution_id, activity_id)

    async def describe(self, execution_id: str, run: int | None = None) -> WorkflowDescription:
        return await self._engine.describe(execution_id, run=run)

    async def history(self, execution_id: str, run: int | None = None) -> list[HistoryEvent]:
        return await self._engine.history(execution_id, run=run)

    async def list_workflows(
        self, *, status: str | None, workflow: str | None, limit: int, offset: int, id_prefix: str | None
    ) -> list[WorkflowSummary]:
        return await self._engine.list_workflows(
            status=status, workflow=workflow, limit=limit, offset=offset, id_prefix=id_prefix
        )

    async def published(self, execution_id: str, name: str, after: int | None, wait_ms: int) -> Published:
        return await self._engine.published(execution_id, name, after=after, wait_ms=wait_ms)

    async def waiting_activities(
        self, *, workflow: str | None, name: str | None, inbox_only: bool, limit: int, offset: int
    ) -> list[WaitingActivity]:
        return await self._engine.waiting_activities(
            workflow=workflow, name=name, inbox_only=inbox_only, limit=limit, offset=offset
        )

    async def overdue_activities(
        self, *, waiting_longer_than_ms: int | None, due_within_ms: int | None, workflow: str | None,
        name: str | None, limit: int, offset: int,
    ) -> list[OverdueActivity]:  # fmt: skip
        return await self._engine.overdue_activities(
            waiting_longer_than=_duration(waiting_longer_than_ms), due_within=_duration(due_within_ms),
            workflow=workflow, name=name, limit=limit, offset=offset,
        )  # fmt: skip

    async def complete_activity(self, token: str, result: str, activity: str | None = None) -> bool:
        return await self._engine.complete_activity(token, result, activity=activity)

    async def fail_activity(self, token: str, *, error: str, message: str, details: Any, non_retryable: bool) -> bool:
        return await self._engine.fail_activity(
            token, error=error, message=message, details=details, non_retryable=non_retryable
        )

    async def heartbeat_activity(
        self, token: str, details: str | None, activity: str | None = None
    ) -> HeartbeatResponse:
        return await self._engine.heartbeat_activity(token, details, activity=activity)

    async def report_activity_cancelled(self, token: str, details: str | None) -> bool:
        return await self._engine.report_activity_cancelled(token, details)

    async def describe_activity(self, token: str) -> ActivityInfo:
        return await self._engine.describe_activity(token)

    async def send_message(self, execution_id: str, name: str, payload: str, key: str | None) -> bool:
        sent = await self._engine.send_message(execution_id, message_states.MESSAGE, name, payload, key=key)
        return sent.stored

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
        started, _ = await self._engine.send_with_start(
            execution_id, workflow, args, message, timeout_ms=timeout_ms, timeout_known=timeout_known,
            priority=priority, trace=tracing.current(),
        )  # fmt: skip
        return started

    async def request(self, execution_id: str, name: str, payload: str, key: str | None, timeout: float | None) -> str:
        sent = await self._engine.send_message(execution_id, message_states.REQUEST, name, payload, key=key)
        answer = await self._engine.request_answer(execution_id, sent.message_id, timeout)
        if answer.reply is None:
            raise TimeoutError(f"execution {execution_id!r} did not answer request {name!r} in time")
        return answer.reply

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
        return await self._engine.create_schedule(
            schedule_id, workflow, args, cron=cron, timezone=timezone, overlap=overlap, catch_up=catch_up, paused=paused
        )

    async def list_schedules(self, workflow: str | None) -> list[ScheduleInfo]:
        return await self._engine.list_schedules(workflow=workflow)

    async def describe_schedule(self, schedule_id: str) -> ScheduleInfo:
        return await self._engine.describe_schedule(schedule_id)

    async def pause_schedule(self, schedule_id: str) -> ScheduleInfo:
        return await self._engine.pause_schedule(schedule_id)

    async def unpause_schedule(self, schedule_id: str) -> ScheduleInfo:
        return await self._engine.unpause_schedule(schedule_id)

    async def trigger_schedule(self, schedule_id: str) -> str:
        return await self._engine.trigger_schedule(schedule_id)

    async def delete_schedule(self, schedule_id: str) -> None:
        await self._engine.delete_schedule(schedule_id)

    async def close(self) -> None:
        await self._engine.store.close()


def _duration(ms: int | None) -> timedelta | None:
    return None if ms is None else timedelta(milliseconds=ms)
