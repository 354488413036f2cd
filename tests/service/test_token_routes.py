"""Calls by token answer alike on the direct path (plain JSON bodies) and through FastAPI (anything else).

The server takes plain heartbeat, complete and fail requests past FastAPI's routing
(service/token_routes.py); a body with another content type goes the general way. Both must
give the same status, headers and body, and the same log lines.
"""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

import tether
from tests.helpers.workflows import TOKENS
from tether.service import app as service_app
from tether.service import server as service_server
from tether.service.auth import StoreKeys
from tether.testing import TestEnvironment

PLAIN = {"content-type": "application/json"}
GENERAL = {"content-type": "application/json; charset=utf-8"}  # taken by FastAPI's route


@tether.activity(name="direct.watch", heartbeat=timedelta(minutes=5))
async def watch(n: str) -> int:
    TOKENS.put(tether.context().execution_id, tether.context().token)
    return tether.make_async()


@tether.workflow(name="direct.watched")
async def watched(n: str) -> int:
    return await watch(n)


@tether.activity(name="direct.park")
async def park(n: str) -> Any:  # no deadline: waiting for a result lets a test environment's clock run on
    TOKENS.put(tether.context().execution_id, tether.context().token)
    return tether.make_async()


@tether.workflow(name="direct.parked")
async def parked(n: str) -> Any:
    return await park(n)


@pytest.fixture
async def served() -> AsyncIterator[tuple[TestEnvironment, httpx.AsyncClient]]:
    async with TestEnvironment(workflows=[watched, parked], activities=[watch, park], transport="http") as env:
        assert env.server_url is not None
        async with httpx.AsyncClient(base_url=env.server_url) as http:
            yield env, http


async def _token(env: TestEnvironment, execution_id: str, workflow: str = watched.name) -> str:
    await env.engine.start_workflow(execution_id, workflow, '["x"]')
    token = await TOKENS.get(execution_id)
    await env.wait_for_idle()
    return token


def _answer(response: httpx.Response) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    headers = [(name, value) for name, value in response.headers.raw if name.lower() != b"date"]
    return response.status_code, headers, response.content


async def _both(http: httpx.AsyncClient, path: str, body: bytes) -> tuple[Any, Any]:
    plain = await http.post(path, content=body, headers=PLAIN)
    general = await http.post(path, content=body, headers=GENERAL)
    return _answer(plain), _answer(general)


async def test_a_heartbeat_is_answered_alike_either_way(served: tuple[TestEnvironment, httpx.AsyncClient]) -> None:
    env, http = served
    token = await _token(env, "direct-hb")
    body = b'{"token": "%s", "details": {"i": 1, "note": "\xc3\xa9t\xc3\xa9"}}' % token.encode()
    plain, general = await _both(http, "/v1/activities/heartbeat", body)
    assert plain == general
    assert plain[0] == 200
    assert b'"next_heartbeat_due":"' in plain[2]
    assert (await env.engine.describe_activity(token)).heartbeat_details == {"i": 1, "note": "été"}


def whole_writes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The statuses of the answers written whole, in one write, from here on."""
    written: list[int] = []
    whole = service_server._Direct.whole

    async def counted(
        self: service_server._Direct, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        written.append(status)
        await whole(self, status, headers, body)

    monkeypatch.setattr(service_server._Direct, "whole", counted)
    return written


async def test_a_plain_call_is_answered_from_the_connection_in_one_write(
    served: tuple[TestEnvironment, httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    env, http = served
    token = await _token(env, "direct-whole")
    written = whole_writes(monkeypatch)
    body = b'{"token": "%s"}' % token.encode()
    await http.post(
        "/v1/activities/heartbeat", content=body, headers=PLAIN
    )  # the app's first request: the layers built
    written.clear()
    plain, general = await _both(http, "/v1/activities/heartbeat", body)
    assert plain == general
    assert written == [200]  # the plain one; the general one went through FastAPI


async def test_a_completion_and_a_failure_are_answered_alike_either_way(
    served: tuple[TestEnvironment, httpx.AsyncClient],
) -> None:
    env, http = served
    completed = await _token(env, "direct-complete")
    plain, general = await _both(http, "/v1/activities/complete", b'{"token": "%s", "result": 3}' % completed.encode())
    assert _shape(plain) == _shape(general)
    assert (plain[2], general[2]) == (b'{"recorded":true}', b'{"recorded":false}')
    assert await env.client.get_handle("direct-complete").result(timeout=10) == 3

    failed = await _token(env, "direct-fail")
    body = b'{"token": "%s", "error": "Boom", "message": "no", "non_retryable": true}' % failed.encode()
    plain, general = await _both(http, "/v1/activities/fail", body)
    assert _shape(plain) == _shape(general)
    assert (plain[2], general[2]) == (b'{"recorded":true}', b'{"recorded":false}')


def _shape(answer: tuple[int, list[tuple[bytes, bytes]], bytes]) -> tuple[int, list[bytes], int]:
    status, headers, body = answer  # a repeated close says recorded false, one character longer
    assert dict(headers)[b"content-length"] == str(len(body)).encode()
    return status, [name for name, _ in headers], body.count(b":")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/activities/heartbeat", b'{"token": "forged"}'),  # refused by the transition
        ("/v1/activities/complete", b'{"token": "forged", "result": 1, "extra": 2}'),  # by validation
        ("/v1/activities/fail", b'{"token": "forged"}'),  # a field missing
        ("/v1/activities/fail", b'{"token": "forged", "error": "E"'),  # not JSON
        ("/v1/activities/heartbeat", b'{"token": "forged", "details": NaN}'),  # JSON to Python, not to orjson
        ("/v1/activities/complete", b""),  # no body
        ("/v1/activities/complete", b'{"token": "forged", "result": ' + b"[" * 300 + b"]" * 300 + b"}"),  # deep
    ],
)
async def test_a_refusal_is_answered_and_logged_alike_either_way(
    served: tuple[TestEnvironment, httpx.AsyncClient], caplog: pytest.LogCaptureFixture, path: str, body: bytes
) -> None:
    _, http = served
    (plain, lines), (general, general_lines) = await _both_logged(http, path, body, caplog)
    assert _answer(plain) == _answer(general)
    assert plain.status_code >= 400
    assert lines == general_lines
    assert any(path in line for line in lines)


async def test_a_call_with_a_key_or_a_refused_key_is_answered_and_logged_alike_either_way(
    served: tuple[TestEnvironment, httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    env, http = served
    token = await _token(env, "direct-keyed")
    _, plain_key = await env.engine.create_api_key("billing", ["activities:write:direct.*"])
    _, other_key = await env.engine.create_api_key("reader", ["workflows:read:*"])
    body = b'{"token": "%s"}' % token.encode()
    for authorization in (f"Bearer {plain_key}", f"Bearer {other_key}", "Bearer tk_forged_key", "Basic eDp5", None):
        sent = {} if authorization is None else {"authorization": authorization}
        (plain, lines), (general, general_lines) = await _both_logged(
            http, "/v1/activities/heartbeat", body, caplog, sent
        )
        assert _answer(plain) == _answer(general), authorization
        assert lines == general_lines, authorization
        assert plain.status_code == (
            200 if authorization == f"Bearer {plain_key}" else 403 if authorization == f"Bearer {other_key}" else 401
        )


async def test_a_body_over_the_limit_is_refused_alike_either_way(
    served: tuple[TestEnvironment, httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    env, _ = served
    app = service_app.create_app(env.engine, StoreKeys(env.engine, open_without_keys=True), max_body_bytes=64)
    body = b'{"token": "forged", "result": "%s"}' % (b"x" * 100)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
        (plain, lines), (general, general_lines) = await _both_logged(http, "/v1/activities/complete", body, caplog)
    assert _answer(plain) == _answer(general)
    assert plain.status_code == 413
    assert lines == general_lines


async def test_an_unexpected_failure_is_answered_and_logged_alike_either_way(
    served: tuple[TestEnvironment, httpx.AsyncClient], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    env, http = served
    token = await _token(env, "direct-broken")

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(env.engine, "heartbeat_activity", broken)
    body = b'{"token": "%s"}' % token.encode()
    (plain, lines), (general, general_lines) = await _both_logged(http, "/v1/activities/heartbeat", body, caplog)
    assert _answer(plain) == _answer(general)
    assert plain.status_code == 500
    assert lines == general_lines
    assert "request failed unexpectedly" in lines


async def _both_logged(
    http: httpx.AsyncClient,
    path: str,
    body: bytes,
    caplog: pytest.LogCaptureFixture,
    sent: dict[str, str] | None = None,
) -> list[tuple[httpx.Response, list[str]]]:
    """The answer and the log lines of the same request sent the direct way, then the general way."""
    caplog.set_level(logging.INFO, logger="tether.service")
    answers = []
    for content_type in (PLAIN, GENERAL):
        caplog.clear()
        answers.append((await http.post(path, content=body, headers={**content_type, **(sent or {})}), _logged(caplog)))
    caplog.clear()
    return answers


def _logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    # The access log line names the duration, which differs from call to call.
    return [
        re.sub(r" [0-9.]+ ms", " ms", r.getMessage()) if r.name.endswith("access") else r.getMessage()
        for r in caplog.records
    ]


_TRACED = """
import asyncio

import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tether
from tether.testing import TestEnvironment

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
tokens = asyncio.Queue()

@tether.activity(name="direct.park")
async def park(n: str) -> int:
    tokens.put_nowait(tether.context().token)
    return tether.make_async()

@tether.workflow(name="direct.parked")
async def parked(n: str) -> int:
    return await park(n)

async def main() -> None:
    async with TestEnvironment(workflows=[parked], activities=[park], transport="http") as env:
        await env.client.start_workflow(parked, "x", id="traced")
        token = await tokens.get()
        async with httpx.AsyncClient(base_url=env.server_url) as http:
            for content_type in ("application/json", "application/json; charset=utf-8"):
                exporter.clear()
                body = '{"token": "%s"}' % token
                sent = await http.post("/v1/activities/heartbeat", content=body, headers={"content-type": content_type})
                assert sent.status_code == 200, sent.text
                print(sorted((span.name, dict(span.attributes or {}).get("http.route")) for span in
                             exporter.get_finished_spans() if not span.name.startswith("tether ")))

asyncio.run(main())
"""


def test_a_call_traced_by_fastapi_itself_gets_the_same_spans_either_way(tmp_path: Path) -> None:
    script = tmp_path / "traced.py"
    script.write_text(_TRACED)
    ran = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    plain, general = ran.stdout.splitlines()
    assert plain == general
    assert "/v1/activities/heartbeat" in plain  # FastAPI's span names the route


async def _results_logged(
    http: httpx.AsyncClient,
    execution_id: str,
    query: str,
    caplog: pytest.LogCaptureFixture,
    sent: dict[str, str] | None = None,
) -> list[tuple[httpx.Response, list[str]]]:
    """The answer and log lines of a request for a result, the direct way, then the general way.

    FastAPI ignores a query parameter it does not know; the direct path takes only ``wait``.
    """
    caplog.set_level(logging.INFO, logger="tether.service")
    answers = []
    for extra in ("", "&general=1" if query else "general=1"):
        caplog.clear()
        path = f"/v1/results/{quote(execution_id, safe='')}?{query}{extra}"
        answers.append((await http.get(path, headers=sent or {}), _logged(caplog)))
    caplog.clear()
    return answers


@pytest.mark.parametrize("query", ["wait=0", "", "wait=0.25", "wait=0.000000000001"])
async def test_a_result_is_answered_and_logged_alike_either_way(
    served: tuple[TestEnvironment, httpx.AsyncClient], caplog: pytest.LogCaptureFixture, query: str
) -> None:
    env, http = served
    for execution_id in ("direct-result", "direct/ré sult?"):
        token = await _token(env, execution_id, parked.name)
        (plain, lines), (general, general_lines) = await _results_logged(http, execution_id, query, caplog)
        assert _answer(plain) == _answer(general)
        assert lines == general_lines == ["GET /v1/results/{execution_id} 200 ms"]
        assert plain.json()["status"] == "running"
        await env.client.complete_activity(token, {"été": [1, 2.5, None], "deep": {"x": "\u2603"}})
        await env.client.get_handle(execution_id).result(timeout=10)
        (plain, lines), (general, general_lines) = await _results_logged(http, execution_id, query, caplog)
        assert _answer(plain) == _answer(general)
        assert lines == general_lines
        assert plain.json() == {
            "id": execution_id,
            "workflow": "direct.parked",
            "status": "completed",
            "result": {"été": [1, 2.5, None], "deep": {"x": "\u2603"}},
            "error": None,
        }


@pytest.mark.parametrize("query", ["wait=61", "wait=-1", "wait=abc", "wait=1e-3", "wait=1&wait=2"])
async def test_a_result_asked_for_oddly_or_of_nothing_known_is_refused_alike_either_way(
    served: tuple[TestEnvironment, httpx.AsyncClient], caplog: pytest.LogCaptureFixture, query: str
) -> None:
    env, http = served
    await _token(env, "direct-odd", parked.name)
    for execution_id, wait in (("direct-odd", query), ("direct-unknown", "wait=0")):
        (plain, lines), (general, general_lines) = await _results_logged(http, execution_id, wait, caplog)
        assert _answer(plain) == _answer(general)
        assert lines == general_lines
        if execution_id == "direct-unknown":
            assert plain.status_code == 404
        elif query == "wait=1e-3":
            assert plain.status_code == 200  # FastAPI takes it as a number: the general way answers it
        elif query != "wait=1&wait=2":
            assert plain.status_code == 422


async def test_a_result_with_a_key_or_a_refused_key_is_answered_and_logged_alike_either_way(
    served: tuple[TestEnvironment, httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    env, http = served
    await _token(env, "direct-keyed-result", parked.name)
    _, reader = await env.engine.create_api_key("reader", ["workflows:read:direct.*"])
    _, other = await env.engine.create_api_key("other", ["workflows:read:elsewhere.*"])
    for authorization in (f"Bearer {reader}", f"Bearer {other}", "Bearer tk_forged_key", "Basic eDp5", None):
        sent = {} if authorization is None else {"authorization": authorization}
        (plain, lines), (general, general_lines) = await _results_logged(
            http, "direct-keyed-result", "wait=0", caplog, sent
        )
        assert _answer(plain) == _answer(general), authorization
        assert lines == general_lines, authorization
        assert plain.status_code == (
            200 if authorization == f"Bearer {reader}" else 403 if authorization == f"Bearer {other}" else 401
        ), authorization


async def test_a_waiting_result_is_answered_from_the_connection_in_one_write_when_its_workflow_closes(
    served: tuple[TestEnvironment, httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    env, http = served
    token = await _token(env, "direct-waited", parked.name)
    written = whole_writes(monkeypatch)
    await http.get("/v1/results/direct-waited")  # the app's first request: the layers built
    written.clear()
    waiting = asyncio.ensure_future(http.get("/v1/results/direct-waited?wait=30"))
    await env.wait_for_idle()
    assert not waiting.done()
    await env.client.complete_activity(token, 7)

    answered = await asyncio.wait_for(waiting, 10)
    assert answered.json()["status"] == "completed"
    assert answered.json()["result"] == 7
    assert written == [200, 200]  # the completion by token, then the result it ended the wait for


async def test_a_caller_that_hangs_up_on_a_waiting_result_stops_waiting(
    served: tuple[TestEnvironment, httpx.AsyncClient],
) -> None:
    env, _ = served
    await _token(env, "direct-gone", parked.name)
    assert env.server_url is not None
    async with httpx.AsyncClient(base_url=env.server_url) as impatient:
        waiting = asyncio.ensure_future(impatient.get("/v1/results/direct-gone?wait=30"))
        for _ in range(200):
            if env.engine.notifier.awaited_executions():
                break
            await asyncio.sleep(0.01)
        assert env.engine.notifier.awaited_executions() == ["direct-gone"]
        waiting.cancel()
    for _ in range(200):  # the server notices the hang-up as its event loop runs on
        if not env.engine.notifier.awaited_executions():
            break
        await asyncio.sleep(0.01)
    assert env.engine.notifier.awaited_executions() == []
