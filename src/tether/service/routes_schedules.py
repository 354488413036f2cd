"""Routes under /v1/schedules: make, list, describe, pause, unpause, trigger and delete schedules.

As everywhere under /v1, the id comes last in the path, whole (an action comes before it); a
schedule id never holds '/', so no id is taken for an action's path.
Permissions name the schedule's workflow: making and triggering need ``workflows:start``,
pausing, unpausing and deleting ``workflows:write``, listing and describing ``workflows:read``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from tether import errors
from tether.model.schedule_wire import CreateSchedule, SchedulePage, ScheduleTriggered
from tether.model.schedules import ScheduleInfo
from tether.service import paths, routes_workflows
from tether.service.auth import Caller
from tether.service.errors import KEYED, WITH_BODY, refusals
from tether.service.state import engine_of

router = APIRouter(prefix="/v1/schedules", tags=["schedules"])

_ID = paths.SCHEDULE_ID
_NAMING = (*KEYED, errors.PermissionDenied, errors.ScheduleNotFound)
"""What every route naming a schedule may answer before it acts."""


@router.post(
    "",
    status_code=201,
    operation_id="createSchedule",
    responses=refusals(
        *KEYED, *WITH_BODY, errors.PermissionDenied, errors.UnknownWorkflow, errors.ScheduleAlreadyExists
    ),
)
async def create_schedule(body: CreateSchedule, request: Request, caller: Caller) -> ScheduleInfo:
    """Make a schedule that starts ``workflow`` at the times of ``cron`` in ``timezone``.

    An id in use is refused with 409 ``schedule_already_exists`` and nothing changes; a bad
    cron expression, time zone or policy is 422 ``invalid_payload`` naming the field; a
    workflow name no worker registered is 404 ``unknown_workflow`` unless ``check_known`` is false.
    """
    engine = engine_of(request)
    await routes_workflows.may_start(engine, caller, body.workflow, check_known=body.check_known)
    return await engine.create_schedule(
        body.id, body.workflow, _args(body), cron=body.cron,
        timezone=body.timezone, overlap=body.overlap.value, catch_up=body.catch_up.value, paused=body.paused,
        access=caller,
    )  # fmt: skip


def _args(body: CreateSchedule) -> str:
    return body.model_dump_json(include={"args"})[len('{"args":') : -1]


@router.get("", operation_id="listSchedules", responses=refusals(*KEYED))
async def list_schedules(
    request: Request,
    caller: Caller,
    workflow: Annotated[str | None, Query(description="Only schedules of this workflow.")] = None,
) -> SchedulePage:
    """The schedules of workflows the API key may read, by id, with their next fire times."""
    return SchedulePage(items=await engine_of(request).list_schedules(workflow=workflow, access=caller))


@router.get(f"/{_ID}", operation_id="describeSchedule", responses=refusals(*_NAMING))
async def describe_schedule(schedule_id: str, request: Request, caller: Caller) -> ScheduleInfo:
    """A schedule with its latest fires, newest first (404 ``schedule_not_found`` if none has this id)."""
    return await engine_of(request).describe_schedule(schedule_id, access=caller)


@router.post(f"/pause/{_ID}", operation_id="pauseSchedule", responses=refusals(*_NAMING))
async def pause_schedule(schedule_id: str, request: Request, caller: Caller) -> ScheduleInfo:
    """Stop a schedule's occurrences until it is unpaused (pausing a paused one changes nothing)."""
    return await engine_of(request).pause_schedule(schedule_id, access=caller)


@router.post(f"/unpause/{_ID}", operation_id="unpauseSchedule", responses=refusals(*_NAMING))
async def unpause_schedule(schedule_id: str, request: Request, caller: Caller) -> ScheduleInfo:
    """Resume a paused schedule from its first occurrence after now: nothing missed while paused fires."""
    return await engine_of(request).unpause_schedule(schedule_id, access=caller)


@router.post(
    f"/trigger/{_ID}",
    operation_id="triggerSchedule",
    responses=refusals(*_NAMING),
)
async def trigger_schedule(schedule_id: str, request: Request, caller: Caller) -> ScheduleTriggered:
    """Start the schedule's workflow now, whatever its cron expression, overlap policy or pause."""
    return ScheduleTriggered(execution_id=await engine_of(request).trigger_schedule(schedule_id, access=caller))


@router.delete(f"/{_ID}", status_code=204, operation_id="deleteSchedule", responses=refusals(*_NAMING))
async def delete_schedule(schedule_id: str, request: Request, caller: Caller) -> Response:
    """Delete a schedule: it starts nothing more; the executions it started stay."""
    await engine_of(request).delete_schedule(schedule_id, access=caller)
    return Response(status_code=204)
