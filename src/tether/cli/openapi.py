"""``tether openapi``: print the OpenAPI document of the server's HTTP API, with no server or store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tether.model import extras


def openapi(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", dir_okay=False, help="Write the document to this file instead of printing it."),
    ] = None,
) -> None:
    """Print the OpenAPI document a tether server serves at /v1/openapi.json, byte for byte.

    Clients in other languages are generated from it; docs/openapi.json is its committed copy.
    """
    with extras.required(extras.SERVER, *extras.SERVER_PACKAGES):
        from tether.service import app as service_app  # the web framework, imported only when needed

    text = service_app.document().encode()
    if output is None:
        sys.stdout.buffer.write(text)
        sys.stdout.buffer.flush()
    else:
        output.write_bytes(text)
