"""``tether schedule``: create, list, describe, pause, unpause, trigger and delete schedules."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tether.cli import output, workflows
from tether.cli.sinks import _whole
from tether.client.client import Client
from tether.model.schedules import CatchUp, Overlap, ScheduleInfo

app = typer.Typer(help="Start a workflow at the times of a cron expression.", no_args_is_help=True)

ScheduleArgument = Annotated[str, typer.Argument(help="The schedule's id.")]


@app.command()
def create(
    schedule_id: ScheduleArgument,
    workflow: Annotated[str, typer.Argument(help="The workflow's name.")],
    cron: Annotated[str, typer.Option(help="A cron expression, e.g. '0 9 * * MON' (five fields, or six).")],
    args: Annotated[
        list[str] | None, typer.Argument(help="Arguments: JSON values, or plain text where not JSON.")
    ] = None,
    timezone: Annotated[str, typer.Option(help="The IANA time zone the expression reads in.")] = "UTC",
    overlap: Annotated[Overlap, typer.Option(help="While the last execution still runs.")] = Overlap.SKIP,
    catch_up: Annotated[CatchUp, typer.Option(help="Occurrences missed while no worker ran.")] = CatchUp.ONE,
    paused: Annotated[bool, typer.Option("--paused", help="Make it paused.")] = False,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """Make schedule SCHEDULE_ID, which starts WORKFLOW with ARGS at the times of --cron."""

    async def create(client: Client) -> ScheduleInfo:
        values = [workflows._arg(a) for a in args or []]
        return await client.create_schedule(
            schedule_id, workflow, *values, cron=cron, timezone=timezone, overlap=overlap.value,
            catch_up=catch_up.value, paused=paused,
        )  # fmt: skip

    made = output.call(url, api_key, create, as_json=as_json, create=True)
    if as_json:
        output.print_json(made)
    else:
        output.err.print(f"schedule {made.schedule_id} made; next fire {output.when(made.next_fire_at) or 'never'}")


@app.command("list")
def list_(
    workflow: Annotated[str | None, typer.Option("--name", help="Only schedules of this workflow.")] = None,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """List schedules by id, with their next fire times."""
    listed = output.call(url, api_key, lambda client: client.list_schedules(workflow=workflow), as_json=as_json)
    if as_json:
        output.print_json(listed)
        return
    table = Table(_whole("id"), "workflow", "cron", "time zone", "overlap", "paused", "next fire", _whole("last"))
    for item in listed:
        table.add_row(
            item.schedule_id, item.workflow, item.cron, item.timezone, item.overlap.value, "yes" if item.paused else "",
            output.when(item.next_fire_at), item.last_execution_id or "",
        )  # fmt: skip
    output.out.print(table)


@app.command()
def describe(
    schedule_id: ScheduleArgument,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """Show a schedule and its latest fires, newest first."""
    info = output.call(url, api_key, lambda client: client.describe_schedule(schedule_id), as_json=as_json)
    if as_json:
        output.print_json(info)
        return
    output.out.print(
        f"{info.schedule_id}: {info.workflow} at '{info.cron}' ({info.timezone}), overlap {info.overlap.value}, "
        f"catch-up {info.catch_up.value}{', paused' if info.paused else ''}; "
        f"next fire {output.when(info.next_fire_at) or 'never'}",
        highlight=False,
    )
    table = Table("occurrence", "fired", "outcome", _whole("execution"))
    for fire in info.recent:
        outcome = f"{fire.outcome} (trigger)" if fire.manual else fire.outcome
        table.add_row(output.when(fire.nominal_at), output.when(fire.fired_at), outcome, fire.execution_id or "")
    output.out.print(table)


@app.command()
def pause(
    schedule_id: ScheduleArgument,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """Stop a schedule's occurrences until it is unpaused."""
    _report(output.call(url, api_key, lambda client: client.pause_schedule(schedule_id), as_json=as_json), as_json)


@app.command()
def unpause(
    schedule_id: ScheduleArgument,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """Resume a paused schedule from its first occurrence after now."""
    _report(output.call(url, api_key, lambda client: client.unpause_schedule(schedule_id), as_json=as_json), as_json)


@app.command()
def trigger(
    schedule_id: ScheduleArgument,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """Start the schedule's workflow now, whatever its cron expression, overlap policy or pause."""

    async def trigger(client: Client) -> str:
        return (await client.trigger_schedule(schedule_id)).id

    started = output.call(url, api_key, trigger, as_json=as_json)
    if as_json:
        output.print_json({"execution_id": started})
    else:
        output.out.print(started)


@app.command()
def delete(
    schedule_id: ScheduleArgument,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """Delete a schedule; the executions it started stay."""
    output.call(url, api_key, lambda client: client.delete_schedule(schedule_id), as_json=as_json)
    if as_json:
        output.print_json({"deleted": schedule_id})
    else:
        output.err.print(f"schedule {schedule_id} deleted")


def _report(info: ScheduleInfo, as_json: bool) -> None:
    if as_json:
        output.print_json(info)
    else:
        state = "paused" if info.paused else f"next fire {output.when(info.next_fire_at) or 'never'}"
        output.err.print(f"schedule {info.schedule_id}: {state}")
