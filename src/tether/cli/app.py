"""The root ``tether`` command and its groups."""

from __future__ import annotations

import logging

import typer

from tether.cli import activities, keys, lifecycle, messages, openapi, published, schedules, serve, sinks, workflows

app = typer.Typer(
    name="tether",
    help="tether: durable workflows whose activities may run for indefinite time.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
workflows.app.command()(lifecycle.terminate)
workflows.app.command()(lifecycle.delete)
workflows.app.command()(messages.send)
workflows.app.command()(messages.request)
workflows.app.command()(published.published)
activities.app.command(name="retry-now")(lifecycle.retry_now)
app.add_typer(workflows.app, name="workflow")
app.add_typer(activities.app, name="activity")
app.add_typer(keys.app, name="keys")
app.add_typer(sinks.app, name="sinks")
app.add_typer(schedules.app, name="schedule")
app.command(name="server")(serve.server)
app.command(name="worker")(serve.worker)
app.command(name="openapi")(openapi.openapi)


def main() -> None:
    """Entry point of the ``tether`` script."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app()
