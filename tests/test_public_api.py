from __future__ import annotations

import tether
import tether.errors
import tether.testing


def test_public_names_are_pinned() -> None:
    assert tether.__all__ == [
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
    assert tether.testing.__all__ == ["TestEnvironment", "VirtualClock", "replay"]


def test_public_classes_show_the_tether_module() -> None:
    assert repr(tether.Client).startswith("<class 'tether.Client'")
    assert tether.Worker.__module__ == "tether"
    assert tether.testing.TestEnvironment.__module__ == "tether.testing"


def test_every_error_descends_from_tether_error_and_has_a_distinct_code() -> None:
    classes = [getattr(tether.errors, name) for name in tether.errors.__all__]
    assert all(issubclass(cls, tether.errors.TetherError) for cls in classes)
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes))


def test_a_missing_extra_is_a_usage_error_that_names_the_extra() -> None:
    missing = tether.errors.MissingExtra("postgres", module="psycopg")
    assert isinstance(missing, tether.errors.UsageError)
    assert (missing.code, missing.extra, missing.module) == ("missing_extra", "postgres", "psycopg")
    assert "pip install 'tether[postgres]'" in str(missing)
