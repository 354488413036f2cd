"""How commands talk back: Rich tables for people, JSON for scripts, and one exit code per error class."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn, TypeVar

import pydantic
import typer
from rich import markup
from rich.console import Console

from tether import errors
from tether.client.client import Client
from tether.model import aes_gcm, codecs
from tether.model.aes_gcm import AesGcmCodec

T = TypeVar("T")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_DB = "sqlite:///tether.db"

Url = Annotated[
    str,
    typer.Option(
        "--url",
        envvar="TETHER_URL",
        help="A tether server (http://...) or a store (sqlite:///... or postgresql://...).",
    ),
]
ApiKey = Annotated[
    str | None, typer.Option("--api-key", envvar="TETHER_API_KEY", help="The server's API key.", show_default=False)
]
Db = Annotated[
    str,
    typer.Option(
        "--db", envvar="TETHER_DB", help="The store: sqlite:///path/to/tether.db or postgresql://user@host/dbname."
    ),
]
CODEC_KEYS_VARIABLE = "TETHER_CODEC_KEYS"
"""AES-GCM payload keys (``id=base64url,id=base64url``, the last one current) every command connects with."""
CodecKeys = Annotated[
    str | None,
    typer.Option(
        "--codec-keys",
        envvar=CODEC_KEYS_VARIABLE,
        help="Payload keys as id=base64url-key,... (the last encrypts): the UI shows payloads decoded, "
        "and a --worker encodes and decodes with them. Without them the UI shows encoded payloads as such.",
        show_default=False,
    ),
]
ShownCodecKeys = Annotated[
    str | None,
    typer.Option(
        "--codec-keys",
        envvar=CODEC_KEYS_VARIABLE,
        help="Payload keys as id=base64url-key,...: encoded payloads are printed decoded. "
        "Without them they are printed as stored (their envelopes).",
        show_default=False,
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]

EXIT_CODES: dict[type[BaseException], int] = {
    errors.InvalidToken: 3,
    errors.StaleToken: 4,
    errors.ActivityAlreadyClosed: 5,
    errors.PermissionDenied: 6,
    errors.Unauthenticated: 7,
    errors.ExecutionNotFound: 8,
    errors.ApiKeyNotFound: 8,
    errors.SinkNotFound: 8,
    errors.ScheduleNotFound: 8,
    errors.ScheduleAlreadyExists: 26,
    errors.InvalidSignature: 3,
    errors.UnknownWorkflow: 8,
    errors.InvalidPayload: 9,
    errors.PayloadTooLarge: 9,
    errors.StoreUnavailable: 10,
    errors.WorkflowFailed: 11,
    errors.WorkflowCancelled: 12,
    TimeoutError: 13,
    errors.ExecutionIdTaken: 14,
    errors.CancellationNotRequested: 15,
    errors.ExecutionClosed: 16,
    errors.ExecutionNotClosed: 16,
    errors.ExecutionNotResumable: 16,
    errors.ActivityNotInBackoff: 16,
    errors.WorkflowTerminated: 17,
    errors.WorkflowTimedOut: 18,
    errors.RequestRejected: 23,
    errors.MessageKeyReused: 24,
    errors.NotPublished: 22,
    errors.CallbackExpired: 21,
    errors.NoAttemptOpen: 19,
    errors.WrongActivity: 20,
    errors.MissingExtra: 25,
    errors.UndecodablePayload: 27,
    errors.UsageError: 2,
    errors.TetherError: 1,
}
"""The exit code of each error class (its nearest listed base's when not listed); 0 is success."""


def exit_code_of(error: BaseException) -> int:
    """The exit code a command ends with when ``error`` stops it."""
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1


def run(
    coroutine: Coroutine[Any, Any, T],
    *,
    as_json: bool = False,
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
) -> T:
    """Run a command's coroutine (on a loop of ``loop_factory``'s, if given); a tether error ends the command."""
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(coroutine)
    except (errors.TetherError, TimeoutError) as error:
        fail(error, as_json=as_json)


def call(
    url: str,
    api_key: str | None,
    request: Callable[[Client], Awaitable[T]],
    *,
    as_json: bool = False,
    create: bool = False,
) -> T:
    """Connect to a server or store, make one request, close; a tether error ends the command as in :func:`run`.

    Only commands that put something in the store pass ``create``: one that reads or closes,
    pointed at a SQLite file that does not exist, ends with StoreNotFound and creates nothing.
    """

    async def connected() -> T:
        codec = codec_of(os.environ.get(CODEC_KEYS_VARIABLE))
        async with await Client.connect(url, api_key=api_key, create=create, codec=codec) as client:
            return await request(client)

    return run(connected(), as_json=as_json)


def codec_of(spec: str | None) -> AesGcmCodec | None:
    """The AES-GCM codec of ``TETHER_CODEC_KEYS`` or ``--codec-keys`` (None when not given).

    Raises:
        UsageError: the keys are not ``id=base64url-key,...`` of 32-byte keys.
    """
    return None if not spec else aes_gcm.from_spec(spec)


def codec_given(spec: str | None, *, as_json: bool = False) -> AesGcmCodec | None:
    """The codec of ``--codec-keys`` (None when not given); keys that do not parse end the command."""
    try:
        return codec_of(spec)
    except errors.UsageError as error:
        fail(error, as_json=as_json)


def shown(value: Any, codec: AesGcmCodec | None) -> Any:
    """``value`` to print: as stored without a codec; with one, JSON whose envelopes are decoded.

    An envelope the codec cannot decode is printed as its label and why.
    """
    if codec is None:
        return value
    return codecs.show(pydantic.TypeAdapter(Any).dump_python(value, mode="json"), codec)


def fail(error: BaseException, *, as_json: bool = False) -> NoReturn:
    """Report ``error`` on stderr and exit with its code."""
    if isinstance(error, errors.TetherError):
        code, message, details = error.code, error.message, error.to_details()
        kind = details.get("error")
        if isinstance(kind, str) and not message.startswith(kind):
            message = f"{kind}: {message}"  # the failure's type, e.g. ZeroDivisionError
    else:
        code, message, details = "timeout", str(error) or "timed out", {}
    if as_json:
        err.print_json(json.dumps({"error": code, "message": message, "details": details}, default=str))
    else:
        err.print(f"[bold red]error[/] ({code}): {markup.escape(message)}", highlight=False)  # "tether[server]"
    raise typer.Exit(exit_code_of(error))


def when(value: datetime | None) -> str:
    """A time for people: UTC, to the second."""
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def print_json(value: Any) -> None:
    """Print any value (dataclasses, models, datetimes included) as JSON on stdout."""
    out.print_json(pydantic.TypeAdapter(Any).dump_json(value).decode())


def parse_json(text: str, *, what: str) -> Any:
    """A JSON value given on the command line.

    Raises:
        InvalidPayload: naming what was given.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise errors.InvalidPayload(
            f"{what} is not valid JSON: {exc.msg} at position {exc.pos}", errors=[{"loc": [what], "msg": exc.msg}]
        ) from exc


def read_json_file(path: str, *, what: str) -> Any:
    """A JSON value read from a file, or from standard input for ``-``.

    Raises:
        InvalidPayload: the file cannot be read or is not JSON.
    """
    try:
        if path == "-":
            text = typer.get_text_stream("stdin").read()
        else:
            with open(os.path.expanduser(path), encoding="utf-8") as file:
                text = file.read()
    except OSError as exc:
        raise errors.InvalidPayload(f"cannot read {what} from {path}: {exc.strerror}") from exc
    return parse_json(text, what=what)
