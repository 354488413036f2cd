"""Routes under /v1/activities: complete, fail, heartbeat, report cancelled and describe by token; what waits."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request

from tether import errors
from tether.model import payloads, wire
from tether.model.records import ActivityInfo, HeartbeatResponse
from tether.model.wire import (
    Acknowledged,
    CompleteActivity,
    DescribeActivity,
    FailActivity,
    HeartbeatActivity,
    OverduePage,
    ReportActivityCancelled,
    WaitingPage,
)
from tether.service import traces
from tether.service.auth import Caller
from tether.service.errors import KEYED, WITH_BODY, refusals
from tether.service.state import engine_of

router = APIRouter(prefix="/v1/activities", tags=["activities"])

_TOKEN_NAMES = (*KEYED, *WITH_BODY, errors.InvalidToken, errors.PermissionDenied, errors.ExecutionNotFound)
"""What a call by token may answer before the activity is found: a forged token, no permission, no such execution."""
_CLOSED = (errors.StaleToken, errors.ActivityAlreadyClosed)


def _text(value: object, what: str) -> str | None:
    return None if value is None else payloads.encode(value, what=what)


@router.post(
    "/complete", operation_id="completeActivity", responses=refusals(*_TOKEN_NAMES, *_CLOSED, errors.WrongActivity)
)
async def complete_activity(body: CompleteActivity, request: Request, caller: Caller) -> Acknowledged:
    """Complete the activity a token names; the same completion repeated is acknowledged without change.

    The result is checked against the activity's declared result type (422 naming the field).
    With ``activity``, a token of another activity is refused (409 ``wrong_activity``) first.
    """
    text = payloads.encode(body.result, what="result")
    async with traces.by_token(request, "complete_activity", body.token, caller):
        recorded = await engine_of(request).complete_activity(body.token, text, access=caller, activity=body.activity)
    return Acknowledged(recorded=recorded)


@router.post("/fail", operation_id="failActivity", responses=refusals(*_TOKEN_NAMES, *_CLOSED, errors.NoAttemptOpen))
async def fail_activity(body: FailActivity, request: Request, caller: Caller) -> Acknowledged:
    """Fail the attempt a token names; it is retried by policy unless non_retryable.

    The same failure repeated is acknowledged without change (``recorded`` false).
    """
    async with traces.by_token(request, "fail_activity", body.token, caller):
        recorded = await engine_of(request).fail_activity(
            body.token, error=body.error, message=body.message, details=body.details,
            non_retryable=body.non_retryable, access=caller,
        )  # fmt: skip
    return Acknowledged(recorded=recorded)


@router.post("/describe", operation_id="describeActivity", responses=refusals(*_TOKEN_NAMES))
async def describe_activity(body: DescribeActivity, request: Request, caller: Caller) -> ActivityInfo:
    """The activity a token names as it stands now: state, attempt, deadlines, last heartbeat, result schema.

    ``current`` says whether the token's attempt is open (a call with it would be taken).
    A POST, so that the token travels in the body, not in a URL that logs keep.
    """
    return await engine_of(request).describe_activity(body.token, access=caller)


@router.post(
    "/heartbeat",
    operation_id="heartbeatActivity",
    responses=refusals(*_TOKEN_NAMES, *_CLOSED, errors.NoAttemptOpen, errors.WrongActivity),
)
async def heartbeat_activity(body: HeartbeatActivity, request: Request, caller: Caller) -> HeartbeatResponse:
    """Record a heartbeat; its details become the checkpoint. The reply says whether cancellation was requested.

    With ``activity``, a token of another activity is refused (409 ``wrong_activity``) first.
    """
    async with traces.by_token(request, "heartbeat_activity", body.token, caller):
        return await engine_of(request).heartbeat_activity(
            body.token, _text(body.details, "details"), access=caller, activity=body.activity
        )


@router.post(
    "/cancelled",
    operation_id="reportActivityCancelled",
    responses=refusals(*_TOKEN_NAMES, *_CLOSED, errors.NoAttemptOpen, errors.CancellationNotRequested),
)
async def report_activity_cancelled(body: ReportActivityCancelled, request: Request, caller: Caller) -> Acknowledged:
    """Acknowledge a requested cancellation; the workflow sees ActivityCancelled.

    Refused (409 ``cancellation_not_requested``) when nobody asked the activity to stop; the
    same report repeated is acknowledged without change, another one is ``activity_already_closed``.
    """
    async with traces.by_token(request, "report_activity_cancelled", body.token, caller):
        recorded = await engine_of(request).report_activity_cancelled(
            body.token, _text(body.details, "details"), access=caller
        )
    return Acknowledged(recorded=recorded)


@router.get("/waiting", operation_id="listWaitingActivities", responses=refusals(*KEYED, errors.InvalidPayload))
async def list_waiting_activities(
    request: Request,
    caller: Caller,
    workflow: Annotated[str | None, Query(max_length=512, description="Only activities of this workflow.")] = None,
    name: Annotated[str | None, Query(max_length=512, description="Only activities of this name.")] = None,
    inbox: Annotated[bool, Query(description="Only activities marked for a person (the web UI's inbox).")] = False,
    limit: Annotated[int, Query(ge=1, le=wire.MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=wire.MAX_LIST_OFFSET)] = 0,
) -> WaitingPage:
    """Activities whose attempt went async and waits for a token, longest waiting first.

    Those of the workflows the caller may read (workflows:read) or write activities of
    (activities:write); each carries its ``activity_token`` only with activities:write on its
    workflow. The token completes, fails or heartbeats whichever attempt is current.
    """
    items = await engine_of(request).waiting_activities(
        workflow=workflow, name=name, inbox_only=inbox, limit=limit + 1, offset=offset, access=caller
    )
    more = len(items) > limit
    return WaitingPage(items=items[:limit], next_offset=offset + limit if more else None)


_LONGEST_MS = 100 * 366 * 86400 * 1000
"""A century: a longer duration is a typo."""


@router.get("/overdue", operation_id="listOverdueActivities", responses=refusals(*KEYED, errors.InvalidPayload))
async def list_overdue_activities(
    request: Request,
    caller: Caller,
    waiting_longer_than_ms: Annotated[
        int | None,
        Query(
            ge=1,
            le=_LONGEST_MS,
            description="The waiting age limit of activities that declare no overdue_after; "
            "omitted: only those past their own are listed for their age.",
        ),
    ] = None,
    due_within_ms: Annotated[
        int | None,
        Query(
            ge=1,
            le=_LONGEST_MS,
            description="List activities whose nearest deadline (total, attempt, heartbeat, their workflow's) "
            "falls within this from now; omitted: deadlines do not count.",
        ),
    ] = None,
    workflow: Annotated[str | None, Query(max_length=512, description="Only activities of this workflow.")] = None,
    name: Annotated[str | None, Query(max_length=512, description="Only activities of this name.")] = None,
    limit: Annotated[int, Query(ge=1, le=wire.MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=wire.MAX_LIST_OFFSET)] = 0,
) -> OverduePage:
    """Activities waiting for a token too long or near a deadline (the overdue view), longest waiting first.

    Too long: longer than their own ``overdue_after``, or than ``waiting_longer_than_ms`` when
    they declare none. Each says why (``reasons``), its waiting age limit and its nearest
    deadline. Those of the workflows the caller may read (workflows:read) or write activities
    of (activities:write). Running (sync) attempts wait for no token and are not listed.
    """
    items = await engine_of(request).overdue_activities(
        waiting_longer_than=_duration(waiting_longer_than_ms), due_within=_duration(due_within_ms),
        workflow=workflow, name=name, limit=limit + 1, offset=offset, access=caller,
    )  # fmt: skip
    more = len(items) > limit
    return OverduePage(items=items[:limit], next_offset=offset + limit if more else None)


def _duration(ms: int | None) -> timedelta | None:
    return None if ms is None else timedelta(milliseconds=ms)
