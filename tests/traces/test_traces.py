"""OpenTelemetry traces: one per started workflow, holding its tasks, attempts, children and calls by token."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import tether
from tether.model.clock import VirtualClock
from tether.service import app as service_app
from tether.service import server as service_server
from tether.service.auth import StoreKeys

BOTH_STORES = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)

_tokens: list[asyncio.Queue[str]] = []


def tokens() -> asyncio.Queue[str]:
    """Where tr_approve puts its tokens: a queue of the running test's own."""
    return _tokens[-1]


@pytest.fixture(autouse=True)
def token_queue() -> Iterator[None]:
    _tokens.append(asyncio.Queue())
    yield
    _tokens.pop()


@tether.activity
async def tr_charge(amount: int) -> int:
    return amount * 2


@tether.activity
def tr_charge_in_thread(amount: int) -> int:
    return amount + 1


@tether.activity(retry=tether.RetryPolicy(max_attempts=1))
async def tr_refuse(amount: int) -> int:
    raise ValueError(f"{amount} is too much")


@tether.activity
async def tr_approve(order: str) -> str:
    tokens().put_nowait(tether.context().token)
    return tether.make_async()


@tether.workflow
async def tr_order(amount: int) -> int:
    return await tr_charge_in_thread(await tr_charge(amount))


@tether.workflow
async def tr_refused(amount: int) -> int:
    return await tr_refuse(amount)


@tether.workflow
async def tr_approved(order: str) -> str:
    return await tr_approve(order)


@tether.workflow
async def tr_parent(amount: int, child_id: str) -> int:
    return await tether.run_workflow(tr_order, amount, id=child_id)


@tether.workflow
async def tr_continued(rounds: int) -> int:
    if rounds > 0:
        raise tether.ContinueAsNew(rounds - 1)
    return await tr_charge(1)


@pytest.fixture
def exported() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    """A provider of this test's own (the global one is never set), exporting to memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


@asynccontextmanager
async def running(
    store_url: str, provider: TracerProvider, *workflows: tether.Workflow[..., Any]
) -> AsyncIterator[tether.Client]:
    client = await tether.Client.connect(store_url, clock=VirtualClock(), tracer_provider=provider)
    activities: list[tether.Activity[..., Any]] = [tr_charge, tr_charge_in_thread, tr_refuse, tr_approve]
    try:
        async with tether.Worker(client, workflows=workflows, activities=activities, tracer_provider=provider):
            yield client
    finally:
        await client.close()


def named(spans: tuple[ReadableSpan, ...], prefix: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name.startswith(prefix)]


def trace_of(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.trace_id)


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


def attr(span: ReadableSpan, key: str) -> object:
    assert span.attributes is not None
    return span.attributes[key]


def parent_id(span: ReadableSpan) -> int | None:
    return None if span.parent is None else span.parent.span_id


@BOTH_STORES
async def test_a_workflow_started_in_a_span_has_its_tasks_and_attempts_in_that_trace(
    store_url: str, exported: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = exported
    async with running(store_url, provider, tr_order) as client:
        with provider.get_tracer("shop").start_as_current_span("checkout") as checkout:
            handle = await client.start_workflow(tr_order, 20, id="order-1")
        assert await handle.result() == 41
    spans = exporter.get_finished_spans()
    (start,) = named(spans, "tether start_workflow")
    assert start.kind == SpanKind.CLIENT
    assert parent_id(start) == checkout.get_span_context().span_id
    assert attr(start, "tether.execution.id") == "order-1"
    tasks = named(spans, "workflow task tr_order")
    attempts = named(spans, "activity ")
    assert len(tasks) == 3
    assert sorted(s.name for s in attempts) == ["activity tr_charge", "activity tr_charge_in_thread"]
    for span in [*tasks, *attempts]:
        assert trace_of(span) == checkout.get_span_context().trace_id
        assert parent_id(span) == span_id(start)
        assert attr(span, "tether.execution.id") == "order-1"
    for attempt in attempts:
        assert attr(attempt, "tether.activity.outcome") == "completed"
        assert attr(attempt, "tether.activity.attempt") == 1
        assert attempt.status.status_code != StatusCode.ERROR
    assert [attr(s, "tether.workflow.name") for s in tasks] == ["tr_order"] * 3


@BOTH_STORES
async def test_a_failed_attempt_sets_the_error_status_of_its_span(
    store_url: str, exported: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = exported
    async with running(store_url, provider, tr_refused) as client:
        handle = await client.start_workflow(tr_refused, 500, id="refused-1")
        with pytest.raises(tether.errors.WorkflowFailed):
            await handle.result()
    (attempt,) = named(exporter.get_finished_spans(), "activity tr_refuse")
    assert attempt.status.status_code == StatusCode.ERROR
    assert attempt.status.description == "ValueError: 500 is too much"
    assert attr(attempt, "tether.activity.outcome") == "failed"


@BOTH_STORES
async def test_children_and_continued_runs_join_the_trace_the_workflow_was_started_in(
    store_url: str, exported: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = exported
    async with running(store_url, provider, tr_parent, tr_order, tr_continued) as client:
        with provider.get_tracer("shop").start_as_current_span("batch") as batch:
            parent = await client.start_workflow(tr_parent, 1, "parent-1-child", id="parent-1")
            continued = await client.start_workflow(tr_continued, 2, id="continued-1")
        assert await parent.result() == 3
        assert await continued.result() == 2
    spans = exporter.get_finished_spans()
    starts = {attr(s, "tether.execution.id"): s for s in named(spans, "tether start_workflow")}
    child_tasks = named(spans, "workflow task tr_order")
    assert child_tasks
    assert {attr(s, "tether.execution.id") for s in child_tasks} == {"parent-1-child"}
    runs = named(spans, "workflow task tr_continued")
    assert {attr(s, "tether.workflow.run") for s in runs} == {1, 2, 3}
    for span in [*child_tasks, *named(spans, "activity tr_charge")]:
        assert trace_of(span) == batch.get_span_context().trace_id
    for span in child_tasks:
        assert parent_id(span) == span_id(starts["parent-1"])
    for span in runs:
        assert trace_of(span) == batch.get_span_context().trace_id
        assert parent_id(span) == span_id(starts["continued-1"])


@BOTH_STORES
async def test_a_workflow_started_with_a_message_joins_the_senders_trace(
    store_url: str, exported: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = exported
    async with running(store_url, provider, tr_order) as client:
        with provider.get_tracer("shop").start_as_current_span("inbox") as inbox:
            handle = await client.send_with_start(tr_order, 1, id="sent-1", message="hello")
        assert await handle.result() == 3
    spans = exporter.get_finished_spans()
    (start,) = named(spans, "tether send_with_start")
    assert parent_id(start) == inbox.get_span_context().span_id
    tasks = named(spans, "workflow task tr_order")
    assert tasks
    assert all(trace_of(t) == inbox.get_span_context().trace_id and parent_id(t) == span_id(start) for t in tasks)


@BOTH_STORES
async def test_a_completion_by_token_from_another_service_joins_the_workflows_trace(
    store_url: str, exported: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = exported
    async with running(store_url, provider, tr_approved) as client, serving(client, provider) as url:
        shop = await tether.Client.connect(url, tracer_provider=provider)
        with provider.get_tracer("shop").start_as_current_span("order") as order:
            handle = await shop.start_workflow(tr_approved, "o-7", id=f"approved-{uuid.uuid4().hex[:6]}")
        token = await asyncio.wait_for(tokens().get(), timeout=30)
        # Another service, in a trace of its own, completes the activity through the server.
        other = await tether.Client.connect(url, tracer_provider=provider)
        try:
            root = otel_context.Context()
            with provider.get_tracer("approvals").start_as_current_span("approve", context=root) as approve:
                await other.complete_activity(token, "ana")
        finally:
            await other.close()
        assert await handle.result() == "ana"
        await shop.close()
    spans = exporter.get_finished_spans()
    workflow_trace = order.get_span_context().trace_id
    (asked,) = [s for s in named(spans, "tether start_workflow") if s.kind == SpanKind.CLIENT]
    (start,) = [s for s in named(spans, "tether start_workflow") if s.kind == SpanKind.SERVER]
    assert parent_id(asked) == order.get_span_context().span_id
    assert parent_id(start) == span_id(asked)
    assert trace_of(start) == workflow_trace
    (attempt,) = named(spans, "activity tr_approve")
    assert attr(attempt, "tether.activity.outcome") == "async"
    (calling,) = [s for s in named(spans, "tether complete_activity") if s.kind == SpanKind.CLIENT]
    (served,) = [s for s in named(spans, "tether complete_activity") if s.kind == SpanKind.SERVER]
    assert trace_of(calling) == approve.get_span_context().trace_id != workflow_trace
    assert parent_id(calling) == approve.get_span_context().span_id
    assert trace_of(served) == workflow_trace
    assert parent_id(served) == span_id(start)
    assert [link.context.span_id for link in served.links] == [span_id(calling)]
    assert [link.context.trace_id for link in served.links] == [trace_of(calling)]
    tasks = named(spans, "workflow task tr_approved")
    assert all(trace_of(t) == workflow_trace and parent_id(t) == span_id(start) for t in tasks)
    assert served.end_time is not None
    following = [t for t in tasks if t.start_time is not None and t.start_time >= served.start_time]  # type: ignore[operator]  # both set
    assert len(following) == 1


@asynccontextmanager
async def serving(client: tether.Client, provider: TracerProvider) -> AsyncIterator[str]:
    """A tether server on loopback over the worker's store, tracing to ``provider``."""
    engine = client.engine
    app = service_app.create_app(engine, StoreKeys(engine, open_without_keys=True), tracer_provider=provider)
    sock = service_server.bind("127.0.0.1", 0)
    server = service_server.Server(app, graceful_shutdown=1)
    async with asyncio.TaskGroup() as group:
        group.create_task(server.serve_on(sock))
        try:
            yield f"http://127.0.0.1:{service_server.port_of(sock)}"
        finally:
            server.stop()


_WITHOUT_OPENTELEMETRY = """
import asyncio, importlib.abc, sys

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, Refuse())

import tether
from tether.engine import tracing

@tether.activity
async def double(n: int) -> int:
    return n * 2

@tether.workflow
async def twice(n: int) -> int:
    return await double(await double(n))

async def main() -> None:
    client = await tether.Client.connect(sys.argv[1])
    async with tether.Worker(client, workflows=[twice], activities=[double]):
        handle = await client.start_workflow(twice, 5, id="plain")
        print("result", await handle.result())
    started = (await client.history("plain"))[0]
    print("available", tracing.available, "trace" in started.data, type(client._transport).__name__)
    print("imported", sorted(m for m in sys.modules if m.startswith("opentelemetry")))
    await client.close()

asyncio.run(main())
"""


def test_without_opentelemetry_tether_runs_and_makes_no_spans(tmp_path: Path) -> None:
    script = tmp_path / "plain.py"
    script.write_text(textwrap.dedent(_WITHOUT_OPENTELEMETRY))
    ran = subprocess.run(
        [sys.executable, str(script), f"sqlite:///{tmp_path / 'plain.db'}"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == ["result 20", "available False False EmbeddedTransport", "imported []"]


_WITH_THE_GLOBAL_PROVIDER = """
import asyncio, sys

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tether

@tether.activity
async def double(n: int) -> int:
    return n * 2

@tether.workflow
async def twice(n: int) -> int:
    return await double(await double(n))

async def main() -> None:
    client = await tether.Client.connect(sys.argv[1])
    async with tether.Worker(client, workflows=[twice], activities=[double]):
        assert await (await client.start_workflow(twice, 1, id="before")).result() == 4
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)  # after the client and the worker were made
        with trace.get_tracer("app").start_as_current_span("app"):
            handle = await client.start_workflow(twice, 5, id="after")
        assert await handle.result() == 20
    await client.close()
    traces = {span.context.trace_id for span in exporter.get_finished_spans()}
    print(len(traces), sorted({span.name for span in exporter.get_finished_spans()}))

asyncio.run(main())
"""


def test_the_global_provider_is_used_once_it_is_set(tmp_path: Path) -> None:
    script = tmp_path / "global.py"
    script.write_text(textwrap.dedent(_WITH_THE_GLOBAL_PROVIDER))
    ran = subprocess.run(
        [sys.executable, str(script), f"sqlite:///{tmp_path / 'global.db'}"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    names = ["activity double", "app", "tether start_workflow", "tether wait_for_result", "workflow task twice"]
    assert ran.stdout.splitlines() == [f"2 {names}"]
