"""``tether activity`` takes an activity token as it takes an attempt's, against a real server process."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import Served

pytestmark = pytest.mark.acceptance


def test_activity_token_heartbeat_is_refused_during_back_off_with_exit_19_and_complete_closes_it(
    server: Served,
) -> None:
    server.run("workflow", "start", "cli.reviewed_order", "R-1", "--id", "review-1")
    attempt_token, activity_token = server.token("review-1"), server.token("review-1", "activity")
    failed = server.run("activity", "fail", attempt_token, "--error", "Busy")  # a retry in an hour

    heartbeat = server.run("activity", "heartbeat", activity_token, "--json")
    described = server.run("activity", "describe", activity_token)
    completed = server.run("activity", "complete", activity_token, "--result", '{"by": "ana"}')
    again = server.run("activity", "complete", activity_token, "--result", '{"by": "ana"}', "--json")
    result = server.run("workflow", "result", "review-1", "--timeout", "20")

    assert failed.returncode == 0, failed.stderr
    assert heartbeat.returncode == 19, heartbeat.stderr
    assert json.loads(heartbeat.stderr)["error"] == "no_attempt_open"
    assert described.returncode == 0, described.stderr
    assert "an activity token acts on the current attempt" in described.stdout
    assert completed.returncode == 0, completed.stderr
    assert json.loads(again.stdout) == {"completed": True, "recorded": False}
    assert json.loads(result.stdout) == "R-1 reviewed by ana"


def test_a_token_of_another_activity_than_the_one_named_exits_20_and_changes_nothing(server: Served) -> None:
    server.run("workflow", "start", "cli.order", "W-1", "--id", "wrong-1")
    token = server.token("wrong-1")

    completed = server.run("activity", "complete", token, "--result", '{"by": "ana"}', "--activity", "cli.review")
    heartbeat = server.run("activity", "heartbeat", token, "--activity", "cli.review", "--json")
    history = server.run("workflow", "history", "wrong-1", "--json")
    named = server.run("activity", "complete", token, "--result", '{"by": "ana"}', "--activity", "cli.request_approval")

    assert completed.returncode == 20, completed.stderr
    assert "'cli.request_approval'" in completed.stderr  # what the token is of, said to the one who named another
    assert heartbeat.returncode == 20, heartbeat.stderr
    assert json.loads(heartbeat.stderr)["error"] == "wrong_activity"
    assert [e["type"] for e in json.loads(history.stdout)][-1] == "ActivityWentAsync"
    assert named.returncode == 0, named.stderr
