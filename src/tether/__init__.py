"""tether: durable workflows whose activities may run for indefinite time."""

import contextlib

from tether import errors, testing
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
from tether.worker.worker import Worker

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
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and not isinstance(_obj, type(errors)):
        with contextlib.suppress(AttributeError, TypeError):
            _obj.__module__ = "tether"
