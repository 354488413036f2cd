"""The engine's calls that send messages and requests into executions, and wait for a request's answer."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tether.engine import message_states, messages, notifier, tracing
from tether.engine.core import EngineCore
from tether.errors import ExecutionClosed, ExecutionNotFound, RequestRejected
from tether.model.access import Access
from tether.model.records import WorkflowStatus
from tether.store.base import Transaction


@dataclass(frozen=True, slots=True)
class Answer:
    """Where a request stands: answered (a reply or a rejection), or not yet."""

    state: str
    """``pending``, ``received`` (taken, not answered yet), ``replied`` or ``rejected``."""
    reply: str | None = None
    """The reply as JSON text, when replied."""


class MessageCalls(EngineCore):
    """Transitions that deliver messages and requests (one transaction each), and waits for answers."""

    async def send_message(
        self,
        execution_id: str,
        kind: str,
        name: str,
        payload: str,
        *,
        key: str | None = None,
        access: Access | None = None,
    ) -> messages.Sent:
        """Send a message or request to the current run of an execution (see ``messages.send``).

        Raises:
            ExecutionNotFound: no execution has this id.
            PermissionDenied: ``access`` may not send to this workflow.
            ExecutionClosed: the execution is closed; nothing is stored.
            MessageKeyReused: the key was sent before with another name, kind or payload.
            InvalidPayload: the name, key or payload is not acceptable.
        """
        messages.check_name(name)
        messages.check_key(key)
        now = self.clock.now_ms()
        return await self._run(lambda tx: messages.send(tx, execution_id, kind, name, payload, key, now, access))

    async def send_with_start(
        self,
        execution_id: str,
        workflow: str,
        args: str,
        message: tuple[str, str, str | None],
        *,
        access: Access | None = None,
        timeout_ms: int | None = None,
        timeout_known: bool = False,
        priority: int = 0,
        trace: tracing.Carrier | None = None,
    ) -> tuple[bool, messages.Sent]:
        """Start an execution unless it exists and send it a message (name, payload, key), in one transaction.

        Returns whether this call started it, and what the send did; ``priority`` is that of
        :meth:`start_workflow`, for an execution this call starts.

        Raises:
            PermissionDenied: ``access`` may not start or send to this workflow.
            ExecutionIdTaken: the id belongs to an execution of another workflow; nothing is sent.
            ExecutionClosed: the execution exists and is closed; nothing is sent.
        """
        messages.check_name(message[0])
        messages.check_key(message[2])
        now = self.clock.now_ms()

        def body(tx: Transaction) -> tuple[bool, messages.Sent]:
            return messages.start_and_send(
                tx, execution_id, workflow, args, message, now, access,
                timeout_ms=timeout_ms, timeout_known=timeout_known, priority=priority, trace=trace,
            )  # fmt: skip

        return await self._run(body)

    async def request_answer(self, execution_id: str, message_id: int, timeout: float | None) -> Answer:
        """Wait up to ``timeout`` seconds (by the engine's clock) for a request to be answered.

        Returns the answer, or where it stands on timeout.

        Raises:
            RequestRejected: the workflow rejected it.
            ExecutionClosed: the run holding it closed (other than continuing as new) without answering.
            ExecutionNotFound: the request is gone (its execution was deleted).
        """
        deadline = None if timeout is None else self.clock.now_ms() + max(0, round(timeout * 1000))
        while True:
            version = self.notifier.topic_version(notifier.MESSAGES)
            answer = await self.store.read(lambda tx: _answer(tx, execution_id, message_id))
            if answer.state == message_states.REPLIED:
                return answer
            if deadline is not None and self.clock.now_ms() >= deadline:
                return answer
            self.notifier.result_waiter_entered()  # waiting now, not while reading (see Engine._wait_for_run)
            try:
                await self.notifier.wait_for_change(version, self.clock, deadline, topic=notifier.MESSAGES)
            finally:
                self.notifier.result_waiter_left()


def _answer(tx: Transaction, execution_id: str, message_id: int) -> Answer:
    row = tx.get_message(message_id)
    run = tx.get_execution(row.execution_id) if row is not None else None
    if row is None or run is None:
        raise ExecutionNotFound(execution_id)
    if row.state == message_states.REPLIED:
        return Answer(row.state, row.answer)
    if row.state == message_states.REJECTED:
        reason = json.loads(row.answer or '""')
        raise RequestRejected(str(reason), execution_id=execution_id, name=row.name)
    if run.status not in (WorkflowStatus.RUNNING.value, WorkflowStatus.CONTINUED.value):
        raise ExecutionClosed(execution_id, status=run.status)
    return Answer(row.state)
