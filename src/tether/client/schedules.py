"""The Client's calls about schedules: make, list, describe, pause, unpause, trigger and delete them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

from tether.client._transport import Transport
from tether.model import payloads
from tether.model.schedules import ScheduleInfo
from tether.runtime.definitions import Workflow

if TYPE_CHECKING:
    from tether.client.client import WorkflowHandle

OverlapName = Literal["skip", "buffer_one", "allow"]
CatchUpName = Literal["one", "all", "none"]


class ScheduleCalls:
    """Schedules: a workflow started at the times of a cron expression (a part of the Client)."""

    _transport: Transport
    _resolve: Callable[[object], Awaitable[tuple[str, Workflow[..., Any] | None]]]
    get_handle: Callable[[str], WorkflowHandle[Any]]

    async def create_schedule(
        self,
        id: str,
        workflow: Any,
        *args: Any,
        cron: str,
        timezone: str = "UTC",
        overlap: OverlapName = "skip",
        catch_up: CatchUpName = "one",
        paused: bool = False,
    ) -> ScheduleInfo:
        """Start ``workflow(*args)`` at every time the cron expression ``cron`` names in ``timezone``.

        Each occurrence starts execution ``<id>-<UTC time>Z`` once, however many workers run
        (an occurrence fired twice is the same execution). ``cron`` has five fields (``0 9 * *
        MON``) or six (seconds first); around daylight-saving changes it behaves as Debian's
        cron (README, "Schedules"). ``overlap`` says what an occurrence does while the last
        execution still runs: ``skip`` it, ``buffer_one`` (start it when that one closes), or
        ``allow`` it. ``catch_up`` says which occurrences missed while no worker ran fire:
        ``one`` (the latest), ``all``, or ``none``. ``paused`` makes it paused.

        Raises:
            ScheduleAlreadyExists: a schedule has this id; nothing changed.
            InvalidPayload: a bad id, cron expression, time zone, policy or argument.
            UnknownWorkflow: ``workflow`` is a name no worker or module registered.
            PermissionDenied: the API key may not start this workflow (``workflows:start``).
        """
        name, definition = await self._resolve(workflow)
        text = payloads.encode_args(list(args), what="workflow arguments")
        return await self._transport.create_schedule(
            id, name, text, cron=cron, timezone=timezone, overlap=overlap, catch_up=catch_up, paused=paused,
            known=definition is not None,
        )  # fmt: skip

    async def list_schedules(self, *, workflow: str | None = None) -> list[ScheduleInfo]:
        """Every schedule (of ``workflow`` only, if given) the API key may read, by id; with next fire times."""
        return await self._transport.list_schedules(workflow)

    async def describe_schedule(self, id: str) -> ScheduleInfo:
        """A schedule with its latest fires (``recent``, newest first: executions started, occurrences skipped).

        Raises:
            ScheduleNotFound: no schedule has this id.
            PermissionDenied: the API key may not read this workflow.
        """
        return await self._transport.describe_schedule(id)

    async def pause_schedule(self, id: str) -> ScheduleInfo:
        """Stop a schedule's occurrences until it is unpaused; running executions go on. Pausing twice is one pause.

        Raises:
            ScheduleNotFound: no schedule has this id.
            PermissionDenied: the API key may not write to this workflow (``workflows:write``).
        """
        return await self._transport.pause_schedule(id)

    async def unpause_schedule(self, id: str) -> ScheduleInfo:
        """Resume a paused schedule from its first occurrence after now: nothing missed while paused fires.

        Raises:
            ScheduleNotFound: no schedule has this id.
            PermissionDenied: the API key may not write to this workflow (``workflows:write``).
        """
        return await self._transport.unpause_schedule(id)

    async def trigger_schedule(self, id: str) -> WorkflowHandle[Any]:
        """Start the schedule's workflow now, whatever its cron expression, overlap policy or pause.

        The execution is ``<id>-<UTC time to the millisecond>Z``; the next occurrences stay as they were.

        Raises:
            ScheduleNotFound: no schedule has this id.
            PermissionDenied: the API key may not start this workflow (``workflows:start``).
        """
        return self.get_handle(await self._transport.trigger_schedule(id))

    async def delete_schedule(self, id: str) -> None:
        """Delete a schedule: it starts nothing more; the executions it started are left as they are.

        Raises:
            ScheduleNotFound: no schedule has this id.
            PermissionDenied: the API key may not write to this workflow (``workflows:write``).
        """
        await self._transport.delete_schedule(id)
