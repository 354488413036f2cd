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


def test_list_waiting_shows_what_waits_for_a_token_with_its_activity_token(server: Served) -> None:
    server.run("workflow", "start", "cli.order", "L-1", "--id", "list-1")
    first = server.token("list-1", "activity")
    server.run("workflow", "start", "cli.reviewed_order", "L-2", "--id", "list-2")
    server.token("list-2", "activity")

    listed = server.run("activity", "list", "--waiting", "--json")
    by_name = server.run("activity", "list", "--waiting", "--name", "cli.review", "--json")
    table = server.run("activity", "list", "--waiting", "--workflow", "cli.order")
    without = server.run("activity", "list")

    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)
    assert [(i["execution_id"], i["name"], i["attempt"]) for i in items] == [
        ("list-1", "cli.request_approval", 1),
        ("list-2", "cli.review", 1),
    ]
    assert items[0]["activity_token"] == first
    assert [i["execution_id"] for i in json.loads(by_name.stdout)] == ["list-2"]
    assert table.returncode == 0, table.stderr
    assert "list-1" in table.stdout
    assert "list-2" not in table.stdout
    assert first in table.stdout
    assert without.returncode == 2
    assert "--waiting" in without.stderr
