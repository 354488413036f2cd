"""``tether sinks``: register, list, rotate and remove notification sinks, and see deliveries, in the store."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Column, Table

from tether.cli import output

app = typer.Typer(
    help=(
        "Manage notification sinks: the URLs tether POSTs signed notifications to when activities wait for their "
        "token. These commands open the store itself (--db), not a server."
    ),
    no_args_is_help=True,
)

SinkArgument = Annotated[str, typer.Argument(help="The sink's id (snk_...) or its URL.")]


@app.command()
def add(
    url: Annotated[str, typer.Argument(help="Where notifications are POSTed, e.g. https://hooks.example.com/tether.")],
    every_inbox_item: Annotated[
        bool,
        typer.Option(
            "--every-inbox-item", help="Tell this sink of every activity that starts waiting, whatever its code names."
        ),
    ] = False,
    db: output.Db = output.DEFAULT_DB,
    as_json: output.AsJson = False,
) -> None:
    """Register a sink and print its signing secret, once; notifications held for its URL are sent."""
    info, secret, released = output.call(
        db, None, lambda client: client.engine.add_sink(url, every_inbox_item=every_inbox_item), as_json=as_json,
        create=True,
    )  # fmt: skip
    if as_json:
        output.print_json({"secret": secret, "sink": info, "released": released})
        return
    output.out.print(secret)
    held = f"; {released} held notification(s) are on their way" if released else ""
    output.err.print(
        f"sink {info.sink_id} ({info.url}) added; its secret is shown this once, give it to the receiver{held}"
    )


@app.command("list")
def list_(db: output.Db = output.DEFAULT_DB, as_json: output.AsJson = False) -> None:
    """List sinks, removed ones included (never their secrets)."""
    sinks = output.call(db, None, lambda client: client.engine.list_sinks(), as_json=as_json)
    if as_json:
        output.print_json(sinks)
        return
    table = Table(_whole("id"), _whole("url"), "every inbox item", "created", "removed")
    for sink in sinks:
        table.add_row(
            sink.sink_id, sink.url, "yes" if sink.every_inbox_item else "", output.when(sink.created_at),
            output.when(sink.disabled_at),
        )  # fmt: skip
    output.out.print(table)


@app.command()
def rotate(sink: SinkArgument, db: output.Db = output.DEFAULT_DB, as_json: output.AsJson = False) -> None:
    """Give a sink a new secret and print it, once: it signs everything sent from now on."""
    info, secret = output.call(db, None, lambda client: client.engine.rotate_sink(sink), as_json=as_json)
    if as_json:
        output.print_json({"secret": secret, "sink": info})
        return
    output.out.print(secret)
    output.err.print(f"sink {info.sink_id} ({info.url}) has a new secret; notifications sent from now on use it")


@app.command()
def remove(sink: SinkArgument, db: output.Db = output.DEFAULT_DB, as_json: output.AsJson = False) -> None:
    """Remove a sink: notifications to its URL are held from now on, until a sink is added for it again."""
    info = output.call(db, None, lambda client: client.engine.remove_sink(sink), as_json=as_json)
    if as_json:
        output.print_json(info)
    else:
        output.err.print(f"sink {info.sink_id} ({info.url}) removed")


@app.command()
def deliveries(
    execution_id: Annotated[str, typer.Argument(help="The execution whose notifications to list.")],
    db: output.Db = output.DEFAULT_DB,
    as_json: output.AsJson = False,
) -> None:
    """List an execution's notifications and where their delivery stands."""
    listed = output.call(db, None, lambda client: client.engine.deliveries(execution_id), as_json=as_json)
    if as_json:
        output.print_json(listed)
        return
    table = Table(_whole("id"), "event", "activity", _whole("url"), "state", "tries", "next try", "last error")
    for item in listed:
        table.add_row(
            item.delivery_id, item.event, f"{item.activity_id} (attempt {item.attempt})", item.url, item.state,
            str(item.tries), output.when(item.next_try_at), item.last_error or "",
        )  # fmt: skip
    output.out.print(table)


def _whole(header: str) -> Column:
    """A column whose values are shown whole, over several lines if need be: ids and URLs are copied from it."""
    return Column(header, overflow="fold")
