"""``tether workflow terminate|delete`` and ``tether activity retry-now``: act on an execution from outside its code."""

from __future__ import annotations

from typing import Annotated

import typer

from tether.cli import output

ExecutionId = Annotated[str, typer.Argument(metavar="ID", help="The execution's id.")]


def terminate(
    execution_id: ExecutionId,
    reason: Annotated[str, typer.Option(help="Why; the execution's result raises WorkflowTerminated with it.")] = "",
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """Close a running execution now, without running its code; its open activities end cancelled."""
    output.call(url, api_key, lambda client: client.terminate(execution_id, reason=reason), as_json=as_json)
    if as_json:
        output.print_json({"id": execution_id, "status": "terminated", "reason": reason})
    else:
        output.err.print(f"{execution_id} terminated")


def delete(
    execution_id: ExecutionId,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """Delete a closed execution and its history; its id may then be started again."""
    output.call(url, api_key, lambda client: client.delete(execution_id), as_json=as_json)
    if as_json:
        output.print_json({"id": execution_id, "deleted": True})
    else:
        output.err.print(f"{execution_id} deleted")


def retry_now(
    execution_id: ExecutionId,
    activity_id: Annotated[
        int, typer.Argument(metavar="ACTIVITY_ID", help="The activity, as `workflow show` lists it.")
    ],
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """Skip the retry back-off of an activity of execution ID: its next attempt starts now."""
    attempt = output.call(
        url, api_key, lambda client: client.retry_activity_now(execution_id, activity_id), as_json=as_json
    )
    if as_json:
        output.print_json({"id": execution_id, "activity_id": activity_id, "attempt": attempt})
    else:
        output.err.print(f"activity {activity_id} of {execution_id}: attempt {attempt} starts now")
