"""The delivery loop: a worker sends the outbox's notifications, each a signed POST, at least once.

The loop leases due notifications from the store (several workers share them: each is
tried by one worker at a time), and POSTs each in a task of its own, so that a receiver
that is slow or down holds only its own notifications: at most :data:`PER_URL` tries to one
URL run at once, and its other notifications wait for those, not the rest. How a try went
is recorded by a transition that schedules the next try on the engine's clock (so tests
skip the back-off with the virtual clock) or gives up past the retry policy's attempts. A
worker that stops mid-try leaves its lease to run out; the notification is then tried again.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from tether import errors
from tether.engine import notifier
from tether.engine.engine import Engine
from tether.engine.notifications import Delivery
from tether.model import notifications
from tether.model.options import RetryPolicy
from tether.worker import back_off

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger(__name__)

CONCURRENCY = 64
"""Tries a worker runs at once."""
PER_URL = 8
"""Tries to one URL a worker runs at once: a receiver that hangs holds no more of the others' room."""
_LEASE_MARGIN_MS = 60_000
"""How much longer than a try's timeout a lease lasts (it is on the engine's clock)."""
_RECORD_TRIES = 8
_ERROR_TEXT = 300
"""Characters of a refusing receiver's answer kept as the notification's last error."""


class Deliveries:
    """The notification loop of one worker.

    Args:
        park: tells the worker what the loop waits for (see ``Worker._park``): it is idle
            while no try runs and no notification is due.
    """

    def __init__(
        self,
        engine: Engine,
        owner: str,
        park: Callable[[str, Callable[[], bool] | None], None],
        *,
        timeout_s: float,
        retry: RetryPolicy,
        public_base: str | None,
    ) -> None:
        self._engine = engine
        self._owner = owner
        self._park = park
        self._timeout_s = timeout_s
        self._retry = retry
        self._public_base = public_base
        self._lease_ms = int(timeout_s * 1000) + _LEASE_MARGIN_MS
        self._in_flight: collections.Counter[str] = collections.Counter()
        self._log = {"worker": owner}

    async def run(self) -> None:
        """Deliver until cancelled; tries under way are cancelled with it (their leases run out)."""
        engine = self._engine
        changes = engine.notifier
        clock = engine.clock
        async with contextlib.AsyncExitStack() as stack, asyncio.TaskGroup() as group:
            # The HTTP client is made at the first delivery: making one loads the CA certificates
            # (tens of milliseconds of CPU), which a worker that never notifies should not pay.
            http: httpx.AsyncClient | None = None
            failures = 0
            while True:
                version = changes.topic_version(notifier.OUTBOX)
                try:
                    claimed = await self._claim()
                    wake = None if claimed else await engine.next_delivery_due_ms()
                    failures = 0
                except errors.StoreUnavailable:
                    # Handled here, not by the worker: the tries under way go on meanwhile.
                    failures += 1
                    logger.warning("store unavailable; notifications wait", exc_info=failures == 1, extra=self._log)
                    await asyncio.sleep(back_off.delay(failures))
                    continue
                if claimed and http is None:
                    import httpx  # here: importing it costs a program that never notifies ~90 ms at start

                    timeout = httpx.Timeout(self._timeout_s)
                    http = await stack.enter_async_context(httpx.AsyncClient(timeout=timeout, follow_redirects=False))
                for delivery in claimed:
                    assert http is not None
                    self._in_flight[delivery.url] += 1
                    group.create_task(self._deliver(http, delivery), name=f"tether-notify-{delivery.delivery_id}")
                if claimed:
                    continue
                if wake is not None and wake <= clock.now_ms():
                    wake = None  # due but not claimable now (its URL is busy here): a try's end wakes the loop
                self._park(notifier.OUTBOX, functools.partial(self._idle, version, wake))
                try:
                    await changes.wait_for_change(version, clock, wake, topic=notifier.OUTBOX)
                finally:
                    self._park(notifier.OUTBOX, None)

    def _idle(self, version: int, wake_ms: int | None) -> bool:
        engine = self._engine
        return (
            not self._in_flight
            and engine.notifier.topic_version(notifier.OUTBOX) == version
            and (wake_ms is None or engine.clock.now_ms() < wake_ms)
        )

    async def _claim(self) -> list[Delivery]:
        free = CONCURRENCY - sum(self._in_flight.values())
        if free <= 0:
            return []
        busy = sorted(url for url, count in self._in_flight.items() if count >= PER_URL)
        return await self._engine.claim_deliveries(
            owner=self._owner, limit=free, lease_ms=self._lease_ms, exclude_urls=busy, public_base=self._public_base
        )

    async def _deliver(self, http: httpx.AsyncClient, delivery: Delivery) -> None:
        log = {
            **self._log, "execution_id": delivery.execution_id, "activity_id": delivery.activity_id,
            "delivery_id": delivery.delivery_id,
        }  # fmt: skip
        try:
            try:
                error = await self._post(http, delivery)
            except Exception as exc:  # one notification must never take the loop down
                logger.exception("notification try failed", extra=log)
                error = f"{type(exc).__name__}: {exc}"
            if error is not None:
                logger.warning("notification to %s not delivered: %s", delivery.url, error, extra=log)
            record = functools.partial(
                self._engine.record_delivery, delivery.delivery_id, self._owner, error, self._retry
            )
            await back_off.retrying(
                record, tries=_RECORD_TRIES, failed="could not record a notification's try", logger=logger, extra=log
            )
        except errors.StoreUnavailable:
            logger.error("gave up recording a notification's try; it is tried again once its lease ends", extra=log)
        finally:
            self._in_flight[delivery.url] -= 1
            if self._in_flight[delivery.url] <= 0:
                del self._in_flight[delivery.url]
            self._engine.notifier.changed((notifier.OUTBOX,))  # the loop may claim more

    async def _post(self, http: httpx.AsyncClient, delivery: Delivery) -> str | None:
        """Send one try; None if the receiver took it (any 2xx), else why not."""
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "tether-notifications",
            notifications.SIGNATURE_HEADER: notifications.sign(delivery.secret, delivery.body),
            notifications.DELIVERY_HEADER: delivery.delivery_id,
            notifications.EVENT_HEADER: delivery.event,
        }
        import httpx  # imported already: the loop made its client with it

        try:
            response = await http.post(delivery.url, content=delivery.body, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if 200 <= response.status_code < 300:
            return None
        text = response.text.strip()
        return f"HTTP {response.status_code}" + (f": {text[:_ERROR_TEXT]}" if text else "")
