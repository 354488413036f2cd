"""The engine: async entry points that run one transition each against the store."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from tether.engine import activities, api_keys, dispatch, keys, notifier, queries, timers, workflows
from tether.engine.activities import AttemptOutcome, AttemptStart
from tether.engine.workflows import WorkflowTask
from tether.errors import ExecutionIdTaken, ExecutionNotFound
from tether.model.access import Access, Action
from tether.model.clock import Clock
from tether.model.events import Command, Event, failure
from tether.model.records import (
    ApiKeyInfo,
    HeartbeatResponse,
    HistoryEvent,
    WaitingActivity,
    WorkflowDescription,
    WorkflowStatus,
    WorkflowSummary,
)
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
        closed = tx.closed_executions()
        awaited = [e for e in closed if self.notifier.is_awaited(e)] if closed else None
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
            elif key == "*":
                topics.update(notifier.TOPICS)
            elif key == "external":
                pass  # another process committed: closed executions are looked up below
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

        # One query for all of them: a process awaiting many results while workers elsewhere
        # commit (each commit reported as "external") must not read them one by one.
        for execution_id in await self.store.read(lambda tx: tx.closed_among(sorted(ids))):
            self.notifier.closed(execution_id)

    # executions

    async def start_workflow(
        self, execution_id: str, workflow: str, args: str, *, access: Access | None = None
    ) -> bool:
        """Start an execution; False if it existed already.

        Raises:
            PermissionDenied: ``access`` may not start this workflow.
            ExecutionIdTaken: the id is taken by an execution of another workflow.
        """
        if access is not None:
            access.require(Action.START_WORKFLOWS, workflow)
        now = self.clock.now_ms()

        def start(tx: Transaction) -> bool:
            try:
                return workflows.start(tx, execution_id, workflow, args, now)
            except ExecutionIdTaken as taken:
                if access is None or access.allows(Action.READ_WORKFLOWS, taken.workflow):
                    raise
                # The id is taken by an execution this caller may not see: say so, name nothing.
                raise ExecutionIdTaken(execution_id, requested=workflow) from None

        return await self._run(start)

    async def is_known_workflow(self, name: str) -> bool:
        """Whether a worker ever registered a workflow of this name with the store."""
        return await self.store.read(lambda tx: tx.is_known_workflow(name))

    async def cancel_workflow(self, execution_id: str, *, access: Access | None = None) -> None:
        """Request cancellation of an execution."""
        now = self.clock.now_ms()

        def cancel(tx: Transaction) -> None:
            _permit(tx, execution_id, access, Action.WRITE_WORKFLOWS)
            workflows.request_cancel(tx, execution_id, now)

        await self._run(cancel)

    async def get_execution(self, execution_id: str, *, access: Access | None = None) -> ExecutionRow:
        """The stored row of an execution.

        Raises:
            ExecutionNotFound: no execution has this id.
            PermissionDenied: ``access`` may not read this execution.
        """
        return await self.store.read(lambda tx: _permit(tx, execution_id, access, Action.READ_WORKFLOWS))

    async def wait_for_close(
        self, execution_id: str, timeout: float | None = None, *, access: Access | None = None
    ) -> ExecutionRow:
        """Wait until an execution closes and return its row (or the running row on timeout)."""
        self.notifier.result_waiter_entered()
        try:
            while True:
                waiter = self.notifier.close_waiter(execution_id)
                try:
                    row = await self.get_execution(execution_id, access=access)
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
        finally:
            self.notifier.result_waiter_left()

    async def load_events(self, execution_id: str) -> list[Event]:
        """The whole history of an execution, as the runtime replays it."""
        return await self.store.read(lambda tx: tx.load_events(execution_id))

    async def describe(self, execution_id: str, *, access: Access | None = None) -> WorkflowDescription:
        """Describe an execution."""

        def describe(tx: Transaction) -> WorkflowDescription:
            _permit(tx, execution_id, access, Action.READ_WORKFLOWS)
            return queries.describe(tx, execution_id)

        return await self.store.read(describe)

    async def history(self, execution_id: str, *, access: Access | None = None) -> list[HistoryEvent]:
        """Every event of an execution."""

        def history(tx: Transaction) -> list[HistoryEvent]:
            _permit(tx, execution_id, access, Action.READ_WORKFLOWS)
            return queries.history(tx, execution_id)

        return await self.store.read(history)

    async def list_workflows(
        self,
        *,
        status: str | None,
        workflow: str | None,
        limit: int,
        offset: int,
        access: Access | None = None,
        id_prefix: str | None = None,
    ) -> list[WorkflowSummary]:
        """A page of executions, newest first; only those of workflows ``access`` may read."""
        patterns = access.patterns(Action.READ_WORKFLOWS) if access is not None else None
        rows = await self.store.read(
            lambda tx: tx.list_executions(
                status=status, workflow=workflow, limit=limit, offset=offset, workflow_patterns=patterns,
                id_prefix=id_prefix,
            )
        )  # fmt: skip
        return [queries.summary(r) for r in rows]

    async def list_waiting_activities(
        self, *, inbox_only: bool, limit: int, offset: int, access: Access | None = None
    ) -> list[WaitingActivity]:
        """Activities waiting in their async state, longest first; only of workflows ``access`` may write to."""
        patterns = access.patterns(Action.WRITE_ACTIVITIES) if access is not None else None
        rows = await self.store.read(
            lambda tx: tx.waiting_activities(
                inbox_only=inbox_only, limit=limit, offset=offset, workflow_patterns=patterns
            )
        )
        return [queries.waiting(row, workflow, note) for row, workflow, note in rows]

    async def waiting_activity(
        self, execution_id: str, activity_id: int, *, access: Access | None = None
    ) -> WaitingActivity | None:
        """One activity as the inbox shows it, if it waits in its async state now.

        Raises:
            ExecutionNotFound: no execution has this id.
            PermissionDenied: ``access`` may not write to activities of this workflow.
        """

        def read(tx: Transaction) -> WaitingActivity | None:
            execution = _permit(tx, execution_id, access, Action.WRITE_ACTIVITIES)
            row = tx.get_activity(execution_id, activity_id)
            if row is None or row.state != "async":
                return None
            return queries.waiting(row, execution.workflow, tx.inbox_note(execution_id, activity_id))

        return await self.store.read(read)

    async def complete_attempt(
        self, execution_id: str, activity_id: int, attempt: int, result: str, *, access: Access | None = None
    ) -> bool:
        """Complete an attempt named without its token (a person in the web UI): as ``complete_activity`` does.

        Raises:
            PermissionDenied: ``access`` may not write to activities of this workflow.
            StaleToken, ActivityAlreadyClosed, InvalidPayload: as for a completion by token.
        """
        now = self.clock.now_ms()
        claims = TokenClaims(execution_id=execution_id, activity_id=activity_id, attempt=attempt)

        def complete(tx: Transaction) -> bool:
            _permit(tx, execution_id, access, Action.WRITE_ACTIVITIES)
            return activities.complete(tx, claims, result, now, check_type=True)

        return await self._run(complete)

    async def fail_attempt(
        self,
        execution_id: str,
        activity_id: int,
        attempt: int,
        *,
        error: str,
        message: str,
        non_retryable: bool,
        access: Access | None = None,
    ) -> None:
        """Fail an attempt named without its token (a person in the web UI): as ``fail_activity`` does."""
        now = self.clock.now_ms()
        claims = TokenClaims(execution_id=execution_id, activity_id=activity_id, attempt=attempt)
        fault = failure(error, message, non_retryable=non_retryable)

        def fail(tx: Transaction) -> None:
            _permit(tx, execution_id, access, Action.WRITE_ACTIVITIES)
            activities.fail(tx, claims, fault, now)

        await self._run(fail)

    # API keys

    async def create_api_key(self, name: str, scopes: list[str]) -> tuple[ApiKeyInfo, str]:
        """Create an API key; returns it with its plain text, which nothing keeps.

        Raises:
            InvalidPayload: no scope, a malformed scope, or an empty name.
        """
        parsed = api_keys.parse_scopes(scopes)
        now = self.clock.now_ms()
        return await self.store.run(lambda tx: api_keys.create(tx, name, parsed, now))

    async def list_api_keys(self) -> list[ApiKeyInfo]:
        """Every API key, revoked ones included."""
        return await self.store.read(lambda tx: [api_keys.info(r) for r in tx.list_api_keys()])

    async def revoke_api_key(self, key: str) -> ApiKeyInfo:
        """Revoke an API key by id (or by name, if one active key has it).

        Raises:
            ApiKeyNotFound: no such active key.
        """
        now = self.clock.now_ms()
        return await self.store.run(lambda tx: api_keys.revoke(tx, key, now))

    async def authenticate(self, presented: str | None, *, open_without_keys: bool) -> Access:
        """The access an API key grants (see ``api_keys.authenticate``).

        Raises:
            Unauthenticated: a key is needed and missing, or it is unknown or revoked.
        """
        return await self.store.read(
            lambda tx: api_keys.authenticate(tx, presented, open_without_keys=open_without_keys)
        )

    async def has_api_keys(self) -> bool:
        """Whether any API key is active."""
        return await self.store.read(lambda tx: tx.has_active_api_keys())

    # activities, by token

    def _verify(self, tx: Transaction, token: str, now: int, access: Access | None = None) -> TokenClaims:
        claims = self._keys.verify(tx, token, now)
        _permit(tx, claims.execution_id, access, Action.WRITE_ACTIVITIES)
        return claims

    async def complete_activity(self, token: str, result: str, *, access: Access | None = None) -> bool:
        """Complete an activity by token; False if this same completion was already recorded."""
        now = self.clock.now_ms()
        return await self._run(
            lambda tx: activities.complete(tx, self._verify(tx, token, now, access), result, now, check_type=True)
        )

    async def fail_activity(
        self, token: str, *, error: str, message: str, details: Any, non_retryable: bool, access: Access | None = None
    ) -> None:
        """Fail the attempt a token names."""
        now = self.clock.now_ms()
        fault = failure(error, message, details=details, non_retryable=non_retryable)
        await self._run(lambda tx: activities.fail(tx, self._verify(tx, token, now, access), fault, now))

    async def heartbeat_activity(
        self, token: str, details: str | None, *, access: Access | None = None
    ) -> HeartbeatResponse:
        """Record a heartbeat by token."""
        now = self.clock.now_ms()
        cancel = await self._run(
            lambda tx: activities.heartbeat(tx, self._verify(tx, token, now, access), details, now)
        )
        return HeartbeatResponse(cancel_requested=cancel)

    async def report_activity_cancelled(self, token: str, details: str | None, *, access: Access | None = None) -> bool:
        """Acknowledge cancellation by token; False if already acknowledged."""
        now = self.clock.now_ms()
        return await self._run(
            lambda tx: activities.report_cancelled(tx, self._verify(tx, token, now, access), details, now)
        )

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

    async def release_workflow_task(self, execution_id: str, owner: str) -> bool:
        """Offer a task ``owner`` leased to workers again now; False if the lease was gone."""
        now = self.clock.now_ms()
        return await self._run(
            lambda tx: workflows.release_task(tx, execution_id=execution_id, owner=owner, now_ms=now)
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


def _permit(tx: Transaction, execution_id: str, access: Access | None, action: Action) -> ExecutionRow:
    """The execution's row, once ``access`` is allowed ``action`` on its workflow.

    Raises:
        ExecutionNotFound: no execution has this id.
        PermissionDenied: ``access`` may not do ``action`` to this execution's workflow.
    """
    row = tx.get_execution(execution_id)
    if row is None:
        raise ExecutionNotFound(execution_id)
    if access is not None:
        access.require(action, row.workflow)
    return row
