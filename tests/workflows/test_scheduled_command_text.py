"""A scheduled activity's command carries the JSON text of its data and of its parts, whatever the arguments."""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest

import tether
from tether.model import payloads
from tether.runtime.workflow_instance import WorkflowInstance


class Order(pydantic.BaseModel):
    ref: str
    amount: float


@tether.activity(name="sct.ship")
async def sct_ship(*items: Any) -> None:
    return None


@tether.activity(name="sct.schöne Grüße")
async def sct_greet(who: str) -> str:
    return who


@tether.workflow(name="sct.flow")
async def sct_flow() -> None:
    return None


@pytest.mark.parametrize(
    "args",
    [[], [1, 2.5, -0.0, 1e20], ["é ✓ \u2028", None, True], [Order(ref='a"b', amount=0.1)], [{"k": [1, {"x": None}]}]],
)
def test_scheduled_command_text_is_its_data(args: list[Any]) -> None:
    instance = WorkflowInstance("sct-1", sct_flow)
    for activity in (sct_ship, sct_greet):
        instance.start_activity(activity, args)
    for command in instance._commands:
        assert command.text is not None
        assert command.text == payloads.json_text(command.data)
        assert json.loads(command.text) == command.data
        assert command.parts is not None
        for key, text in command.parts.items():
            assert text == payloads.json_text(command.data[key])
