"""One workflow execution in memory: replays history, runs new events, emits commands.

History is read in workflow tasks. Each completed task left a ``WorkflowTaskCompleted``
marker naming the last event it had seen, followed by the commands it emitted. Replaying
a marker delivers the input events up to that point, runs the workflow until it blocks and
checks that it emits the same commands; a difference is a :class:`NonDeterminism`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from tether import errors
from tether.errors import NonDeterminism
from tether.model import codecs, payloads
from tether.model.codecs import PayloadCodec
from tether.model.events import COMMAND_EVENTS, INPUT_EVENTS, Command, Event, EventType, failure, key_of
from tether.model.published import check_name
from tether.runtime import execution_marks, patches
from tether.runtime.activity_calls import ActivityCall
from tether.runtime.child_workflows import ChildWorkflowHandle
from tether.runtime.continue_as_new import ContinueAsNew
from tether.runtime.definitions import Activity, Workflow, positional_args
from tether.runtime.messages import Inbox
from tether.runtime.workflow_loop import WorkflowLoop

logger = logging.getLogger(__name__)

R = TypeVar("R")
_SCALARS = (int, float, str, bool, type(None))
_RESERVED = Command(EventType.ACTIVITY_SCHEDULED)
"""The place of an activity call among a task's commands, until the call first runs (compared by identity)."""


class ActivityHandle(asyncio.Future[R]):
    """A scheduled activity, awaitable for its result.

    ``cancel()`` asks the activity to stop; the handle then resolves with
    :class:`~tether.errors.ActivityCancelled` once the activity acknowledges (or with its
    result, if it finished first).
    """

    def __init__(self, instance: WorkflowInstance, activity: Activity[..., Any], activity_id: int) -> None:
        super().__init__(loop=instance.loop)
        self._instance = instance
        self.activity = activity
        self.activity_id = activity_id
        self._cancel_sent = False
        self._heartbeat_callbacks: list[Callable[[Any], object]] = []

    def cancel(self, msg: Any = None) -> bool:
        """Request cancellation of the activity; True if the request was sent now."""
        if self.done():
            return False
        if not self._cancel_sent:
            self._cancel_sent = True
            self._instance.emit(EventType.ACTIVITY_CANCEL_REQUESTED, activity_id=self.activity_id)
        if self._instance.cancelling:
            # The workflow itself is being cancelled: unwind it now rather than waiting.
            return super().cancel(msg)
        return True

    def on_heartbeat(self, callback: Callable[[Any], object]) -> None:
        """Call ``callback(details)`` with heartbeat details, in order; coalesced when they come fast."""
        if not self._heartbeat_callbacks:
            self._instance.emit(EventType.HEARTBEAT_WATCH_STARTED, activity_id=self.activity_id)
        self._heartbeat_callbacks.append(callback)

    def _heartbeat(self, details: Any) -> None:
        for callback in self._heartbeat_callbacks:
            outcome = callback(details)
            if asyncio.iscoroutine(outcome):
                self._instance.loop.create_task(outcome)

    def _resolve(self, event: Event) -> None:
        if self.done():
            return
        data = event.data
        if event.type == EventType.ACTIVITY_COMPLETED:
            result, annotation = data["result"], self.activity.return_type
            what = f"result of {self.activity.name}"
            try:
                # Anything but a scalar is decoded from text: the workflow gets its own copy.
                if type(result) in _SCALARS:
                    value = payloads.decode_value(result, annotation, what=what)
                else:
                    value = payloads.decode(payloads.json_text(result), annotation, what=what)
            except errors.InvalidPayload as invalid:
                self.set_exception(invalid)
            else:
                self.set_result(value)
            return
        fault = data.get("failure") or {}
        exc: errors.ActivityFailed
        if event.type == EventType.ACTIVITY_TIMED_OUT:
            exc = errors.ActivityTimeout(
                fault.get("kind", "total"), attempt=data["attempt"], details=fault.get("details")
            )
        elif event.type == EventType.ACTIVITY_CANCELLED:
            exc = errors.ActivityCancelled(attempt=data["attempt"], details=data.get("details"))
        else:
            exc = errors.ActivityFailed(
                fault.get("message", ""),
                error=fault.get("error", "ActivityFailed"),
                details=fault.get("details"),
                attempt=data["attempt"],
                non_retryable=bool(fault.get("non_retryable")),
            )
        self.set_exception(exc)


class WorkflowInstance:
    """The live state of one execution, cached by a worker between tasks."""

    def __init__(self, execution_id: str, workflow: Workflow[..., Any], codec: PayloadCodec | None = None) -> None:
        self.execution_id = execution_id
        self.workflow = workflow
        self.codec = codec
        """Decodes the payloads of the events delivered to the code and encodes those of its commands."""
        self.loop = WorkflowLoop(self)  # type: ignore[abstract]  # the I/O half of the loop API is refused
        self.now_ms = 0
        self.loaded_seq = 0
        """The last history event this instance has read."""
        self.committed_seq = 0
        """The last event this instance wrote itself; its own markers up to here are skipped."""
        self.cancelling = False
        self.finished = False
        self.replaying = False
        """Whether the code runs again what its history records (``tether.logger`` is silent then)."""
        self.last_timer_id = 0
        self._next_id = 0
        self._commands: list[Command] = []
        self._reserved = 0
        """Places held in ``_commands`` by activity calls that have not run yet."""
        self._activities: dict[int, ActivityHandle[Any]] = {}
        self._timers: dict[int, asyncio.Future[None]] = {}
        self._children: dict[int, ChildWorkflowHandle[Any]] = {}
        self._main: asyncio.Task[Any] | None = None
        self.patches = patches.Patches()
        self._inbox: Inbox | None = None

    @property
    def inbox(self) -> Inbox:
        """The messages and requests sent to this execution that its code has not taken yet."""
        if self._inbox is None:
            self._inbox = Inbox(self)
        return self._inbox

    # feeding history

    def awaits_only(self, activity_id: int) -> bool:
        """Whether the workflow awaits that activity and no other activity, timer or child (read from any thread)."""
        pending = self._activities
        return not self._timers and not self._children and len(pending) == 1 and activity_id in pending

    def activate(self, events: list[Event], now_ms: int) -> list[Command]:
        """Read ``events`` (history after :attr:`loaded_seq`), then run the new part; return its commands.

        Raises:
            NonDeterminism: the replayed code emitted other commands than its history records.
        """
        last_seq = events[-1].seq if events else 0
        events = execution_marks.as_replayed(events)
        pending: list[Event] = []
        index = 0
        self.replaying = True
        while index < len(events):
            event = events[index]
            if event.type == EventType.WORKFLOW_TASK_COMPLETED:
                count = int(event.data["commands"])
                end = index + 1 + count
                recorded = events[index + 1 : end]
                if recorded and recorded[-1].type not in COMMAND_EVENTS:
                    # A closing task: the activities its close cancelled stand before the closing command.
                    recorded, end = _commands_of_closing_task(events, index + 1, count)
                if event.seq > self.committed_seq:
                    seen = int(event.data["seen"])
                    pending = self._deliver([e for e in pending if e.seq <= seen], pending)
                    self.now_ms = int(event.data["now_ms"])
                    produced = self.patches.replay(self._run, recorded)
                    self._check_replay(produced, self.patches.comparable(recorded), event)
                index = end
                continue
            if event.type in INPUT_EVENTS:
                pending.append(event)
            elif event.type == EventType.EXECUTION_RESUMED:
                # Ids taken in what the resume undid are never taken again.
                self._next_id = max(self._next_id, int(event.data["next_id"]))
            index += 1
        self.replaying = False
        if last_seq:
            self.loaded_seq = last_seq
        self.now_ms = max(now_ms, self.now_ms)
        self._deliver(pending, pending)
        commands = self._run()
        codec = self.codec
        # Only what this task emits is encoded: replayed commands are compared by key, never stored.
        return commands if codec is None else [codecs.encode_command(codec, command) for command in commands]

    def _deliver(self, batch: list[Event], pending: list[Event]) -> list[Event]:
        if len(batch) == 1:  # most tasks bring one event: nothing to coalesce
            self._apply(batch[0])
            seq = batch[0].seq
            return [e for e in pending if e.seq != seq]
        # Heartbeats of one activity in one batch are coalesced: only the latest is shown.
        last_heartbeat = {e.data["activity_id"]: e.seq for e in batch if e.type == EventType.ACTIVITY_HEARTBEAT}
        for event in batch:
            if event.type == EventType.ACTIVITY_HEARTBEAT and last_heartbeat[event.data["activity_id"]] != event.seq:
                continue
            self._apply(event)
        delivered = {e.seq for e in batch}
        return [e for e in pending if e.seq not in delivered]

    def _apply(self, event: Event) -> None:
        # Raises UndecodablePayload (failing the task) rather than hand an envelope to the code.
        event = codecs.decode_event(self.codec, event)
        data = event.data
        match event.type:
            case EventType.WORKFLOW_STARTED:
                self._main = self.loop.create_task(self._run_main(data["args"]))
            case EventType.WORKFLOW_CANCEL_REQUESTED:
                self.cancelling = True
                if self._main is not None and not self._main.done():
                    self._main.cancel()
            case EventType.TIMER_FIRED:
                timer = self._timers.pop(data["timer_id"], None)
                if timer is not None and not timer.done():
                    timer.set_result(None)
            case EventType.ACTIVITY_HEARTBEAT:
                handle = self._activities.get(data["activity_id"])
                if handle is not None and not handle.done():
                    self.loop.call_soon(handle._heartbeat, data.get("details"))
            case (
                EventType.ACTIVITY_COMPLETED
                | EventType.ACTIVITY_FAILED
                | EventType.ACTIVITY_TIMED_OUT
                | EventType.ACTIVITY_CANCELLED
            ):
                handle = self._activities.pop(data["activity_id"], None)
                if handle is not None:
                    handle._resolve(event)
            case EventType.CHILD_WORKFLOW_CLOSED:
                child = self._children.pop(data["child_ref"], None)
                if child is not None:
                    child._resolve(event)
            case EventType.MESSAGE_SENT | EventType.REQUEST_SENT:
                self.inbox.deliver(event)
            case _:
                pass

    def _run(self) -> list[Command]:
        self.loop.run_until_blocked()
        commands, self._commands = self._commands, []
        if self._reserved:
            # Calls that did not run in this task schedule nothing in it (and in the task that
            # first runs them, they schedule at its end).
            commands = [command for command in commands if command is not _RESERVED]
            self._reserved = 0
        return commands

    def _check_replay(self, produced: list[Command], recorded: list[Event], marker: Event) -> None:
        for index in range(max(len(produced), len(recorded))):
            mine = produced[index] if index < len(produced) else None
            theirs = recorded[index] if index < len(recorded) else None
            if mine is not None and theirs is not None and mine.key == key_of(theirs.type, theirs.data):
                continue
            if theirs is None:
                assert mine is not None
                message = f"the workflow now emits {_describe(mine.type, mine.data)}, which its history does not record"
                seq = marker.seq
            elif mine is None:
                message = f"history event {theirs.seq} ({_describe(theirs.type, theirs.data)}) is no longer emitted"
                seq = theirs.seq
            else:
                message = (
                    f"history event {theirs.seq} is {_describe(theirs.type, theirs.data)}, "
                    f"but the workflow now emits {_describe(mine.type, mine.data)}"
                )
                seq = theirs.seq
            raise NonDeterminism(
                f"workflow {self.workflow.name!r} ({self.execution_id}) diverged from its history: {message}",
                execution_id=self.execution_id,
                event_seq=seq,
            )

    # the main coroutine

    async def _run_main(self, args: list[Any]) -> None:
        try:
            values = payloads.decode_args(json.dumps(args), self.workflow.param_types, what="workflow arguments")
            result = await self.workflow.fn(*values)
            text = payloads.encode(result, what=f"result of workflow {self.workflow.name}")
            payloads.decode(text, self.workflow.return_type, what=f"result of workflow {self.workflow.name}")
        except ContinueAsNew as request:
            self._continue_as_new(request)
            return
        except asyncio.CancelledError:
            if self.cancelling:
                self.emit(EventType.WORKFLOW_CANCELLED)
                self.finished = True
                return
            self._fail(errors.WorkflowCancelled("the workflow was cancelled"))
        except Exception as exc:
            self._fail(exc)
        else:
            # The event's text written from the result's, which the close stores as it is.
            written = f'{{"result":{text}}}'
            self._add(
                Command(EventType.WORKFLOW_COMPLETED, {"result": payloads.parse(text)}, written, {"result": text})
            )
            self.finished = True

    def _continue_as_new(self, request: ContinueAsNew) -> None:
        what = f"arguments of the next run of {self.workflow.name}"
        try:
            values = positional_args(self.workflow.fn, request.arguments, request.keywords)
            text = payloads.encode_args(values, what=what)
            payloads.decode_args(text, self.workflow.param_types, what=what)
        except errors.TetherError as exc:
            self._fail(exc)
            return
        self.emit(EventType.WORKFLOW_CONTINUED_AS_NEW, args=payloads.parse(text))
        self.finished = True

    def _fail(self, exc: BaseException) -> None:
        error = getattr(exc, "error", None) if isinstance(exc, errors.ExecutionFailure) else None
        details = exc.to_details() if isinstance(exc, errors.TetherError) else None
        fault = failure(str(error or type(exc).__name__), str(exc), details=payloads.to_jsonable(details))
        self.emit(EventType.WORKFLOW_FAILED, failure=fault)
        self.finished = True

    # commands, called by the workflow API

    def next_id(self) -> int:
        """The next id for an activity or timer; deterministic across replays."""
        self._next_id += 1
        return self._next_id

    def emit(self, kind: EventType, **data: Any) -> None:
        """Add a command to the current task; nothing once the workflow has closed."""
        self._add(Command(kind, data))

    def _add(self, command: Command) -> None:
        if not self.finished:
            self._commands.append(command)

    def start_activity(self, activity: Activity[..., Any], args: list[Any]) -> ActivityHandle[Any]:
        """Schedule an activity now and return its handle."""
        text = payloads.encode_args(args, what=f"arguments of {activity.name}")
        activity_id = self.next_id()
        self._add(_scheduled(activity, activity_id, text))
        return self._handle(activity, activity_id)

    def call_activity(self, activity: Activity[..., Any], args: list[Any]) -> ActivityCall:
        """Take an id and a place among this task's commands for an activity that :meth:`run_call` schedules.

        Raises:
            InvalidPayload: an argument cannot be serialised (at the call, as when it scheduled at once).
        """
        text = payloads.encode_args(args, what=f"arguments of {activity.name}")
        commands = self._commands
        commands.append(_RESERVED)
        self._reserved += 1
        return ActivityCall(activity, text, self.next_id(), commands, len(commands) - 1)

    def run_call(self, call: ActivityCall) -> ActivityHandle[Any]:
        """Schedule a called activity, in the place its call took if the call was made in this task."""
        command = _scheduled(call.activity, call.activity_id, call.args_text)
        if call.commands is self._commands and not self.finished:
            call.commands[call.index] = command
            self._reserved -= 1
        else:
            self._add(command)
        return self._handle(call.activity, call.activity_id)

    def _handle(self, activity: Activity[..., Any], activity_id: int) -> ActivityHandle[Any]:
        handle: ActivityHandle[Any] = ActivityHandle(self, activity, activity_id)
        self._activities[activity_id] = handle
        return handle

    def start_child(
        self, workflow: Workflow[..., Any], args: list[Any], child_id: str | None, parent_close: str
    ) -> ChildWorkflowHandle[Any]:
        """Start a child workflow now and return its handle."""
        text = payloads.encode_args(args, what=f"arguments of child workflow {workflow.name}")
        ref = self.next_id()
        given = child_id if child_id is not None else f"{self.execution_id}-child-{ref}"
        self.emit(
            EventType.CHILD_WORKFLOW_STARTED, child_ref=ref, name=workflow.name, id=given,
            args=payloads.parse(text), parent_close=parent_close,
        )  # fmt: skip
        handle: ChildWorkflowHandle[Any] = ChildWorkflowHandle(self, workflow, ref, given, parent_close)
        self._children[ref] = handle
        return handle

    def publish(self, name: str, value: object) -> None:
        """Publish ``value`` as this execution's value ``name`` (a command of the current task).

        Raises:
            InvalidPayload: the name is not one, or the value cannot be serialised.
        """
        check_name(name)
        text = payloads.encode(value, what=f"published value {name!r}")
        written = f'{{"name":{payloads.json_text(name)},"value":{text}}}'
        self._add(
            Command(EventType.VALUE_PUBLISHED, {"name": name, "value": payloads.parse(text)}, written, {"value": text})
        )

    def start_timer(self, delay_ms: int) -> asyncio.Future[None]:
        """Start a durable timer; the future resolves when it fires, cancelling it cancels the timer."""
        timer_id = self.next_id()
        self.last_timer_id = timer_id
        self.emit(EventType.TIMER_STARTED, timer_id=timer_id, due_at_ms=self.now_ms + delay_ms)
        future: asyncio.Future[None] = self.loop.create_future()
        self._timers[timer_id] = future

        def on_done(done: asyncio.Future[None]) -> None:
            if done.cancelled():
                self.cancel_timer(timer_id)

        future.add_done_callback(on_done)
        return future

    def cancel_timer(self, timer_id: int) -> None:
        """Cancel a timer that has not fired."""
        if self._timers.pop(timer_id, None) is not None and not self.finished:
            self.emit(EventType.TIMER_CANCELLED, timer_id=timer_id)


def _commands_of_closing_task(events: list[Event], start: int, count: int) -> tuple[list[Event], int]:
    """The ``count`` command events from ``start`` on, skipping what the execution's close wrote between them.

    Returns them and the index after the last. Nothing follows a closing task, so the
    events skipped (its activities' cancellations) are never delivered to the workflow.
    """
    commands: list[Event] = []
    index = start
    while index < len(events) and len(commands) < count:
        if events[index].type in COMMAND_EVENTS:
            commands.append(events[index])
        index += 1
    return commands, index


def _scheduled(activity: Activity[..., Any], activity_id: int, args_text: str) -> Command:
    data = {"activity_id": activity_id, "name": activity.name, "args": payloads.parse(args_text),
            "options": activity.options_json}  # fmt: skip
    # The event's text, written from the parts already encoded (what json_text(data) gives).
    written = (
        f'{{"activity_id":{activity_id},"name":{activity.name_text},"args":{args_text},'
        f'"options":{activity.options_text}}}'
    )
    return Command(EventType.ACTIVITY_SCHEDULED, data, written, {"args": args_text, "options": activity.options_text})


def _describe(kind: EventType, data: dict[str, Any]) -> str:
    name = data.get("name")
    ident = data.get("activity_id", data.get("timer_id"))
    parts = [str(kind)]
    if name:
        parts.append(repr(name))
    if ident is not None:
        parts.append(f"#{ident}")
    if kind == EventType.WORKFLOW_FAILED:
        fault = data.get("failure") or {}
        parts.append(f"({fault.get('error')}: {fault.get('message')})")  # why the code now fails
    return " ".join(parts)
