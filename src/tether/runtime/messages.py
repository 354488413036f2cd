"""Messages and requests as workflow code sees them: a durable inbox per name, taken in send order.

Every message sent to an execution reaches its history as an input event; replay delivers
those events at the same points, so what is in the inbox when the code looks is the same on
every replay, and taking a message needs no decision of the engine. The take is still
recorded as a command (``MessageReceived``, ``RequestReceived``), so that anyone outside
can see what the workflow took, and a next run (continue-as-new) gets what it did not.

A receive that must wait hands its message over at delivery: the oldest waiter of that name
gets it, unless its timeout fired first (then it stays for the next receive). A waiter that
is cancelled after it got a message but before its code ran gives the message back.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from tether.errors import UsageError
from tether.model import payloads
from tether.model.clock import duration_ms
from tether.model.events import Event, EventType

if TYPE_CHECKING:
    from tether.runtime.workflow_instance import WorkflowInstance

T = TypeVar("T")

_MESSAGE = "message"
_REQUEST = "request"


@dataclass(frozen=True, slots=True)
class _Sent:
    """A message or request as its input event delivered it."""

    message_id: int
    name: str
    payload: Any


@dataclass(slots=True)
class _Waiter:
    future: asyncio.Future[_Sent]
    timer: asyncio.Future[None] | None


class Request(Generic[T]):
    """A request taken by ``tether.receive_request``: answer it with :meth:`reply` or :meth:`reject`.

    The caller of ``client.request`` gets the reply, or :class:`~tether.errors.RequestRejected`.
    A request left unanswered when the run continues as new goes to the next run.
    """

    def __init__(self, instance: WorkflowInstance, sent: _Sent, payload: T) -> None:
        self._instance = instance
        self.message_id = sent.message_id
        self.name = sent.name
        self.payload = payload
        self.answered = False

    def reply(self, value: Any = None) -> None:
        """Answer the request with ``value`` (JSON-serialisable).

        Raises:
            UsageError: it was answered already.
            InvalidPayload: ``value`` cannot be serialised.
        """
        self._check_open()
        text = payloads.encode(value, what=f"reply to {self.name}")
        self._answer(reply=json.loads(text))

    def reject(self, reason: str) -> None:
        """Refuse the request; the caller gets RequestRejected with ``reason``.

        Raises:
            UsageError: it was answered already, or ``reason`` is not a string.
        """
        self._check_open()
        if not isinstance(reason, str):
            raise UsageError("a request's rejection reason must be a string")
        self._answer(reason=reason)

    def _check_open(self) -> None:
        if self.answered:
            raise UsageError(f"request {self.name!r} ({self.message_id}) was answered already")

    def _answer(self, **answer: Any) -> None:
        self.answered = True
        self._instance.emit(EventType.REQUEST_ANSWERED, message_id=self.message_id, name=self.name, **answer)

    def __repr__(self) -> str:
        return f"<tether request {self.name!r} #{self.message_id}>"


class Inbox:
    """What an execution was sent and has not taken yet, by kind and name, and who waits for it."""

    def __init__(self, instance: WorkflowInstance) -> None:
        self._instance = instance
        self._buffers: dict[tuple[str, str], deque[_Sent]] = {}
        self._waiters: dict[tuple[str, str], deque[_Waiter]] = {}

    def deliver(self, event: Event) -> None:
        """Take in a ``MessageSent`` or ``RequestSent`` event: to its oldest waiter, or into the inbox."""
        kind = _REQUEST if event.type == EventType.REQUEST_SENT else _MESSAGE
        data = event.data
        self._offer((kind, data["name"]), _Sent(int(data["message_id"]), data["name"], data.get("payload")))

    def _offer(self, key: tuple[str, str], sent: _Sent, *, first: bool = False) -> None:
        waiters = self._waiters.get(key)
        while waiters:
            waiter = waiters.popleft()
            # A waiter whose timeout fired (even if its code has not run yet) takes nothing.
            if waiter.future.done() or (waiter.timer is not None and waiter.timer.done()):
                continue
            waiter.future.set_result(sent)
            return
        buffer = self._buffers.setdefault(key, deque())
        if first:
            buffer.appendleft(sent)
        else:
            buffer.append(sent)

    async def take(self, kind: str, name: str, timeout: timedelta | float | None) -> _Sent:
        """The oldest message of this kind and name, waiting for one up to ``timeout`` (a durable timer).

        Raises:
            TimeoutError: none came in time.
        """
        key = (kind, name)
        buffer = self._buffers.get(key)
        if buffer:
            return buffer.popleft()
        delay = None if timeout is None else duration_ms(timeout)
        if delay is not None and delay <= 0:
            raise TimeoutError(f"no {kind} {name!r} is waiting")
        future: asyncio.Future[_Sent] = self._instance.loop.create_future()
        timer = self._instance.start_timer(delay) if delay is not None else None
        self._waiters.setdefault(key, deque()).append(_Waiter(future, timer))
        if timer is not None:
            timer.add_done_callback(lambda fired: _time_out(future, fired, kind, name, timeout))
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled() and future.exception() is None:
                self._offer(key, future.result(), first=True)  # handed over, never used: the next one takes it
            raise
        finally:
            if timer is not None and not timer.done():
                timer.cancel()  # cancels the durable timer too


def _time_out(
    future: asyncio.Future[_Sent], fired: asyncio.Future[None], kind: str, name: str, timeout: object
) -> None:
    if not future.done() and not fired.cancelled():
        future.set_exception(TimeoutError(f"no {kind} {name!r} came within {timeout}"))


async def receive(instance: WorkflowInstance, name: str, timeout: timedelta | float | None) -> Any:
    """The payload of the oldest message ``name`` not taken yet (see ``tether.receive``)."""
    sent = await instance.inbox.take(_MESSAGE, name, timeout)
    instance.emit(EventType.MESSAGE_RECEIVED, message_id=sent.message_id, name=sent.name)
    return _decode(instance, sent)


async def receive_request(instance: WorkflowInstance, name: str, timeout: timedelta | float | None) -> Request[Any]:
    """The oldest request ``name`` not taken yet (see ``tether.receive_request``)."""
    sent = await instance.inbox.take(_REQUEST, name, timeout)
    instance.emit(EventType.REQUEST_RECEIVED, message_id=sent.message_id, name=sent.name)
    return Request(instance, sent, _decode(instance, sent))


def _decode(instance: WorkflowInstance, sent: _Sent) -> Any:
    annotation = instance.workflow.messages.get(sent.name, Any)
    return payloads.decode(payloads.json_text(sent.payload), annotation, what=f"payload of {sent.name}")
