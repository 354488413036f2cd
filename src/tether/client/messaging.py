"""The Client's calls that talk to a running execution: messages, requests, and the values it publishes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tether.client._transport import Transport
from tether.errors import UsageError
from tether.model import payloads, wire
from tether.model.payloads import JSONValue
from tether.model.published import check_after, check_name, wait_ms
from tether.model.records import Published


class MessagingCalls:
    """Send messages and requests to executions and read what they publish (a part of the Client)."""

    _transport: Transport

    async def send(self, execution_id: str, name: str, payload: JSONValue = None, *, key: str | None = None) -> bool:
        """Send message ``name`` to a running execution; False if ``key`` had been sent to it before.

        The message is durable at once, whether or not the workflow waits for it yet, and is
        received once, in send order (``tether.receive``). The same ``key`` sent again (a
        retry of the sender) is the same message, acknowledged even after the execution closed.

        Raises:
            ExecutionNotFound: no execution has this id.
            ExecutionClosed: the execution is closed; nothing is stored.
            MessageKeyReused: ``key`` was sent before with another name or payload.
            InvalidPayload: the payload cannot be serialised or does not match the type the
                workflow declares for ``name``.
            PermissionDenied: the API key may not send to this workflow (``workflows:send``).
        """
        text = payloads.encode(payload, what="payload")
        return await self._transport.send_message(execution_id, name, text, key)

    async def request(
        self,
        execution_id: str,
        name: str,
        payload: JSONValue = None,
        *,
        timeout: timedelta | float | None = None,
        key: str | None = None,
    ) -> Any:
        """Send request ``name`` to a running execution and return the workflow's reply (plain JSON values).

        The workflow takes it with ``tether.receive_request`` and answers with ``reply`` or
        ``reject``. Asking again with the same ``key`` waits for the same request.

        Raises:
            TimeoutError: no answer within ``timeout`` (a timedelta or seconds; None waits as
                long as it takes); the request stays, and a later reply is recorded in the history.
            RequestRejected: the workflow rejected it (``reason``).
            ExecutionClosed: the execution is closed, or closed without answering.
            ExecutionNotFound, MessageKeyReused, InvalidPayload, PermissionDenied: as for :meth:`send`.
        """
        seconds = timeout_seconds(timeout)
        text = payloads.encode(payload, what="payload")
        reply = await self._transport.request(execution_id, name, text, key, seconds)
        return payloads.decode(reply, Any, what=f"reply to {name}")

    async def published(
        self, execution_id: str, name: str, *, after: int | None = None, wait: timedelta | float | None = None
    ) -> Published:
        """The last value an execution published as ``name`` (``tether.publish``), with its version.

        The chain's id reads its current run (which carries the values of the runs before it);
        values stay readable after the execution closed. With ``wait`` (a timedelta or
        seconds), wait up to that long for a version newer than ``after`` (for a first value
        when ``after`` is None), returning as soon as one is published; at the end of the wait
        the current value comes back as it is, unchanged. Over HTTP the wait is a series of
        long polls of at most a minute each. The wait runs on the store's clock: in a
        TestEnvironment, advancing the virtual clock ends it.

        Raises:
            ExecutionNotFound: no execution has this id.
            NotPublished: it has no value of that name (when the wait, if any, ends).
            PermissionDenied: the API key may not read this workflow.
            InvalidPayload: ``name`` or ``after`` is not one (see :func:`tether.publish`).
            UsageError: ``wait`` is not a duration from 0 to a century.
        """
        check_name(name)
        return await self._transport.published(execution_id, name, check_after(after), wait_ms(wait))


def timeout_seconds(timeout: timedelta | float | None, *, positive: bool = False) -> float | None:
    """The seconds of a timeout given as a timedelta or a number, checked (None stays None).

    Raises:
        UsageError: not a duration, negative (or zero, when ``positive``), or over a century.
    """
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, timedelta | int | float):
        raise UsageError("timeout must be a timedelta or a number of seconds")
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
    low_ok = seconds > 0 if positive else seconds >= 0
    if not (low_ok and seconds <= wire.MAX_TIMEOUT_SECONDS):  # NaN and infinities included
        least = "positive" if positive else "at least 0"
        raise UsageError(f"timeout must be {least} and at most a century")
    return seconds
