"""How the engine runs a transition: over one store and one clock, pushing the work it creates to the local worker."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from tether.engine import activities, dispatch, keys, notifier, observation
from tether.errors import Refused
from tether.model.clock import Clock
from tether.store.base import Store, ThreadedStore, Touches, TouchesAhead, Transaction
from tether.store.rows import ExecutionRow

logger = logging.getLogger(__name__)

T = TypeVar("T")


class _Refusal:
    """A refusal raised once the transition committed (see ``activities.RefusedAfterDeadlines``)."""

    __slots__ = ("error",)

    def __init__(self, error: Refused) -> None:
        self.error = error


class EngineCore:
    """Runs transitions over one store and one clock, and owns the in-process wake-ups.

    Work a transition creates for the worker of this process is leased to it in the same
    transaction and handed over with the commit; result waiters get the final rows the
    same way. :class:`~tether.engine.engine.Engine` builds its calls on this.
    """

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.notifier = notifier.Notifier()
        self._keys = keys.SigningKeys()
        self._checking: asyncio.Future[None] | None = None
        self._local: dispatch.LocalWorker | None = None
        self._threaded = store if isinstance(store, ThreadedStore) else None
        self._observers: tuple[observation.Observer, ...] = ()
        store.set_listener(self._on_change)

    def add_observer(self, observer: observation.Observer) -> None:
        """Tell ``observer`` the facts of every transition that commits from now on (see ``engine.observation``).

        Without observers, transitions note nothing: telemetry costs nothing when nobody listens.
        """
        self._observers = (*self._observers, observer)
        observation.observers += 1

    def remove_observer(self, observer: observation.Observer) -> None:
        """Stop telling ``observer``."""
        kept = tuple(o for o in self._observers if o is not observer)
        observation.observers -= len(self._observers) - len(kept)
        self._observers = kept

    def observe(self, facts: Sequence[observation.Fact], caller: str | None = None) -> None:
        """Hand facts to every observer; one that raises is logged, never the caller's failure.

        ``caller``: who the facts' transition ran for (default: whom this task runs for).
        """
        who = caller if caller is not None else observation.caller.get()
        for observer in self._observers:
            try:
                observer.observe(facts, who)
            except Exception:
                logger.warning("an observer failed", exc_info=True)

    def attach_worker(self, worker: dispatch.LocalWorker) -> None:
        """Push work this process creates to ``worker`` (the first attached worker gets it)."""
        if self._local is None:
            self._local = worker

    def _seen_by_worker(self, execution_id: str, worker: dispatch.LocalWorker | None) -> int | None:
        """The last event of the execution ``worker`` has seen (None: it caches none of it, or there is none).

        A transition that will likely run the execution's next workflow task here tells the
        store (``expect_events``), which may then read the events the worker lacks with the lock.
        """
        return None if worker is None else worker.cached_seq.get(execution_id)

    def _closing_touches(
        self, execution_id: str, activity_id: int, *, announced: bool, worker: dispatch.LocalWorker | None
    ) -> Touches:
        """What a transition recording an activity's close touches first, for the store to read ahead.

        Its execution and activity; whether the activity's waiting was announced, if it may
        have been (``announced``: it went async or was retried), as its close is then announced
        to the same URLs; the events the local worker lacks, as its workflow task likely runs
        here next; and, if the worker's instance awaits nothing but this activity, the open
        activities, which its workflow reads if it closes.
        """
        if worker is None:
            return Touches(execution_id, activity_id, reads_waiting_notice=announced)
        return Touches(
            execution_id,
            activity_id,
            worker.cached_seq.get(execution_id),
            reads_open_activities=worker.awaits_only(execution_id, activity_id),
            reads_waiting_notice=announced,
        )

    def detach_worker(self, worker: dispatch.LocalWorker) -> None:
        """Stop pushing work to ``worker`` (not to a successor attached under the same name)."""
        if self._local is worker:
            self._local = None

    async def _run(
        self,
        transition: Callable[[Transaction], T],
        *,
        ran: dict[str, dispatch.CachedExecution] | None = None,
        touches: TouchesAhead | None = None,
    ) -> T:
        """Run a writing transition; work it queues goes to the local worker in the same transaction.

        ``ran`` is filled by the transition with the instances whose task it completed;
        ``touches`` tells the store what it will lock first (see ``Store.run``).
        """
        worker = self._local

        who = observation.caller.get() if self._observers else None

        def body(tx: Transaction) -> T | _Refusal:
            result, pushed = self._transition(tx, transition, worker, ran, who)
            if pushed is not None:
                assert worker is not None
                tx.after_commit(lambda: worker.accept(pushed))
            return result

        if self._observers:
            outcome = await self._timed(body, touches)
        else:
            outcome = await self.store.run(body, touches=touches)
        if isinstance(outcome, _Refusal):
            raise outcome.error
        return outcome

    async def _timed(self, body: Callable[[Transaction], T], touches: TouchesAhead | None) -> T:
        """Run a writing transaction, telling observers how long it took and whether the store failed it."""
        began = time.perf_counter()
        try:
            result = await self.store.run(body, touches=touches)
        except Refused:
            self.observe([observation.StoreTransaction(time.perf_counter() - began)])
            raise
        except Exception as exc:
            self.observe([observation.StoreTransaction(time.perf_counter() - began, type(exc).__name__)])
            raise
        self.observe([observation.StoreTransaction(time.perf_counter() - began)])
        return result

    def _run_in_thread(
        self,
        transition: Callable[[Transaction], T],
        done: Callable[[tuple[T | None, dispatch.Pushed | None] | None, BaseException | None], None],
        worker: dispatch.LocalWorker,
        *,
        touches: TouchesAhead | None = None,
    ) -> None:
        """Like :meth:`_run`, from a thread of ``worker``: ``done`` gets the result and the work pushed to it.

        The work goes to the worker whose thread submitted the transition, as ``done`` hands
        it to that worker, attached or not: another worker of this process may run other
        workflows (its cache, its leases), or be this one's successor under the same name.
        A refusal that follows applied deadlines comes as the result None: the work the
        deadlines created is still handed over.
        """
        assert self._threaded is not None
        noted: list[observation.Fact] | None = [] if self._observers else None

        def body(tx: Transaction) -> tuple[T | None, dispatch.Pushed | None]:
            if noted:
                noted.clear()  # a batch run again runs its transitions again
            result, pushed = self._transition(tx, transition, worker, noted=noted)
            return (None if isinstance(result, _Refusal) else result), pushed

        if noted is None:
            self._threaded.run_in_thread(body, done, touches=touches)
            return

        def finished(outcome: tuple[T | None, dispatch.Pushed | None] | None, error: BaseException | None) -> None:
            if outcome is not None and noted:
                # Committed: told here, on the thread that committed, rather than by an
                # after-commit hook, which would wake the event loop for nothing else.
                self.observe(noted)
            done(outcome, error)

        self._threaded.run_in_thread(body, finished, touches=touches)

    def _transition(
        self,
        tx: Transaction,
        transition: Callable[[Transaction], T],
        worker: dispatch.LocalWorker | None,
        ran: dict[str, dispatch.CachedExecution] | None = None,
        caller: str | None = None,
        noted: list[observation.Fact] | None = None,
    ) -> tuple[T | _Refusal, dispatch.Pushed | None]:
        """Run ``transition`` in ``tx`` and push the work it made; its facts go to observers after the commit.

        ``noted``: a list that takes the facts, for the caller to hand over once committed,
        instead of an after-commit hook.
        """
        result: T | _Refusal
        collecting = observation.collect() if self._observers else None
        try:
            try:
                result = transition(tx)
            except activities.RefusedAfterDeadlines as late:
                # The deadlines it applied are facts whatever became of the call: they commit.
                result = _Refusal(late.refusal)
            pushed = None if worker is None else dispatch.push(tx, worker, self.clock.now_ms(), self._keys.sign, ran)
        finally:
            if collecting is not None:
                observation.stop(collecting[1])
        if collecting is not None and collecting[0]:
            facts = collecting[0]
            if noted is not None:
                noted.extend(facts)
            else:
                tx.after_commit(lambda: self.observe(facts, caller))
        closed = tx.closed_executions()
        awaited = [e for e in closed if self.notifier.is_awaited(e)] if closed else None
        if awaited:
            # Hand the final rows to result waiters with the commit: no second read.
            rows = {e: tx.get_execution(e) for e in awaited}
            tx.after_commit(lambda: self._deliver_closed(rows))
        return result, pushed

    @property
    def runs_in_thread(self) -> bool:
        """Whether worker threads may record attempt outcomes themselves (see :meth:`record_attempt_in_thread`)."""
        return self._threaded is not None

    def _on_change(self, changes: set[str]) -> None:
        topics: set[str] = set()
        for key in changes:
            if key in notifier.TOPICS:
                topics.add(key)
            elif key == "*":
                topics.update(notifier.TOPICS)
            elif key == "external":
                pass  # another process committed: closed executions are looked up below
            else:
                self.notifier.closed(key)
        if topics:
            self.notifier.changed(topics)
        if "external" in changes and self.notifier.awaited_executions() and self._checking is None:
            self._checking = asyncio.ensure_future(self._check_awaited())
            self._checking.add_done_callback(self._checked)

    def _checked(self, task: asyncio.Future[None]) -> None:
        self._checking = None
        if not task.cancelled() and task.exception() is not None:
            logger.warning("could not look up awaited executions", exc_info=task.exception())

    def _deliver_closed(self, rows: dict[str, ExecutionRow | None]) -> None:
        for execution_id, row in rows.items():
            self.notifier.closed(execution_id, row)

    async def _check_awaited(self) -> None:
        ids = self.notifier.awaited_executions()

        # One query for all of them: a process awaiting many results while workers elsewhere
        # commit (each commit reported as "external") must not read them one by one.
        for execution_id in await self.store.read(lambda tx: tx.closed_among(sorted(ids))):
            self.notifier.closed(execution_id)
