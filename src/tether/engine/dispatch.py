"""Pushing new work to a worker in this process, inside the transition that created it.

A transition that queues a workflow task or an activity attempt leases it to the local
worker in the same transaction and hands it over once the transaction commits: no second
transaction to claim it and no wake-up to notice it. When the worker holds the execution
in its cache, the workflow task runs right there, in the same transaction, so that an
activity's completion and the workflow's next step share one commit. Work the local
worker cannot take (other workflow names, no free slot) stays queued for polling workers.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from tether.engine import activity_starts, observation, tracing, workflows
from tether.engine.activity_starts import AttemptStart, Signer
from tether.engine.workflows import WorkflowTask
from tether.model.events import Command, Event, EventType
from tether.store.base import Transaction

logger = logging.getLogger(__name__)

_MAX_ROUNDS = 4


class CachedExecution(Protocol):
    """A workflow instance the worker keeps in memory between tasks."""

    execution_id: str
    loaded_seq: int
    committed_seq: int
    now_ms: int
    finished: bool

    def activate(self, events: list[Event], now_ms: int) -> list[Command]:
        """Read new history events and run the workflow until it blocks."""
        ...


@dataclass(frozen=True, slots=True)
class LocalWorker:
    """What the engine needs to push work to a worker in this process."""

    owner: str
    workflows: frozenset[str]
    activities: frozenset[str]
    lease_ms: int
    cached_seq: dict[str, int]
    """The worker's cached position per execution (read on the store's thread)."""
    reserve_slot: Callable[[], bool]
    """Take one activity slot if one is free; thread-safe."""
    release_slot: Callable[[], None]
    """Give back a slot that was reserved but not used; thread-safe."""
    take_cached: Callable[[str], CachedExecution | None]
    """Take an execution out of the worker's cache to run it here; thread-safe."""
    accept: Callable[[Pushed], None]
    """Called on the event loop after the commit of a transition the loop submitted."""
    history_limit: int | None = None
    """Events past which a run's workflow tasks go to the worker (which refuses them) instead of running here."""
    limited: frozenset[str] = frozenset()
    """Activities with limits across workers: their attempts are claimed behind their limiter, never pushed."""
    tracer: tracing.Tracer = field(default_factory=tracing.Tracer)
    """Makes the spans of the workflow tasks that run here."""
    awaits_only: Callable[[str, int], bool] = lambda execution_id, activity_id: False
    """Whether the worker's cached instance of an execution awaits that activity and nothing else
    (read on any thread; a hint: its workflow may close once the activity's result is in)."""
    advance_cached: Callable[[str, int, int], None] = lambda execution_id, seen, to: None
    """Move the cached instance of an execution from having seen ``seen`` to ``to``, if it is there
    and stands at ``seen``; thread-safe (see ``_skip_records``)."""
    takes_work: Callable[[], bool] = lambda: True
    """Whether the worker still takes work (False once it stops); read inside each transition, on any thread."""


@dataclass(frozen=True, slots=True)
class Pushed:
    """Work a transition leased to the local worker, to be handed over once it commits."""

    tasks: list[WorkflowTask]
    """Workflow tasks to run."""
    starts: list[AttemptStart]
    """Attempts to run."""
    ran: list[CachedExecution]
    """Instances that ran a task inside the transition, to cache again."""


def push(
    tx: Transaction,
    worker: LocalWorker,
    now_ms: int,
    sign: Signer,
    ran_before: dict[str, CachedExecution] | None = None,
) -> Pushed | None:
    """Lease what this transition queued to ``worker``; the caller hands it over after commit.

    ``ran_before`` names instances whose task the transition itself completed: like those
    that run here, they skip their own events unless an input event came after them.

    Nothing is leased to a worker that has begun to stop (it would drop the work, leased
    until the lease ran out): the work stays queued, and the polling loops are woken for it.
    """
    if not worker.takes_work():
        return None
    tasks: list[WorkflowTask] = []
    starts: list[AttemptStart] = []
    ran: list[CachedExecution] = []
    # Instances that ran here and got no new input events since (see _skip_own_events).
    unchanged: dict[str, CachedExecution] = dict(ran_before) if ran_before else {}
    tasked: set[str] = set()
    for _ in range(_MAX_ROUNDS):
        queued_workflows, queued_attempts = tx.take_enqueued()
        if not queued_workflows and not queued_attempts:
            _skip_own_events(tx, unchanged)
            _skip_records(tx, worker, tasked, unchanged)
            break
        tasked.update(queued_workflows)
        for execution_id in dict.fromkeys(queued_workflows):
            unchanged.pop(execution_id, None)
            task = workflows.claim_task(
                tx,
                execution_id,
                owner=worker.owner,
                workflows=worker.workflows,
                now_ms=now_ms,
                lease_ms=worker.lease_ms,
                cached_seq=worker.cached_seq,
                history_limit=worker.history_limit,
            )
            if task is None:
                tx.wake("workflows")
                continue
            instance = _run_here(tx, worker, task, now_ms)
            if instance is None:
                tasks.append(task)
            else:
                ran.append(instance)
                unchanged[execution_id] = instance
        for queued in queued_attempts:
            if queued.name not in worker.activities or queued.name in worker.limited or not worker.reserve_slot():
                tx.wake("activities")
                continue
            try:
                start = (
                    activity_starts.start_attempt(tx, queued, now_ms, sign, worker.owner)
                    if tx.claim_activity_task(queued)
                    else None
                )
            except BaseException:
                worker.release_slot()
                raise
            if start is None:
                worker.release_slot()
                tx.wake("activities")
            else:
                # The slot is given back with the attempt's end, or now if this never commits.
                tx.on_rollback(worker.release_slot)
                starts.append(start)
    if tasks or starts or ran:
        return Pushed(tasks, starts, ran)
    return None


def _skip_own_events(tx: Transaction, unchanged: dict[str, CachedExecution]) -> None:
    """Move instances that ran here past the events written after their run in this transition.

    Those are the instance's own task marker and commands and records such as the start
    of the attempt it scheduled, none of which it reads: every input event comes with a
    queued workflow task, and none was queued for these executions after they ran. The
    next task then loads only what other transitions append, often from memory.
    """
    for execution_id, instance in unchanged.items():
        execution = tx.get_execution(execution_id)
        if execution is not None and execution.last_seq > instance.loaded_seq:
            instance.loaded_seq = execution.last_seq


def _skip_records(tx: Transaction, worker: LocalWorker, tasked: set[str], ran: dict[str, CachedExecution]) -> None:
    """Move cached instances past the events this transition appended without queueing their workflow a task.

    Those are records the workflow does not read (an attempt started, went async, failed
    and will be retried): every input event comes with a queued task. An instance that had
    seen everything before them then needs no read of them when its next task runs here,
    often inside the transition that records an activity's completion. Undone if this
    transition does not commit (the instance would stand past the stored history, and be
    replayed from the start).
    """
    appended = tx.appended_from()
    if not appended:
        return
    cached_seq = worker.cached_seq
    for execution_id, first in appended.items():
        seen = first - 1
        if cached_seq.get(execution_id) != seen or execution_id in tasked or execution_id in ran:
            continue
        execution = tx.get_execution(execution_id)
        if execution is None or execution.last_seq <= seen:
            continue
        to = execution.last_seq
        worker.advance_cached(execution_id, seen, to)
        tx.on_rollback(functools.partial(worker.advance_cached, execution_id, to, seen))


def cached_fits(instance: CachedExecution | None, task: WorkflowTask) -> bool:
    """Whether a cached instance can run ``task`` from where it stands (it read no further than the store has)."""
    return instance is not None and not task.discard_cached and instance.loaded_seq >= task.from_seq


def _run_here(tx: Transaction, worker: LocalWorker, task: WorkflowTask, now_ms: int) -> CachedExecution | None:
    """Run a leased workflow task of a cached execution inside this transaction, if possible."""
    # Only executions the worker already holds run here: a first task (which must create
    # the instance) is cheaper on the worker's own thread, leaving the writer free.
    if worker.history_limit is not None and task.execution.last_seq > worker.history_limit:
        return None
    instance = worker.take_cached(task.execution_id)
    if instance is None or not cached_fits(instance, task):
        return None
    events = [e for e in task.events if e.seq > instance.loaded_seq]
    if any(e.type == EventType.EXECUTION_RESUMED for e in events):
        return None  # a resume undid part of what the instance ran: the worker replays the history anew
    noted = observation.mark() if observation.observers else 0
    tracer = worker.tracer
    try:
        if not tracer.enabled:  # checked once: an untraced task pays this and no more (no span to enter)
            last = _complete_here(tx, worker, task, instance, events, now_ms)
        else:
            tracer.look_up(tx, task.execution_id)
            with tracer.workflow_task(task.execution_id, task.workflow, events, fresh=False, inline=True):
                last = _complete_here(tx, worker, task, instance, events, now_ms)
    except Exception:
        observation.drop_since(noted)  # rolled back: the worker runs the task again
        # The instance may be half-advanced: drop it; the worker replays the task from history.
        logger.debug("workflow task could not run inline", exc_info=True, extra={"execution_id": task.execution_id})
        return None
    if last is None:
        return None
    instance.committed_seq = last
    return instance


def _complete_here(
    tx: Transaction,
    worker: LocalWorker,
    task: WorkflowTask,
    instance: CachedExecution,
    events: list[Event],
    now_ms: int,
) -> int | None:
    with tx.savepoint():
        commands = instance.activate(events, now_ms)
        return workflows.complete_task(
            tx,
            execution_id=task.execution_id,
            owner=worker.owner,
            leased_until_ms=task.leased_until_ms,
            seen_seq=instance.loaded_seq,
            task_now_ms=instance.now_ms,
            commands=commands,
            now_ms=now_ms,
            claimed=task.execution,
        )
