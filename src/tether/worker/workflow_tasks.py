"""Workflow tasks of one worker: claim them, replay their executions and record what the workflows decided.

The worker owns its loops, slots and shutdown; this owns what happens to a workflow task
from its claim (or its push by the engine) to its completion, its failure or, when the
store fails, its give-back. Tasks of one execution run one at a time, each on the cached
instance when it fits and on a fresh replay otherwise.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from tether import errors
from tether.engine import dispatch, tracing
from tether.engine.engine import Engine
from tether.engine.workflows import WorkflowTask
from tether.model.codecs import PayloadCodec
from tether.model.events import Event
from tether.runtime import execution_marks
from tether.runtime.definitions import Workflow
from tether.runtime.workflow_instance import WorkflowInstance
from tether.worker import back_off, history_limits
from tether.worker.instance_cache import InstanceCache

logger = logging.getLogger(__name__)

_REMEMBERED_FAILURES = 10_000
"""Executions whose workflow tasks the store failed that a worker keeps counting, the oldest forgotten first."""


class WorkflowTasks:
    """The workflow tasks of one worker.

    Args:
        park: tells the worker what the loop waits for (see ``Worker._park``).
        unchanged: makes the test ``park`` is given: whether a topic saw no change since a version.
        changed: wakes whoever waits for the worker to be idle; called when a task ends.
    """

    def __init__(
        self,
        engine: Engine,
        workflows: Mapping[str, Workflow[..., Any]],
        *,
        identity: str,
        lease_ms: int,
        cache: InstanceCache,
        history: history_limits.HistoryLimits,
        codec: PayloadCodec | None,
        tracer: tracing.Tracer,
        park: Callable[[str, Callable[[], bool] | None], None],
        unchanged: Callable[[str, int], Callable[[], bool]],
        changed: Callable[[], None],
    ) -> None:
        self._engine = engine
        self._workflows = workflows
        self._identity = identity
        self._lease_ms = lease_ms
        self._cache = cache
        self._history = history
        self._codec = codec
        self._tracer = tracer
        self._park = park
        self._unchanged = unchanged
        self._changed = changed
        self._processing: dict[str, asyncio.Future[None]] = {}
        self._task_failures: dict[str, int] = {}  # workflow tasks the store failed in a row, by execution

    def is_busy(self) -> bool:
        """Whether a workflow task is under way (or waits for an earlier one of its execution)."""
        return bool(self._processing)

    async def run(self) -> None:
        """Claim workflow tasks and run them, until cancelled; parked while none are offered."""
        notifier = self._engine.notifier
        names = sorted(self._workflows)
        if not names:
            self._park("workflows", lambda: True)
            return
        while True:
            version = notifier.topic_version("workflows")
            tasks = await self._engine.claim_workflow_tasks(
                owner=self._identity,
                workflows_=names,
                limit=64,
                lease_ms=self._lease_ms,
                cached_seq=self._cache.loaded_seq,
                history_limit=self._history.limit,
            )
            if tasks:
                await asyncio.gather(*(self.process(task) for task in tasks))
                continue
            self._park("workflows", self._unchanged("workflows", version))
            try:
                await notifier.wait_for_change(version, topic="workflows")
            finally:
                self._park("workflows", None)

    async def process(self, task: WorkflowTask) -> None:
        """Run one workflow task after those of its execution before it; a failure is logged or the task given back."""
        execution_id = task.execution_id
        while (previous := self._processing.get(execution_id)) is not None:
            await asyncio.shield(previous)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._processing[execution_id] = done
        try:
            await self._process_exclusively(task)
            self._task_failures.pop(execution_id, None)
        except errors.StoreUnavailable:
            await self._give_back(task)
        except Exception:
            # The lease runs out and the task is offered again; the instance is not cached.
            logger.exception("workflow task failed in the worker", extra={"execution_id": execution_id})
        finally:
            del self._processing[execution_id]
            done.set_result(None)
            self._changed()

    async def _give_back(self, task: WorkflowTask) -> None:
        """After the store failed a workflow task: wait, then offer it again rather than hold it for its whole lease.

        The wait doubles with each failure of the same execution, so that a store that
        stays down is not hammered. If the task cannot be given back either, its lease
        runs out and it is offered again then.
        """
        execution_id = task.execution_id
        failures = self._task_failures.pop(execution_id, 0) + 1
        self._task_failures[execution_id] = failures
        if len(self._task_failures) > _REMEMBERED_FAILURES:  # executions another worker finished
            del self._task_failures[next(iter(self._task_failures))]
        delay = back_off.delay(failures)
        log = {"execution_id": execution_id, "worker": self._identity}
        # The traceback once per outage of an execution: a long one repeats the same error.
        logger.warning(
            "workflow task could not be recorded; offering it again in %.2fs", delay, exc_info=failures == 1, extra=log
        )
        clock = asyncio.get_running_loop()
        give_up_at = clock.time() + self._lease_ms / 1000
        while True:
            await asyncio.sleep(delay)
            try:
                await self._engine.release_workflow_task(execution_id, self._identity, task.leased_until_ms)
                return
            except errors.StoreUnavailable:
                failures += 1
                delay = back_off.delay(failures)
                if clock.time() + delay >= give_up_at:
                    logger.warning("could not give the workflow task back; its lease will run out", extra=log)
                    return

    async def _process_exclusively(self, task: WorkflowTask) -> None:
        refused = self._history.refusal(task.execution_id, task.execution.last_seq)
        if refused is not None:
            await self._refuse(task, refused)
            return
        instance = self._cache.take(task.execution_id)
        events = task.events
        fresh = not dispatch.cached_fits(instance, task) or execution_marks.resumed_in(events)
        if not fresh:
            assert instance is not None
            events = [e for e in events if e.seq > instance.loaded_seq]
        else:
            instance = WorkflowInstance(task.execution_id, self._workflows[task.workflow], self._codec)
            if task.from_seq != 0:
                events = await self._engine.load_events(task.execution_id)
        if not self._tracer.enabled:  # checked once: an untraced task pays this and no more
            await self._run_task(task, instance, events, tracing.NOTHING_HANDLE)
            return
        await self._tracer.look_up_async(task.execution_id, self._engine.started_data, events)
        with self._tracer.workflow_task(task.execution_id, task.workflow, events, fresh=fresh, inline=False) as span:
            await self._run_task(task, instance, events, span)

    async def _run_task(
        self, task: WorkflowTask, instance: WorkflowInstance, events: list[Event], span: tracing.SpanHandle
    ) -> None:
        log = {"execution_id": task.execution_id}
        task_now = self._engine.clock.now_ms()
        try:
            commands = instance.activate(events, task_now)
        except Exception as exc:
            logger.warning("workflow task failed: %s", exc, extra=log)
            span.fail(exc)
            await self._engine.fail_workflow_task(
                execution_id=task.execution_id,
                owner=self._identity,
                leased_until_ms=task.leased_until_ms,
                error=_task_error(exc),
            )
            return
        last = await self._engine.complete_workflow_task(
            execution_id=task.execution_id,
            owner=self._identity,
            leased_until_ms=task.leased_until_ms,
            seen_seq=instance.loaded_seq,
            task_now_ms=instance.now_ms,
            commands=commands,
            instance=instance,
            deadline_ms=execution_marks.first_task_deadline(instance.workflow, events),
        )
        if last is None:
            return

    async def _refuse(self, task: WorkflowTask, refused: errors.HistoryTooLarge) -> None:
        """Fail a workflow task that must not run, without replaying anything."""
        self._cache.take(task.execution_id)  # it cannot go on: no need to keep it in memory
        logger.warning("workflow task refused: %s", refused, extra={"execution_id": task.execution_id})
        error = _task_error(refused)
        if task.execution.task_error is not None:
            recorded = json.loads(task.execution.task_error)
            if recorded.get("error") == error["error"]:
                error = recorded  # refused again: the same error, so that no event is appended
        await self._engine.fail_workflow_task(
            execution_id=task.execution_id, owner=self._identity, leased_until_ms=task.leased_until_ms, error=error
        )


def _task_error(exc: Exception) -> dict[str, Any]:
    """What ``describe(id).task_error`` shows of why a workflow task failed."""
    details = exc.to_details() if isinstance(exc, errors.TetherError) else None
    return {"error": type(exc).__name__, "message": str(exc), "details": details}
