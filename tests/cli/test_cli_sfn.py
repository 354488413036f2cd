"""AWS SDKs against a real ``tether server`` process: keys given SigV4 secrets from the command line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import boto3
import botocore.exceptions
import pytest

from tests.cli.conftest import ROOT, TETHER, Served
from tests.cli.test_cli import keys

pytestmark = pytest.mark.acceptance


def stepfunctions(served: Served, key_id: str, secret: str) -> object:
    return boto3.client(
        "stepfunctions", endpoint_url=f"{served.url}/compat/sfn", region_name="eu-west-1",
        aws_access_key_id=key_id, aws_secret_access_key=secret,
    )  # fmt: skip


def test_a_key_created_with_sigv4_lets_boto3_complete_an_activity_and_a_new_secret_replaces_it(server: Served) -> None:
    created = keys(server, "create", "--name", "sdk", "--scope", "*:*:cli.*", "--sigv4")
    assert created.returncode == 0, created.stderr
    plain, secret = created.stdout.split()
    key_id = plain.split("_")[1]
    server.run("workflow", "start", "cli.order", "S-1", "--id", "sfn-1", TETHER_API_KEY=plain)
    token = server.token("sfn-1")
    client = stepfunctions(server, key_id, secret)

    client.send_task_heartbeat(taskToken=token)  # type: ignore[attr-defined]
    client.send_task_success(taskToken=token, output='{"by": "ana"}')  # type: ignore[attr-defined]
    result = server.run("workflow", "result", "sfn-1", "--timeout", "20", TETHER_API_KEY=plain)
    listed = json.loads(keys(server, "list", "--json").stdout)
    table = keys(server, "list").stdout
    replaced = keys(server, "sigv4", "sdk", "--json")

    assert result.stdout.strip() == '"S-1 approved by ana"', result.stderr
    assert [(k["name"], k["sigv4"]) for k in listed] == [("sdk", True)]
    row = next(line for line in table.splitlines() if "sdk" in line)
    assert row.replace("│", " ").split()[1:4] == ["sdk", "*:*:cli.*", "yes"]
    assert secret not in table
    new_secret = json.loads(replaced.stdout)["sigv4_secret"]
    with pytest.raises(botocore.exceptions.ClientError, match="InvalidSignatureException"):
        client.send_task_heartbeat(taskToken=token)  # type: ignore[attr-defined]
    renewed = stepfunctions(server, key_id, new_secret)
    with pytest.raises(botocore.exceptions.ClientError, match="TaskTimedOut"):  # signed well; the activity closed
        renewed.send_task_heartbeat(taskToken=token)  # type: ignore[attr-defined]


def test_giving_a_sigv4_secret_to_no_such_key_says_so(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'tether.db'}"
    tether = [TETHER, "keys"]
    made = subprocess.run([*tether, "create", "--name", "k", "--scope", "*:*:*", "--db", db], capture_output=True)
    assert made.returncode == 0

    given = subprocess.run([*tether, "sigv4", "nobody", "--db", db], capture_output=True, text=True, cwd=ROOT)

    assert given.returncode != 0
    assert "api_key_not_found" in given.stderr
    assert "nobody" in given.stderr
