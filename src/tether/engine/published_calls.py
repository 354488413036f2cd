"""The engine's call that reads a published value, waiting (a long poll) for a newer one when asked."""

from __future__ import annotations

from tether.engine import published, runs
from tether.engine.core import EngineCore
from tether.errors import NotPublished
from tether.model.access import Access, Action
from tether.model.records import Published
from tether.store.base import Transaction


class PublishedCalls(EngineCore):
    """Reads of published values (``client.published``)."""

    async def published(
        self,
        execution_id: str,
        name: str,
        *,
        after: int | None = None,
        wait_ms: int = 0,
        access: Access | None = None,
    ) -> Published:
        """The last value ``name`` of an execution (of its current run, for the chain's id).

        With ``wait_ms``, wait up to that long (on the engine's clock) for a version newer than
        ``after`` (for any version, when ``after`` is None); at the end of the wait the current
        value is returned as it is. Every publish, here or in another process sharing the
        store, wakes the wait: it then reads again.

        Raises:
            ExecutionNotFound: no execution has this id.
            PermissionDenied: ``access`` may not read this execution's workflow.
            NotPublished: the execution holds no value of that name (when the wait, if any, ends).
        """
        notifier, clock = self.notifier, self.clock
        deadline = clock.now_ms() + max(wait_ms, 0)

        def read(tx: Transaction) -> Published | None:
            run = runs.permitted(tx, execution_id, access, Action.READ_WORKFLOWS, exact=True)
            return published.of(tx, run.id, name)

        while True:
            # The version is taken before the read: a publish committed after it wakes the wait below.
            since = notifier.topic_version(published.TOPIC)
            current = await self.store.read(read)
            if current is not None and (after is None or current.version > after):
                return current
            if clock.now_ms() >= deadline:
                if current is None:
                    raise NotPublished(execution_id, name)
                return current
            await notifier.wait_for_change(since, clock, deadline, topic=published.TOPIC)
