"""The HTTP transport: the Client's calls as requests to a tether server.

Every call is safe to repeat (starts carry their execution id, closing calls are idempotent
by token), so a call whose connection fails is retried a few times before the server is
reported unreachable. Refusals come back as the very classes the embedded transport raises.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pydantic

from tether import errors
from tether.client import _connections, _requests
from tether.engine.engine import Engine
from tether.model import schedule_wire, wire
from tether.model.records import (
    ActivityInfo,
    HeartbeatResponse,
    HistoryEvent,
    OverdueActivity,
    Published,
    WaitingActivity,
    WorkflowDescription,
    WorkflowStatus,
    WorkflowSummary,
)
from tether.model.schedules import ScheduleInfo

logger = logging.getLogger(__name__)

_RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8)
_DESCRIPTION = pydantic.TypeAdapter(WorkflowDescription)
_ACTIVITY_INFO = pydantic.TypeAdapter(ActivityInfo)
_HEARTBEAT = pydantic.TypeAdapter(HeartbeatResponse)
_PUBLISHED = pydantic.TypeAdapter(Published)
_SCHEDULE = pydantic.TypeAdapter(ScheduleInfo)
_MAX_PUBLISHED_WAIT_MS = int(wire.MAX_PUBLISHED_WAIT_SECONDS * 1000)
_READ_SECONDS = 30.0
_CONNECT_SECONDS = 5.0
_TIMEOUT = httpx.Timeout(_READ_SECONDS, connect=_CONNECT_SECONDS)
_RETRIED_ERRORS = (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ConnectTimeout, httpx.ReadTimeout)
"""Failures of the connection or of the server's side of it; every call is safe to send again after them."""
_RETRIED_STATUSES = frozenset({502, 503, 504})
"""A proxy without its server, or a store that failed for a moment: worth a few more tries."""
_NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout)
"""Failures before a request reached the server: the only ones after which a call that is not
repeatable (terminate, resume, delete, retry-now: a second one is refused as the first left things)
is sent again."""


class HttpTransport:
    """Talks to a tether server: one connection pool for calls, another for waiting on results.

    Waiting for results has a pool of its own, so that handles waiting in long polls never hold
    back heartbeats and completions sent through the same client.
    """

    def __init__(self, base_url: str, *, api_key: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        key = (api_key or "").strip()
        if key and not (key.isascii() and key.isprintable()):
            raise errors.UsageError("the API key holds characters an HTTP header cannot carry; check how it was read")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        try:
            calls = _transport(self.base_url, httpx.Limits(max_connections=64, max_keepalive_connections=32))
            polls = _transport(self.base_url, httpx.Limits(max_connections=None, max_keepalive_connections=8))
            self._http = httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=_TIMEOUT, transport=calls)
            self._polls = httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=_TIMEOUT, transport=polls)
            self._requests = _requests.Requests(self._http, calls)
            self._poll_requests = _requests.Requests(self._polls, polls)
            self._connections = _connections_of(self._http.base_url)
        except httpx.InvalidURL as exc:
            raise errors.UsageError(f"{base_url!r} is not a valid server URL: {exc}") from None

    @property
    def engine(self) -> Engine:
        raise errors.UsageError(
            "this client talks to a tether server over HTTP and has no engine; "
            "a Worker needs a database URL (sqlite:///... or postgresql://...)"
        )

    async def _call(
        self, method: str, path: str, *, body: bytes | None = None, params: dict[str, Any] | None = None,
        timeout: float | None = None, repeatable: bool = True,
    ) -> Any:  # fmt: skip
        """Send a request, again after failures that allow it; the JSON answer, or the error it names.

        A call that is not ``repeatable`` is sent again only if it never reached the server:
        after a connection that broke once it was sent, its outcome is unknown, and it raises
        ServerUnreachable saying so rather than a second answer that would describe the first.
        """
        response: httpx.Response | _connections.Answer
        for attempt, delay in enumerate((*_RETRY_DELAYS, None)):
            try:
                response = await self._send(method, path, body, params, timeout)
            except httpx.PoolTimeout as exc:
                raise errors.StoreUnavailable(
                    f"no connection to {self.base_url} came free within {_READ_SECONDS:g} s: too many calls at once"
                ) from exc
            except _RETRIED_ERRORS as exc:
                # The message names the failure's kind only: request details may hold the API key.
                if not repeatable and not isinstance(exc, _NOT_SENT_ERRORS):
                    raise errors.ServerUnreachable(
                        f"the connection to the tether server at {self.base_url} broke after {method} {path} was "
                        f"sent ({type(exc).__name__}): it may or may not have taken effect; describe the execution "
                        "to see",
                        url=self.base_url,
                    ) from exc
                if delay is None:
                    raise errors.ServerUnreachable(
                        f"the tether server at {self.base_url} could not be reached ({type(exc).__name__})",
                        url=self.base_url,
                    ) from exc
                logger.debug("retrying %s %s after %s (attempt %d)", method, path, type(exc).__name__, attempt + 1)
            except httpx.DecodingError as exc:  # a proxy's compression gone wrong, say: sending again would not help
                raise errors.ServerUnreachable(
                    f"the answer of the tether server at {self.base_url} to {method} {path} could not be read "
                    f"({exc}): the call may or may not have taken effect",
                    url=self.base_url,
                ) from exc
            except httpx.HTTPError as exc:
                raise errors.UsageError(f"the request could not be sent ({type(exc).__name__})") from None
            else:
                if response.status_code not in _RETRIED_STATUSES or delay is None or not repeatable:
                    break
                logger.debug("retrying %s %s after status %d", method, path, response.status_code)
            await asyncio.sleep(delay)
        if response.status_code >= 400:
            raise _error_of(response)
        return response.json() if response.content else None

    async def _send(
        self, method: str, path: str, body: bytes | None, params: dict[str, Any] | None, timeout: float | None
    ) -> httpx.Response | _connections.Answer:
        """One request's whole answer: on the transport's own connections to http://, else through httpx."""
        requests = self._requests if timeout is None else self._poll_requests
        if self._connections is not None:
            pool = self._connections[0 if timeout is None else 1]
            return await pool.send(
                requests.wire(method, path, body, params), _READ_SECONDS if timeout is None else timeout
            )
        limit = None if timeout is None else httpx.Timeout(timeout, connect=_CONNECT_SECONDS)
        return await requests.send(requests.build(method, path, body, params, limit))

    async def start_workflow(
        self,
        execution_id: str,
        workflow: str,
        args: str,
        *,
        known: bool,
        timeout_ms: int | None,
        timeout_known: bool,
        priority: int = 0,
        new_id: bool = False,
    ) -> bool:
        # ``new_id`` is not sent: a request sent again after a lost answer carries the same
        # id, which the server must then find taken by the execution the first one started.
        check = "false" if known else "true"
        body = (
            f'{{"workflow":{json.dumps(workflow)},"args":{args},"id":{json.dumps(execution_id)},"check_known":{check}}}'
        )
        if timeout_known:  # omitted: the server leaves the timeout to the workflow's definition
            body = f'{body[:-1]},"timeout":{json.dumps(None if timeout_ms is None else timeout_ms / 1000)}}}'
        if priority:  # omitted: 0
            body = f'{body[:-1]},"priority":{priority}}}'
        reply = await self._call("POST", "/v1/workflows", body=body.encode())
        return bool(reply["started"])

    async def is_known_workflow(self, name: str) -> bool:
        return True  # the server refuses an unknown name when asked to start it

    async def wait_for_result(
        self, execution_id: str, timeout: float | None
    ) -> tuple[str, str | None, dict[str, Any] | None, str]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = wire.MAX_RESULT_WAIT_SECONDS if deadline is None else max(0.0, deadline - time.monotonic())
            wait = min(left, wire.MAX_RESULT_WAIT_SECONDS)
            reply = await self._call(
                "GET", _path("results", execution_id), params={"wait": wait}, timeout=wait + _READ_SECONDS
            )
            outcome = wire.Outcome.model_validate(reply)
            if outcome.status != WorkflowStatus.RUNNING or (deadline is not None and time.monotonic() >= deadline):
                result = json.dumps(outcome.result) if outcome.status == WorkflowStatus.COMPLETED else None
                return outcome.status.value, result, outcome.error, outcome.workflow

    async def published(self, execution_id: str, name: str, after: int | None, wait_ms: int) -> Published:
        # The wait is counted in what the server waited, on its clock (the virtual clock of a
        # test environment, too): each request waits its share, and one that ends with nothing
        # newer used it all. One cut short (the server stopped) only ends the wait early.
        path = f"/v1/published/{quote(name, safe='')}/{quote(execution_id, safe='')}"
        left = wait_ms
        while True:
            share = min(left, _MAX_PUBLISHED_WAIT_MS)
            left -= share
            params: dict[str, Any] = {"wait": share / 1000}
            if after is not None:
                params["after"] = after
            timeout = share / 1000 + _READ_SECONDS if share else None
            try:
                reply = _PUBLISHED.validate_python(await self._call("GET", path, params=params, timeout=timeout))
            except errors.NotPublished:
                if left <= 0:
                    raise
                continue
            if left <= 0 or after is None or reply.version > after:
                return reply

    async def cancel_workflow(self, execution_id: str) -> None:
        await self._call("POST", _path("cancellations", execution_id))

    async def terminate_workflow(self, execution_id: str, reason: str) -> None:
        body = wire.TerminateWorkflow(reason=reason).model_dump_json().encode()
        await self._call("POST", _path("terminations", execution_id), body=body, repeatable=False)

    async def resume(self, execution_id: str, timeout_ms: int | None) -> None:
        body = wire.ResumeWorkflow(timeout=None if timeout_ms is None else timeout_ms / 1000)
        await self._call(
            "POST", _path("resumptions", execution_id), body=body.model_dump_json().encode(), repeatable=False
        )

    async def delete_workflow(self, execution_id: str) -> None:
        await self._call("DELETE", _path("workflows", execution_id), repeatable=False)

    async def retry_activity_now(self, execution_id: str, activity_id: int) -> int:
        body = wire.RetryActivityNow(activity_id=activity_id).model_dump_json().encode()
        reply = await self._call("POST", _path("retries", execution_id), body=body, repeatable=False)
        return wire.RetryStarted.model_validate(reply).attempt

    async def describe(self, execution_id: str, run: int | None = None) -> WorkflowDescription:
        params = {"run": run} if run is not None else None
        return _DESCRIPTION.validate_python(await self._call("GET", _path("workflows", execution_id), params=params))

    async def history(self, execution_id: str, run: int | None = None) -> list[HistoryEvent]:
        params = {"run": run} if run is not None else None
        body = await self._call("GET", _path("histories", execution_id), params=params)
        return wire.History.model_validate(body).events

    async def list_workflows(
        self, *, status: str | None, workflow: str | None, limit: int, offset: int, id_prefix: str | None
    ) -> list[WorkflowSummary]:
        filters = {"status": status, "workflow": workflow, "id_prefix": id_prefix}
        items: list[WorkflowSummary] = await self._pages("/v1/workflows", filters, limit, offset, wire.WorkflowPage)
        return items

    async def waiting_activities(
        self, *, workflow: str | None, name: str | None, inbox_only: bool, limit: int, offset: int
    ) -> list[WaitingActivity]:
        filters = {"workflow": workflow, "name": name, "inbox": inbox_only or None}
        path = "/v1/activities/waiting"
        items: list[WaitingActivity] = await self._pages(path, filters, limit, offset, wire.WaitingPage)
        return items

    async def overdue_activities(
        self, *, waiting_longer_than_ms: int | None, due_within_ms: int | None, workflow: str | None,
        name: str | None, limit: int, offset: int,
    ) -> list[OverdueActivity]:  # fmt: skip
        filters = {
            "waiting_longer_than_ms": waiting_longer_than_ms, "due_within_ms": due_within_ms, "workflow": workflow,
            "name": name,
        }  # fmt: skip
        items: list[OverdueActivity] = await self._pages(
            "/v1/activities/overdue", filters, limit, offset, wire.OverduePage
        )
        return items

    async def _pages(
        self,
        path: str,
        filters: dict[str, Any],
        limit: int,
        offset: int,
        page_type: type[wire.WorkflowPage | wire.WaitingPage | wire.OverduePage],
    ) -> list[Any]:
        """Up to ``limit`` items of a listing from ``offset`` on, a page (of at most MAX_PAGE) at a time.

        ``filters`` given as None are left out of the query.
        """
        params: dict[str, Any] = {name: value for name, value in filters.items() if value is not None}
        params["offset"] = offset
        items: list[Any] = []
        while True:
            params["limit"] = min(limit - len(items), wire.MAX_PAGE)
            page = page_type.model_validate(await self._call("GET", path, params=params))
            items.extend(page.items)
            if page.next_offset is None or len(items) >= limit:
                return items
            params["offset"] = page.next_offset

    async def complete_activity(self, token: str, result: str, activity: str | None = None) -> bool:
        body = _by_token(token, result=result, activity=_named(activity))
        reply = await self._call("POST", "/v1/activities/complete", body=body)
        return reply["recorded"] is True

    async def fail_activity(self, token: str, *, error: str, message: str, details: Any, non_retryable: bool) -> bool:
        _check_token(token)
        try:
            body = wire.FailActivity(
                token=token, error=error, message=message, details=details, non_retryable=non_retryable
            )
        except pydantic.ValidationError as exc:
            raise errors.InvalidPayload(f"invalid failure: {exc}", errors=exc.errors()) from exc
        reply = await self._call("POST", "/v1/activities/fail", body=body.model_dump_json().encode())
        return reply["recorded"] is True

    async def heartbeat_activity(
        self, token: str, details: str | None, activity: str | None = None
    ) -> HeartbeatResponse:
        body = _by_token(token, details=details, activity=_named(activity))
        reply = await self._call("POST", "/v1/activities/heartbeat", body=body)
        return _HEARTBEAT.validate_python(reply)

    async def report_activity_cancelled(self, token: str, details: str | None) -> bool:
        reply = await self._call("POST", "/v1/activities/cancelled", body=_by_token(token, details=details))
        return reply["recorded"] is True

    async def describe_activity(self, token: str) -> ActivityInfo:
        return _ACTIVITY_INFO.validate_python(
            await self._call("POST", "/v1/activities/describe", body=_by_token(token))
        )

    async def send_message(self, execution_id: str, name: str, payload: str, key: str | None) -> bool:
        body = f'{{"name":{json.dumps(name)},"payload":{payload},"key":{json.dumps(key)}}}'
        reply = await self._call(
            "POST", _path("messages", execution_id), body=body.encode(), repeatable=key is not None
        )
        return bool(wire.MessageSent.model_validate(reply).stored)

    async def send_with_start(
        self,
        execution_id: str,
        workflow: str,
        args: str,
        message: tuple[str, str, str | None],
        *,
        known: bool,
        timeout_ms: int | None,
        timeout_known: bool,
        priority: int = 0,
    ) -> bool:
        name, payload, key = message
        start = f'{{"workflow":{json.dumps(workflow)},"args":{args},"check_known":{"false" if known else "true"}}}'
        if timeout_known:
            start = f'{start[:-1]},"timeout":{json.dumps(None if timeout_ms is None else timeout_ms / 1000)}}}'
        if priority:  # omitted: 0
            start = f'{start[:-1]},"priority":{priority}}}'
        body = f'{{"name":{json.dumps(name)},"payload":{payload},"key":{json.dumps(key)},"start":{start}}}'
        reply = await self._call(
            "POST", _path("messages", execution_id), body=body.encode(), repeatable=key is not None
        )
        return bool(wire.MessageSent.model_validate(reply).started)

    async def request(self, execution_id: str, name: str, payload: str, key: str | None, timeout: float | None) -> str:
        # A key makes asking again the same request: the wait goes on over as many calls as it needs.
        key = key if key is not None else uuid.uuid4().hex
        left = timeout
        while True:
            wait = wire.MAX_RESULT_WAIT_SECONDS if left is None else min(left, wire.MAX_RESULT_WAIT_SECONDS)
            body = f'{{"name":{json.dumps(name)},"payload":{payload},"key":{json.dumps(key)},"wait":{wait}}}'
            reply = await self._call(
                "POST", _path("requests", execution_id), body=body.encode(), timeout=wait + _READ_SECONDS
            )
            outcome = wire.RequestOutcome.model_validate(reply)
            if outcome.state == "replied":
                return json.dumps(outcome.reply)
            if left is not None:
                left -= outcome.waited  # by the server's clock, which decides when its waits end
                if left <= 0:
                    raise TimeoutError(f"execution {execution_id!r} did not answer request {name!r} in time")

    async def create_schedule(
        self,
        schedule_id: str,
        workflow: str,
        args: str,
        *,
        cron: str,
        timezone: str,
        overlap: str,
        catch_up: str,
        paused: bool,
        known: bool,
    ) -> ScheduleInfo:
        fields = {"id": schedule_id, "workflow": workflow, "cron": cron, "timezone": timezone, "overlap": overlap}
        fields.update(catch_up=catch_up)
        flags = f'"paused":{json.dumps(paused)},"check_known":{json.dumps(not known)}'
        body = f'{json.dumps(fields)[:-1]},{flags},"args":{args}}}'
        # Not repeated once sent: a second create is refused as the first one made it.
        return _SCHEDULE.validate_python(
            await self._call("POST", "/v1/schedules", body=body.encode(), repeatable=False)
        )

    async def list_schedules(self, workflow: str | None) -> list[ScheduleInfo]:
        params = {"workflow": workflow} if workflow is not None else None
        return schedule_wire.SchedulePage.model_validate(await self._call("GET", "/v1/schedules", params=params)).items

    async def describe_schedule(self, schedule_id: str) -> ScheduleInfo:
        return _SCHEDULE.validate_python(await self._call("GET", _schedule_path(schedule_id)))

    async def pause_schedule(self, schedule_id: str) -> ScheduleInfo:
        return _SCHEDULE.validate_python(await self._call("POST", _schedule_path(schedule_id, "pause")))

    async def unpause_schedule(self, schedule_id: str) -> ScheduleInfo:
        return _SCHEDULE.validate_python(await self._call("POST", _schedule_path(schedule_id, "unpause")))

    async def trigger_schedule(self, schedule_id: str) -> str:
        reply = await self._call("POST", _schedule_path(schedule_id, "trigger"), repeatable=False)
        return schedule_wire.ScheduleTriggered.model_validate(reply).execution_id

    async def delete_schedule(self, schedule_id: str) -> None:
        await self._call("DELETE", _schedule_path(schedule_id), repeatable=False)

    async def close(self) -> None:
        await self._http.aclose()
        await self._polls.aclose()
        for pool in self._connections or ():
            await pool.close()


def _transport(base_url: str, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """The httpx connection pool of one of the transport's clients (calls to http:// go by _connections instead)."""
    if base_url.startswith("https://"):
        return httpx.AsyncHTTPTransport(limits=limits)
    return httpx.AsyncHTTPTransport(limits=limits, verify=False)  # http needs no certificates: loading them is ~20 ms


def _connections_of(url: httpx.URL) -> tuple[_connections.Pool, _connections.Pool] | None:
    """For an http:// server, the connections of calls and of long polls (see HttpTransport); else None."""
    if url.scheme != "http":
        return None
    host, port = url.host, url.port or 80
    calls = _connections.Pool(
        host, port, max_connections=64, max_idle=32, connect_seconds=_CONNECT_SECONDS, wait_seconds=_READ_SECONDS
    )
    polls = _connections.Pool(
        host, port, max_connections=None, max_idle=8, connect_seconds=_CONNECT_SECONDS, wait_seconds=_READ_SECONDS
    )
    return calls, polls


def _schedule_path(schedule_id: str, action: str = "") -> str:
    # The id comes last and whole, after the action if any.
    return f"/v1/schedules/{action + '/' if action else ''}{quote(schedule_id, safe='')}"


def _check_token(token: object) -> None:
    # Refused here as the embedded transport refuses it, rather than as a malformed request body.
    if not isinstance(token, str):
        raise errors.InvalidToken("the token is malformed")


def _named(activity: str | None) -> str | None:
    """The JSON text of an activity's name, if one is given."""
    return None if activity is None else json.dumps(activity)


def _path(collection: str, execution_id: str) -> str:
    # The id comes last and whole ('/' included, as %2F): the server routes on what precedes it.
    return f"/v1/{collection}/{quote(execution_id, safe='')}"


def _by_token(token: str, **json_texts: str | None) -> bytes:
    """A body of a token and fields already encoded as JSON text (not parsed again to be sent)."""
    _check_token(token)
    fields = "".join(f',"{name}":{text}' for name, text in json_texts.items() if text is not None)
    return f'{{"token":{json.dumps(token)}{fields}}}'.encode()


def _error_of(response: httpx.Response | _connections.Answer) -> errors.TetherError:
    try:
        body = wire.ErrorBody.model_validate_json(response.content)
    except pydantic.ValidationError:
        if response.status_code >= 500:
            return errors.StoreUnavailable(f"the server answered {response.status_code}")
        return errors.TetherError(f"the server answered {response.status_code}: {response.text[:200]}")
    return errors.from_wire(body.error, body.message, body.details)
