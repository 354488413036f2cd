"""The web UI's Schedules pages: every schedule with its next fire, and one schedule with its latest fires.

Pausing, unpausing and triggering are forms posted as the other actions of the UI are: with
the signed-in key's access, from the same origin only (the cookie is SameSite=Strict too).
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tether.service import state
from tether.service.ui import pages

router = APIRouter(include_in_schema=False)


@router.get("/schedules", response_class=HTMLResponse)
async def schedules(request: Request, notice: str = "") -> HTMLResponse:
    """Every schedule the key may read: its workflow, cron expression, next fire, pause and last execution."""
    access = await pages._access(request)
    listed = await state.engine_of(request).list_schedules(access=access)
    return pages._page(request, "schedules.html", {"schedules": listed, "notice": notice})


@router.get("/schedules/{schedule_id}", response_class=HTMLResponse)
async def schedule(request: Request, schedule_id: str, notice: str = "") -> HTMLResponse:
    """One schedule with its latest fires, and its pause, unpause and trigger buttons."""
    access = await pages._access(request)
    info = await state.engine_of(request).describe_schedule(schedule_id, access=access)
    return pages._page(request, "schedule.html", {"schedule": info, "notice": notice})


@router.post("/schedules/{schedule_id}/pause")
async def pause(request: Request, schedule_id: str) -> Response:
    """Pause the schedule, then show it again."""
    pages._same_origin(request)
    await state.engine_of(request).pause_schedule(schedule_id, access=await pages._access(request))
    return _back(schedule_id, "paused")


@router.post("/schedules/{schedule_id}/unpause")
async def unpause(request: Request, schedule_id: str) -> Response:
    """Unpause the schedule, then show it again."""
    pages._same_origin(request)
    await state.engine_of(request).unpause_schedule(schedule_id, access=await pages._access(request))
    return _back(schedule_id, "unpaused")


@router.post("/schedules/{schedule_id}/trigger")
async def trigger(request: Request, schedule_id: str) -> Response:
    """Start the schedule's workflow now, then show the schedule with the execution it started."""
    pages._same_origin(request)
    started = await state.engine_of(request).trigger_schedule(schedule_id, access=await pages._access(request))
    return _back(schedule_id, f"started {started}")


def _back(schedule_id: str, notice: str) -> Response:
    return RedirectResponse(f"/schedules/{quote(schedule_id, safe='')}?notice={quote(notice)}", status_code=303)


def install(app: FastAPI) -> None:
    """Serve the Schedules pages from ``app`` (after ``pages.install``, whose error handlers they share)."""
    app.include_router(router)
