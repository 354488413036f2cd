"""The engine's calls about notifications out: workers lease and record deliveries, operators manage sinks."""

from __future__ import annotations

from collections.abc import Sequence

from tether.engine import notifications, runs
from tether.engine.core import EngineCore
from tether.engine.notifications import Delivery, Signers
from tether.model import callback_tokens
from tether.model.access import Access, Action
from tether.model.callback_tokens import CallbackClaims
from tether.model.options import RetryPolicy
from tether.model.records import DeliveryInfo, SinkInfo
from tether.model.tokens import ActivityClaims, TokenClaims
from tether.store.base import Transaction


class NotificationCalls(EngineCore):
    """Transitions of notifications out (see ``engine.notifications``)."""

    async def claim_deliveries(
        self, *, owner: str, limit: int, lease_ms: int, exclude_urls: Sequence[str] = (), public_base: str | None
    ) -> list[Delivery]:
        """Lease up to ``limit`` due notifications to worker ``owner`` for ``lease_ms``, with their bodies.

        A waiting notification gets the attempt's token, the activity token and, with a
        ``public_base``, the callback URLs, signed with the store's keys as the claim runs.
        """
        now = self.clock.now_ms()

        def claim(tx: Transaction) -> list[Delivery]:
            return notifications.claim(
                tx, owner=owner, now_ms=now, lease_ms=lease_ms, limit=limit, exclude_urls=exclude_urls,
                signers=self._signers(tx, now, public_base),
            )  # fmt: skip

        return await self._run(claim)

    def _signers(self, tx: Transaction, now_ms: int, public_base: str | None) -> Signers:
        keys = self._keys

        def token(execution_id: str, activity_id: int, attempt: int) -> str:
            return keys.sign(tx, TokenClaims(execution_id, activity_id, attempt), now_ms)

        def activity_token(execution_id: str, activity_id: int) -> str:
            return keys.sign(tx, ActivityClaims(execution_id, activity_id), now_ms)

        def callback_urls(execution_id: str, activity_id: int, attempt: int) -> dict[str, str]:
            assert public_base is not None
            key_id, secret = keys.newest(tx, now_ms)
            return {
                action: callback_tokens.url_of(
                    public_base,
                    action,
                    callback_tokens.sign(
                        CallbackClaims(execution_id, activity_id, attempt, action, None), key_id, secret
                    ),
                )
                for action in callback_tokens.ACTIONS
            }

        return Signers(token, activity_token, None if public_base is None else callback_urls)

    async def record_delivery(
        self, delivery_id: str, owner: str, error: str | None, retry: RetryPolicy = notifications.DEFAULT_RETRY
    ) -> str | None:
        """Record how a worker's try of a notification went (``error`` None: delivered), as ``notifications.record``."""
        now = self.clock.now_ms()
        return await self._run(lambda tx: notifications.record(tx, delivery_id, owner, error, now, retry))

    async def next_delivery_due_ms(self) -> int | None:
        """When the next notification falls due (or a lease on one runs out)."""
        return await self.store.read(lambda tx: tx.next_outbox_due_ms())

    async def deliveries(
        self, execution_id: str, *, access: Access | None = None, run: int | None = None
    ) -> list[DeliveryInfo]:
        """The notifications of an execution's current run (or run ``run``), oldest first, and how each stands.

        Raises:
            ExecutionNotFound: no execution has this id.
            PermissionDenied: ``access`` may not read this execution.
        """

        def read(tx: Transaction) -> list[DeliveryInfo]:
            chosen = runs.permitted(tx, execution_id, access, Action.READ_WORKFLOWS, run, exact=True)
            return [notifications.info(row) for row in tx.outbox_of(chosen.id)]

        return await self.store.read(read)

    # sinks

    async def add_sink(self, url: str, *, every_inbox_item: bool = False) -> tuple[SinkInfo, str, int]:
        """Register a sink; returns it, its secret (kept only in the store) and how many held notifications it sent.

        Raises:
            UsageError: not an absolute http(s) URL, or a sink for it exists.
        """
        now = self.clock.now_ms()
        return await self._run(lambda tx: notifications.add_sink(tx, url, every_inbox_item, now))

    async def list_sinks(self) -> list[SinkInfo]:
        """Every sink, removed ones included, oldest first (never their secrets)."""
        return await self.store.read(lambda tx: [notifications.sink_info(r) for r in tx.list_sinks()])

    async def sink_secret(self, sink: str) -> tuple[SinkInfo, str]:
        """An active sink (by id or URL) and its secret, for its operator to give its receiver.

        Raises:
            SinkNotFound: no active sink has this id or URL.
        """

        def read(tx: Transaction) -> tuple[SinkInfo, str]:
            row = notifications.find_sink(tx, sink)
            return notifications.sink_info(row), row.secret

        return await self.store.read(read)

    async def remove_sink(self, sink: str) -> SinkInfo:
        """Remove a sink (by id or URL): notifications to its URL are held from now on.

        Raises:
            SinkNotFound: no active sink has this id or URL.
        """
        now = self.clock.now_ms()
        return await self._run(lambda tx: notifications.remove_sink(tx, sink, now))

    async def rotate_sink(self, sink: str) -> tuple[SinkInfo, str]:
        """Give a sink a new secret (returned), which signs what is sent from now on.

        Raises:
            SinkNotFound: no active sink has this id or URL.
        """
        return await self._run(lambda tx: notifications.rotate_sink(tx, sink))
