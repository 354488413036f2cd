"""``tether activity``: complete, fail, heartbeat, describe or acknowledge cancellation by token; list what waits.

What waits too long, or near a deadline, is listed by ``tether activity list --overdue``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from tether.cli import durations, output
from tether.client.client import Client
from tether.errors import UsageError
from tether.model import overdue_words
from tether.model.records import HeartbeatResponse, OverdueActivity, WaitingActivity

app = typer.Typer(
    help="Close or heartbeat an activity with a token it handed out; list those waiting for one.", no_args_is_help=True
)

ExpectedActivity = Annotated[
    str | None,
    typer.Option("--activity", help="Refuse unless the token is of this activity (its registered name)."),
]
Token = Annotated[
    str,
    typer.Argument(
        help="The token of an attempt (ctx.token) or of the activity (ctx.activity_token: its current attempt)."
    ),
]


def _details(details: str | None) -> Any:
    return None if details is None else output.parse_json(details, what="details")


@app.command()
def complete(
    token: Token,
    result: Annotated[str | None, typer.Option("--result", help="The result as JSON.")] = None,
    result_file: Annotated[
        str | None, typer.Option("--result-file", help="A file holding the result as JSON ('-' for stdin).")
    ] = None,
    activity: ExpectedActivity = None,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """Complete the activity TOKEN names with a result (null if none is given)."""

    async def complete(client: Client) -> bool:
        if result is not None and result_file is not None:
            raise UsageError("give the result with --result or --result-file, not both")
        value = (
            output.read_json_file(result_file, what="result")
            if result_file is not None
            else output.parse_json(result, what="result")
            if result is not None
            else None
        )
        return await client.complete_activity(token, value, activity=activity)

    recorded = output.call(url, api_key, complete, as_json=as_json)
    if as_json:
        output.print_json({"completed": True, "recorded": recorded})
    else:
        output.err.print(
            "activity completed" if recorded else "activity already completed with this result; nothing changed"
        )


@app.command()
def fail(
    token: Token,
    error: Annotated[str, typer.Option("--error", help="The failure's type name, e.g. PaymentDeclined.")],
    message: Annotated[str, typer.Option(help="What went wrong, for people.")] = "",
    details: Annotated[str | None, typer.Option(help="Details as JSON.")] = None,
    non_retryable: Annotated[bool, typer.Option("--non-retryable", help="Fail the activity without retries.")] = False,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """Fail the attempt TOKEN names; it is retried by its policy unless --non-retryable."""

    async def fail(client: Client) -> bool:
        return await client.fail_activity(
            token, error=error, message=message, details=_details(details), non_retryable=non_retryable
        )

    recorded = output.call(url, api_key, fail, as_json=as_json)
    if as_json:
        output.print_json({"failed": True, "recorded": recorded})
    else:
        output.err.print(
            "activity attempt failed" if recorded else "this failure was already recorded; nothing changed"
        )


@app.command()
def heartbeat(
    token: Token,
    details: Annotated[
        str | None, typer.Option(help="Progress details as JSON; the next attempt's checkpoint.")
    ] = None,
    activity: ExpectedActivity = None,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """Record a heartbeat for the attempt TOKEN names and say whether cancellation was requested."""

    async def heartbeat(client: Client) -> HeartbeatResponse:
        return await client.heartbeat_activity(token, _details(details), activity=activity)

    reply = output.call(url, api_key, heartbeat, as_json=as_json)
    if as_json:
        output.print_json(reply)
    else:
        output.out.print("cancel requested" if reply.cancel_requested else "ok")


@app.command()
def describe(
    token: Token,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """Show the activity TOKEN names: state, attempts, deadlines, last heartbeat and the schema a result must match."""
    info = output.call(url, api_key, lambda client: client.describe_activity(token), as_json=as_json)
    if as_json:
        output.print_json(info)
        return
    facts = Table.grid(padding=(0, 2))
    facts.add_row("execution", info.execution_id)
    facts.add_row("workflow", info.workflow)
    facts.add_row("activity", f"{info.activity_id} {info.name}")
    facts.add_row("state", info.state.value)
    opened = "open" if info.current else "not open"
    if info.token_attempt is None:
        facts.add_row("attempt", f"{info.attempt} ({opened}; an activity token acts on the current attempt)")
    else:
        facts.add_row("attempt", f"{info.attempt} (this token's: {info.token_attempt}, {opened})")
    for kind, due in info.deadlines.items():
        facts.add_row(f"{kind} deadline", output.when(due))
    if info.last_heartbeat_at is not None:
        facts.add_row("last heartbeat", f"{output.when(info.last_heartbeat_at)} {json.dumps(info.heartbeat_details)}")
    if info.result_schema is not None:
        facts.add_row("result schema", json.dumps(info.result_schema))
    output.out.print(facts)


@app.command()
def cancelled(
    token: Token,
    details: Annotated[str | None, typer.Option(help="Details as JSON.")] = None,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """Acknowledge that the activity TOKEN names stopped because cancellation was requested."""

    async def cancelled(client: Client) -> bool:
        return await client.report_activity_cancelled(token, _details(details))

    recorded = output.call(url, api_key, cancelled, as_json=as_json)
    if as_json:
        output.print_json({"cancelled": True, "recorded": recorded})
    else:
        output.err.print(
            "activity cancelled" if recorded else "this cancellation was already reported; nothing changed"
        )


def _off_or(text: str | timedelta | None) -> timedelta | None:
    """A duration option that may be ``off`` (None)."""
    if not isinstance(text, str):
        return text
    return None if text.strip().lower() == "off" else durations.parse(text)


@app.command(name="list")
def list_(
    waiting: Annotated[bool, typer.Option("--waiting", help="List activities waiting for a token.")] = False,
    overdue: Annotated[
        bool,
        typer.Option(
            "--overdue",
            help="List activities waiting for a token too long (past their overdue_after, else "
            "--waiting-longer-than) or near a deadline (--due-within).",
        ),
    ] = False,
    waiting_longer_than: Annotated[
        timedelta | None,
        typer.Option(
            parser=_off_or,
            metavar="DURATION|off",
            help="With --overdue: the waiting age limit of activities that declare no overdue_after "
            "(30d, 12h, 90m...); 'off' lists only those past their own.",
        ),
    ] = "1d",  # type: ignore[assignment]  # parsed by _off_or, as a typed default could not say "off"
    due_within: Annotated[
        timedelta | None,
        typer.Option(
            parser=_off_or,
            metavar="DURATION|off",
            help="With --overdue: list those whose nearest deadline (total, attempt, heartbeat, their "
            "workflow's) falls within this; 'off': deadlines do not count.",
        ),
    ] = "1h",  # type: ignore[assignment]  # likewise
    workflow: Annotated[str | None, typer.Option("--workflow", help="Only those of this workflow.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Only those of this activity name.")] = None,
    inbox: Annotated[bool, typer.Option("--inbox", help="Only those marked for a person (the inbox).")] = False,
    limit: Annotated[int, typer.Option(min=1, help="How many to show.")] = 20,
    offset: Annotated[int, typer.Option(min=0, help="How many of the longest waiting to skip.")] = 0,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """List activities waiting for a token (--waiting) or those of them that are overdue (--overdue).

    Longest waiting first. --waiting shows each one's activity token (to an API key allowed to
    write to the activity): it completes, fails or heartbeats the activity, whichever attempt is
    current. --overdue shows why each is overdue: how long it waited against its limit, and its
    nearest deadline.
    """
    if waiting == overdue or (overdue and inbox):
        what = "--waiting or --overdue, not both" if waiting else "--waiting (--inbox only with it)"
        output.fail(UsageError(f"tether activity list lists activities waiting for a token: add {what}"),
                    as_json=as_json)  # fmt: skip
    if overdue:
        _list_overdue(waiting_longer_than, due_within, workflow, name, limit, offset, url, api_key, as_json)
        return

    def listing(client: Client) -> Awaitable[list[WaitingActivity]]:
        return client.waiting_activities(workflow=workflow, name=name, inbox=inbox, limit=limit, offset=offset)

    rows = output.call(url, api_key, listing, as_json=as_json)
    if as_json:
        output.print_json(rows)
        return
    table = Table("waiting since", "execution", "workflow", "activity", "attempt", "asks", "activity token")
    for row in rows:
        table.add_row(
            output.when(row.waiting_since), row.execution_id, row.workflow, f"{row.activity_id} {row.name}",
            str(row.attempt), row.title or "", row.activity_token or "(not allowed)",
        )  # fmt: skip
    output.out.print(table)


def _list_overdue(
    waiting_longer_than: timedelta | None,
    due_within: timedelta | None,
    workflow: str | None,
    name: str | None,
    limit: int,
    offset: int,
    url: str,
    api_key: str | None,
    as_json: bool,
) -> None:
    def listing(client: Client) -> Awaitable[list[OverdueActivity]]:
        return client.overdue_activities(
            waiting_longer_than=waiting_longer_than, due_within=due_within, workflow=workflow, name=name,
            limit=limit, offset=offset,
        )  # fmt: skip

    rows = output.call(url, api_key, listing, as_json=as_json)
    if as_json:
        output.print_json(rows)
        return
    table = Table("execution", "activity", "attempt", "waiting since", "waited", "deadline", "why overdue")
    for row in rows:
        deadline = f"{output.when(row.deadline)} ({row.deadline_kind})" if row.deadline is not None else ""
        table.add_row(
            row.execution_id, f"{row.activity_id} {row.name}", str(row.attempt), output.when(row.waiting_since),
            overdue_words.span(row.waited_ms), deadline, "\n".join(overdue_words.why(row)),
        )  # fmt: skip
    output.out.print(table)
