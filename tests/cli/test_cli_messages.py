"""``tether workflow send|request`` against a real server, and the messages ``workflow show`` lists."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import Served
from tests.cli.test_cli_callbacks import CURL, curl

pytestmark = pytest.mark.acceptance


def test_send_and_request_from_the_command_line(server: Served) -> None:
    started = server.run("workflow", "start", "cli.desk", "--id", "desk-1")
    assert started.returncode == 0, started.stderr

    bad = server.run("workflow", "send", "desk-1", "note", "--payload", '{"text": 5}', "--json")
    sent = server.run("workflow", "send", "desk-1", "note", "--payload", '{"text": "hello"}', "--key", "n1", "--json")
    again = server.run("workflow", "send", "desk-1", "note", "--payload", '{"text": "hello"}', "--key", "n1")
    other = server.run("workflow", "send", "desk-1", "note", "--payload", '{"text": "bye"}', "--key", "n1")
    refused = server.run("workflow", "request", "desk-1", "ask", "--payload", '"no"', "--timeout", "30s", "--json")
    answered = server.run("workflow", "request", "desk-1", "ask", "--payload", '"why?"', "--timeout", "30s")
    closed = server.run("workflow", "send", "desk-1", "note", "--payload", '{"text": "late"}')
    shown = server.run("workflow", "show", "desk-1", "--json")

    assert bad.returncode == 9
    assert json.loads(bad.stderr)["error"] == "invalid_payload"
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout) == {"id": "desk-1", "name": "note", "stored": True}
    assert (again.returncode, again.stderr.strip()) == (0, "this key was sent before: nothing changed")
    assert other.returncode == 24
    assert refused.returncode == 23
    assert json.loads(refused.stderr)["details"]["reason"] == "asked to refuse"
    assert answered.returncode == 0, answered.stderr
    assert json.loads(answered.stdout) == {"notes": ["hello"], "asked": "why?"}
    assert closed.returncode == 16
    messages = json.loads(shown.stdout)["messages"]
    assert [(m["kind"], m["name"], m["state"], m["answer"]) for m in messages] == [
        ("message", "note", "received", None),
        ("request", "ask", "rejected", "asked to refuse"),
        ("request", "ask", "replied", {"notes": ["hello"], "asked": "why?"}),
    ]


@pytest.mark.skipif(CURL is None, reason="curl is not installed on this machine: the calls from outside Python need it")
def test_curl_sends_a_message_with_start_and_a_request_and_reads_the_reply(server: Served) -> None:
    body = {"name": "note", "payload": {"text": "from curl"}, "key": "c-1", "start": {"workflow": "cli.desk"}}
    sent = curl(f"{server.url}/v1/messages/desk%2Fcurl", json.dumps(body))
    again = curl(f"{server.url}/v1/messages/desk%2Fcurl", json.dumps(body))
    asked = curl(f"{server.url}/v1/requests/desk%2Fcurl", json.dumps({"name": "ask", "payload": "?", "wait": 20}))
    late = curl(f"{server.url}/v1/requests/desk%2Fcurl", json.dumps({"name": "ask", "wait": 0}))

    assert sent[0] == 200
    assert sent[1] == {"message_id": sent[1]["message_id"], "stored": True, "started": True}  # type: ignore[index]
    assert again == (200, {"message_id": sent[1]["message_id"], "stored": False, "started": False})
    assert asked[0] == 200
    assert asked[1]["state"] == "replied"  # type: ignore[index]
    assert asked[1]["reply"] == {"notes": ["from curl"], "asked": "?"}  # type: ignore[index]
    assert late[0] == 409
    assert late[1]["error"] == "execution_closed"  # type: ignore[index]
