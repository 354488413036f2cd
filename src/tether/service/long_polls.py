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

    ``waiting`` runs in the request's own task, so that what it waits for (an execution's
    close, a reply) resumes the request at once, not a task of its own that then wakes the
    request; the hang-up and the server's stop are watched beside it and cancel it.

    Raises:
        CallerGone: the caller hung up first.
    """
    task = asyncio.current_task()
    assert task is not None
    ended_by: list[asyncio.Future[Any]] = []

    def stop(watcher: asyncio.Future[Any]) -> None:
        if not watcher.cancelled() and not ended_by:
            ended_by.append(watcher)
            task.cancel()

    hung_up = asyncio.ensure_future(_wait_for_disconnect(request))
    shutdown = asyncio.ensure_future(state.stopping(request).wait())
    watchers = (hung_up, shutdown)
    for watcher in watchers:
        watcher.add_done_callback(stop)
    try:
        result = await waiting
    except asyncio.CancelledError:
        if not ended_by or task.uncancel() > 0:
            raise  # cancelled from outside (as well): not this wait's to absorb
        if ended_by[0] is hung_up and hung_up.exception() is None:
            raise CallerGone from None
        return None
    finally:
        for watcher in watchers:
            watcher.remove_done_callback(stop)
            watcher.cancel()
    if ended_by:  # the cancellation came as ``waiting`` ended, and it took it in
        task.uncancel()
    return result


async def _wait_for_disconnect(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass
