"""Routes under /v1/workflows: start, list, describe, history, result, cancel."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from tether.errors import UnknownWorkflow
from tether.model import payloads
from tether.model.access import Action
from tether.model.records import WorkflowDescription, WorkflowStatus
from tether.model.wire import (
    MAX_LIST_OFFSET,
    MAX_RESULT_WAIT_SECONDS,
    History,
    Outcome,
    Started,
    StartWorkflow,
    WorkflowPage,
)
from tether.runtime.definitions import registered_workflow
from tether.service.auth import Caller
from tether.service.errors import refusals
from tether.service.state import engine_of

router = APIRouter(prefix="/v1/workflows", tags=["workflows"])


@router.post(
    "",
    status_code=201,
    responses={
        200: {"model": Started, "description": "An execution with this id existed already."},
        **refusals(401, 403, 404, 409, 413, 422),
    },
)
async def start_workflow(body: StartWorkflow, request: Request, response: Response, caller: Caller) -> Started:
    """Start an execution of a workflow a worker registered; starting an existing id again returns it."""
    engine = engine_of(request)
    caller.require(Action.START_WORKFLOWS, body.workflow)
    if registered_workflow(body.workflow) is None and not await engine.is_known_workflow(body.workflow):
        raise UnknownWorkflow(body.workflow)
    execution_id = body.id or uuid.uuid4().hex
    args = payloads.encode_args(body.args, what="args")
    started = await engine.start_workflow(execution_id, body.workflow, args, access=caller)
    response.status_code = 201 if started else 200
    return Started(id=execution_id, workflow=body.workflow, started=started)


@router.get("", responses=refusals(401, 422))
async def list_workflows(
    request: Request,
    caller: Caller,
    status: WorkflowStatus | None = None,
    workflow: Annotated[str | None, Query(max_length=512, description="Only executions of this workflow.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_LIST_OFFSET)] = 0,
) -> WorkflowPage:
    """Executions newest first, of the workflows the caller may read."""
    items = await engine_of(request).list_workflows(
        status=None if status is None else status.value, workflow=workflow, limit=limit + 1, offset=offset,
        access=caller,
    )  # fmt: skip
    more = len(items) > limit
    return WorkflowPage(items=items[:limit], next_offset=offset + limit if more else None)


@router.get("/{execution_id:path}/history", responses=refusals(401, 403, 404))
async def history(execution_id: str, request: Request, caller: Caller) -> History:
    """Every event of an execution, every attempt included."""
    return History(events=await engine_of(request).history(execution_id, access=caller))


@router.get("/{execution_id:path}/result", response_model=Outcome, responses=refusals(401, 403, 404, 422))
async def result(
    execution_id: str,
    request: Request,
    caller: Caller,
    wait: Annotated[
        float, Query(ge=0, le=MAX_RESULT_WAIT_SECONDS, description="Seconds to wait for the execution to close.")
    ] = 0,
) -> Outcome | Response:
    """The outcome of an execution, waiting up to ``wait`` seconds for it to close (status running if it did not).

    A caller that hangs up stops the wait: it no longer counts as waiting for the result.
    """
    waiting = asyncio.ensure_future(engine_of(request).wait_for_close(execution_id, wait, access=caller))
    hung_up = asyncio.ensure_future(_wait_for_disconnect(request))
    try:
        await asyncio.wait({waiting, hung_up}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (waiting, hung_up):
            task.cancel()
    if not waiting.done() or waiting.cancelled():
        return Response(status_code=204)  # the client is gone and reads no answer
    row = waiting.result()
    error: Any = json.loads(row.error) if row.error else None
    value = json.loads(row.result) if row.result is not None else None
    return Outcome(id=row.id, workflow=row.workflow, status=WorkflowStatus(row.status), result=value, error=error)


async def _wait_for_disconnect(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


@router.post("/{execution_id:path}/cancel", status_code=202, responses=refusals(401, 403, 404))
async def cancel_workflow(execution_id: str, request: Request, caller: Caller) -> None:
    """Request cancellation: open activities and timers are cancelled and the workflow ends as cancelled."""
    await engine_of(request).cancel_workflow(execution_id, access=caller)


@router.get("/{execution_id:path}", responses=refusals(401, 403, 404))
async def describe(execution_id: str, request: Request, caller: Caller) -> WorkflowDescription:
    """An execution's status, input, outcome and pending activities with their deadlines."""
    return await engine_of(request).describe(execution_id, access=caller)
