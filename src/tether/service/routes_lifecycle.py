"""Routes that act on an execution from outside its code: terminate, delete, and retry an activity now.

As everywhere under /v1, the execution id comes last in the path, whole.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from tether import errors
from tether.model.wire import RetryActivityNow, RetryStarted, TerminateWorkflow
from tether.service import paths
from tether.service.auth import Caller
from tether.service.errors import NAMING_EXECUTION, WITH_BODY, refusals
from tether.service.state import engine_of

router = APIRouter(prefix="/v1")


@router.post(
    f"/terminations/{paths.EXECUTION_ID}",
    status_code=204,
    tags=["workflows"],
    operation_id="terminateWorkflow",
    responses=refusals(*NAMING_EXECUTION, *WITH_BODY, errors.ExecutionClosed),
)
async def terminate_workflow(execution_id: str, body: TerminateWorkflow, request: Request, caller: Caller) -> Response:
    """Close a running execution now, without running its code: its open activities end cancelled.

    Its result then raises WorkflowTerminated with the reason; a closed execution is refused
    with 409 ``execution_closed`` (naming its status) and nothing changes.
    """
    await engine_of(request).terminate_workflow(execution_id, body.reason, access=caller)
    return Response(status_code=204)


@router.delete(
    f"/workflows/{paths.EXECUTION_ID}",
    status_code=204,
    tags=["workflows"],
    operation_id="deleteWorkflow",
    responses=refusals(*NAMING_EXECUTION, errors.ExecutionNotClosed),
)
async def delete_workflow(execution_id: str, request: Request, caller: Caller) -> Response:
    """Delete a closed execution with its history; its id may then be started again.

    A running execution is refused with 409 ``execution_not_closed`` and nothing changes.
    """
    await engine_of(request).delete_workflow(execution_id, access=caller)
    return Response(status_code=204)


@router.post(
    f"/retries/{paths.EXECUTION_ID}",
    tags=["activities"],
    operation_id="retryActivityNow",
    responses=refusals(*NAMING_EXECUTION, *WITH_BODY, errors.ActivityNotFound, errors.ActivityNotInBackoff),
)
async def retry_activity_now(
    execution_id: str, body: RetryActivityNow, request: Request, caller: Caller
) -> RetryStarted:
    """Skip an activity's retry back-off: its next attempt is queued now.

    An activity that waits for no retry is refused with 409 ``activity_not_in_backoff``
    (naming its state); an activity the execution does not have is 404 ``activity_not_found``.
    """
    attempt = await engine_of(request).retry_activity_now(execution_id, body.activity_id, access=caller)
    return RetryStarted(attempt=attempt)
