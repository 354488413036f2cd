"""``tether workflow send|request``: talk to a running execution from the command line."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import typer

from tether.cli import durations, output
from tether.client.client import Client
from tether.errors import UsageError

ExecutionId = Annotated[str, typer.Argument(metavar="ID", help="The execution's id.")]
Name = Annotated[str, typer.Argument(metavar="NAME", help="The message's name, as the workflow receives it.")]
Payload = Annotated[str | None, typer.Option("--payload", help="The payload as JSON (null if none is given).")]
PayloadFile = Annotated[
    str | None, typer.Option("--payload-file", help="A file holding the payload as JSON ('-' for stdin).")
]
Key = Annotated[
    str | None, typer.Option("--key", help="An idempotency key: sending the same key again is the same message.")
]

RequestTimeout = Annotated[
    timedelta | None,
    typer.Option(
        parser=durations.parse, metavar="DURATION",
        help="How long to wait for the answer (30s, 5m, ...); exit code 13 if none came.",
    ),
]  # fmt: skip


def _payload(payload: str | None, payload_file: str | None) -> Any:
    if payload is not None and payload_file is not None:
        raise UsageError("give the payload with --payload or --payload-file, not both")
    if payload_file is not None:
        return output.read_json_file(payload_file, what="payload")
    return output.parse_json(payload, what="payload") if payload is not None else None


def send(
    execution_id: ExecutionId,
    name: Name,
    payload: Payload = None,
    payload_file: PayloadFile = None,
    key: Key = None,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """Send message NAME to execution ID; it waits there until the workflow receives it."""

    async def send(client: Client) -> bool:
        return await client.send(execution_id, name, _payload(payload, payload_file), key=key)

    stored = output.call(url, api_key, send, as_json=as_json)
    if as_json:
        output.print_json({"id": execution_id, "name": name, "stored": stored})
    else:
        output.err.print(f"sent {name} to {execution_id}" if stored else "this key was sent before: nothing changed")


def request(
    execution_id: ExecutionId,
    name: Name,
    payload: Payload = None,
    payload_file: PayloadFile = None,
    key: Key = None,
    timeout: RequestTimeout = None,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """Send request NAME to execution ID and print the workflow's reply (exit code 23 if it rejects it)."""

    async def ask(client: Client) -> Any:
        return await client.request(execution_id, name, _payload(payload, payload_file), key=key, timeout=timeout)

    reply = output.call(url, api_key, ask, as_json=as_json)
    output.print_json(reply)
