"""``tether workflow``: start, list, show, history, cancel, resume and wait for results."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from tether.cli import durations, output
from tether.client.client import Client
from tether.model.records import WorkflowStatus, WorkflowSummary

app = typer.Typer(help="Start and inspect workflow executions.", no_args_is_help=True)

Timeout = Annotated[
    timedelta | None,
    typer.Option(
        parser=durations.parse, metavar="DURATION",
        help="The workflow deadline, from now: the execution ends as timed out then (30d, 12h, 90s).",
    ),
]  # fmt: skip


def _arg(text: str) -> Any:
    # Each argument is JSON when it parses as JSON (42, true, {"a": 1}, "quoted"), else plain text.
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@app.command()
def start(
    workflow: Annotated[str, typer.Argument(help="The workflow's name.")],
    args: Annotated[
        list[str] | None, typer.Argument(help="Arguments: JSON values, or plain text where not JSON.")
    ] = None,
    execution_id: Annotated[
        str | None, typer.Option("--id", help="The execution id; starting it again returns the same execution.")
    ] = None,
    timeout: Timeout = None,
    priority: Annotated[
        int,
        typer.Option(
            help="Orders its ready work before that of lower priority (higher first); its activities, "
            "children and later runs inherit it."
        ),
    ] = 0,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """Start an execution of WORKFLOW."""

    async def start(client: Client) -> str:
        values = [_arg(a) for a in args or []]
        handle = await client.start_workflow(workflow, *values, id=execution_id, timeout=timeout, priority=priority)
        return handle.id

    started = output.call(url, api_key, start, as_json=as_json, create=True)
    if as_json:
        output.print_json({"id": started, "workflow": workflow})
    else:
        output.out.print(started)


@app.command("list")
def list_(
    status: Annotated[WorkflowStatus | None, typer.Option(help="Only executions in this status.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Only executions of this workflow.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many to show.")] = 20,
    offset: Annotated[int, typer.Option(min=0, help="How many of the newest to skip.")] = 0,
    prefix: Annotated[str | None, typer.Option(help="Only executions whose id starts with this.")] = None,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """List executions, newest first."""

    def listing(client: Client) -> Awaitable[list[WorkflowSummary]]:
        return client.list_workflows(status=status, workflow=name, limit=limit, offset=offset, id_prefix=prefix)

    rows = output.call(url, api_key, listing, as_json=as_json)
    if as_json:
        output.print_json(rows)
        return
    table = Table("id", "workflow", "status", "started", "closed")
    for row in rows:
        table.add_row(row.id, row.workflow, row.status.value, output.when(row.started_at), output.when(row.closed_at))
    output.out.print(table)


Run = Annotated[
    int | None, typer.Option("--run", min=1, help="Which run of an execution that continued as new (default: latest).")
]


@app.command()
def show(
    execution_id: Annotated[str, typer.Argument(metavar="ID")],
    run: Run = None,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    codec_keys: output.ShownCodecKeys = None,
    as_json: output.AsJson = False,
) -> None:
    """Show an execution: status, input, outcome, pending activities, its runs, parent and children.

    Payloads are printed decoded with --codec-keys, else as stored.
    """
    codec = output.codec_given(codec_keys, as_json=as_json)
    description = output.call(url, api_key, lambda client: client.describe(execution_id, run=run), as_json=as_json)
    if as_json:
        output.print_json(output.shown(description, codec))
        return

    def payload(value: Any) -> str:
        return json.dumps(output.shown(value, codec))

    facts = Table.grid(padding=(0, 2))
    facts.add_row("id", description.id)
    facts.add_row("workflow", description.workflow)
    facts.add_row("status", description.status.value)
    if description.run > 1 or description.next_run_id is not None:
        facts.add_row("run", f"{description.run}" + (" (continued)" if description.next_run_id else ""))
    if description.parent_id is not None:
        facts.add_row("parent", description.parent_id)
    if description.children:
        facts.add_row("children", ", ".join(description.children))
    facts.add_row("input", payload(description.input))
    facts.add_row("started", output.when(description.started_at))
    if description.closed_at is not None:
        facts.add_row("closed", output.when(description.closed_at))
    if description.status == WorkflowStatus.COMPLETED:
        facts.add_row("result", payload(description.result))
    if description.error is not None:
        facts.add_row("error", f"{description.error.get('error')}: {description.error.get('message')}")
    if description.deadline is not None:
        facts.add_row("deadline", output.when(description.deadline))
    if description.priority:
        facts.add_row("priority", str(description.priority))
    if description.task_error is not None:
        facts.add_row("task error", str(description.task_error.get("message")))
    if description.patches:
        facts.add_row("patches", ", ".join(description.patches))
    output.out.print(facts)
    if description.pending_activities:
        table = Table("activity", "name", "state", "attempt", "last heartbeat", "details", "deadlines")
        for act in description.pending_activities:
            deadlines = ", ".join(f"{kind} {when}" for kind, when in act.deadlines.items())
            table.add_row(
                str(act.activity_id), act.name, act.state.value, str(act.attempt), output.when(act.last_heartbeat_at),
                "" if act.heartbeat_details is None else payload(act.heartbeat_details), deadlines,
            )  # fmt: skip
        output.out.print(table)
    if description.messages:
        table = Table("message", "kind", "name", "state", "sent", "payload", "answer")
        for message in description.messages:
            table.add_row(
                str(message.message_id), message.kind, message.name, message.state, output.when(message.sent_at),
                payload(message.payload), "" if message.answer is None else payload(message.answer),
            )  # fmt: skip
        output.out.print(table)


@app.command()
def history(
    execution_id: Annotated[str, typer.Argument(metavar="ID")],
    run: Run = None,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    codec_keys: output.ShownCodecKeys = None,
    as_json: output.AsJson = False,
) -> None:
    """Show every event of an execution (of its latest run, or of --run N).

    Payloads are printed decoded with --codec-keys, else as stored.
    """
    codec = output.codec_given(codec_keys, as_json=as_json)
    events = output.call(url, api_key, lambda client: client.history(execution_id, run=run), as_json=as_json)
    if as_json:
        output.print_json(output.shown(events, codec))
        return
    table = Table("seq", "at", "type", "data")
    for event in events:
        table.add_row(str(event.seq), output.when(event.at), event.type, json.dumps(output.shown(event.data, codec)))
    output.out.print(table)


@app.command()
def cancel(
    execution_id: Annotated[str, typer.Argument(metavar="ID")],
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """Request cancellation of an execution."""
    output.call(url, api_key, lambda client: client.cancel_workflow(execution_id), as_json=as_json)
    if as_json:
        output.print_json({"id": execution_id, "cancel_requested": True})
    else:
        output.err.print(f"cancellation of {execution_id} requested")


@app.command()
def resume(
    execution_id: Annotated[str, typer.Argument(metavar="ID")],
    timeout: Timeout = None,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """Run a failed, timed-out or terminated execution again from where it stopped."""
    output.call(url, api_key, lambda client: client.resume(execution_id, timeout=timeout), as_json=as_json)
    if as_json:
        output.print_json({"id": execution_id, "resumed": True})
    else:
        output.err.print(f"{execution_id} resumed")


@app.command()
def result(
    execution_id: Annotated[str, typer.Argument(metavar="ID")],
    timeout: Annotated[float | None, typer.Option(help="Seconds to wait; exit code 13 if it is still running.")] = None,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """Wait for an execution to close and print its result as JSON (exit 11 if it failed, 12 if cancelled)."""
    result = output.call(
        url, api_key, lambda client: client.get_handle(execution_id).result(timeout=timeout), as_json=as_json
    )
    output.print_json(result)
