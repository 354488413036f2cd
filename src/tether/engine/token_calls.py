"""The engine's calls by token: complete, fail, heartbeat, report cancelled, describe; and what waits for a token.

A token of either kind (an attempt's, or an activity's) is verified before anything is read,
then the caller's access to the token's workflow is checked in the same transaction as the
change; :mod:`tether.engine.activity_tokens` decides what the call does.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from tether.engine import activities, activity_tokens, observation, queries
from tether.engine.core import EngineCore
from tether.engine.keys import Verified
from tether.errors import ExecutionNotFound, Refused
from tether.model.access import Access, Action
from tether.model.clock import from_ms
from tether.model.events import failure
from tether.model.records import ActivityInfo, HeartbeatResponse, WaitingActivity
from tether.model.tokens import ActivityClaims, Claims
from tether.store.base import Touches, Transaction
from tether.store.rows import ExecutionRow


class TokenCalls(EngineCore):
    """Transitions for whoever holds a token: a service, a person's e-mail link, another language's client."""

    def _verify(
        self,
        tx: Transaction,
        token: str,
        now: int,
        access: Access | None = None,
        *,
        closes: bool = False,
        ahead: _Ahead | None = None,
    ) -> Claims:
        claims = self._keys.verify(tx, token, now, None if ahead is None else ahead.verified)
        seen = self._seen_by_worker(claims.execution_id, self._local) if closes else None
        if seen is not None:
            tx.expect_events(claims.execution_id, seen)  # its workflow task likely runs here next
        # The activity before its execution: a store may lock the execution and read both at once.
        tx.get_activity(claims.execution_id, claims.activity_id)
        permit(tx, claims.execution_id, access, Action.WRITE_ACTIVITIES)
        return claims

    def _touches(self, token: str, *, closes: bool = False) -> _Ahead:
        """What a call by ``token`` locks first, for the store to take ahead (see ``Store.run``)."""
        return _Ahead(self, token, closes)

    async def _closing(self, call: str, closed: Awaitable[bool]) -> bool:
        """Await a close by token, telling observers whether it was recorded, repeated or refused (and why)."""
        if not self._observers:
            return await closed
        try:
            recorded = await closed
        except Refused as refusal:
            self.observe([observation.TokenClose(call, "refused", refusal.code)])
            raise
        self.observe([observation.TokenClose(call, "recorded" if recorded else "repeat")])
        return recorded

    async def complete_activity(
        self, token: str, result: str, *, access: Access | None = None, activity: str | None = None
    ) -> bool:
        """Complete an activity by token (of either kind); False if this same completion was already recorded.

        ``activity``: the name the caller expects the token's activity to have (WrongActivity otherwise).
        """
        now = self.clock.now_ms()

        ahead = self._touches(token, closes=True)

        def complete(tx: Transaction) -> bool:
            claims = self._verify(tx, token, now, access, closes=True, ahead=ahead)
            activity_tokens.require_activity(tx, claims, activity)
            return activity_tokens.complete(tx, claims, result, now)

        return await self._closing("complete", self._run(complete, touches=ahead))

    async def fail_activity(
        self, token: str, *, error: str, message: str, details: Any, non_retryable: bool, access: Access | None = None
    ) -> bool:
        """Fail the attempt a token names (the current one, for an activity token); False if already so failed."""
        now = self.clock.now_ms()
        fault = failure(error, message, details=details, non_retryable=non_retryable)
        ahead = self._touches(token, closes=True)
        return await self._closing(
            "fail",
            self._run(
                lambda tx: activity_tokens.fail(
                    tx, self._verify(tx, token, now, access, closes=True, ahead=ahead), fault, now
                ),
                touches=ahead,
            ),
        )

    async def heartbeat_activity(
        self, token: str, details: str | None, *, access: Access | None = None, activity: str | None = None
    ) -> HeartbeatResponse:
        """Record a heartbeat by token; the reply says whether to stop, and when the next heartbeat is due.

        ``activity``: the name the caller expects the token's activity to have (WrongActivity otherwise).
        """
        now = self.clock.now_ms()

        ahead = self._touches(token)

        def beat(tx: Transaction) -> HeartbeatResponse:
            claims = self._verify(tx, token, now, access, ahead=ahead)
            activity_tokens.require_activity(tx, claims, activity)
            cancel, row = activity_tokens.heartbeat(tx, claims, details, now)
            every = activities.options_of(row.options).heartbeat_ms
            return HeartbeatResponse(cancel, None if every is None else from_ms(now + every))

        return await self._run(beat, touches=ahead)

    async def report_activity_cancelled(self, token: str, details: str | None, *, access: Access | None = None) -> bool:
        """Acknowledge a requested cancellation by token; False if this same report was already recorded."""
        now = self.clock.now_ms()
        ahead = self._touches(token)
        return await self._closing(
            "report_cancelled",
            self._run(
                lambda tx: activity_tokens.report_cancelled(
                    tx, self._verify(tx, token, now, access, ahead=ahead), details, now
                ),
                touches=ahead,
            ),
        )

    async def describe_activity(self, token: str, *, access: Access | None = None) -> ActivityInfo:
        """The activity a token names as it stands now (deadlines that passed applied first, as by every call).

        Raises:
            InvalidToken: the token is forged, truncated or altered.
            ExecutionNotFound: the token names no activity.
            PermissionDenied: ``access`` may not write to activities of this workflow.
        """
        now = self.clock.now_ms()

        def describe(tx: Transaction) -> ActivityInfo:
            claims = self._verify(tx, token, now, access)
            row, _ = activities.load(tx, claims, now)
            execution = tx.get_execution(claims.execution_id)
            if execution is None:
                raise ExecutionNotFound(claims.execution_id)
            attempt = None if isinstance(claims, ActivityClaims) else claims.attempt
            return queries.activity_info(tx, execution, row, attempt)

        return await self._run(describe)

    async def rotate_signing_key(self) -> int:
        """Start signing new tokens with a new key; tokens of older keys still verify."""
        now = self.clock.now_ms()
        return await self._run(lambda tx: self._keys.rotate(tx, now))

    async def waiting_activities(
        self,
        *,
        workflow: str | None,
        name: str | None,
        inbox_only: bool,
        limit: int,
        offset: int,
        access: Access | None = None,
    ) -> list[WaitingActivity]:
        """Activities waiting in their async state for a token, longest first, each with its activity token.

        Listed: those of the workflows ``access`` may read (workflows:read) or whose activities it
        may write (activities:write); the activity token only comes with activities:write.
        ``workflow`` and ``name`` keep those of one workflow, or of one activity name. Read beside
        the transitions once this process knows its signing keys: it shows what had committed.
        """
        patterns = None
        if access is not None:
            read, write = access.patterns(Action.READ_WORKFLOWS), access.patterns(Action.WRITE_ACTIVITIES)
            patterns = None if read is None or write is None else [*read, *write]
        now = self.clock.now_ms()

        def listed(tx: Transaction) -> list[WaitingActivity]:
            rows = tx.waiting_activities(
                inbox_only=inbox_only, limit=limit, offset=offset, workflow_patterns=patterns, workflow=workflow,
                name=name,
            )  # fmt: skip
            items = []
            for row, of, note in rows:
                token = None
                if access is None or access.allows(Action.WRITE_ACTIVITIES, of):
                    token = self._keys.sign(tx, ActivityClaims(row.execution_id, row.activity_id), now)
                items.append(queries.waiting(row, of, note, token))
            return items

        if self._keys.newest_loaded() is None:
            # Signing may create the first key: the writer's path, once; later pages are read aside
            # (a deep one takes tens of milliseconds) and signed with the keys in memory.
            return await self.store.read(listed)
        return await self.store.read_aside(listed)


def permit(tx: Transaction, execution_id: str, access: Access | None, action: Action) -> ExecutionRow:
    """The execution's row, once ``access`` is allowed ``action`` on its workflow.

    Raises:
        ExecutionNotFound: no execution has this id.
        PermissionDenied: ``access`` may not do ``action`` to this execution's workflow.
    """
    row = tx.get_execution(execution_id)
    if row is None:
        raise ExecutionNotFound(execution_id)
    if access is not None:
        access.require(action, row.workflow)
    return row


class _Ahead:
    """What a call by token locks first (a ``TouchesAhead``), and the token as it verified then.

    Told only for a token that verifies with a key known here: a forged one locks nothing
    before its transition refuses it. The transition verifies the token again in its own
    transaction, but need not compute the same signature with the same key twice.
    """

    __slots__ = ("_calls", "_closes", "_token", "verified")

    def __init__(self, calls: TokenCalls, token: str, closes: bool) -> None:
        self._calls = calls
        self._token = token
        self._closes = closes
        self.verified: Verified | None = None

    def __call__(self) -> Touches | None:
        verified = self.verified = self._calls._keys.verify_known(self._token)
        if verified is None:
            return None
        claims = verified.claims
        if self._closes:
            return self._calls._closing_touches(
                claims.execution_id, claims.activity_id, announced=True, worker=self._calls._local
            )
        return Touches(claims.execution_id, claims.activity_id)
