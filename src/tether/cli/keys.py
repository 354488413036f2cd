"""``tether keys``: create, list and revoke the server's API keys, directly in the store."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tether.cli import output

app = typer.Typer(
    help="Manage API keys. These commands open the store itself (--db), not a server.", no_args_is_help=True
)


@app.command()
def create(
    name: Annotated[str, typer.Option("--name", help="Who or what uses the key, e.g. billing-consumer.")],
    scope: Annotated[
        list[str],
        typer.Option(
            "--scope",
            help="resource:action:pattern, e.g. 'activities:write:orders.*' or 'workflows:read:*'. Repeatable.",
        ),
    ],
    db: output.Db = output.DEFAULT_DB,
    as_json: output.AsJson = False,
) -> None:
    """Create a key and print it, once: only a hash of it is kept."""
    info, plain = output.call(
        db, None, lambda client: client.engine.create_api_key(name, scope), as_json=as_json, create=True
    )
    if as_json:
        output.print_json({"key": plain, "key_id": info.key_id, "name": info.name, "scopes": info.scopes})
        return
    output.out.print(plain)
    output.err.print(f"key {info.key_id} ({info.name}) created; it is shown this once, store it now")


@app.command("list")
def list_(db: output.Db = output.DEFAULT_DB, as_json: output.AsJson = False) -> None:
    """List keys, revoked ones included (never their secrets)."""
    keys = output.call(db, None, lambda client: client.engine.list_api_keys(), as_json=as_json)
    if as_json:
        output.print_json(keys)
        return
    table = Table("id", "name", "scopes", "created", "revoked")
    for key in keys:
        table.add_row(
            key.key_id, key.name, " ".join(key.scopes), output.when(key.created_at), output.when(key.revoked_at)
        )
    output.out.print(table)


@app.command()
def revoke(
    key: Annotated[str, typer.Argument(help="The key's id, or its name if one active key has it.")],
    db: output.Db = output.DEFAULT_DB,
    as_json: output.AsJson = False,
) -> None:
    """Revoke a key; servers refuse it from their next request on."""
    info = output.call(db, None, lambda client: client.engine.revoke_api_key(key), as_json=as_json)
    if as_json:
        output.print_json(info)
    else:
        output.err.print(f"key {info.key_id} ({info.name}) revoked")
