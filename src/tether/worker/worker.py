"""The worker: claims workflow tasks, activity attempts and due timers, and runs them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from tether import errors
from tether.engine import dispatch, tracing
from tether.engine import notifications as engine_notifications
from tether.engine.activities import AttemptOutcome
from tether.engine.activity_starts import AttemptStart
from tether.engine.engine import Engine
from tether.errors import UsageError
from tether.model import callback_tokens
from tether.model.clock import duration_ms
from tether.model.codecs import PayloadCodec
from tether.model.events import failure
from tether.model.options import RetryPolicy
from tether.model.tokens import TokenClaims
from tether.runtime.definitions import Activity, Workflow
from tether.worker import (
    activity_claims,
    activity_runner,
    back_off,
    deadline_watch,
    history_limits,
    retention,
    schedules,
    thread_attempts,
    workflow_tasks,
)
from tether.worker import notifications as worker_notifications
from tether.worker.daemon_pool import DaemonThreadPool
from tether.worker.instance_cache import InstanceCache
from tether.worker.running_attempts import Running, RunningAttempts

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

logger = logging.getLogger(__name__)

_LOOPS = ("workflows", "activities", "timers", "outbox", "schedules")
_SPARE_THREADS = 1_000
"""Threads the pool may lend beyond max_concurrent_activities: to attempts whose code still runs when they are over.

Slots bound the attempts that run at once; the pool only lends threads (as they are
needed). A sync attempt that timed out gives its slot back at once, but its thread is
busy until its code returns, and its retry must not wait for that thread.
"""


class EngineOwner(Protocol):
    """What a worker needs from its client: the engine over a store it can reach."""

    @property
    def engine(self) -> Engine:
        """The engine of an embedded or database client."""
        ...


class Worker:
    """Runs workflows and activities from the store a client is connected to.

    Use as ``async with Worker(client, workflows=[...], activities=[...]):`` or
    ``await worker.run()`` until cancelled. Leaving stops claiming work, finishes the
    workflow tasks under way, cancels running activity attempts (they are retried by
    their timeouts) and gives back the worker's workflow-task leases.

    Args:
        client: an embedded (``sqlite://``) client; the worker shares its store.
        max_concurrent_activities: attempts running at once; async ones free their slot.
        max_cached_workflows: executions kept in memory between tasks (0 replays every task).
        workflow_task_lease: how long a claimed workflow task is held before another worker may take it.
        history_warning: events in a run's history past which a warning is logged (once per
            execution), suggesting ``tether.ContinueAsNew``; None for no warning.
        history_limit: events in a run's history past which its workflow tasks are not run but
            fail with :class:`~tether.errors.HistoryTooLarge` (``describe(id).task_error``);
            None for no limit.
        retention: how long closed executions are kept; older ones are deleted with their history,
            a batch at a time (default: kept forever).
        public_url: the base URL third parties reach the tether server at (``https://host/base``);
            ``tether.context().callback_url()`` makes URLs under it, and raises UsageError without it;
            notifications of waiting activities carry callback URLs under it.
        notification_timeout: how long one try of a notification may take (connect to answer).
        notification_retry: how failed tries of a notification are retried, on the engine's clock
            (default: 30 tries over about a day, from 10 s to an hour apart); past its attempts the
            notification is marked failed.
        tracer_provider: where the spans of workflow tasks and activity attempts go (OpenTelemetry,
            the ``otel`` extra); default: the global provider, read at each span (none set: no spans).
    """

    def __init__(
        self,
        client: EngineOwner,
        *,
        workflows: Sequence[Workflow[..., Any]] = (),
        activities: Sequence[Activity[..., Any]] = (),
        max_concurrent_activities: int = 100,
        max_cached_workflows: int = 2000,
        workflow_task_lease: timedelta = timedelta(seconds=30),
        identity: str | None = None,
        history_warning: int | None = history_limits.DEFAULT_WARNING,
        history_limit: int | None = history_limits.DEFAULT_LIMIT,
        retention: timedelta | None = None,
        public_url: str | None = None,
        notification_timeout: timedelta = timedelta(seconds=10),
        notification_retry: RetryPolicy | None = None,
        codec: PayloadCodec | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        for item in workflows:
            if not isinstance(item, Workflow):
                raise UsageError(f"{item!r} is not a workflow; decorate it with @tether.workflow")
        for act in activities:
            if not isinstance(act, Activity):
                raise UsageError(f"{act!r} is not an activity; decorate it with @tether.activity")
        if max_concurrent_activities < 1:
            raise UsageError("max_concurrent_activities must be at least 1")
        if retention is not None and retention <= timedelta(0):
            raise UsageError("retention must be a positive duration (or None to keep closed executions)")
        if notification_timeout <= timedelta(0):
            raise UsageError("notification_timeout must be a positive duration")
        self._public_base = None if public_url is None else callback_tokens.public_base(public_url)
        self._notification_timeout_s = notification_timeout.total_seconds()
        self._notification_retry = notification_retry or engine_notifications.DEFAULT_RETRY
        self._engine = client.engine
        self._codec = codec or getattr(client, "codec", None)
        self._tracer = tracing.Tracer(tracer_provider)
        self._workflows = {w.name: w for w in workflows}
        self._activities = {a.name: a for a in activities}
        self._limits = {a.name: limit for a in activities if (limit := a.options.flow_limit) is not None}
        self._max_activities = max_concurrent_activities
        self._lease_ms = duration_ms(workflow_task_lease)
        self.identity = identity or f"worker-{uuid.uuid4().hex[:12]}"
        self._history = history_limits.HistoryLimits(history_warning, history_limit, self.identity)
        self._cache = InstanceCache(max_cached_workflows)
        self._executor: DaemonThreadPool | None = None
        self._group: asyncio.TaskGroup | None = None
        self._loops: list[asyncio.Task[None]] = []
        self._attempts: set[asyncio.Task[None]] = set()
        self._claims = activity_claims.ActivityClaims(
            self._engine, list(self._activities), self._limits, identity=self.identity,
            max_activities=max_concurrent_activities, start=self._start_attempt, park=self._park,
            unchanged=self._unchanged,
        )  # fmt: skip
        self._running = RunningAttempts(self._claims.release_slot, self._settled_threadsafe, self._watch_deadlines)
        self._deadlines: deadline_watch.DeadlineWatch | None = None
        self._retention_ms = None if retention is None else duration_ms(retention)
        # Per loop, while it waits: whether it still has nothing to do (see _park).
        self._parked: dict[str, Callable[[], bool] | None] = dict.fromkeys(_LOOPS, None)
        if self._retention_ms is not None:
            self._parked["retention"] = None
        self._threads: thread_attempts.ThreadAttempts | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks_in_flight: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self._idle_waiters = 0
        self._workflow_tasks = workflow_tasks.WorkflowTasks(
            self._engine, self._workflows, identity=self.identity, lease_ms=self._lease_ms, cache=self._cache,
            history=self._history, codec=self._codec, tracer=self._tracer, park=self._park,
            unchanged=self._unchanged, changed=self._changed.set,
        )  # fmt: skip
        self._stopping = False
        self._graceful = False
        self._local = dispatch.LocalWorker(
            owner=self.identity,
            workflows=frozenset(self._workflows),
            activities=frozenset(self._activities),
            lease_ms=self._lease_ms,
            cached_seq=self._cache.loaded_seq,
            reserve_slot=self._claims.reserve_slot,
            release_slot=self._claims.release_slot,
            take_cached=self._cache.take,
            awaits_only=self._cache.awaits_only,
            advance_cached=self._cache.advance,
            accept=self._accept,
            history_limit=self._history.limit,
            limited=frozenset(self._limits),
            tracer=self._tracer,
            takes_work=lambda: not self._stopping,
        )
        """What the engine pushes this worker's work through (the first worker attached gets the process's)."""

    # lifecycle

    async def __aenter__(self) -> Worker:
        self._loop = asyncio.get_running_loop()
        self._executor = DaemonThreadPool(self._max_activities + _SPARE_THREADS, thread_name_prefix="tether-activity")
        self._deadlines = deadline_watch.DeadlineWatch(self._engine, self._running, self._loop, self._changed.set)
        if self._engine.runs_in_thread:
            self._threads = thread_attempts.ThreadAttempts(
                self._engine,
                self._activities,
                self._executor,
                self._loop,
                attempts=self._running,
                local=self._local,
                keep=self._keep,
                accept=self._accept,
                release_slot=self._claims.release_slot,
                public_base=self._public_base,
                codec=self._codec,
                tracer=self._tracer,
            )
        if self._public_base is not None:
            await self._engine.load_signing_keys()  # callback URLs are signed in the activity, without I/O
        schemas = {name: workflow.message_schemas for name, workflow in self._workflows.items()}
        await self._engine.register_worker(sorted(self._workflows), self.identity, message_schemas=schemas)
        await self._engine.renew_worker(self.identity, self._lease_ms)
        await self._warn_of_unregistered_urls()
        self._group = asyncio.TaskGroup()
        await self._group.__aenter__()
        self._engine.attach_worker(self._local)
        self._loops = [
            self._group.create_task(self._keep_running(self._workflow_tasks.run), name="tether-workflow-tasks"),
            self._group.create_task(self._keep_running(self._claims.run), name="tether-activity-tasks"),
            self._group.create_task(self._keep_running(self._timer_loop), name="tether-timers"),
            self._group.create_task(self._keep_running(self._liveness_loop), name="tether-liveness"),
            self._group.create_task(self._keep_running(self._deadlines.run), name="tether-attempt-deadlines"),
            self._group.create_task(self._keep_running(self._deliveries().run), name="tether-notifications"),
            self._group.create_task(
                self._keep_running(schedules.Firing(self._engine, self._park).run), name="tether-schedules"
            ),
        ]
        if self._retention_ms is not None:
            sweep = retention.Sweep(self._engine, self._retention_ms, self._park)
            self._loops.append(self._group.create_task(self._keep_running(sweep.run), name="tether-retention"))
        return self

    async def _warn_of_unregistered_urls(self) -> None:
        """Say at start which ``notify=`` URLs have no sink: their notifications would be held."""
        registered = {sink.url for sink in await self._engine.list_sinks() if sink.disabled_at is None}
        for act in self._activities.values():
            for url in act.options.notify:
                if url not in registered:
                    logger.warning(
                        "activity %s notifies %s, for which no sink is registered: its notifications are held "
                        "until `tether sinks add %s`", act.name, url, url, extra={"worker": self.identity},
                    )  # fmt: skip

    def _deliveries(self) -> worker_notifications.Deliveries:
        return worker_notifications.Deliveries(
            self._engine, self.identity, self._park, timeout_s=self._notification_timeout_s,
            retry=self._notification_retry, public_base=self._public_base,
        )  # fmt: skip

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stop(graceful=True)

    async def run(self) -> None:
        """Run until cancelled, then shut down gracefully."""
        async with self:
            await asyncio.Event().wait()

    async def crash(self) -> None:
        """Stop at once as a killed process would: nothing is released or reported."""
        await self._stop(graceful=False)

    async def _stop(self, *, graceful: bool) -> None:
        if self._stopping or self._group is None:
            return
        self._stopping = True
        self._graceful = graceful
        self._cache.close()  # instances that run from now on are not kept
        self._engine.detach_worker(self._local)
        doomed = [*self._loops, *self._attempts]
        if not graceful:
            doomed.extend(self._tasks_in_flight)  # a killed process finishes nothing
        for task in doomed:
            task.cancel()
        interrupted = self._threads.stop() if self._threads is not None else []
        try:
            if graceful:
                for start in interrupted:
                    await self._report_shutdown(start)
            # The body's own exception propagates as it is, not wrapped in a group.
            await self._group.__aexit__(None, None, None)
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
            if graceful:
                with contextlib.suppress(errors.StoreUnavailable):
                    await self._engine.release_workflow_tasks(self.identity)
                    await self._engine.remove_worker(self.identity)

    async def _keep_running(self, loop: Callable[[], Awaitable[None]]) -> None:
        """Run a worker loop; when the store fails, log, wait a little (wall clock) and go on."""
        clock = asyncio.get_running_loop()
        failures = 0
        while True:
            started = clock.time()
            try:
                await loop()
                return
            except errors.StoreUnavailable:
                # A loop that ran for a while found the store answering: a new outage starts over.
                failures = 1 if clock.time() - started >= back_off.LONGEST_S else failures + 1
                delay = back_off.delay(failures)
                logger.warning(
                    "store unavailable; retrying in %.2fs", delay, exc_info=True, extra={"worker": self.identity}
                )
                await asyncio.sleep(delay)

    @property
    def workflow_names(self) -> list[str]:
        """Names of the workflows this worker runs."""
        return sorted(self._workflows)

    @property
    def activity_names(self) -> list[str]:
        """Names of the activities this worker runs."""
        return sorted(self._activities)

    # idleness, for test environments that skip time

    def is_idle(self, *, attempts: bool = True) -> bool:
        """Whether the worker has nothing left to do at the current time.

        Every loop waits for a change, for a later time or for a free slot; no workflow
        task is under way, no attempt's outcome is being recorded and every attempt whose
        deadline passed was looked up in the store (and stopped if over). With ``attempts``
        (the default) no attempt may be running either; without, attempts whose activity
        code runs do not count: a test that moves the clock need not wait for them.
        """
        return (
            all(parked is not None and parked() for parked in self._parked.values())
            and not self._workflow_tasks.is_busy()
            and not self._tasks_in_flight
            and self._running.reporting == 0
            and (not attempts or self._running.running == 0)
            and (self._deadlines is None or self._deadlines.is_idle())
        )

    def next_deadline_ms(self) -> int | None:
        """The earliest deadline ahead of an attempt this worker runs, as the worker expects it."""
        dues = [self._claims.retry_at_ms, None if self._deadlines is None else self._deadlines.next_due_ms()]
        return min((due for due in dues if due is not None), default=None)

    def startable_activities(self) -> list[str]:
        """Names of the activities whose queued attempts this worker would start now (slots and limits allowing)."""
        return self._claims.startable()

    def has_free_slot(self) -> bool:
        """Whether another attempt could start now."""
        return self._claims.has_free_slot()

    async def wait_for_idle(self, *, attempts: bool = True) -> None:
        """Return once :meth:`is_idle` holds."""
        self._idle_waiters += 1
        try:
            while not self.is_idle(attempts=attempts):
                self._changed.clear()
                await self._changed.wait()
        finally:
            self._idle_waiters -= 1

    def _settled_threadsafe(self) -> None:
        """An attempt ended or its outcome was handled (on any thread): wake whoever waits for idleness."""
        if self._idle_waiters and self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
                self._loop.call_soon_threadsafe(self._changed.set)

    def _park(self, loop: str, still_idle: Callable[[], bool] | None) -> None:
        """Record what ``loop`` waits for: ``still_idle`` says whether it has nothing to do yet (None: it runs).

        Idleness is judged from the state it waits on, not from whether the loop has
        resumed yet: a loop whose change came or whose time is up has work, even while
        its wake-up is still on the way.
        """
        self._parked[loop] = still_idle
        if still_idle is not None:
            self._changed.set()

    def _unchanged(self, topic: str, version: int, wake_ms: int | None = None) -> Callable[[], bool]:
        """Whether ``topic`` saw no change since ``version`` and ``wake_ms`` (if any) is still ahead."""
        notifier = self._engine.notifier
        clock = self._engine.clock
        if wake_ms is None:
            return lambda: notifier.topic_version(topic) == version
        return lambda: notifier.topic_version(topic) == version and clock.now_ms() < wake_ms

    # work the engine pushes

    def _accept(self, pushed: dispatch.Pushed) -> None:
        """Take work the engine leased to this worker inside the transition that created it."""
        for instance in pushed.ran:
            self._keep(instance)
        if self._stopping or self._group is None:
            self._claims.release_slot(len(pushed.starts))
            return
        for task in pushed.tasks:
            in_flight = self._group.create_task(self._workflow_tasks.process(task))
            self._tasks_in_flight.add(in_flight)
            in_flight.add_done_callback(self._task_done)
        for start in pushed.starts:
            self._start_attempt(start)

    def _keep(self, instance: dispatch.CachedExecution) -> None:
        """Cache an instance that ran a task (on any thread); warn if its history grew past the warning."""
        self._history.observe(instance.execution_id, instance.loaded_seq)
        self._cache.keep(instance)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks_in_flight.discard(task)
        self._changed.set()

    def _start_attempt(self, start: AttemptStart) -> None:
        """Run an attempt that holds a slot: sync ones on a thread from start to finish when the store allows."""
        assert self._group is not None
        if self._threads is not None and self._threads.runs(start):
            self._threads.launch(start)
        else:
            attempt = self._running.add(start, self._activities[start.name].options, self._engine.clock)
            attempt.task = self._group.create_task(self._run_attempt(attempt))
            self._attempts.add(attempt.task)
            # Here, not in the task: a task stopped before it started never runs its finally.
            attempt.task.add_done_callback(self._attempts.discard)

    def _watch_deadlines(self, attempt: Running) -> None:
        if self._deadlines is not None:
            self._deadlines.added(attempt)

    # activity attempts

    async def _run_attempt(self, attempt: Running) -> None:
        assert self._executor is not None
        start = attempt.start
        try:
            await activity_runner.run_attempt(
                self._engine, self._activities[start.name], attempt, self._executor, self._running, self._public_base,
                self._codec, self._tracer,
            )  # fmt: skip
        except asyncio.CancelledError:
            if self._graceful and attempt.over is None:
                await asyncio.shield(self._report_shutdown(start))
            raise
        except Exception:
            # One activity must never take the worker down; its attempt times out or is reaped.
            logger.exception("could not run or report the attempt", extra=attempt.log)
        finally:
            self._running.end(attempt)

    async def _report_shutdown(self, start: AttemptStart) -> None:
        """End an attempt the shutdown interrupts, so that it is retried at once instead of after its timeouts."""
        claims = TokenClaims(start.execution_id, start.activity_id, start.attempt)
        fault = failure("WorkerShutdown", f"worker {self.identity} shut down during the attempt")
        with contextlib.suppress(errors.TetherError):
            await self._engine.record_attempt(claims, AttemptOutcome("failed", fault=fault))

    # timers

    async def _liveness_loop(self) -> None:
        clock = self._engine.clock
        while True:
            await clock.sleep_until(clock.now_ms() + self._lease_ms // 3)
            try:
                await self._engine.renew_worker(self.identity, self._lease_ms)
            except errors.StoreUnavailable:
                logger.warning("could not renew the worker's lease", extra={"worker": self.identity})

    async def _timer_loop(self) -> None:
        notifier = self._engine.notifier
        clock = self._engine.clock
        while True:
            version = notifier.topic_version("timers")
            fired, wake = await self._engine.timer_pass(self.identity)
            if fired:
                continue
            if wake is not None and wake <= clock.now_ms():
                # A lease expired: let the workflow loop look for the freed task.
                notifier.changed(("workflows",))
                continue
            self._park("timers", self._unchanged("timers", version, wake))
            try:
                await notifier.wait_for_change(version, clock, wake, topic="timers")
            finally:
                self._park("timers", None)
            if notifier.topic_version("timers") == version:
                # Woken by the clock, not by a change: a timer fell due or a lease expired.
                notifier.changed(("workflows",))
