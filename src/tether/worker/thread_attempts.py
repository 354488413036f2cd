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
from tether.engine import dispatch, tracing
from tether.engine.activity_starts import AttemptStart
from tether.engine.engine import Engine
from tether.model.codecs import PayloadCodec
from tether.model.tokens import TokenClaims
from tether.runtime.definitions import Activity
from tether.worker import activity_runner
from tether.worker.running_attempts import Running, RunningAttempts

logger = logging.getLogger(__name__)


class ThreadAttempts:
    """The sync attempts of one worker that run on its threads.

    Args:
        attempts: the worker's running attempts, which these join while they run.
        local: the worker as the engine pushes work to it: what an outcome recorded here
            pushes goes to this worker, whichever the engine pushes its other work to.
        keep: caches an instance that ran a workflow task (thread-safe).
        accept: takes, on the event loop, the rest of what an outcome pushed to the worker.
        release_slot: gives back the slot of an attempt that will not run (thread-safe).
        public_base: the public base URL the attempts' callback URLs start with (None: they have none).
        codec: decodes the attempts' arguments and checkpoints and encodes their outcomes.
        tracer: makes the attempts' spans.
    """

    def __init__(
        self,
        engine: Engine,
        activities: Mapping[str, Activity[..., Any]],
        executor: Executor,
        loop: asyncio.AbstractEventLoop,
        *,
        attempts: RunningAttempts,
        local: dispatch.LocalWorker,
        keep: Callable[[dispatch.CachedExecution], None],
        accept: Callable[[dispatch.Pushed], None],
        release_slot: Callable[[], None],
        public_base: str | None = None,
        codec: PayloadCodec | None = None,
        tracer: tracing.Tracer | None = None,
    ) -> None:
        self._engine = engine
        self._codec = codec
        self._activities = activities
        self._executor = executor
        self._loop = loop
        self._attempts = attempts
        self._local = local
        self._keep = keep
        self._accept = accept
        self._release_slot = release_slot
        self._public_base = public_base
        self._tracer = tracer
        self._lock = threading.Lock()
        self._running: set[Running] = set()
        self._stopped = False

    def runs(self, start: AttemptStart) -> bool:
        """Whether this attempt is one to run here (a sync activity)."""
        return not self._activities[start.name].is_async

    def launch(self, start: AttemptStart) -> None:
        """Run an attempt (holding a slot) on a pool thread; from any thread."""
        attempt = self._add(start)
        if attempt is None:
            return
        try:
            self._executor.submit(self._run, attempt)
        except RuntimeError:  # the pool shut down: the worker is stopping
            self._end(attempt)

    def _add(self, start: AttemptStart) -> Running | None:
        with self._lock:
            if self._stopped:
                self._release_slot()
                return None
            attempt = self._attempts.add(start, self._activities[start.name].options, self._engine.clock)
            self._running.add(attempt)
            return attempt

    def stop(self) -> list[AttemptStart]:
        """Record no more outcomes; returns the attempts still running."""
        with self._lock:
            self._stopped = True
            return [attempt.start for attempt in self._running if attempt.over is None]

    def _run(self, attempt: Running) -> None:
        following: Running | None = attempt
        while following is not None:
            current = following
            try:
                following = self._run_one(current)
            except Exception:
                # One activity must never take the worker down; its attempt times out or is reaped.
                logger.exception("could not run or report the attempt", extra=current.log)
                self._end(current)
                following = None

    def _run_one(self, attempt: Running) -> Running | None:
        """Run and record one attempt; returns the next one to run on this thread, if any."""
        start = attempt.start
        activity = self._activities[start.name]
        outcome = activity_runner.run_in_thread(
            self._engine,
            activity,
            attempt,
            self._loop,
            self._attempts,
            self._public_base,
            self._codec,
            self._tracer,
        )
        if outcome is None or self._stopped:
            self._end(attempt)
            return None
        here = threading.get_ident()
        following: list[Running] = []

        def recorded(pushed: dispatch.Pushed | None, error: BaseException | None) -> None:
            # On this thread if it ran the store's batch itself, else on the store's thread.
            try:
                if error is not None:
                    retry = activity_runner.recording_failed(self._engine, start, outcome, error, self._loop)
                    if retry is not None:
                        retry.add_done_callback(lambda _: self._end(attempt))
                        return
                elif pushed is not None:
                    following.extend(self._hand_over(pushed, inline=threading.get_ident() == here))
            except Exception:
                logger.exception("could not hand over an attempt's outcome", extra=attempt.log)
            self._end(attempt)

        claims = TokenClaims(start.execution_id, start.activity_id, start.attempt)
        try:
            self._engine.record_attempt_in_thread(claims, outcome, recorded, self._local)
        except errors.StoreUnavailable as exc:
            recorded(None, exc)
        return following[0] if following else None

    def _hand_over(self, pushed: dispatch.Pushed, *, inline: bool) -> list[Running]:
        """Take what a recorded outcome pushed to the worker; returns the attempt to run inline, if any."""
        for instance in pushed.ran:
            self._keep(instance)
        mine: list[AttemptStart] = []
        others: list[AttemptStart] = []
        for start in pushed.starts:
            (mine if self.runs(start) else others).append(start)
        following: list[Running] = []
        if mine and inline:
            inline_attempt = self._add(mine.pop(0))
            if inline_attempt is not None:
                following.append(inline_attempt)
        for start in mine:
            self.launch(start)
        if pushed.tasks or others:
            self._call_on_loop(self._accept, dispatch.Pushed(pushed.tasks, others, []))
        return following

    def _end(self, attempt: Running) -> None:
        # Ending twice (an error after the outcome was handed over) changes nothing the second time.
        with self._lock:
            self._running.discard(attempt)
        self._attempts.end(attempt)

    def _call_on_loop(self, callback: Callable[..., None], *args: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop closed: the worker is gone
            logger.debug("event loop closed; %r not delivered", callback)
