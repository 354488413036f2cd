"""``tether workflow published``: read the last value an execution published under a name, waiting if asked."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from tether.cli import output


def published(
    execution_id: Annotated[str, typer.Argument(metavar="ID", help="The execution's id.")],
    name: Annotated[str, typer.Argument(help="The value's name, as the workflow published it.")],
    after: Annotated[
        int | None, typer.Option(min=0, help="A version seen already: wait (with --wait) for a newer one.")
    ] = None,
    wait: Annotated[
        float | None, typer.Option(min=0, help="Seconds to wait for a newer version (or a first one).")
    ] = None,
    url: output.Url = output.DEFAULT_URL,
    api_key: output.ApiKey = None,
    as_json: output.AsJson = False,
) -> None:
    """Show the last value an execution published as NAME, with its version (exit 22 if it has none)."""
    value = output.call(
        url, api_key, lambda client: client.published(execution_id, name, after=after, wait=wait), as_json=as_json
    )
    if as_json:
        output.print_json(value)
        return
    facts = Table.grid(padding=(0, 2))
    facts.add_row("version", str(value.version))
    facts.add_row("published", output.when(value.published_at))
    facts.add_row("value", json.dumps(value.value))
    output.out.print(facts)
