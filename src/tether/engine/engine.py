"""The engine: async entry points that run one transition each against the store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from tether.engine import activities, dispatch, keys, notifier, queries, timers, workflows
from tether.engine.activities import AttemptOutcome, AttemptStart
from tether.engine.workflows import WorkflowTask
from tether.errors import ExecutionNotFound
from tether.model.clock import Clock
from tether.model.events import Command, Event, failure
from tether.model.records import HeartbeatResponse, HistoryEvent, WorkflowDescription, WorkflowStatus, WorkflowSummary
from tether.model.tokens import TokenClaims
from tether.store.base import ExecutionRow, Store, ThreadedStore, Transaction

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Engine:
    """Runs transitions for clients and workers over one store and one clock.

    Every public method is one transition (one transaction). The engine also owns the
    in-process wake-ups: workers park on :attr:`notifier` instead of polling.
    """

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.notifier = notifier.Notifier()
        self._keys = keys.SigningKeys()
        self._checking: asyncio.Future[None] | None = None
        self._local: dispatch.LocalWorker | None = None
        self._threaded = store if isinstance(store, ThreadedStore) else None
        store.set_listener(self._on_change)

    def attach_worker(self, worker: dispatch.LocalWorker) -> None:
        """Push work this process creates to ``worker`` (the first attached worker gets it)."""
        if self._local is None:
            self._local = worker

    def detach_worker(self, owner: str) -> None:
        """Stop pushing work to the worker ``owner``."""
        if self._local is not None and self._local.owner == owner:
            self._local = None

    async def _run(self, transition: Callable[[Transaction], T]) -> T:
        """Run a writing transition; work it queues goes to the local worker in the same transaction."""
        worker = self._local

        def body(tx: Transaction) -> T:
            result, pushed = self._transition(tx, transition, worker)
            if pushed is not None:
                assert worker is not None
                tx.after_commit(lambda: worker.accept(pushed))
            return result

        return await self.store.run(body)

    def _run_in_thread(
        self,
        transition: Callable[[Transaction], T],
        done: Callable[[tuple[T, dispatch.Pushed | None] | None, BaseException | None], None],
    ) -> None:
        """Like :meth:`_run`, from a worker thread: ``done`` gets the result and the work pushed to the local worker."""
        assert self._threaded is not None
        worker = self._local
        self._threaded.run_in_thread(lambda tx: self._transition(tx, transition, worker), done)

    def _transition(
        self, tx: Transaction, transition: Callable[[Transaction], T], worker: dispatch.LocalWorker | None
    ) -> tuple[T, dispatch.Pushed | None]:
        result = transition(tx)
        pushed = None if worker is None else dispatch.push(tx, worker, self.clock.now_ms(), self._keys.sign)
        awaited = [e for e in tx.closed_executions() if self.notifier.is_awaited(e)]
        if awaited:
            # Hand the final rows to result waiters with the commit: no second read.
            rows = {e: tx.get_execution(e) for e in awaited}
            tx.after_commit(lambda: self._deliver_closed(rows))
        return result, pushed

    @property
    def runs_in_thread(self) -> bool:
        """Whether worker threads may record attempt outcomes themselves (see :meth:`record_attempt_in_thread`)."""
        return self._threaded is not None

    def _on_change(self, changes: set[str]) -> None:
        topics: set[str] = set()
        for key in changes:
            if key in notifier.TOPICS:
                topics.add(key)
            elif key in ("*", "external"):
                topics.update(notifier.TOPICS)
            else:
                self.notifier.closed(key)
        if topics:
            self.notifier.changed(topics)
        if "external" in changes and self.notifier.awaited_executions() and self._checking is None:
            self._checking = asyncio.ensure_future(self._check_awaited())
            self._checking.add_done_callback(self._checked)

    def _checked(self, task: asyncio.Future[None]) -> None:
        self._checking = None
        if not task.cancelled() and task.exception() is not None:
            logger.warning("could not look up awaited executions", exc_info=task.exception())

    def _deliver_closed(self, rows: dict[str, ExecutionRow | None]) -> None:
        for execution_id, row in rows.items():
            self.notifier.closed(execution_id, row)

    async def _check_awaited(self) -> None:
        ids = self.notifier.awaited_executions()

        def statuses(tx: Transaction) -> list[str]:
            closed = []
            for execution_id in ids:
                row = tx.get_execution(execution_id)
                if row is not None and row.status != WorkflowStatus.RUNNING.value:
                    closed.append(execution_id)
            return closed

        for execution_id in await self.store.read(statuses):
            self.notifier.closed(execution_id)

    # executions

    async def start_workflow(self, execution_id: str, workflow: str, args: str) -> bool:
        """Start an execution; False if it existed already."""
        now = self.clock.now_ms()
        return await self._run(lambda tx: workflows.start(tx, execution_id, workflow, args, now))

    async def is_known_workflow(self, name: str) -> bool:
        """Whether a worker ever registered a workflow of this name with the store."""
        return await self.store.read(lambda tx: tx.is_known_workflow(name))

    async def cancel_workflow(self, execution_id: str) -> None:
        """Request cancellation of an execution."""
        now = self.clock.now_ms()
        await self._run(lambda tx: workflows.request_cancel(tx, execution_id, now))

    async def get_execution(self, execution_id: str) -> ExecutionRow:
        """The stored row of an execution.

        Raises:
            ExecutionNotFound: no execution has this id.
        """
        row = await self.store.read(lambda tx: tx.get_execution(execution_id))
        if row is None:
            raise ExecutionNotFound(execution_id)
        return row

    async def wait_for_close(self, execution_id: str, timeout: float | None = None) -> ExecutionRow:
        """Wait until an execution closes and return its row (or the running row on timeout)."""
        while True:
            waiter = self.notifier.close_waiter(execution_id)
            try:
                row = await self.get_execution(execution_id)
                if row.status != WorkflowStatus.RUNNING.value:
                    return row
                try:
                    final = await asyncio.wait_for(asyncio.shield(waiter), timeout)
                except TimeoutError:
                    return await self.get_execution(execution_id)
                if final is not None:
                    return final
            finally:
                self.notifier.drop_close_waiter(execution_id, waiter)

    async def load_events(self, execution_id: str) -> list[Event]:
        """The whole history of an execution, as the runtime replays it."""
        return await self.store.read(lambda tx: tx.load_events(execution_id))

    async def describe(self, execution_id: str) -> WorkflowDescription:
        """Describe an execution."""
        return await self.store.read(lambda tx: queries.describe(tx, execution_id))

    async def history(self, execution_id: str) -> list[HistoryEvent]:
        """Every event of an execution."""
        return await self.store.read(lambda tx: queries.history(tx, execution_id))

    async def list_workflows(
        self, *, status: str | None, workflow: str | None, limit: int, offset: int
    ) -> list[WorkflowSummary]:
        """A page of executions, newest first."""
        rows = await self.store.read(
            lambda tx: tx.list_executions(status=status, workflow=workflow, limit=limit, offset=offset)
        )
        return [queries.summary(r) for r in rows]

    # activities, by token

    def _verify(self, tx: Transaction, token: str, now: int) -> TokenClaims:
        return self._keys.verify(tx, token, now)

    async def complete_activity(self, token: str, result: str) -> bool:
        """Complete an activity by token; False if this same completion was already recorded."""
        now = self.clock.now_ms()
        return await self._run(
            lambda tx: activities.complete(tx, self._verify(tx, token, now), result, now, check_type=True)
        )

    async def fail_activity(self, token: str, *, error: str, message: str, details: Any, non_retryable: bool) -> None:
        """Fail the attempt a token names."""
        now = self.clock.now_ms()
        fault = failure(error, message, details=details, non_retryable=non_retryable)
        await self._run(lambda tx: activities.fail(tx, self._verify(tx, token, now), fault, now))

    async def heartbeat_activity(self, token: str, details: str | None) -> HeartbeatResponse:
        """Record a heartbeat by token."""
        now = self.clock.now_ms()
        cancel = await self._run(lambda tx: activities.heartbeat(tx, self._verify(tx, token, now), details, now))
        return HeartbeatResponse(cancel_requested=cancel)

    async def report_activity_cancelled(self, token: str, details: str | None) -> bool:
        """Acknowledge cancellation by token; False if already acknowledged."""
        now = self.clock.now_ms()
        return await self._run(lambda tx: activities.report_cancelled(tx, self._verify(tx, token, now), details, now))

    async def rotate_signing_key(self) -> int:
        """Start signing new tokens with a new key; tokens of older keys still verify."""
        now = self.clock.now_ms()
        return await self._run(lambda tx: self._keys.rotate(tx, now))

    # activities, from the worker running them

    async def start_attempts(self, names: list[str], limit: int, worker: str) -> list[AttemptStart]:
        """Claim queued attempts of the named activities for ``worker``."""
        now = self.clock.now_ms()
        return await self._run(lambda tx: activities.start_attempts(tx, names, limit, now, self._keys.sign, worker))

    async def renew_worker(self, owner: str, lease_ms: int) -> None:
        """Record that a worker is alive for ``lease_ms`` more."""
        until = self.clock.now_ms() + lease_ms
        await self.store.run(lambda tx: tx.renew_worker(owner, until))

    async def remove_worker(self, owner: str) -> None:
        """Forget a worker that stopped gracefully."""
        await self.store.run(lambda tx: tx.remove_worker(owner))

    async def record_attempt(self, claims: TokenClaims, outcome: AttemptOutcome) -> None:
        """Record how an attempt run by a worker ended."""
        now = self.clock.now_ms()
        await self._run(lambda tx: activities.record(tx, claims, outcome, now))

    def record_attempt_in_thread(
        self,
        claims: TokenClaims,
        outcome: AttemptOutcome,
        done: Callable[[dispatch.Pushed | None, BaseException | None], None],
    ) -> None:
        """Record how an attempt ended, from the worker thread that ran it (only when :attr:`runs_in_thread`).

        ``done`` is called once it committed (or failed), with the work the transition
        pushed to the local worker (the workflow's next activity, say): on the calling
        thread if it ran the store's batch itself, else on the store's thread.

        Raises:
            StoreUnavailable: the store is closed.
        """
        now = self.clock.now_ms()

        def recorded(result: tuple[None, dispatch.Pushed | None] | None, error: BaseException | None) -> None:
            done(None if result is None else result[1], error)

        self._run_in_thread(lambda tx: activities.record(tx, claims, outcome, now), recorded)

    async def attempt_heartbeat(self, claims: TokenClaims, details: str | None) -> bool:
        """An in-process heartbeat; returns whether cancellation was requested."""
        now = self.clock.now_ms()
        return await self._run(lambda tx: activities.heartbeat(tx, claims, details, now))

    # workflow tasks

    async def claim_workflow_tasks(
        self, *, owner: str, workflows_: list[str], limit: int, lease_ms: int, cached_seq: dict[str, int]
    ) -> list[WorkflowTask]:
        """Lease ready workflow tasks with the events the worker needs."""
        now = self.clock.now_ms()
        return await self._run(
            lambda tx: workflows.claim_tasks(
                tx, owner=owner, workflows=workflows_, limit=limit, now_ms=now, lease_ms=lease_ms,
                cached_seq=cached_seq,
            )
        )  # fmt: skip

    async def complete_workflow_task(
        self,
        *,
        execution_id: str,
        owner: str,
        seen_seq: int,
        task_now_ms: int,
        commands: list[Command],
        instance: dispatch.CachedExecution | None = None,
    ) -> int | None:
        """Commit a workflow task's commands; None if the lease was lost.

        ``instance``, the worker's instance that ran the task, goes back to the local
        worker's cache with the commit, before the work the task created is handed over:
        an activity that finishes at once finds it there.
        """
        now = self.clock.now_ms()
        worker = self._local

        def body(tx: Transaction) -> int | None:
            last = workflows.complete_task(
                tx, execution_id=execution_id, owner=owner, seen_seq=seen_seq, task_now_ms=task_now_ms,
                commands=commands, now_ms=now,
            )  # fmt: skip
            if last is not None and instance is not None and worker is not None:
                instance.committed_seq = last
                tx.after_commit(lambda: worker.accept(dispatch.Pushed([], [], [instance])))
            return last

        return await self._run(body)

    async def fail_workflow_task(self, *, execution_id: str, owner: str, error: dict[str, Any]) -> None:
        """Record a failed workflow task."""
        now = self.clock.now_ms()
        await self._run(
            lambda tx: workflows.fail_task(tx, execution_id=execution_id, owner=owner, error=error, now_ms=now)
        )

    async def release_workflow_tasks(self, owner: str) -> None:
        """Give back every workflow task lease ``owner`` holds."""
        await self._run(lambda tx: tx.release_workflow_tasks(owner))

    async def register_worker(self, workflow_names: list[str], owner: str) -> None:
        """Record the workflows a worker runs and retry tasks that failed before it started.

        Attempts still marked running under this worker's identity belong to an earlier
        process of the same identity, which is gone: they are retried now.
        """
        now = self.clock.now_ms()

        def register(tx: Transaction) -> None:
            tx.register_workflows(workflow_names)
            workflows.retry_failed_tasks(tx, now)
            activities.reap_lost_attempts(tx, "", now, limit=1_000_000, owner=owner)

        await self._run(register)

    # timers

    async def timer_pass(self, worker: str, limit: int = 500) -> tuple[int, int | None]:
        """Fire due timers and fail attempts of lost workers; return how many, and the next wake-up time."""
        now = self.clock.now_ms()

        def run(tx: Transaction) -> tuple[int, int | None]:
            done = timers.fire_due(tx, now, limit) + activities.reap_lost_attempts(tx, worker, now)
            return done, _earliest(tx, now, worker)

        return await self._run(run)

    async def next_wakeup_ms(self, worker: str = "") -> int | None:
        """The earliest time a timer falls due, a workflow task lease or another worker's lease expires."""
        now = self.clock.now_ms()

        return await self.store.read(lambda tx: _earliest(tx, now, worker))

    async def has_ready_work(self, workflows: list[str], activities: list[str]) -> bool:
        """Whether a workflow or activity task is waiting for a worker now."""
        now = self.clock.now_ms()
        return await self.store.read(lambda tx: tx.has_ready_work(now, workflows, activities))


def _earliest(tx: Transaction, now: int, worker: str) -> int | None:
    candidates = (tx.next_timer_due_ms(), tx.next_lease_expiry_ms(now), tx.next_worker_expiry_ms(now, worker))
    times = [t for t in candidates if t is not None]
    return min(times) if times else None
