"""Sync activity attempts that run start to finish on the worker's threads.

A pool thread runs the activity, records its outcome itself (running the store's batch
when none is under way) and goes straight on with the attempt that outcome pushed to this
worker, if it is a sync one too: a workflow calling sync activities one after another
moves from step to step without waking the event loop or another thread. The loop hears
only of what it must act on (workflow tasks, async attempts, an idle worker).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from typing import Any

from tether import errors
from tether.engine import dispatch
from tether.engine.activities import AttemptStart
from tether.engine.engine import Engine
from tether.model.tokens import TokenClaims
from tether.runtime.definitions import Activity
from tether.worker import activity_runner

logger = logging.getLogger(__name__)


class ThreadAttempts:
    """The sync attempts of one worker that run on its threads.

    Args:
        keep: caches an instance that ran a workflow task (thread-safe).
        accept: takes, on the event loop, the rest of what an outcome pushed to the worker.
        release_slot: gives back an attempt's slot (thread-safe).
        on_idle: called on the event loop when the last attempt has ended.
    """

    def __init__(
        self,
        engine: Engine,
        activities: Mapping[str, Activity[..., Any]],
        executor: Executor,
        loop: asyncio.AbstractEventLoop,
        *,
        keep: Callable[[dispatch.CachedExecution], None],
        accept: Callable[[dispatch.Pushed], None],
        release_slot: Callable[[], None],
        on_idle: Callable[[], None],
    ) -> None:
        self._engine = engine
        self._activities = activities
        self._executor = executor
        self._loop = loop
        self._keep = keep
        self._accept = accept
        self._release_slot = release_slot
        self._on_idle = on_idle
        self._lock = threading.Lock()
        self._running: dict[tuple[str, int, int], AttemptStart] = {}
        self._stopped = False

    def runs(self, start: AttemptStart) -> bool:
        """Whether this attempt is one to run here (a sync activity)."""
        return not self._activities[start.name].is_async

    @property
    def running(self) -> int:
        """Attempts launched and not yet recorded."""
        return len(self._running)

    def launch(self, start: AttemptStart) -> None:
        """Run an attempt (holding a slot) on a pool thread; from any thread."""
        with self._lock:
            if self._stopped:
                self._release_slot()
                return
            self._running[_key(start)] = start
        try:
            self._executor.submit(self._run, start)
        except RuntimeError:  # the pool shut down: the worker is stopping
            self._end(start)

    def stop(self) -> list[AttemptStart]:
        """Record no more outcomes; returns the attempts still running."""
        with self._lock:
            self._stopped = True
            return list(self._running.values())

    def _run(self, start: AttemptStart) -> None:
        following: AttemptStart | None = start
        while following is not None:
            current = following
            try:
                following = self._run_one(current)
            except Exception:
                # One activity must never take the worker down; its attempt times out or is reaped.
                logger.exception("could not run or report the attempt", extra=activity_runner._log(current))
                self._end(current)
                following = None

    def _run_one(self, start: AttemptStart) -> AttemptStart | None:
        """Run and record one attempt; returns the next one to run on this thread, if any."""
        outcome = activity_runner.run_in_thread(self._engine, self._activities[start.name], start, self._loop)
        if outcome is None or self._stopped:
            self._end(start)
            return None
        here = threading.get_ident()
        following: list[AttemptStart] = []

        def recorded(pushed: dispatch.Pushed | None, error: BaseException | None) -> None:
            # On this thread if it ran the store's batch itself, else on the store's thread.
            try:
                if error is not None:
                    retry = activity_runner.recording_failed(self._engine, start, outcome, error, self._loop)
                    if retry is not None:
                        retry.add_done_callback(lambda _: self._end(start))
                        return
                elif pushed is not None:
                    following.extend(self._hand_over(pushed, inline=threading.get_ident() == here))
            except Exception:
                logger.exception("could not hand over an attempt's outcome", extra=activity_runner._log(start))
            self._end(start)

        claims = TokenClaims(start.execution_id, start.activity_id, start.attempt)
        try:
            self._engine.record_attempt_in_thread(claims, outcome, recorded)
        except errors.StoreUnavailable as exc:
            recorded(None, exc)
        return following[0] if following else None

    def _hand_over(self, pushed: dispatch.Pushed, *, inline: bool) -> list[AttemptStart]:
        """Take what a recorded outcome pushed to the worker; returns the attempt to run inline, if any."""
        for instance in pushed.ran:
            self._keep(instance)
        mine: list[AttemptStart] = []
        others: list[AttemptStart] = []
        for start in pushed.starts:
            (mine if self.runs(start) else others).append(start)
        following: list[AttemptStart] = []
        with self._lock:
            if self._stopped:
                for _ in pushed.starts:
                    self._release_slot()
                mine, others = [], []
            elif mine and inline:
                following.append(mine.pop(0))
                self._running[_key(following[0])] = following[0]
        for start in mine:
            self.launch(start)
        if pushed.tasks or others:
            self._call_on_loop(self._accept, dispatch.Pushed(pushed.tasks, others, []))
        return following

    def _end(self, start: AttemptStart) -> None:
        with self._lock:
            if self._running.pop(_key(start), None) is None:
                return  # ended already (an error after its outcome was handed over)
            idle = not self._running
        self._release_slot()
        if idle:
            self._call_on_loop(self._on_idle)

    def _call_on_loop(self, callback: Callable[..., None], *args: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop closed: the worker is gone
            logger.debug("event loop closed; %r not delivered", callback)


def _key(start: AttemptStart) -> tuple[str, int, int]:
    return (start.execution_id, start.activity_id, start.attempt)
