"""Routes under /v1 for executions: start, list, describe, history, result, cancel, resume."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from tether.engine import tracing
from tether.engine.engine import Engine
from tether.errors import (
    ExecutionIdTaken,
    ExecutionNotResumable,
    InvalidPayload,
    PermissionDenied,
    UnknownWorkflow,
)
from tether.model import payloads, wire
from tether.model.access import Access, Action
from tether.model.records import WorkflowDescription, WorkflowStatus
from tether.model.wire import (
    MAX_LIST_OFFSET,
    MAX_RESULT_WAIT_SECONDS,
    History,
    Outcome,
    ResumeWorkflow,
    Started,
    StartWorkflow,
    WorkflowPage,
)
from tether.runtime.definitions import registered_workflow
from tether.service import long_polls, paths, traces
from tether.service.auth import Caller
from tether.service.errors import KEYED, NAMING_EXECUTION, WITH_BODY, refusals
from tether.service.state import engine_of

router = APIRouter(prefix="/v1", tags=["workflows"])
"""Execution ids come last in every path, whole: an id may hold '/' and still name one execution."""


@router.post(
    "/workflows",
    status_code=201,
    operation_id="startWorkflow",
    responses={
        200: {"model": Started, "description": "An execution with this id existed already."},
        **refusals(*KEYED, *WITH_BODY, PermissionDenied, UnknownWorkflow, ExecutionIdTaken),
    },
)
async def start_workflow(body: StartWorkflow, request: Request, response: Response, caller: Caller) -> Started:
    """Start an execution of a workflow a worker registered; starting an existing id again returns it."""
    engine = engine_of(request)
    await may_start(engine, caller, body.workflow, check_known=body.check_known)
    execution_id = body.id or uuid.uuid4().hex
    args = payloads.encode_args(body.args, what="args")
    with traces.served(request, "start_workflow", execution_id=execution_id, workflow_name=body.workflow):
        started = await engine.start_workflow(
            execution_id, body.workflow, args, access=caller, timeout_ms=wire.timeout_ms(body.timeout),
            timeout_known="timeout" in body.model_fields_set, priority=body.priority, trace=tracing.current(),
        )  # fmt: skip
    response.status_code = 201 if started else 200
    return Started(id=execution_id, workflow=body.workflow, started=started)


async def may_start(engine: Engine, caller: Access, workflow: str, *, check_known: bool) -> None:
    """Refuse a start the caller may not make, or (``check_known``) of a workflow no worker registered.

    Raises:
        PermissionDenied: the caller may not start this workflow.
        UnknownWorkflow: ``check_known`` and no worker or module registered the name.
    """
    caller.require(Action.START_WORKFLOWS, workflow)
    if check_known and registered_workflow(workflow) is None and not await engine.is_known_workflow(workflow):
        raise UnknownWorkflow(workflow)


@router.get("/workflows", operation_id="listWorkflows", responses=refusals(*KEYED, InvalidPayload))
async def list_workflows(
    request: Request,
    caller: Caller,
    status: WorkflowStatus | None = None,
    workflow: Annotated[str | None, Query(max_length=512, description="Only executions of this workflow.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_LIST_OFFSET)] = 0,
    id_prefix: Annotated[str | None, Query(max_length=512, description="Only executions whose id starts so.")] = None,
) -> WorkflowPage:
    """Executions newest first, of the workflows the caller may read."""
    items = await engine_of(request).list_workflows(
        status=None if status is None else status.value, workflow=workflow, limit=limit + 1, offset=offset,
        access=caller, id_prefix=id_prefix or None,
    )  # fmt: skip
    more = len(items) > limit
    return WorkflowPage(items=items[:limit], next_offset=offset + limit if more else None)


_Run = Annotated[
    int | None, Query(ge=1, description="Which run of an execution that continued as new (default: its latest).")
]


@router.get(
    f"/histories/{paths.EXECUTION_ID}", operation_id="getHistory", responses=refusals(*NAMING_EXECUTION, InvalidPayload)
)
async def history(execution_id: str, request: Request, caller: Caller, run: _Run = None) -> History:
    """Every event of an execution's run, every attempt included."""
    return History(events=await engine_of(request).history(execution_id, access=caller, run=run))


@router.get(
    f"/results/{paths.EXECUTION_ID}",
    operation_id="getResult",
    response_model=Outcome,
    responses=refusals(*NAMING_EXECUTION, InvalidPayload),
)
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
    engine = engine_of(request)
    try:
        row = await long_polls.wait(request, engine.wait_for_close(execution_id, wait, access=caller))
    except long_polls.CallerGone:
        return Response(status_code=204)  # the client is gone and reads no answer
    if row is None:  # the server stops: answer where the execution stands, and the client asks again elsewhere
        row = await engine.get_execution(execution_id, access=caller)
    error: Any = json.loads(row.error) if row.error else None
    value = json.loads(row.result) if row.result is not None else None
    # The id the caller named: a continued execution's last run is stored under an id of its own.
    return Outcome(id=execution_id, workflow=row.workflow, status=WorkflowStatus(row.status), result=value, error=error)


@router.post(
    f"/cancellations/{paths.EXECUTION_ID}",
    status_code=202,
    response_model=wire.Accepted,
    operation_id="cancelWorkflow",
    responses=refusals(*NAMING_EXECUTION),
)
async def cancel_workflow(execution_id: str, request: Request, caller: Caller) -> None:
    """Request cancellation: open activities and timers are cancelled and the workflow ends as cancelled."""
    await engine_of(request).cancel_workflow(execution_id, access=caller)


@router.post(
    f"/resumptions/{paths.EXECUTION_ID}",
    status_code=202,
    response_model=wire.Accepted,
    operation_id="resumeWorkflow",
    responses=refusals(*NAMING_EXECUTION, *WITH_BODY, ExecutionNotResumable),
)
async def resume_workflow(execution_id: str, body: ResumeWorkflow, request: Request, caller: Caller) -> None:
    """Run a failed, timed-out or terminated execution again from where it stopped (409 for any other status)."""
    await engine_of(request).resume(execution_id, wire.timeout_ms(body.timeout), access=caller)


@router.get(
    f"/workflows/{paths.EXECUTION_ID}",
    operation_id="describeWorkflow",
    responses=refusals(*NAMING_EXECUTION, InvalidPayload),
)
async def describe(execution_id: str, request: Request, caller: Caller, run: _Run = None) -> WorkflowDescription:
    """An execution's status, input, outcome and pending activities with their deadlines (of its latest run)."""
    return await engine_of(request).describe(execution_id, access=caller, run=run)
