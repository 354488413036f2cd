"""``tether server`` and ``tether worker``: long-running processes over a store."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated, Any, TypedDict

import typer

from tether.cli import durations, log_format, output
from tether.client.client import Client
from tether.engine import transition_log
from tether.errors import UsageError
from tether.model import callback_tokens, extras
from tether.runtime.definitions import Activity, Workflow
from tether.service import defaults as service_defaults
from tether.worker import history_limits, metrics_endpoint
from tether.worker.worker import Worker

logger = logging.getLogger(__name__)

Modules = Annotated[
    list[str] | None,
    typer.Option("--worker", help="Also run a worker for the workflows and activities of this module. Repeatable."),
]
Concurrency = Annotated[int, typer.Option(min=1, help="Activity attempts a worker runs at once.")]
HistoryWarning = Annotated[
    int, typer.Option(min=0, help="Events in a run's history past which a worker logs a warning (0: never).")
]
HistoryLimit = Annotated[
    int,
    typer.Option(
        min=0, help="Events in a run's history past which its workflow tasks fail with HistoryTooLarge (0: none)."
    ),
]

PublicUrl = Annotated[
    str | None,
    typer.Option(
        "--public-url",
        envvar="TETHER_PUBLIC_URL",
        metavar="URL",
        help="The base URL third parties reach the tether server at (https://host/base): "
        "activities' callback URLs start with it.",
        show_default=False,
    ),
]


class HistoryOptions(TypedDict):
    """The Worker's history options."""

    history_warning: int | None
    history_limit: int | None


def history_options(warning: int, limit: int) -> HistoryOptions:
    """The Worker's history options from the command line's, where 0 turns one off."""
    return {"history_warning": warning or None, "history_limit": limit or None}


Retention = Annotated[
    timedelta | None,
    typer.Option(
        parser=durations.parse,
        metavar="DURATION",
        help="Delete closed executions this long after they closed (30d, 12h, ...); default: keep them.",
        show_default=False,
    ),
]


def definitions_in(modules: list[str]) -> tuple[list[Workflow[..., Any]], list[Activity[..., Any]]]:
    """The workflows and activities defined at the top level of the named modules.

    Raises:
        UsageError: a module cannot be imported or defines neither.
    """
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` would: modules of the working directory import
    workflows: dict[str, Workflow[..., Any]] = {}
    activities: dict[str, Activity[..., Any]] = {}
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise UsageError(f"cannot import {name!r}: {exc}") from exc
        found = 0
        for value in vars(module).values():
            if isinstance(value, Workflow):
                workflows[value.name] = value
                found += 1
            elif isinstance(value, Activity):
                activities[value.name] = value
                found += 1
        if not found:
            raise UsageError(f"module {name!r} defines no @tether.workflow or @tether.activity")
    return list(workflows.values()), list(activities.values())


@contextlib.asynccontextmanager
async def _maybe_worker(
    client: Client,
    modules: list[str],
    concurrency: int,
    history: HistoryOptions,
    retention: timedelta | None = None,
    public_url: str | None = None,
) -> AsyncIterator[Worker | None]:
    if not modules and retention is None:
        yield None
        return
    # A server given a retention but no modules still sweeps: a worker that runs nothing else does.
    workflows, activities = definitions_in(modules) if modules else ([], [])
    async with Worker(
        client, workflows=workflows, activities=activities, max_concurrent_activities=concurrency,
        retention=retention, public_url=public_url, **history,
    ) as w:  # fmt: skip
        if modules:
            output.err.print(
                f"worker {w.identity}: {len(workflows)} workflow(s), {len(activities)} activity(ies) "
                f"from {', '.join(modules)}"
            )
        yield w


def server(
    db: output.Db = output.DEFAULT_DB,
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="The port (0 picks a free one).")] = 8080,
    worker: Modules = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Serve beyond loopback even without API keys (anyone may call).")
    ] = False,
    max_body_bytes: Annotated[int, typer.Option(min=1, help="Larger request bodies get 413.")] = (
        service_defaults.DEFAULT_MAX_BODY_BYTES
    ),
    body_timeout: Annotated[float, typer.Option(min=0.1, help="Seconds a request body may take to arrive.")] = (
        service_defaults.DEFAULT_BODY_TIMEOUT_SECONDS
    ),
    header_timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds a request's headers may take to arrive (slow clients are cut off).")
    ] = 10.0,
    max_concurrent_activities: Concurrency = 100,
    history_warning: HistoryWarning = history_limits.DEFAULT_WARNING,
    history_limit: HistoryLimit = history_limits.DEFAULT_LIMIT,
    retention: Retention = None,
    public_url: PublicUrl = None,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--cors-origin",
            metavar="ORIGIN",
            help="A web origin (https://app.example.com, or * for any) whose pages may call the API from a "
            "browser with an API key. Repeatable.",
            show_default=False,
        ),
    ] = None,
    metrics_public: Annotated[
        bool,
        typer.Option(
            "--metrics-public",
            help="Serve /metrics to anyone; by default it needs an API key with workflows:read on every workflow.",
        ),
    ] = False,
    log_format_: log_format.LogFormat = log_format.Format.TEXT,
    log_level: log_format.LogLevel = log_format.Level.INFO,
    codec_keys: output.CodecKeys = None,
) -> None:
    """Serve the tether HTTP API over a store, optionally with workers, until interrupted.

    Serves Prometheus metrics at /metrics and logs a line per request (see --log-level).
    """
    log_format.configure(log_format_, log_level)
    # Imported here: the web framework and the routes take longer to import than any other command needs.
    with extras.required(extras.SERVER, *extras.SERVER_PACKAGES):
        from tether.engine import metrics as engine_metrics
        from tether.service import access_log, cors
        from tether.service import app as service_app
        from tether.service import server as service_server
        from tether.service.auth import StoreKeys, is_loopback
    access_log.direct = log_format.direct_lines()  # a line per request, without a record while nothing else reads it

    async def go() -> None:
        if public_url is not None:
            callback_tokens.public_base(public_url)  # refused before anything starts
        origins = [cors.origin(o) for o in cors_origin or []]  # likewise
        codec = output.codec_of(codec_keys)  # likewise
        async with await Client.connect(db, codec=codec) as client:
            engine = client.engine
            has_keys = await engine.has_api_keys()
            service_server.check_exposure(host, has_keys=has_keys, insecure=insecure)
            if not has_keys:
                output.err.print(
                    "[bold yellow]WARNING: no API keys exist: every caller has full access.[/] "
                    "Create one with `tether keys create --name NAME --scope SCOPE`; "
                    "keys are required from then on.",
                    highlight=False,
                )
            authenticator = StoreKeys(engine, open_without_keys=insecure or is_loopback(host), any_host=insecure)
            transition_log.TransitionLog.attach(engine)
            app = service_app.create_app(
                engine, authenticator, max_body_bytes=max_body_bytes, body_timeout=body_timeout, cors_origins=origins,
                metrics=engine_metrics.Metrics(engine), metrics_public=metrics_public,
                codec=codec,
            )  # fmt: skip
            sock = service_server.bind(host, port)
            history = history_options(history_warning, history_limit)
            async with _maybe_worker(client, worker or [], max_concurrent_activities, history, retention, public_url):
                served = service_server.Server(app, header_timeout=header_timeout)
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    # Stop serving, then leave the worker gracefully, then exit 0.
                    loop.add_signal_handler(sig, served.stop)
                shown = f"[{host}]" if ":" in host else host
                output.err.print(f"tether server on http://{shown}:{service_server.port_of(sock)} (store {db})")
                await served.serve_on(sock)
            output.err.print("tether server stopped")

    output.run(go(), loop_factory=service_server.loop_factory())


def worker(
    modules: Annotated[list[str], typer.Argument(help="Modules whose workflows and activities to run.")],
    db: output.Db = output.DEFAULT_DB,
    max_concurrent_activities: Concurrency = 100,
    identity: Annotated[
        str | None, typer.Option(help="A stable name; a restarted worker of the same name retries what it left.")
    ] = None,
    history_warning: HistoryWarning = history_limits.DEFAULT_WARNING,
    history_limit: HistoryLimit = history_limits.DEFAULT_LIMIT,
    retention: Retention = None,
    public_url: PublicUrl = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            help="Serve Prometheus metrics at http://HOST:PORT/metrics (0 picks a free port).",
            show_default=False,
        ),
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="The address the metrics are served on.")] = "127.0.0.1",
    log_format_: log_format.LogFormat = log_format.Format.TEXT,
    log_level: log_format.LogLevel = log_format.Level.INFO,
    codec_keys: output.CodecKeys = None,
) -> None:
    """Run workflows and activities from a store until interrupted, then stop gracefully."""
    log_format.configure(log_format_, log_level)

    async def go() -> None:
        workflows, activities = definitions_in(modules)
        async with (
            await Client.connect(db, codec=output.codec_of(codec_keys)) as client,
            contextlib.AsyncExitStack() as serving,
        ):
            transition_log.TransitionLog.attach(client.engine)
            if metrics_port is not None:
                from tether.engine import metrics as engine_metrics  # prometheus_client only when metrics are served

                exposition = engine_metrics.Metrics(client.engine).exposition
                bound = await serving.enter_async_context(
                    metrics_endpoint.serving(exposition, metrics_host, metrics_port)
                )
                shown = f"[{metrics_host}]" if ":" in metrics_host else metrics_host
                output.err.print(f"metrics on http://{shown}:{bound}/metrics")
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            async with Worker(
                client, workflows=workflows, activities=activities,
                max_concurrent_activities=max_concurrent_activities, identity=identity, retention=retention,
                public_url=public_url, **history_options(history_warning, history_limit),
            ) as running:  # fmt: skip
                output.err.print(
                    f"worker {running.identity}: {len(workflows)} workflow(s), {len(activities)} activity(ies) on {db}"
                )
                await stop.wait()
                output.err.print("stopping: finishing workflow tasks, failing running attempts for retry")
            output.err.print("worker stopped")

    output.run(go())
