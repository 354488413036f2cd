"""The ``tether`` command against a real server process: output for people and scripts, exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import ROOT, TETHER, Served, start_server, stop_server

pytestmark = pytest.mark.acceptance


def keys(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    return served.run("keys", *args, "--db", served.db)


def new_key(served: Served, *scopes: str, name: str = "k") -> str:
    created = keys(served, "create", "--name", name, *[part for s in scopes for part in ("--scope", s)])
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


def test_start_complete_and_result_from_the_command_line(server: Served) -> None:
    started = server.run("workflow", "start", "cli.order", "A-1", "--id", "order-1")
    token = server.token("order-1")

    heartbeat = server.run("activity", "heartbeat", token, "--details", '{"reviewed": 2}')
    completed = server.run("activity", "complete", token, "--result", '{"by": "ana"}')
    result = server.run("workflow", "result", "order-1", "--timeout", "20")

    assert (started.returncode, started.stdout.strip()) == (0, "order-1")
    assert (heartbeat.returncode, heartbeat.stdout.strip()) == (0, "ok")
    assert completed.returncode == 0, completed.stderr
    assert (result.returncode, json.loads(result.stdout)) == (0, "A-1 approved by ana")


def test_a_repeated_completion_says_nothing_changed_and_json_says_it_was_not_recorded(server: Served) -> None:
    server.run("workflow", "start", "cli.order", "A-3", "--id", "order-3")
    token = server.token("order-3")

    first = server.run("activity", "complete", token, "--result", '{"by": "ana"}', "--json")
    again = server.run("activity", "complete", token, "--result", '{"by": "ana"}', "--json")
    said = server.run("activity", "complete", token, "--result", '{"by": "ana"}')

    assert json.loads(first.stdout) == {"completed": True, "recorded": True}
    assert json.loads(again.stdout) == {"completed": True, "recorded": False}
    assert (said.returncode, said.stderr.strip()) == (0, "activity already completed with this result; nothing changed")


def test_show_and_history_print_tables_and_json(server: Served) -> None:
    server.run("workflow", "start", "cli.order", "A-2", "--id", "order-2")
    token = server.token("order-2")
    server.run("activity", "heartbeat", token, "--details", '{"step": 7}')

    table = server.run("workflow", "show", "order-2")
    described = json.loads(server.run("workflow", "show", "order-2", "--json").stdout)
    history = json.loads(server.run("workflow", "history", "order-2", "--json").stdout)
    listed = json.loads(server.run("workflow", "list", "--json").stdout)

    assert table.returncode == 0
    assert "cli.request_approval" in table.stdout
    assert "async" in table.stdout
    assert described["status"] == "running"
    assert described["pending_activities"][0]["heartbeat_details"] == {"step": 7}
    assert [event["type"] for event in history][:2] == ["WorkflowStarted", "WorkflowTaskCompleted"]
    assert [(row["id"], row["status"]) for row in listed] == [("order-2", "running")]


def test_result_from_a_file_and_from_stdin(server: Served, tmp_path: Path) -> None:
    server.run("workflow", "start", "cli.order", "B-1", "--id", "file-1")
    server.run("workflow", "start", "cli.order", "B-2", "--id", "stdin-1")
    result_file = tmp_path / "approval.json"
    result_file.write_text('{"by": "from a file"}')

    by_file = server.run("activity", "complete", server.token("file-1"), "--result-file", str(result_file))
    by_stdin = server.run(
        "activity", "complete", server.token("stdin-1"), "--result-file", "-", stdin='{"by": "stdin"}'
    )

    assert (by_file.returncode, by_stdin.returncode) == (0, 0)
    assert json.loads(server.run("workflow", "result", "file-1").stdout) == "B-1 approved by from a file"
    assert json.loads(server.run("workflow", "result", "stdin-1").stdout) == "B-2 approved by stdin"


@pytest.mark.parametrize(
    ("case", "code", "error"),
    [
        ("forged token", 3, "invalid_token"),
        ("closed activity", 5, "activity_already_closed"),
        ("wrong result type", 9, "invalid_payload"),
        ("result not json", 9, "invalid_payload"),
        ("unknown execution", 8, "execution_not_found"),
    ],
)
def test_each_refusal_has_its_exit_code_and_changes_nothing(server: Served, case: str, code: int, error: str) -> None:
    server.run("workflow", "start", "cli.order", "C-1", "--id", "refusal-1")
    token = server.token("refusal-1")
    if case == "closed activity":
        assert server.run("activity", "complete", token, "--result", '{"by": "ana"}').returncode == 0
    before = server.run("workflow", "history", "refusal-1", "--json").stdout

    args = {
        "forged token": ["activity", "complete", token[:-2] + "xx", "--result", '{"by": "x"}'],
        "closed activity": ["activity", "fail", token, "--error", "Late"],
        "wrong result type": ["activity", "complete", token, "--result", '{"by": 42}'],
        "result not json": ["activity", "complete", token, "--result", "{by: x}"],
        "unknown execution": ["workflow", "cancel", "no-such-order"],
    }[case]
    refused = server.run(*args, "--json")

    assert refused.returncode == code, refused.stderr
    assert json.loads(refused.stderr)["error"] == error
    assert server.run("workflow", "history", "refusal-1", "--json").stdout == before


def test_failed_workflow_exits_11_and_a_running_one_13(server: Served) -> None:
    server.run("workflow", "start", "cli.ratio", "1", "0", "--id", "ratio-1")
    server.run("workflow", "start", "cli.order", "D-1", "--id", "running-1")

    failed = server.run("workflow", "result", "ratio-1", "--timeout", "20")
    running = server.run("workflow", "result", "running-1", "--timeout", "0")

    assert failed.returncode == 11
    assert "ZeroDivisionError" in failed.stderr
    assert running.returncode == 13


def test_start_with_a_timeout_and_resume_from_the_command_line(server: Served) -> None:
    started = server.run("workflow", "start", "cli.order", "T-1", "--id", "timed-1", "--timeout", "30d")
    shown = json.loads(server.run("workflow", "show", "timed-1", "--json").stdout)
    bad = server.run("workflow", "start", "cli.order", "T-2", "--timeout", "soon")
    running = server.run("workflow", "resume", "timed-1", "--json")
    server.run("workflow", "start", "cli.ratio", "1", "0", "--id", "ratio-2")
    failed = server.run("workflow", "result", "ratio-2", "--timeout", "20")
    resumed = server.run("workflow", "resume", "ratio-2", "--timeout", "1h")
    history = json.loads(server.run("workflow", "history", "ratio-2", "--json").stdout)

    assert started.returncode == 0, started.stderr
    assert shown["deadline"] is not None
    assert bad.returncode == 2
    assert "not a positive duration" in bad.stderr
    assert running.returncode == 16
    assert json.loads(running.stderr)["error"] == "execution_not_resumable"
    assert failed.returncode == 11
    assert resumed.returncode == 0, resumed.stderr
    assert "ExecutionResumed" in [event["type"] for event in history]


def test_keys_scope_and_revocation_from_the_command_line(server: Served) -> None:
    admin = new_key(server, "*:*:*", name="admin")
    consumer = new_key(server, "activities:write:cli.order", name="consumer")
    outsider = new_key(server, "activities:write:billing.*", name="outsider")
    server.run("workflow", "start", "cli.order", "E-1", "--id", "keys-1", TETHER_API_KEY=admin)
    token = server.token("keys-1")

    no_key = server.run("activity", "heartbeat", token)
    wrong_scope = server.run("activity", "heartbeat", token, TETHER_API_KEY=outsider)
    allowed = server.run("activity", "heartbeat", token, "--api-key", consumer)
    cannot_read = server.run("workflow", "show", "keys-1", "--api-key", consumer)
    revoked = keys(server, "revoke", "consumer")
    after_revoke = server.run("activity", "heartbeat", token, "--api-key", consumer)
    listed = json.loads(keys(server, "list", "--json").stdout)

    assert no_key.returncode == 7
    assert wrong_scope.returncode == 6
    assert allowed.returncode == 0
    assert cannot_read.returncode == 6
    assert revoked.returncode == 0
    assert after_revoke.returncode == 7
    assert {k["name"]: k["revoked_at"] is not None for k in listed} == {
        "admin": False, "consumer": True, "outsider": False
    }  # fmt: skip
    assert all("secret" not in json.dumps(k) and consumer not in json.dumps(k) for k in listed)


def test_unreachable_server_exits_10(tmp_path: Path) -> None:
    reply = subprocess.run(
        [TETHER, "workflow", "list", "--url", "http://127.0.0.1:9"], capture_output=True, text=True, check=False
    )

    assert reply.returncode == 10
    assert "could not be reached" in reply.stderr


def test_server_refuses_a_public_address_without_keys(tmp_path: Path) -> None:
    reply = subprocess.run(
        [TETHER, "server", "--db", f"sqlite:///{tmp_path / 't.db'}", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True, text=True, check=False, timeout=60, cwd=ROOT,
    )  # fmt: skip

    assert reply.returncode == 2
    assert "--insecure" in reply.stderr


def test_server_on_loopback_without_keys_warns_and_stops_cleanly(tmp_path: Path) -> None:
    served = start_server(tmp_path)

    errors = stop_server(served)

    assert served.process.returncode == 0
    assert "tether server stopped" in errors


def test_worker_command_runs_workflows_and_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    served = start_server(tmp_path)  # its own worker, plus a separate one below
    try:
        with subprocess.Popen(
            [TETHER, "worker", "tests.cli.cli_app", "--db", served.db, "--identity", "side-worker"],
            stderr=subprocess.PIPE, text=True, cwd=ROOT, env=served.env(),
        ) as worker:  # fmt: skip
            assert worker.stderr is not None
            assert "worker side-worker" in worker.stderr.readline()
            served.run("workflow", "start", "cli.ratio", "6", "3", "--id", "side-1")
            assert json.loads(served.run("workflow", "result", "side-1", "--timeout", "20").stdout) == 2.0
            worker.terminate()
            _, rest = worker.communicate(timeout=20)
        assert worker.returncode == 0
        assert "worker stopped" in rest
    finally:
        stop_server(served)


def test_revoking_by_a_name_two_keys_share_asks_for_the_id(server: Served) -> None:
    new_key(server, "workflows:read:*", name="twin")
    new_key(server, "workflows:read:*", name="twin")
    ids = [k["key_id"] for k in json.loads(keys(server, "list", "--json").stdout)]

    ambiguous = keys(server, "revoke", "twin")
    by_id = keys(server, "revoke", ids[0])

    assert ambiguous.returncode == 2
    assert all(key_id in ambiguous.stderr for key_id in ids)
    assert by_id.returncode == 0


def test_show_and_history_of_each_run_of_a_continued_execution(server: Served) -> None:
    server.run("workflow", "start", "cli.loop", "0", "--id", "loop-1")
    result = server.run("workflow", "result", "loop-1", "--timeout", "20")
    latest = server.run("workflow", "show", "loop-1", "--json")
    first = server.run("workflow", "show", "loop-1", "--run", "1")
    history = server.run("workflow", "history", "loop-1", "--run", "2", "--json")
    missing = server.run("workflow", "show", "loop-1", "--run", "4")

    assert (result.returncode, json.loads(result.stdout)) == (0, 2)
    described = json.loads(latest.stdout)
    assert (described["id"], described["run"], described["run_id"]) == ("loop-1", 3, "loop-1#run-3")
    assert first.returncode == 0
    assert "continued" in first.stdout
    events = json.loads(history.stdout)
    assert (events[0]["type"], events[0]["data"]["args"]) == ("WorkflowStarted", [1])
    assert events[-1]["type"] == "WorkflowContinuedAsNew"
    assert missing.returncode == 8


def test_activity_describe_shows_what_a_token_names(server: Served) -> None:
    server.run("workflow", "start", "cli.order", "A-5", "--id", "order-5")
    token = server.token("order-5")
    server.run("activity", "heartbeat", token, "--details", '{"step": 3}')

    table = server.run("activity", "describe", token)
    described = json.loads(server.run("activity", "describe", token, "--json").stdout)
    forged = server.run("activity", "describe", token[:-2] + ("xx" if not token.endswith("xx") else "yy"))

    assert table.returncode == 0
    assert "cli.request_approval" in table.stdout
    assert "this token's: 1, open" in table.stdout
    assert (described["execution_id"], described["state"], described["current"]) == ("order-5", "async", True)
    assert described["heartbeat_details"] == {"step": 3}
    assert described["result_schema"]["properties"]["by"]["type"] == "string"
    assert forged.returncode == 3
