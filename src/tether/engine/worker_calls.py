"""The engine's calls a worker makes: attempts, workflow tasks, timers and its own liveness."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, assert_never

from tether.engine import (
    activities,
    activity_cancels,
    activity_starts,
    deadlines,
    dispatch,
    flow_control,
    timers,
    workflows,
)
from tether.engine.activities import AttemptOutcome
from tether.engine.activity_starts import AttemptStart
from tether.engine.core import EngineCore
from tether.engine.workflows import WorkflowTask
from tether.model.events import Command
from tether.model.flow_control import FlowLimit
from tether.model.tokens import ActivityClaims, TokenClaims
from tether.store.base import Touches, TouchesAhead, Transaction


@dataclass(frozen=True, slots=True)
class AttemptDeadlines:
    """When the deadlines of an open attempt fall, as the store has them (UTC ms; None: no such deadline)."""

    attempt_ms: int | None
    heartbeat_ms: int | None
    """From the last heartbeat, by token or in-process, or from the attempt's start."""
    total_ms: int | None


class WorkerCalls(EngineCore):
    """Transitions for workers: claim and record attempts and workflow tasks, fire timers, renew leases."""

    # activities, from the worker running them

    async def start_attempts(self, names: list[str], limit: int, worker: str) -> list[AttemptStart]:
        """Claim queued attempts of the named activities for ``worker``."""
        now = self.clock.now_ms()
        return await self._run(
            lambda tx: activity_starts.start_attempts(tx, names, limit, now, self._keys.sign, worker)
        )

    async def claim_attempts(
        self, names: list[str], limit: int, worker: str, limits: Mapping[str, FlowLimit]
    ) -> flow_control.Claimed:
        """Claim queued attempts of the named activities for ``worker``, those in ``limits`` within their limits.

        Limited activities are claimed first, each behind its limiter (see ``engine.flow_control``),
        then the others with what is left of ``limit``.
        """
        now = self.clock.now_ms()
        sign = self._keys.sign
        limited = {name: limits[name] for name in names if name in limits}
        unlimited = [name for name in names if name not in limits]

        def claim(tx: Transaction) -> flow_control.Claimed:
            claimed = flow_control.start_limited(
                tx, limited, limit, now, lambda task: activity_starts.start_attempt(tx, task, now, sign, worker)
            )
            rest = limit - len(claimed.starts)
            if rest <= 0 or not unlimited:
                return claimed
            more = activity_starts.start_attempts(tx, unlimited, rest, now, sign, worker)
            return flow_control.Claimed([*claimed.starts, *more], claimed.held, claimed.retry_at_ms)

        return await self._run(claim)

    def activity_token(self, execution_id: str, activity_id: int) -> str:
        """The activity token of an activity whose attempt this process started (signed on demand, off the store).

        Signed when activity code first reads ``ctx.activity_token``, rather than with every
        attempt's start: most activities never hand it out.
        """
        return self._keys.sign_known(ActivityClaims(execution_id, activity_id))

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
        seen, touches = self._recording_ahead(claims, self._local)
        await self._run(self._recording(claims, outcome, now, seen), touches=touches)

    def _recording_ahead(
        self, claims: TokenClaims, worker: dispatch.LocalWorker | None
    ) -> tuple[int | None, TouchesAhead]:
        """The last event of the attempt's execution ``worker`` has seen, and what recording the attempt touches.

        The touches are made only if the store asks for them as it puts its batch together
        (PostgreSQL reads ahead; SQLite never asks).
        """
        execution_id = claims.execution_id
        touches = functools.partial(
            self._closing_touches, execution_id, claims.activity_id, announced=claims.attempt > 1, worker=worker
        )
        return self._seen_by_worker(execution_id, worker), touches

    def _recording(
        self, claims: TokenClaims, outcome: AttemptOutcome, now: int, seen: int | None
    ) -> Callable[[Transaction], None]:
        """The transition recording an attempt's outcome; ``seen``: the last event of it the local worker has."""

        def record(tx: Transaction) -> None:
            if seen is not None:
                tx.expect_events(claims.execution_id, seen)
            _record_outcome(tx, claims, outcome, now)

        return record

    def record_attempt_in_thread(
        self,
        claims: TokenClaims,
        outcome: AttemptOutcome,
        done: Callable[[dispatch.Pushed | None, BaseException | None], None],
        worker: dispatch.LocalWorker,
    ) -> None:
        """Record how an attempt ended, from the thread of ``worker`` that ran it (only when :attr:`runs_in_thread`).

        ``done`` is called once it committed (or failed), with the work the transition
        pushed to ``worker`` (the workflow's next activity, say): on the calling thread if it
        ran the store's batch itself, else on the store's thread.

        Raises:
            StoreUnavailable: the store is closed.
        """
        now = self.clock.now_ms()

        def recorded(result: tuple[None, dispatch.Pushed | None] | None, error: BaseException | None) -> None:
            done(None if result is None else result[1], error)

        seen, touches = self._recording_ahead(claims, worker)
        self._run_in_thread(self._recording(claims, outcome, now, seen), recorded, worker, touches=touches)

    async def attempt_deadlines(self, claims: TokenClaims) -> AttemptDeadlines:
        """The deadlines of an attempt a worker runs, for it to learn when its attempt is over.

        A deadline that has passed is applied here, at its own time, if no timer (here
        or in another process) did so yet: the attempt is then over.

        Raises:
            StaleToken: the attempt is over; ActivityAlreadyClosed: the activity closed;
                ExecutionNotFound: the execution is gone. Each is what a heartbeat of the
                attempt would be refused with.
        """
        now = self.clock.now_ms()

        def check(tx: Transaction) -> AttemptDeadlines:
            row, lapsed = activities.load(tx, claims, now)
            activities.require_current(row, claims, lapsed)
            options = activities.options_of(row.options)
            return AttemptDeadlines(
                deadlines.attempt_deadline(row, options),
                deadlines.heartbeat_deadline(row, options),
                deadlines.total_deadline(row, options),
            )

        return await self._run(check)

    async def attempt_heartbeat(self, claims: TokenClaims, details: str | None) -> bool:
        """An in-process heartbeat; returns whether cancellation was requested."""
        now = self.clock.now_ms()
        return await self._run(lambda tx: activities.heartbeat(tx, claims, details, now))

    # workflow tasks

    async def claim_workflow_tasks(
        self,
        *,
        owner: str,
        workflows_: list[str],
        limit: int,
        lease_ms: int,
        cached_seq: dict[str, int],
        history_limit: int | None = None,
    ) -> list[WorkflowTask]:
        """Lease ready workflow tasks with the events the worker needs (none for runs past ``history_limit``)."""
        now = self.clock.now_ms()
        return await self._run(
            lambda tx: workflows.claim_tasks(
                tx, owner=owner, workflows=workflows_, limit=limit, now_ms=now, lease_ms=lease_ms,
                cached_seq=cached_seq, history_limit=history_limit,
            )
        )  # fmt: skip

    async def complete_workflow_task(
        self,
        *,
        execution_id: str,
        owner: str,
        leased_until_ms: int,
        seen_seq: int,
        task_now_ms: int,
        commands: list[Command],
        instance: dispatch.CachedExecution | None = None,
        deadline_ms: int | None = None,
    ) -> int | None:
        """Commit a workflow task's commands; None if the lease was lost.

        ``owner`` and ``leased_until_ms`` name the claim the task ran under (its
        ``WorkflowTask.leased_until_ms``): a run that outlasted it is refused once the task
        was claimed again.

        ``deadline_ms``: a workflow deadline to arm with them (see ``workflows.complete_task``).

        ``instance``, the worker's instance that ran the task, goes back to the local
        worker's cache with the commit, before the work the task created is handed over:
        an activity that finishes at once finds it there.
        """
        now = self.clock.now_ms()
        worker = self._local
        ran: dict[str, dispatch.CachedExecution] = {}

        def body(tx: Transaction) -> int | None:
            # A transition lost to a deadlock is run again: undo what its first run did to these.
            ran.clear()
            if instance is not None:
                instance.loaded_seq = seen_seq
            execution = tx.get_execution(execution_id)
            # Nothing appended since the instance ran: what this transition appends is its own.
            caught_up = execution is not None and execution.last_seq == seen_seq
            last = workflows.complete_task(
                tx, execution_id=execution_id, owner=owner, leased_until_ms=leased_until_ms, seen_seq=seen_seq,
                task_now_ms=task_now_ms, commands=commands, now_ms=now, deadline_ms=deadline_ms,
            )  # fmt: skip
            if last is not None and instance is not None and worker is not None:
                instance.committed_seq = last
                if caught_up:
                    ran[execution_id] = instance  # its own events need not be loaded back (see dispatch.push)
                tx.after_commit(lambda: worker.accept(dispatch.Pushed([], [], [instance])))
            return last

        # A task whose commands close the workflow reads its open activities (to cancel them):
        # a store may read those with the lock the task takes first.
        return await self._run(
            body, ran=ran, touches=lambda: Touches(execution_id, reads_open_activities=workflows.closes(commands))
        )

    async def fail_workflow_task(
        self, *, execution_id: str, owner: str, leased_until_ms: int, error: dict[str, Any]
    ) -> None:
        """Record a failed workflow task (run under ``owner``'s lease until ``leased_until_ms``)."""
        now = self.clock.now_ms()
        await self._run(
            lambda tx: workflows.fail_task(
                tx, execution_id=execution_id, owner=owner, leased_until_ms=leased_until_ms, error=error, now_ms=now
            )
        )

    async def release_workflow_task(self, execution_id: str, owner: str, leased_until_ms: int) -> bool:
        """Offer a task ``owner`` leased until ``leased_until_ms`` to workers again now; False if the lease was gone."""
        now = self.clock.now_ms()
        return await self._run(
            lambda tx: workflows.release_task(
                tx, execution_id=execution_id, owner=owner, leased_until_ms=leased_until_ms, now_ms=now
            )
        )

    async def release_workflow_tasks(self, owner: str) -> None:
        """Give back every workflow task lease ``owner`` holds."""
        await self._run(lambda tx: tx.release_workflow_tasks(owner))

    async def register_worker(
        self, workflow_names: list[str], owner: str, *, message_schemas: dict[str, dict[str, str]] | None = None
    ) -> None:
        """Record the workflows a worker runs and retry tasks that failed before it started.

        ``message_schemas`` (by workflow, then message name) replace what each workflow declared
        before: senders anywhere are checked against the code workers run now.

        Attempts still marked running under this worker's identity belong to an earlier
        process of the same identity, which is gone: they are retried now.
        """
        now = self.clock.now_ms()

        def register(tx: Transaction) -> None:
            tx.register_workflows(workflow_names)
            for workflow, schemas in (message_schemas or {}).items():
                tx.register_message_schemas(workflow, schemas)
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
        """The earliest time a timer, a lease, a notification's (next) try or a schedule's occurrence falls due.

        Timers, workflow task leases, other workers' leases, notifications to deliver, and schedules.
        """
        now = self.clock.now_ms()

        def read(tx: Transaction) -> int | None:
            due = (_earliest(tx, now, worker), tx.next_outbox_due_ms(), tx.schedule_wakeups()[0])
            times = [t for t in due if t is not None]
            return min(times) if times else None

        return await self.store.read(read)

    async def has_ready_work(self, workflows: list[str], activities: list[str]) -> bool:
        """Whether a workflow or activity task is waiting for a worker now."""
        now = self.clock.now_ms()
        return await self.store.read(lambda tx: tx.has_ready_work(now, workflows, activities))


def _earliest(tx: Transaction, now: int, worker: str) -> int | None:
    candidates = (tx.next_timer_due_ms(), tx.next_lease_expiry_ms(now), tx.next_worker_expiry_ms(now, worker))
    times = [t for t in candidates if t is not None]
    return min(times) if times else None


def _record_outcome(tx: Transaction, claims: TokenClaims, outcome: AttemptOutcome, now_ms: int) -> None:
    """Record an attempt's outcome as its worker reports it (refused, like any call, once its deadline passed).

    Raises:
        ActivityAlreadyClosed: it closed otherwise before.
        StaleToken: the attempt is over.
    """
    match outcome.kind:
        case "completed":
            assert outcome.text is not None
            activities.complete(tx, claims, outcome.text, now_ms, check_type=False)
        case "failed":
            assert outcome.fault is not None
            activities.fail(tx, claims, outcome.fault, now_ms)
        case "went_async":
            activities.went_async(tx, claims, now_ms, inbox_note=outcome.text, notify=outcome.notify)
        case "cancelled":
            activity_cancels.report_cancelled(tx, claims, outcome.text, now_ms)
        case _:
            assert_never(outcome.kind)
