"""tether: durable workflows whose activities may run for indefinite time."""

import contextlib
import importlib
from typing import TYPE_CHECKING

from tether import errors
from tether.client.client import Client, WorkflowHandle
from tether.model.aes_gcm import AesGcmCodec
from tether.model.codecs import PayloadCodec
from tether.model.notifications import verify_notification
from tether.model.options import RetryPolicy
from tether.model.records import (
    ActivityDescription,
    ActivityInfo,
    ActivityState,
    HeartbeatResponse,
    HistoryEvent,
    Published,
    PublishedValue,
    WorkflowDescription,
    WorkflowStatus,
    WorkflowSummary,
)
from tether.model.schedules import ScheduleFire, ScheduleInfo
from tether.runtime.activity_context import ActivityContext, context, heartbeat, make_async
from tether.runtime.child_workflows import ChildWorkflowHandle
from tether.runtime.continue_as_new import ContinueAsNew, continue_as_new
from tether.runtime.definitions import Activity, Workflow, activity, workflow
from tether.runtime.messages import Request
from tether.runtime.versioning import deprecate_patch, patched
from tether.runtime.workflow_api import (
    now,
    publish,
    receive,
    receive_request,
    run_workflow,
    sleep,
    start_activity,
    start_workflow,
    uuid4,
)
from tether.runtime.workflow_instance import ActivityHandle
from tether.runtime.workflow_logger import logger
from tether.worker.worker import Worker

if TYPE_CHECKING:
    from tether import testing

__all__ = [
    "Activity",
    "ActivityContext",
    "ActivityDescription",
    "ActivityHandle",
    "ActivityInfo",
    "ActivityState",
    "AesGcmCodec",
    "ChildWorkflowHandle",
    "Client",
    "ContinueAsNew",
    "HeartbeatResponse",
    "HistoryEvent",
    "PayloadCodec",
    "Published",
    "PublishedValue",
    "Request",
    "RetryPolicy",
    "ScheduleFire",
    "ScheduleInfo",
    "Worker",
    "Workflow",
    "WorkflowDescription",
    "WorkflowHandle",
    "WorkflowStatus",
    "WorkflowSummary",
    "activity",
    "context",
    "continue_as_new",
    "deprecate_patch",
    "errors",
    "heartbeat",
    "logger",
    "make_async",
    "now",
    "patched",
    "publish",
    "receive",
    "receive_request",
    "run_workflow",
    "sleep",
    "start_activity",
    "start_workflow",
    "testing",
    "uuid4",
    "verify_notification",
    "workflow",
]

for _name in __all__:
    _obj = globals().get(_name)
    if hasattr(_obj, "__module__") and not isinstance(_obj, type(errors)):
        with contextlib.suppress(AttributeError, TypeError):
            _obj.__module__ = "tether"


def __getattr__(name: str) -> object:
    # tether.testing is imported on first use: a program that only runs workflows never loads it.
    if name == "testing":
        return importlib.import_module("tether.testing")
    raise AttributeError(f"module 'tether' has no attribute {name!r}")
