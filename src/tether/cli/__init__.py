"""The ``tether`` command line: workflows, activities by token, API keys, server and worker.

It comes with the ``server`` extra (Typer and Rich); without it, importing this package raises
:class:`tether.errors.MissingExtra`, and the ``tether`` script says which extra to install.
"""

from tether.model import extras

with extras.required(extras.SERVER, *extras.SERVER_PACKAGES):
    from tether.cli.app import app, main

__all__ = ["app", "main"]
