"""The ``tether`` command line: workflows, activities by token, API keys, server and worker."""

from tether.cli.app import app, main

__all__ = ["app", "main"]
