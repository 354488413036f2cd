"""Shared pieces of the activity and token tests: mailboxes, gates, snapshots and history filters.

Activities talk to the test that started their workflow through a :class:`Mailbox`
registered under the execution id: an activity posts its context (token, attempt,
checkpoint) and the test awaits it, instead of waiting for time to pass. An in-process
activity that must stay running until the test says so waits on the mailbox's gate.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any, TypeVar

import tether
from tether.testing import TestEnvironment

T = TypeVar("T")

HANG_GUARD_SECONDS = 10.0
"""How long a test waits for an activity to report before it fails (a hang guard, not a timing)."""

_boxes: dict[str, Mailbox] = {}


def new_id(prefix: str = "wf") -> str:
    """A fresh execution id."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class Mailbox:
    """What the activities of one execution hand to the test, and a gate they may wait on."""

    def __init__(self, execution_id: str | None = None) -> None:
        self.id = execution_id or new_id()
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._gate = asyncio.Event()
        self._thread_gate = threading.Event()
        _boxes[self.id] = self

    def put(self, item: object) -> None:
        """Deliver ``item`` to the test; safe from the event loop and from activity threads."""
        self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    async def get(self) -> object:
        """The next item an activity posted."""
        try:
            return await asyncio.wait_for(self._queue.get(), HANG_GUARD_SECONDS)
        except TimeoutError:
            raise AssertionError(f"no activity of {self.id} reported within the hang guard") from None

    async def context(self) -> tether.ActivityContext:
        """The next item, which must be an activity context."""
        item = await self.get()
        assert isinstance(item, tether.ActivityContext), f"expected an activity context, got {item!r}"
        return item

    def empty(self) -> bool:
        """Whether nothing is waiting to be read."""
        return self._queue.empty()

    def open_gate(self) -> None:
        """Let activities waiting on the gate go on."""
        self._gate.set()
        self._thread_gate.set()

    async def wait_for_gate(self) -> None:
        await self._gate.wait()

    def wait_for_gate_in_thread(self) -> None:
        if not self._thread_gate.wait(HANG_GUARD_SECONDS):
            raise AssertionError(f"the gate of {self.id} was not opened within the hang guard")


def box() -> Mailbox:
    """The mailbox of the execution whose activity is running (call inside an activity)."""
    return _boxes[tether.context().execution_id]


def post(item: object) -> None:
    """Post ``item`` to the test from inside an activity."""
    box().put(item)


def post_context() -> tether.ActivityContext:
    """Post the running attempt's context to the test and return it."""
    ctx = tether.context()
    box().put(ctx)
    return ctx


async def result_of(handle: tether.WorkflowHandle[T]) -> T:
    """The workflow's result, failing the test (instead of hanging it) if it does not come."""
    try:
        return await handle.result(timeout=HANG_GUARD_SECONDS)
    except TimeoutError:
        description = await handle.describe()
        raise AssertionError(f"{handle.id} did not close within the hang guard: {description}") from None


async def advance(env: TestEnvironment, delta: timedelta) -> None:
    """``env.advance(delta)``, failing the test (instead of hanging it) if it does not return."""
    try:
        await asyncio.wait_for(env.advance(delta), HANG_GUARD_SECONDS)
    except TimeoutError:
        raise AssertionError(f"advance({delta}) did not return within the hang guard") from None


def times(history: list[tether.HistoryEvent], *types: str) -> list[datetime]:
    """When the events of the given types happened, in order."""
    return [e.at for e in history if e.type in types]


async def snapshot(client: tether.Client, execution_id: str) -> tuple[tether.WorkflowDescription, list[Any]]:
    """Everything a user can read about an execution, to compare before and after a refused call."""
    return await client.describe(execution_id), await client.history(execution_id)


def of_type(history: list[tether.HistoryEvent], *types: str) -> list[tether.HistoryEvent]:
    """The events of the given types, in order."""
    return [e for e in history if e.type in types]


CLOSING_EVENTS = ("ActivityCompleted", "ActivityFailed", "ActivityTimedOut", "ActivityCancelled")


def only_pending(description: tether.WorkflowDescription) -> tether.ActivityDescription:
    """The one open activity of an execution."""
    assert len(description.pending_activities) == 1, description.pending_activities
    return description.pending_activities[0]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_body(token: str) -> Any:
    """The JSON a token's first part carries (tokens are opaque to users; tests read them to alter them)."""
    return json.loads(_unb64(token.split(".")[0]))


def with_body(token: str, body: Any) -> str:
    """``token`` with its first part replaced by ``body`` and its signature kept."""
    return f"{_b64(json.dumps(body, separators=(',', ':')).encode())}.{token.split('.')[1]}"


def with_signature(token: str, signature: bytes) -> str:
    """``token`` with its body kept and its signature replaced."""
    return f"{token.split('.')[0]}.{_b64(signature)}"
