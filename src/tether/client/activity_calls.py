"""The Client's calls on activities from outside: by token (typed with ``activity=``), and the list of what waits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar, overload

from tether import errors
from tether.client._transport import Transport
from tether.engine import overdue
from tether.errors import UsageError
from tether.model import payloads, wire
from tether.model.clock import duration_ms
from tether.model.payloads import JSONValue
from tether.model.records import ActivityInfo, HeartbeatResponse, OverdueActivity, WaitingActivity
from tether.runtime.definitions import Activity

R = TypeVar("R")
C = TypeVar("C")


class ActivityCalls:
    """Close, heartbeat and read activities by token, and list those waiting for one (a part of the Client)."""

    _transport: Transport

    async def waiting_activities(
        self,
        *,
        workflow: str | None = None,
        name: str | None = None,
        inbox: bool | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[WaitingActivity]:
        """Activities whose attempt went async and waits for a token, longest waiting first (the inbox, browserless).

        Each names its execution, workflow, activity name and id, attempt, since when it waits
        (``waiting_since``, its attempt's start) and what ``ctx.inbox`` asked a person (``title``,
        ``description``). ``activity_token`` completes, fails or heartbeats it, whichever attempt
        is current; over HTTP it comes only for activities the API key may write to
        (``activities:write`` on the workflow), and the list holds only those of workflows the
        key may read (``workflows:read``) or write activities of.

        Args:
            workflow: only those of executions of this workflow (its name).
            name: only those of this activity name.
            inbox: only those marked for a person (``@tether.activity(inbox=True)`` or ``ctx.inbox``).
            limit: at most this many.
            offset: skip this many first (the next page starts at ``offset + limit``).

        Raises:
            UsageError: a limit below 1, or a negative offset.
        """
        if not 1 <= limit <= wire.MAX_LIST_OFFSET or not 0 <= offset <= wire.MAX_LIST_OFFSET:
            raise UsageError(f"limit must be from 1 and offset from 0, both up to {wire.MAX_LIST_OFFSET:,}")
        return await self._transport.waiting_activities(
            workflow=workflow or None, name=name or None, inbox_only=bool(inbox), limit=limit, offset=offset
        )

    async def overdue_activities(
        self,
        *,
        waiting_longer_than: timedelta | None = overdue.DEFAULT_WAITING_LONGER_THAN,
        due_within: timedelta | None = overdue.DEFAULT_DUE_WITHIN,
        workflow: str | None = None,
        name: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[OverdueActivity]:
        """Activities waiting for a token too long, or near a deadline, longest waiting first (the overdue view).

        An activity is overdue when its attempt has waited for its token (since ``make_async()``)
        longer than its own ``@tether.activity(overdue_after=...)``, or, declaring none, longer
        than ``waiting_longer_than``; or when its nearest deadline (total, attempt, heartbeat,
        its workflow's) falls within ``due_within`` from now. ``reasons`` says which. Running
        (sync) attempts are not listed: they wait for no token. Over HTTP, only those of
        workflows the key may read (``workflows:read``) or write activities of.

        Args:
            waiting_longer_than: the waiting age limit of activities that declare none; None
                lists only those past their own.
            due_within: how near a deadline lists an activity; None: deadlines do not count.
            workflow: only those of executions of this workflow (its name).
            name: only those of this activity name.
            limit: at most this many.
            offset: skip this many first (the next page starts at ``offset + limit``).

        Raises:
            UsageError: a limit below 1, a negative offset, or a duration that is not positive.
        """
        if not 1 <= limit <= wire.MAX_LIST_OFFSET or not 0 <= offset <= wire.MAX_LIST_OFFSET:
            raise UsageError(f"limit must be from 1 and offset from 0, both up to {wire.MAX_LIST_OFFSET:,}")
        for label, value in (("waiting_longer_than", waiting_longer_than), ("due_within", due_within)):
            if value is not None and value <= timedelta(0):
                raise UsageError(f"{label} must be positive, or None to leave that criterion out")
        return await self._transport.overdue_activities(
            waiting_longer_than_ms=duration_ms(waiting_longer_than) if waiting_longer_than is not None else None,
            due_within_ms=duration_ms(due_within) if due_within is not None else None,
            workflow=workflow or None, name=name or None, limit=limit, offset=offset,
        )  # fmt: skip

    # activities, by token

    @overload
    async def complete_activity(self, token: str, result: R, *, activity: Activity[..., R, Any]) -> bool: ...
    @overload
    async def complete_activity(self, token: str, result: JSONValue = None, *, activity: str | None = None) -> bool: ...
    async def complete_activity(
        self, token: str, result: Any = None, *, activity: Activity[..., Any, Any] | str | None = None
    ) -> bool:
        """Complete the activity a token names with its result; False if this same completion was recorded before.

        ``token`` is an attempt's (``ctx.token``) or the activity's (``ctx.activity_token``, which
        completes whichever attempt is current, or the activity during a retry's back-off).
        The same completion repeated, with either kind of token, is acknowledged without change.

        With ``activity=`` (the activity itself, as ``@tether.activity`` made it), mypy checks
        ``result`` against its declared return type, the result is checked against that type
        here, and a token of another activity is refused; nothing changes before. A name
        (``activity="request_approval"``) asks only for the latter.

        Raises:
            InvalidToken: the token is forged, altered or truncated.
            StaleToken: the token's attempt is no longer current.
            ActivityAlreadyClosed: the activity closed otherwise before.
            WrongActivity: the token is of another activity than ``activity``.
            InvalidPayload: the result cannot be serialised or does not match the declared type.
        """
        name, encode = _expected(activity)
        text = encode(result) if encode is not None else payloads.encode(result, what="result")
        return await self._transport.complete_activity(token, text, name)

    async def fail_activity(
        self,
        token: str,
        *,
        error: str,
        message: str = "",
        details: JSONValue = None,
        non_retryable: bool = False,
    ) -> bool:
        """Fail the attempt a token names; it is retried by policy unless ``non_retryable``.

        Returns False if this same failure was recorded before (nothing changed).

        Raises:
            InvalidToken: the token is forged, altered or truncated.
            StaleToken: the token's attempt is no longer current.
            ActivityAlreadyClosed: the activity is closed.
            InvalidPayload: the details cannot be serialised.
        """
        given: object = error
        if not isinstance(given, str) or not given or len(given) > 512:
            raise errors.InvalidPayload(
                "error must be a string of 1 to 512 characters", errors=[{"loc": ["error"], "msg": "invalid"}]
            )
        said: object = message
        if not isinstance(said, str):
            raise errors.InvalidPayload("message must be a string", errors=[{"loc": ["message"], "msg": "invalid"}])
        plain = payloads.to_jsonable(details, what="details")
        return await self._transport.fail_activity(
            token, error=error, message=message, details=plain, non_retryable=non_retryable
        )

    @overload
    async def heartbeat_activity(
        self, token: str, details: C | None = None, *, activity: Activity[..., Any, C]
    ) -> HeartbeatResponse: ...
    @overload
    async def heartbeat_activity(
        self, token: str, details: JSONValue = None, *, activity: str | None = None
    ) -> HeartbeatResponse: ...
    async def heartbeat_activity(
        self, token: str, details: Any = None, *, activity: Activity[..., Any, Any] | str | None = None
    ) -> HeartbeatResponse:
        """Record a heartbeat (with details, kept as the checkpoint) for the attempt a token names.

        An activity token reaches whichever attempt is current (NoAttemptOpen while none is).
        With ``activity=``, the details are checked against its declared checkpoint type
        (``@tether.activity(checkpoint=...)``), by mypy and here, and a token of another
        activity is refused; nothing changes before.

        Raises:
            InvalidToken: the token is forged, altered or truncated.
            StaleToken: the token's attempt is no longer current.
            ActivityAlreadyClosed: the activity is closed.
            NoAttemptOpen: an activity token while no attempt is open (a retry's back-off).
            WrongActivity: the token is of another activity than ``activity``.
            InvalidPayload: the details cannot be serialised or do not match the checkpoint type.
        """
        name, _ = _expected(activity)
        if isinstance(activity, Activity):
            text = activity.encode_checkpoint(details)
        else:
            text = None if details is None else payloads.encode(details, what="details")
        return await self._transport.heartbeat_activity(token, text, name)

    async def describe_activity(self, token: str) -> ActivityInfo:
        """The activity a token names as it stands now: what its holder needs before it completes it.

        Its workflow, name, state, current attempt and whether the token's is still open,
        deadlines, last heartbeat details and the JSON Schema a result must match. Deadlines
        that passed are applied first, as by every call.

        Raises:
            InvalidToken: the token is forged, altered or truncated.
            ExecutionNotFound: the token names no activity (its execution was deleted).
            PermissionDenied: the API key may not write to activities of this workflow.
        """
        return await self._transport.describe_activity(token)

    async def report_activity_cancelled(self, token: str, details: JSONValue = None) -> bool:
        """Acknowledge a requested cancellation; the workflow sees ActivityCancelled.

        Returns False if this same report was recorded before (nothing changed).

        Raises:
            InvalidToken: the token is forged, altered or truncated.
            StaleToken: the token's attempt is no longer current.
            CancellationNotRequested: nobody asked the activity to stop (a heartbeat says when it is asked).
            ActivityAlreadyClosed: the activity closed otherwise before, or was reported cancelled with other details.
        """
        text = None if details is None else payloads.encode(details, what="details")
        return await self._transport.report_activity_cancelled(token, text)


def _expected(activity: Activity[..., Any, Any] | str | None) -> tuple[str | None, Callable[[Any], str] | None]:
    """The name a token's activity must have, and the activity's result encoder, from ``activity=``.

    Raises:
        UsageError: ``activity`` is neither an activity nor a name.
    """
    given: object = activity
    if given is None:
        return None, None
    if isinstance(given, Activity):
        return given.name, given.encode_result
    if isinstance(given, str) and given:
        return given, None
    raise UsageError(f"activity= takes an activity (made by @tether.activity) or its name, not {activity!r}")
