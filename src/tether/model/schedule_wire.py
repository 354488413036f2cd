"""The HTTP bodies of the schedule routes, shared by the server and the HTTP transport."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from tether.model.payloads import JSONValue
from tether.model.schedules import CatchUp, Overlap, ScheduleInfo

ScheduleId = Annotated[str, Field(min_length=1, max_length=480, description="The schedule's id (no '/').")]


class CreateSchedule(BaseModel):
    """Make a schedule: the workflow it starts, with which arguments, at the times of a cron expression."""

    model_config = ConfigDict(extra="forbid")

    id: ScheduleId
    workflow: Annotated[str, Field(min_length=1, max_length=512)]
    args: list[JSONValue] = Field(default_factory=list, description="Positional arguments, as JSON values.")
    cron: str = Field(
        max_length=256, description="A cron expression of five fields (or six, seconds first), e.g. 0 9 * * MON."
    )
    timezone: str = Field(default="UTC", max_length=128, description="The IANA time zone the expression reads in.")
    overlap: Overlap = Field(
        default=Overlap.SKIP, description="What an occurrence does while the last execution still runs."
    )
    catch_up: CatchUp = Field(
        default=CatchUp.ONE, description="Which occurrences missed while no worker ran are fired."
    )
    paused: bool = Field(default=False, description="Make it paused.")
    check_known: bool = Field(
        default=True,
        description="Refuse a workflow name no worker has registered yet (callers holding the code send false).",
    )


class SchedulePage(BaseModel):
    """Schedules by id."""

    items: list[ScheduleInfo]


class ScheduleTriggered(BaseModel):
    """The execution a trigger started."""

    execution_id: str
