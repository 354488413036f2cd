"""``tether keys``: create, list and revoke the server's API keys, and give them SigV4 secrets, in the store."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tether.cli import output
from tether.client.client import Client
from tether.model.records import ApiKeyInfo

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
    sigv4: Annotated[
        bool,
        typer.Option("--sigv4", help="Also give it a SigV4 secret, for AWS SDKs (see 'tether keys sigv4')."),
    ] = False,
    db: output.Db = output.DEFAULT_DB,
    as_json: output.AsJson = False,
) -> None:
    """Create a key and print it, once: only a hash of it is kept.

    With --sigv4, also print its SigV4 secret (once), on a second line.
    """

    async def created(client: Client) -> tuple[ApiKeyInfo, str, str | None]:
        info, plain = await client.engine.create_api_key(name, scope)
        if not sigv4:
            return info, plain, None
        info, secret = await client.engine.give_sigv4_secret(info.key_id)
        return info, plain, secret

    info, plain, secret = output.call(db, None, created, as_json=as_json, create=True)
    if as_json:
        shown = {"key": plain, "key_id": info.key_id, "name": info.name, "scopes": info.scopes}
        output.print_json(shown if secret is None else {**shown, "sigv4_secret": secret})
        return
    output.out.print(plain)
    if secret is not None:
        output.out.print(secret)
        output.err.print(
            f"key {info.key_id} ({info.name}) created with a SigV4 secret (second line): AWS SDKs sign with access "
            f"key id {info.key_id} and that secret; both are shown this once, store them now"
        )
        return
    output.err.print(f"key {info.key_id} ({info.name}) created; it is shown this once, store it now")


@app.command("sigv4")
def sigv4_secret(
    key: Annotated[str, typer.Argument(help="The key's id, or its name if one active key has it.")],
    db: output.Db = output.DEFAULT_DB,
    as_json: output.AsJson = False,
) -> None:
    """Give a key a new SigV4 secret and print it, once; a secret it had stops working.

    AWS SDKs (boto3's stepfunctions client, at <server>/compat/sfn) then sign with the key's id
    as access key id and this secret as secret access key; the key's scopes apply as they are.
    """
    info, secret = output.call(db, None, lambda client: client.engine.give_sigv4_secret(key), as_json=as_json)
    if as_json:
        output.print_json({"key_id": info.key_id, "name": info.name, "sigv4_secret": secret})
        return
    output.out.print(secret)
    output.err.print(
        f"key {info.key_id} ({info.name}) has a new SigV4 secret: AWS SDKs sign with access key id {info.key_id} "
        "and this secret; it is shown this once, store it now"
    )


@app.command("list")
def list_(db: output.Db = output.DEFAULT_DB, as_json: output.AsJson = False) -> None:
    """List keys, revoked ones included (never their secrets)."""
    keys = output.call(db, None, lambda client: client.engine.list_api_keys(), as_json=as_json)
    if as_json:
        output.print_json(keys)
        return
    table = Table("id", "name", "scopes", "sigv4", "created", "revoked")
    for key in keys:
        table.add_row(
            key.key_id, key.name, " ".join(key.scopes), "yes" if key.sigv4 else "", output.when(key.created_at),
            output.when(key.revoked_at),
        )  # fmt: skip
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
