"""The engine's calls about schedules: clients make and manage them, workers fire their occurrences."""

from __future__ import annotations

from tether.engine import schedule_times, schedules, starting
from tether.engine.core import EngineCore
from tether.model.access import Access, Action
from tether.model.schedules import ScheduleInfo
from tether.store.base import Transaction
from tether.store.schedule_columns import ScheduleRow


class ScheduleCalls(EngineCore):
    """Transitions of schedules (see ``engine.schedules``)."""

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
        paused: bool = False,
        access: Access | None = None,
    ) -> ScheduleInfo:
        """Make a schedule that starts ``workflow`` with ``args`` (a JSON list) at the times of ``cron``.

        Raises:
            InvalidPayload: a bad id, workflow name, cron expression, time zone or policy.
            PermissionDenied: ``access`` may not start executions of ``workflow``.
            ScheduleAlreadyExists: the id is taken; nothing changed.
        """
        schedules.check_id(schedule_id)
        starting.check_name(workflow, "workflow")
        chosen_overlap, chosen_catch_up = schedules.policies(overlap, catch_up)
        now = self.clock.now_ms()
        schedule_times.check(cron, timezone, now)
        row = ScheduleRow(
            schedule_id=schedule_id, workflow=workflow, args=args, cron=cron, timezone=timezone,
            overlap=chosen_overlap.value, catch_up=chosen_catch_up.value, paused=paused,
            next_fire_at_ms=schedule_times.next_after(cron, timezone, now), last_execution_id=None,
            buffered_at_ms=None, created_at_ms=now, updated_at_ms=now,
        )  # fmt: skip
        return await self._run(lambda tx: schedules.create(tx, row, access))

    async def list_schedules(self, *, workflow: str | None = None, access: Access | None = None) -> list[ScheduleInfo]:
        """The schedules of workflows ``access`` may read, by id (``workflow``: of that workflow only)."""

        def read(tx: Transaction) -> list[ScheduleInfo]:
            rows = tx.list_schedules(workflow)
            return [
                schedules.info(r) for r in rows if access is None or access.allows(Action.READ_WORKFLOWS, r.workflow)
            ]

        return await self.store.read(read)

    async def describe_schedule(self, schedule_id: str, *, access: Access | None = None) -> ScheduleInfo:
        """A schedule with its latest fires.

        Raises:
            ScheduleNotFound: no schedule has this id.
            PermissionDenied: ``access`` may not read executions of its workflow.
        """
        return await self.store.read(lambda tx: schedules.describe(tx, schedule_id, access))

    async def pause_schedule(self, schedule_id: str, *, access: Access | None = None) -> ScheduleInfo:
        """Stop firing a schedule (``workflows:write``); see ``schedules.pause``."""
        now = self.clock.now_ms()
        return await self._run(lambda tx: schedules.pause(tx, schedule_id, access, now))

    async def unpause_schedule(self, schedule_id: str, *, access: Access | None = None) -> ScheduleInfo:
        """Fire a paused schedule again from its first occurrence after now (``workflows:write``)."""
        now = self.clock.now_ms()
        return await self._run(lambda tx: schedules.unpause(tx, schedule_id, access, now))

    async def trigger_schedule(self, schedule_id: str, *, access: Access | None = None) -> str:
        """Start the schedule's workflow now (``workflows:start``); the id of the execution started."""
        now = self.clock.now_ms()
        return await self._run(lambda tx: schedules.trigger(tx, schedule_id, access, now))

    async def delete_schedule(self, schedule_id: str, *, access: Access | None = None) -> None:
        """Remove a schedule (``workflows:write``); the executions it started stay."""
        await self._run(lambda tx: schedules.delete(tx, schedule_id, access))

    async def fire_due_schedules(self) -> int:
        """Fire the occurrences due now (a worker's schedule loop); how many were handled."""
        now = self.clock.now_ms()
        return await self._run(lambda tx: schedules.fire_due(tx, now))

    async def schedule_wakeups(self) -> tuple[int | None, list[str]]:
        """When the schedule loop has work next, and the running executions that held-back occurrences wait for.

        The time is now when a held-back occurrence's execution closed already. The
        executions are the current runs (a continued execution is waited for in its latest run).
        """
        now = self.clock.now_ms()

        def read(tx: Transaction) -> tuple[int | None, list[str]]:
            due, waits = tx.schedule_wakeups()
            running = [run for run in (schedules.running_run(tx, e) for e in waits) if run is not None]
            return (now if len(running) < len(waits) else due), running

        return await self.store.read(read)

    async def closed_among(self, execution_ids: list[str]) -> list[str]:
        """Those of ``execution_ids`` that are no longer running."""
        return await self.store.read(lambda tx: tx.closed_among(execution_ids))
