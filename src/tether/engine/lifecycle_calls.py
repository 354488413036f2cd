"""The engine's calls that act on an execution from outside its code: terminate, delete, retry now, retention."""

from __future__ import annotations

from tether.engine import lifecycle, runs
from tether.engine.core import EngineCore
from tether.model.access import Access, Action
from tether.store.base import Transaction

RETENTION_BATCH = 100
"""Executions one retention transition deletes at most, so that it never holds the store for long."""


class LifecycleCalls(EngineCore):
    """Transitions that close, remove or hurry along an execution at a client's request (one transaction each)."""

    async def terminate_workflow(self, execution_id: str, reason: str = "", *, access: Access | None = None) -> None:
        """Close a running execution now as terminated (see ``lifecycle.terminate``).

        Raises:
            ExecutionNotFound: no execution has this id.
            PermissionDenied: ``access`` may not write to this workflow.
            ExecutionClosed: the execution closed already; nothing changed.
        """
        now = self.clock.now_ms()

        def terminate(tx: Transaction) -> None:
            execution = runs.permitted(tx, execution_id, access, Action.WRITE_WORKFLOWS)
            lifecycle.terminate(tx, execution, reason, now)

        await self._run(terminate)

    async def delete_workflow(self, execution_id: str, *, access: Access | None = None) -> None:
        """Delete a closed execution with its history; the id may then be started again.

        Raises:
            ExecutionNotFound: no execution has this id.
            PermissionDenied: ``access`` may not write to this workflow.
            ExecutionNotClosed: the execution still runs; nothing changed.
        """

        def delete(tx: Transaction) -> None:
            lifecycle.delete(tx, runs.permitted(tx, execution_id, access, Action.WRITE_WORKFLOWS))

        await self._run(delete)

    async def retry_activity_now(self, execution_id: str, activity_id: int, *, access: Access | None = None) -> int:
        """Start the next attempt of an activity in retry back-off now; returns that attempt's number.

        Raises:
            ExecutionNotFound: no execution has this id (ActivityNotFound: no such activity).
            PermissionDenied: ``access`` may not write to this workflow.
            ActivityNotInBackoff: the activity waits for no retry; nothing changed.
        """
        now = self.clock.now_ms()

        def retry(tx: Transaction) -> int:
            execution = runs.permitted(tx, execution_id, access, Action.WRITE_WORKFLOWS)
            return lifecycle.retry_activity_now(tx, execution, activity_id, now)

        return await self._run(retry)

    async def delete_expired(self, retention_ms: int, limit: int = RETENTION_BATCH) -> int:
        """Delete up to ``limit`` executions closed longer than ``retention_ms`` ago; returns how many."""
        before = self.clock.now_ms() - retention_ms
        return await self._run(lambda tx: lifecycle.delete_expired(tx, before, limit))
