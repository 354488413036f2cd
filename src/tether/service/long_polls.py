"""Requests that wait (long polls): a wait ends early when its caller hangs up or the server stops."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from fastapi import Request

from tether.service import state

T = TypeVar("T")


class CallerGone(Exception):
    """The caller hung up while its request waited: it reads no answer."""


async def wait(request: Request, waiting: Coroutine[Any, Any, T]) -> T | None:
    """What ``waiting`` returns (or raises); None if the server stops first, so the caller asks again elsewhere.

    A caller that hangs up stops the wait: it no longer counts as waiting.

    Raises:
        CallerGone: the caller hung up first.
    """
    done = asyncio.ensure_future(waiting)
    hung_up = asyncio.ensure_future(_wait_for_disconnect(request))
    shutdown = asyncio.ensure_future(state.stopping(request).wait())
    try:
        await asyncio.wait({done, hung_up, shutdown}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (done, hung_up, shutdown):
            task.cancel()
    if hung_up.done() and not hung_up.cancelled() and hung_up.exception() is None:
        raise CallerGone
    if done.done() and not done.cancelled():
        return done.result()
    return None


async def _wait_for_disconnect(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass
