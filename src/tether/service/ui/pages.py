"""Routes of the web UI: server-rendered pages over the same engine queries as the JSON API.

A browser signs in once with an API key, kept in an HttpOnly, SameSite=Strict cookie; a
server without keys on loopback needs none. Every page reads and acts with that key's
access, so a person sees and closes exactly what the key allows.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import jinja2
import jinja2.runtime
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from tether import errors
from tether.engine import message_states
from tether.model import codecs, overdue_words, payloads
from tether.model.access import Access
from tether.model.records import WorkflowStatus
from tether.service import errors as error_table
from tether.service import state
from tether.service.auth import host_of
from tether.service.ui import forms, messages, overdue, timeline

COOKIE = "tether_api_key"
PAGE_SIZE = 50
_HERE = Path(__file__).parent

templates = Jinja2Templates(directory=_HERE / "templates")
templates.env.filters["when"] = lambda v: "" if v is None else v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@jinja2.pass_context
def _as_json(context: jinja2.runtime.Context, value: Any) -> str:
    """A payload for people: encoded parts decoded with the server's codec, or shown as ``encoded (...)``."""
    return json.dumps(codecs.show(value, state.codec_of(context["request"])), indent=2, ensure_ascii=False, default=str)


@jinja2.pass_context
def _compact_json(context: jinja2.runtime.Context, value: Any) -> str:
    return json.dumps(codecs.show(value, state.codec_of(context["request"])), ensure_ascii=False, default=str)


templates.env.filters["as_json"] = _as_json
templates.env.filters["compact_json"] = _compact_json
templates.env.filters["quote"] = lambda v: quote(str(v), safe="")

router = APIRouter(include_in_schema=False)


def _encoded(request: Request, text: str) -> str:
    """A payload the UI writes, encoded when the server holds the codec (as its workers' clients would)."""
    codec = state.codec_of(request)
    return text if codec is None else codecs.encode_text(codec, text)


class SignInNeeded(Exception):
    """The page needs an API key the browser has not given (or one that stopped working)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def _access(request: Request) -> Access:
    try:
        return await state.authenticator_of(request).authenticate(request.cookies.get(COOKIE), host=host_of(request))
    except errors.Unauthenticated as exc:
        raise SignInNeeded(exc.message) from exc


def _same_origin(request: Request) -> None:
    # The cookie is SameSite=Strict; a form posted from another origin is refused as well.
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise errors.PermissionDenied("cross-origin form posts are refused")


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"signed_in": COOKIE in request.cookies, **context},
                                      status_code=status_code)  # fmt: skip


@router.get("/", response_class=HTMLResponse)
async def executions(
    request: Request,
    status: str = "",
    name: str = "",
    prefix: str = "",
    offset: int = 0,
    fragment: str = "",
    notice: str = "",
) -> HTMLResponse:
    """Executions, newest first, filtered by status, workflow name and id prefix."""
    access = await _access(request)
    chosen = status if status in {s.value for s in WorkflowStatus} else None
    offset = min(max(offset, 0), 1_000_000_000)
    rows = await state.engine_of(request).list_workflows(
        status=chosen, workflow=name or None, id_prefix=prefix or None, limit=PAGE_SIZE + 1, offset=offset,
        access=access,
    )  # fmt: skip
    filters = {"status": chosen or "", "name": name, "prefix": prefix}
    query = {k: v for k, v in filters.items() if v}
    context = {
        "rows": rows[:PAGE_SIZE],
        "filters": filters,
        "statuses": [s.value for s in WorkflowStatus],
        "newer": urlencode({**query, "offset": max(offset - PAGE_SIZE, 0)}) if offset > 0 else None,
        "older": urlencode({**query, "offset": offset + PAGE_SIZE}) if len(rows) > PAGE_SIZE else None,
        "refresh": urlencode({**query, "offset": offset, "fragment": "rows"}),
        "notice": notice,
    }
    return _page(request, "rows.html" if fragment == "rows" else "executions.html", context)


@router.get("/executions/{execution_id:path}", response_class=HTMLResponse)
async def execution(
    request: Request, execution_id: str, notice: str = "", run: Annotated[int | None, Query(ge=1)] = None
) -> HTMLResponse:
    """One execution (its latest run, or run ``run``): outcome, timeline, activities, messages, notifications."""
    return await _execution_page(request, execution_id, await _access(request), run=run, notice=notice)


async def _execution_page(
    request: Request,
    execution_id: str,
    access: Access,
    *,
    run: int | None = None,
    notice: str = "",
    sending: messages.Sending | None = None,
) -> HTMLResponse:
    engine = state.engine_of(request)
    description = await engine.describe(execution_id, access=access, run=run)
    history = await engine.history(execution_id, access=access, run=run)
    deliveries = await engine.deliveries(execution_id, access=access, run=run)
    now = datetime.fromtimestamp(engine.clock.now_ms() / 1000, tz=UTC)
    shown = sending or messages.Sending()
    context = {
        "d": description,
        "history": history,
        "deliveries": deliveries,
        "timeline": timeline.build(history, description, now),
        "listing": messages.listing(description),
        "sending": shown,
        "reloads": sending is None,  # a page answering a form post must not reload: that would post again
        "notice": notice,
    }
    return _page(request, "execution.html", context, shown.status)


@router.post("/executions/{execution_id:path}/send", response_class=HTMLResponse)
async def send(request: Request, execution_id: str) -> Response:
    """Send the form's message, then show the execution with it; or show the form again with the refusal."""
    _same_origin(request)
    access = await _access(request)
    submitted = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        name, payload, key = messages.read(submitted)
        payload = _encoded(request, payload)
        sent = await state.engine_of(request).send_message(
            execution_id, message_states.MESSAGE, name, payload, key=key, access=access
        )
    except (forms.FormErrors, errors.Refused) as exc:
        try:
            return await _execution_page(request, execution_id, access, sending=messages.refused(exc, submitted))
        except errors.TetherError:
            if isinstance(exc, errors.TetherError):
                raise exc from None  # the page cannot be shown (not found, not readable): say why it was not sent
            raise
    notice = f"message {sent.message_id} sent" if sent.stored else "this key was sent before: nothing changed"
    target = f"/executions/{quote(execution_id, safe='')}?{urlencode({'notice': notice})}#message-{sent.message_id}"
    return RedirectResponse(target, status_code=303)


@router.post("/executions/{execution_id:path}/cancel")
async def cancel(request: Request, execution_id: str) -> Response:
    """Request cancellation, then show the execution again."""
    _same_origin(request)
    access = await _access(request)
    await state.engine_of(request).cancel_workflow(execution_id, access=access)
    target = f"/executions/{quote(execution_id, safe='')}?notice=cancellation+requested"
    return RedirectResponse(target, status_code=303)


@router.post("/executions/{execution_id:path}/terminate")
async def terminate(request: Request, execution_id: str) -> Response:
    """Terminate the execution with the form's reason, then show it again."""
    _same_origin(request)
    access = await _access(request)
    reason = str((await request.form()).get("reason", "")).strip()
    await state.engine_of(request).terminate_workflow(execution_id, reason[:2000], access=access)
    target = f"/executions/{quote(execution_id, safe='')}?notice=terminated"
    return RedirectResponse(target, status_code=303)


@router.post("/executions/{execution_id:path}/delete")
async def delete(request: Request, execution_id: str) -> Response:
    """Delete a closed execution, then show the list of executions."""
    _same_origin(request)
    access = await _access(request)
    await state.engine_of(request).delete_workflow(execution_id, access=access)
    return RedirectResponse(f"/?notice={quote(f'{execution_id} deleted')}", status_code=303)


@router.post("/executions/{execution_id:path}/resume")
async def resume(request: Request, execution_id: str) -> Response:
    """Resume a failed, timed-out or terminated execution (without a deadline), then show it again."""
    _same_origin(request)
    access = await _access(request)
    await state.engine_of(request).resume(execution_id, None, access=access)
    target = f"/executions/{quote(execution_id, safe='')}?notice=resumed"
    return RedirectResponse(target, status_code=303)


async def _inbox(
    request: Request,
    *,
    show_all: bool,
    errors_of: dict[tuple[str, int], dict[str, str]] | None = None,
    values_of: dict[tuple[str, int], dict[str, str]] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    access = await _access(request)
    waiting = await state.engine_of(request).list_waiting_activities(
        inbox_only=not show_all, limit=PAGE_SIZE, offset=0, access=access
    )
    items = [(item, forms.form_for(item.form_schema or item.result_schema)) for item in waiting]
    context = {
        "items": items,
        "show_all": show_all,
        "errors_of": errors_of or {},
        "values_of": values_of or {},
        "notice": notice,
    }
    return _page(request, "inbox.html", context, status_code)


@router.get("/inbox", response_class=HTMLResponse)
async def inbox(request: Request, all: str = "", notice: str = "") -> HTMLResponse:
    """Activities waiting for a person, with forms to complete or fail them."""
    return await _inbox(request, show_all=bool(all), notice=notice)


@router.get("/overdue", response_class=HTMLResponse)
async def overdue_page(
    request: Request, waiting: str = "", due: str = "", name: str = "", offset: int = 0
) -> HTMLResponse:
    """Activities waiting for their token too long, or near a deadline, as ``tether activity list --overdue``."""
    access = await _access(request)
    chosen = overdue.limits(waiting, due)
    offset = min(max(offset, 0), 1_000_000_000)
    rows = await state.engine_of(request).overdue_activities(
        waiting_longer_than=chosen.waiting_longer_than, due_within=chosen.due_within, workflow=name or None,
        name=None, limit=PAGE_SIZE + 1, offset=offset, access=access,
    )  # fmt: skip
    query = {"waiting": chosen.waiting_text, "due": chosen.due_text, **({"name": name} if name else {})}
    context = {
        "rows": [(row, overdue_words.why(row)) for row in rows[:PAGE_SIZE]],
        "limits": chosen,
        "name": name,
        "span": overdue_words.span,
        "newer": urlencode({**query, "offset": max(offset - PAGE_SIZE, 0)}) if offset > 0 else None,
        "older": urlencode({**query, "offset": offset + PAGE_SIZE}) if len(rows) > PAGE_SIZE else None,
        "notice": chosen.problem,
    }
    return _page(request, "overdue.html", context)


async def _target(request: Request) -> tuple[dict[str, str], str, int, int, bool]:
    submitted = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        execution_id = submitted["execution_id"]
        activity_id, attempt = int(submitted["activity_id"]), int(submitted["attempt"])
    except (KeyError, ValueError) as exc:
        raise errors.InvalidPayload("the form does not name an activity attempt") from exc
    return submitted, execution_id, activity_id, attempt, submitted.get("show_all") == "1"


@router.post("/inbox/complete", response_class=HTMLResponse)
async def complete(request: Request) -> Response:
    """Complete a waiting activity with the form's values, or show the form again with its field errors."""
    _same_origin(request)
    access = await _access(request)
    submitted, execution_id, activity_id, attempt, show_all = await _target(request)
    engine = state.engine_of(request)
    waiting = await engine.waiting_activity(execution_id, activity_id, access=access)
    form = forms.form_for((waiting.form_schema or waiting.result_schema) if waiting is not None else None)
    key = (execution_id, activity_id)
    try:
        value = forms.read(form, submitted)
        await engine.complete_attempt(
            execution_id, activity_id, attempt, _encoded(request, payloads.encode(value, what="result")), access=access
        )
    except forms.FormErrors as exc:
        return await _inbox(request, show_all=show_all, errors_of={key: exc.errors}, values_of={key: submitted},
                            status_code=422)  # fmt: skip
    except errors.InvalidPayload as exc:
        found = forms.field_errors(exc.errors, form) or {form.fields[0].name: exc.message}
        return await _inbox(request, show_all=show_all, errors_of={key: found}, values_of={key: submitted},
                            status_code=422)  # fmt: skip
    except (errors.StaleToken, errors.ActivityAlreadyClosed) as exc:
        return await _inbox(request, show_all=show_all, notice=f"not completed: {exc.message}", status_code=409)
    target = f"/executions/{quote(execution_id, safe='')}?notice=activity+{activity_id}+completed"
    return RedirectResponse(target, status_code=303)


@router.post("/inbox/fail", response_class=HTMLResponse)
async def fail(request: Request) -> Response:
    """Fail a waiting activity's attempt with a message (retried by its policy unless marked final)."""
    _same_origin(request)
    access = await _access(request)
    submitted, execution_id, activity_id, attempt, show_all = await _target(request)
    error = submitted.get("error", "").strip() or "Rejected"
    try:
        await state.engine_of(request).fail_attempt(
            execution_id, activity_id, attempt, error=error, message=submitted.get("message", ""),
            non_retryable=submitted.get("non_retryable") == "on", access=access,
        )  # fmt: skip
    except (errors.StaleToken, errors.ActivityAlreadyClosed) as exc:
        return await _inbox(request, show_all=show_all, notice=f"not failed: {exc.message}", status_code=409)
    target = f"/executions/{quote(execution_id, safe='')}?notice=activity+{activity_id}+failed"
    return RedirectResponse(target, status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login(request: Request, reason: str = "", next: str = "/") -> HTMLResponse:
    """Ask for an API key."""
    return _page(request, "login.html", {"reason": reason, "next": next if next.startswith("/") else "/"})


@router.post("/login", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    """Check an API key and keep it in a cookie."""
    _same_origin(request)
    submitted = await request.form()
    key = str(submitted.get("api_key", "")).strip()
    target = str(submitted.get("next", "/"))
    target = target if target.startswith("/") and not target.startswith("//") else "/"
    try:
        await state.authenticator_of(request).authenticate(key or None, host=host_of(request))
    except errors.Unauthenticated as exc:
        context = {"reason": exc.message, "next": target}
        return _page(request, "login.html", context, status_code=401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE, key, httponly=True, samesite="strict", secure=request.url.scheme == "https", max_age=30 * 86400
    )
    return response


@router.post("/logout")
async def sign_out() -> Response:
    """Forget the key."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


async def _error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.TetherError)
    if request.url.path.startswith("/v1/"):
        return await error_table.handle(request, exc)  # the JSON API keeps its error bodies
    context = {"error": exc, "status": error_table.status_of(exc)}
    return _page(request, "error.html", context, status_code=error_table.status_of(exc))


async def _sign_in_needed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    query = urlencode({"reason": exc.reason, "next": request.url.path})
    return RedirectResponse(f"/login?{query}", status_code=303)


def install(app: FastAPI) -> None:
    """Serve the UI's pages and static files from ``app``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    app.add_exception_handler(SignInNeeded, _sign_in_needed)
    app.add_exception_handler(errors.TetherError, _error_page)
