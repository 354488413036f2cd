"""Requests that wait (long polls): they end when their wait does, the caller hangs up, or the server stops."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from fastapi import Request

from tether.service import state

T = TypeVar("T")


class HungUp(Exception):
    """The caller hung up: nobody reads the answer."""


async def wait_while_listened(request: Request, waiting: Awaitable[T]) -> T | None:
    """Await ``waiting`` unless the caller hangs up (HungUp) or the server stops first (None).

    Whatever ``waiting`` raises is raised. A caller that hangs up stops the wait, so it no
    longer counts as waiting (test environments skip time only while someone waits).
    """
    work = asyncio.ensure_future(waiting)
    hung_up = asyncio.ensure_future(_wait_for_disconnect(request))
    shutdown = asyncio.ensure_future(state.stopping(request).wait())
    try:
        await asyncio.wait({work, hung_up, shutdown}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (work, hung_up, shutdown):
            task.cancel()
    if hung_up.done() and not hung_up.cancelled() and hung_up.exception() is None:
        raise HungUp
    if work.done() and not work.cancelled():
        return work.result()
    return None


async def _wait_for_disconnect(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass
