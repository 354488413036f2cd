"""AWS SDKs at /compat/sfn: boto3's stepfunctions client completes, fails and heartbeats tether activities.

One server per backend for the whole module (each test uses executions of its own): the
real boto3 client signs with SigV4 as it would against AWS, and each refusal is checked to
be the exception a boto3 user catches, with the execution's state and history unchanged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import botocore.exceptions
import httpx
import pydantic
import pytest
import pytest_asyncio

import tether
from tests.conftest import POSTGRES_SERVER
from tests.helpers import history_checker
from tests.helpers.closing import terminate
from tests.helpers.workflows import TOKENS
from tether.model.records import ActivityState, WorkflowStatus
from tether.store.postgres import admin as postgres_admin
from tether.testing import TestEnvironment

pytestmark = pytest.mark.asyncio(loop_scope="module")


class Approval(pydantic.BaseModel):
    by: str
    amount: int


@tether.activity(name="sfn.approve", retry=tether.RetryPolicy(max_attempts=2))
async def approve(order: str) -> Approval:
    TOKENS.put(f"{tether.context().execution_id} {tether.context().attempt}", tether.context().token)
    return tether.make_async()


@tether.workflow(name="sfn.order")
async def order(order_id: str) -> str:
    approval = await approve(order_id)
    return f"{order_id} approved by {approval.by} for {approval.amount}"


@tether.workflow(name="sfn.cancelling_order")
async def cancelling_order(order_id: str) -> str:
    handle = tether.start_activity(approve, order_id)
    await tether.sleep(timedelta(seconds=10))
    handle.cancel()
    try:
        await handle
    except tether.errors.ActivityCancelled:
        return "cancelled"
    return "not cancelled"


@tether.activity(name="sfn.quick", timeout=timedelta(minutes=5), retry=tether.RetryPolicy(max_attempts=1))
async def quick(order: str) -> str:
    TOKENS.put(f"{tether.context().execution_id} {tether.context().attempt}", tether.context().token)
    return tether.make_async()


@tether.workflow(name="sfn.quick_order")
async def quick_order(order_id: str) -> str:
    return await quick(order_id)


@dataclass
class Served:
    env: TestEnvironment
    endpoint: str
    key_id: str
    secret: str
    counter: list[int]

    def client(self, key_id: str | None = None, secret: str | None = None, **config: Any) -> Any:
        """boto3's stepfunctions client on this server, as a user would make it."""
        return boto3.client(
            "stepfunctions", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=key_id or self.key_id, aws_secret_access_key=secret or self.secret,
            config=botocore.config.Config(retries={"max_attempts": 1}, **config),
        )  # fmt: skip

    async def parked(self, workflow: tether.Workflow[..., Any] = order) -> tuple[str, str]:
        """A new execution waiting on its activity's token; its id and that token."""
        self.counter[0] += 1
        execution_id = f"sfn-{self.counter[0]}"
        await self.env.engine.start_workflow(execution_id, workflow.name, json.dumps([f"o{self.counter[0]}"]))
        token = await TOKENS.get(f"{execution_id} 1")
        await self.env.wait_for_idle()
        return execution_id, token

    async def snapshot(self, execution_id: str) -> tuple[Any, ...]:
        return await self.env.engine.describe(execution_id), await self.env.engine.history(execution_id)


async def call(method: Callable[..., Any], **params: Any) -> Any:
    """A boto3 call, off the event loop that serves it."""
    return await asyncio.to_thread(method, **params)


def code_of(error: botocore.exceptions.ClientError) -> str:
    return str(error.response["Error"]["Code"])


@pytest_asyncio.fixture(
    scope="module", loop_scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def served(request: pytest.FixtureRequest) -> AsyncIterator[Served]:
    """A server on loopback with a worker, its virtual clock at the wall clock's time (signatures carry it)."""
    url = (
        await asyncio.to_thread(postgres_admin.create_database, POSTGRES_SERVER)
        if request.param == "postgres"
        else None
    )
    try:
        async with TestEnvironment(
            workflows=[order, quick_order, cancelling_order], activities=[approve, quick], transport="http", url=url,
            start=datetime.now(UTC),
        ) as env:  # fmt: skip
            info, _ = await env.engine.create_api_key("sdk", ["activities:write:sfn.*"])
            info, secret = await env.engine.give_sigv4_secret(info.key_id)
            assert env.server_url is not None
            yield Served(env, f"{env.server_url}/compat/sfn", info.key_id, secret, [0])
            assert await history_checker.check_store(env.engine.store) == []
    finally:
        if url is not None:
            await asyncio.to_thread(postgres_admin.drop_database, url, server_url=POSTGRES_SERVER, wait=False)


async def test_send_task_success_completes_the_activity_and_a_repeat_is_acknowledged(served: Served) -> None:
    execution_id, token = await served.parked()
    client = served.client()
    output = json.dumps({"by": "ana", "amount": 3})

    assert (await call(client.send_task_success, taskToken=token, output=output))["ResponseMetadata"][
        "HTTPStatusCode"
    ] == 200
    await served.env.wait_for_idle()
    done = await served.snapshot(execution_id)
    repeated = await call(client.send_task_success, taskToken=token, output=output)

    assert done[0].status is WorkflowStatus.COMPLETED
    assert done[0].result == f"{execution_id.replace('sfn-', 'o')} approved by ana for 3"
    assert repeated["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert await served.snapshot(execution_id) == done
    with pytest.raises(client.exceptions.TaskTimedOut, match="already closed"):
        await call(client.send_task_success, taskToken=token, output=json.dumps({"by": "bob", "amount": 1}))
    assert await served.snapshot(execution_id) == done


async def test_send_task_failure_fails_the_attempt_and_the_retry_completes_by_its_own_token(served: Served) -> None:
    execution_id, token = await served.parked()
    client = served.client()

    await call(client.send_task_failure, taskToken=token, error="CardDeclined", cause="the bank said no")
    await served.env.advance(timedelta(seconds=1))  # the retry's back-off
    retry_token = await TOKENS.get(f"{execution_id} 2")
    await served.env.wait_for_idle()
    before = await served.snapshot(execution_id)
    with pytest.raises(client.exceptions.TaskTimedOut, match="attempt 1"):
        await call(client.send_task_success, taskToken=token, output='{"by": "ana", "amount": 1}')
    assert await served.snapshot(execution_id) == before
    await call(client.send_task_success, taskToken=retry_token, output='{"by": "ana", "amount": 2}')
    await served.env.wait_for_idle()

    description, history = await served.snapshot(execution_id)
    failed = [e.data["failure"] for e in history if e.type == "ActivityAttemptFailed"]
    assert [(f["error"], f["message"], f["attempt"]) for f in failed] == [("CardDeclined", "the bank said no", 1)]
    assert description.status is WorkflowStatus.COMPLETED
    assert description.result.endswith("approved by ana for 2")


async def test_send_task_failure_without_an_error_name_fails_as_states_task_failed(served: Served) -> None:
    execution_id, token = await served.parked()

    await call(served.client().send_task_failure, taskToken=token)

    _, history = await served.snapshot(execution_id)
    assert [e.data["failure"]["error"] for e in history if e.type == "ActivityAttemptFailed"] == ["States.TaskFailed"]


async def test_send_task_heartbeat_records_a_heartbeat(served: Served) -> None:
    execution_id, token = await served.parked()
    await served.env.advance(timedelta(seconds=30))

    await call(served.client().send_task_heartbeat, taskToken=token)

    (activity,) = (await served.env.engine.describe(execution_id)).pending_activities
    assert activity.last_heartbeat_at == served.env.clock.now()


@pytest.mark.parametrize("operation", ["send_task_heartbeat", "send_task_success", "send_task_failure"])
async def test_a_call_after_cancellation_was_requested_answers_task_timed_out_and_records_it_cancelled(
    served: Served, operation: str
) -> None:
    execution_id, token = await served.parked(cancelling_order)
    await served.env.advance(timedelta(seconds=10))  # the workflow asks its activity to stop
    assert (await served.env.engine.describe(execution_id)).pending_activities[0].cancel_requested
    client = served.client()
    params = {"send_task_success": {"output": '{"by": "ana", "amount": 1}'}}.get(operation, {})

    with pytest.raises(client.exceptions.TaskTimedOut, match="cancellation was requested"):
        await call(getattr(client, operation), taskToken=token, **params)
    await served.env.wait_for_idle()

    description, history = await served.snapshot(execution_id)
    assert [e.type for e in history if e.type.startswith("Activity")][-2:] == [
        "ActivityCancelRequested",
        "ActivityCancelled",
    ]
    assert (description.status, description.result) == (WorkflowStatus.COMPLETED, "cancelled")


async def test_forged_altered_and_unknown_tokens_are_refused_and_change_nothing(served: Served) -> None:
    execution_id, token = await served.parked()
    gone_id, gone_token = await served.parked()
    await terminate(served.env.engine, gone_id)
    await served.env.engine.delete_workflow(gone_id)
    client = served.client()
    before = await served.snapshot(execution_id)
    altered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")

    for forged in (altered, "not-a-tether-token", token + "x"):
        with pytest.raises(client.exceptions.InvalidToken):
            await call(client.send_task_success, taskToken=forged, output="{}")
        with pytest.raises(client.exceptions.InvalidToken):
            await call(client.send_task_heartbeat, taskToken=forged)
    with pytest.raises(client.exceptions.TaskDoesNotExist):
        await call(client.send_task_failure, taskToken=gone_token, error="E")
    assert await served.snapshot(execution_id) == before


async def test_a_call_after_the_activity_deadline_answers_task_timed_out(served: Served) -> None:
    execution_id, token = await served.parked(quick_order)
    await served.env.advance(timedelta(minutes=5, seconds=1))
    before = await served.snapshot(execution_id)
    client = served.client()

    with pytest.raises(client.exceptions.TaskTimedOut):
        await call(client.send_task_success, taskToken=token, output='"late"')

    assert await served.snapshot(execution_id) == before
    assert before[0].status is WorkflowStatus.FAILED
    assert "ActivityTimedOut" in [e.type for e in before[1]]


@pytest.mark.parametrize(
    "output",
    ["not json", "{'by': 'ana'}", "NaN", '{"by": 3, "amount": 1}', '{"by": "ana"}', '"approved"'],
    ids=["text", "python", "nan", "wrong field type", "missing field", "wrong type"],
)
async def test_output_not_json_or_not_the_declared_type_is_invalid_output_and_changes_nothing(
    served: Served, output: str
) -> None:
    execution_id, token = await served.parked()
    before = await served.snapshot(execution_id)
    client = served.client()

    with pytest.raises(client.exceptions.InvalidOutput):
        await call(client.send_task_success, taskToken=token, output=output)

    assert await served.snapshot(execution_id) == before
    (activity,) = before[0].pending_activities
    assert activity.state is ActivityState.ASYNC


async def test_signatures_that_do_not_hold_are_refused_and_change_nothing(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    execution_id, token = await served.parked()
    plain, _ = await served.env.engine.create_api_key("no-sigv4", ["activities:write:*"])
    revoked, revoked_secret = await served.env.engine.give_sigv4_secret(
        (await served.env.engine.create_api_key("revoked", ["activities:write:*"]))[0].key_id
    )
    await served.env.engine.revoke_api_key(revoked.key_id)
    before = await served.snapshot(execution_id)
    refusals = {
        "wrong secret": (served.client(secret=_altered(served.secret)), "InvalidSignatureException"),
        "unknown key": (served.client(key_id="000000000000"), "UnrecognizedClientException"),
        "key without a sigv4 secret": (served.client(key_id=plain.key_id), "UnrecognizedClientException"),
        "revoked key": (served.client(key_id=revoked.key_id, secret=revoked_secret), "UnrecognizedClientException"),
    }
    for what, (client, code) in refusals.items():
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            await call(client.send_task_success, taskToken=token, output='{"by": "ana", "amount": 1}')
        assert code_of(refused.value) == code, what
    behind = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=16)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda **_: behind)  # a client whose clock is late
    with pytest.raises(botocore.exceptions.ClientError, match="Signature expired") as skewed:
        await call(served.client().send_task_heartbeat, taskToken=token)

    assert code_of(skewed.value) == "InvalidSignatureException"
    assert await served.snapshot(execution_id) == before


async def test_a_key_scoped_to_another_workflow_is_denied_and_changes_nothing(served: Served) -> None:
    execution_id, token = await served.parked()
    other, _ = await served.env.engine.create_api_key("billing", ["activities:write:billing.*", "workflows:read:*"])
    other, secret = await served.env.engine.give_sigv4_secret(other.key_id)
    before = await served.snapshot(execution_id)
    client = served.client(key_id=other.key_id, secret=secret)

    for method, params in (
        (client.send_task_success, {"output": '{"by": "ana", "amount": 1}'}),
        (client.send_task_failure, {"error": "E"}),
        (client.send_task_heartbeat, {}),
    ):
        with pytest.raises(botocore.exceptions.ClientError, match="activities:write") as denied:
            await call(method, taskToken=token, **params)
        assert code_of(denied.value) == "AccessDeniedException"
    assert await served.snapshot(execution_id) == before


async def test_malformed_input_and_other_operations_are_refused(served: Served) -> None:
    execution_id, token = await served.parked()
    before = await served.snapshot(execution_id)
    unchecked = served.client(parameter_validation=False)

    with pytest.raises(botocore.exceptions.ClientError, match="taskToken") as empty:
        await call(unchecked.send_task_heartbeat, taskToken="")
    with pytest.raises(botocore.exceptions.ClientError, match="'error'") as long_error:
        await call(unchecked.send_task_failure, taskToken=token, error="E" * 257)
    with pytest.raises(botocore.exceptions.ClientError, match="output") as too_large:
        await call(unchecked.send_task_success, taskToken=token, output=json.dumps("é" * 131072))
    with pytest.raises(botocore.exceptions.ClientError) as other:
        await call(unchecked.list_activities)

    async with httpx.AsyncClient() as http:
        for body in (b"not json", b"[1]"):
            headers, content = signed(served, body)
            reply = await http.post(served.endpoint + "/", headers=headers, content=content)
            assert (reply.status_code, reply.json()["__type"]) == (400, "SerializationException")

    assert [code_of(e.value) for e in (empty, long_error, too_large)] == ["ValidationException"] * 3
    assert code_of(other.value) == "UnknownOperationException"
    assert await served.snapshot(execution_id) == before


async def test_an_unsigned_request_is_refused(served: Served) -> None:
    execution_id, token = await served.parked()
    before = await served.snapshot(execution_id)

    curl = await asyncio.create_subprocess_exec(
        "curl", "-s", "-w", "\n%{http_code}", "-X", "POST", served.endpoint + "/",
        "-H", "Content-Type: application/x-amz-json-1.0", "-H", "X-Amz-Target: AWSStepFunctions.SendTaskSuccess",
        "-d", json.dumps({"taskToken": token, "output": '{"by": "ana", "amount": 1}'}),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await curl.communicate()
    body, status = out.decode().rsplit("\n", 1)

    assert status == "400"
    assert json.loads(body)["__type"] == "MissingAuthenticationTokenException"
    assert await served.snapshot(execution_id) == before


def signed(
    served: Served, body: dict[str, Any] | bytes, *, service: str = "states", sign_target: bool = True
) -> tuple[dict[str, str], bytes]:
    """Headers and body of a SendTaskHeartbeat signed by botocore's own signer, to alter afterwards."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    target = {"X-Amz-Target": "AWSStepFunctions.SendTaskHeartbeat"}
    request = botocore.awsrequest.AWSRequest(
        "POST", served.endpoint + "/", data=content,
        headers={"Content-Type": "application/x-amz-json-1.0", **(target if sign_target else {})},
    )  # fmt: skip
    credentials = botocore.credentials.Credentials(served.key_id, served.secret)
    botocore.auth.SigV4Auth(credentials, service, "eu-central-1").add_auth(request)
    return {**dict(request.headers.items()), **target}, content


async def test_a_signed_request_altered_in_transit_is_refused_and_changes_nothing(served: Served) -> None:
    execution_id, token = await served.parked()
    _, other_token = await served.parked()
    headers, content = signed(served, {"taskToken": token})
    other_body = json.dumps({"taskToken": other_token}).encode()
    altered = {
        "another body": (headers, other_body, "InvalidSignatureException"),
        "another target": (
            {**headers, "X-Amz-Target": "AWSStepFunctions.SendTaskFailure"},
            content,
            "InvalidSignatureException",
        ),
        "another service's signature": (*signed(served, {"taskToken": token}, service="lambda"), "InvalidSignature"),
        "the target not signed": (*signed(served, {"taskToken": token}, sign_target=False), "IncompleteSignature"),
        "no date": ({k: v for k, v in headers.items() if k != "X-Amz-Date"}, content, "IncompleteSignature"),
    }

    async with httpx.AsyncClient() as http:
        assert (await http.post(served.endpoint + "/", headers=headers, content=content)).status_code == 200
        before = await served.snapshot(execution_id)
        for what, (sent_headers, sent_body, code) in altered.items():
            reply = await http.post(served.endpoint + "/", headers=sent_headers, content=sent_body)
            assert reply.status_code == 400, what
            assert reply.json()["__type"].startswith(code), what
            assert reply.headers["content-type"] == "application/x-amz-json-1.0"

    assert await served.snapshot(execution_id) == before


async def test_the_sigv4_secret_is_kept_sealed_and_opens_only_for_its_own_key(served: Served) -> None:
    engine = served.env.engine
    execution_id, token = await served.parked()
    copy, _ = await engine.create_api_key("copy", ["activities:write:*"])
    copy, copy_secret = await engine.give_sigv4_secret(copy.key_id)
    row = await engine.store.read(lambda tx: tx.get_api_key(served.key_id))
    assert row is not None
    assert row.sigv4_secret is not None
    assert served.secret not in repr(row)
    sealed = row.sigv4_secret
    await engine.store.run(lambda tx: tx.set_api_key_sigv4(copy.key_id, sealed))  # another key's sealed secret
    before = await served.snapshot(execution_id)

    for secret in (served.secret, copy_secret):
        with pytest.raises(botocore.exceptions.ClientError, match="cannot be opened") as refused:
            await call(served.client(key_id=copy.key_id, secret=secret).send_task_heartbeat, taskToken=token)
        assert code_of(refused.value) == "UnrecognizedClientException"
    assert await served.snapshot(execution_id) == before


async def test_each_refused_call_is_logged_once_naming_the_key_by_name_and_id(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    execution_id, token = await served.parked()
    other, _ = await served.env.engine.create_api_key("billing-sdk", ["activities:write:billing.*"])
    other, secret = await served.env.engine.give_sigv4_secret(other.key_id)
    caplog.set_level(logging.WARNING, logger="tether.service.refusals")
    calls = {
        f"AccessDeniedException (key 'billing-sdk' ({other.key_id}))": served.client(
            key_id=other.key_id, secret=secret
        ),
        f"InvalidSignatureException (key not accepted (id {served.key_id}))": served.client(
            secret=_altered(served.secret)
        ),
    }
    for expected, client in calls.items():
        caplog.clear()
        with pytest.raises(botocore.exceptions.ClientError):
            await call(client.send_task_heartbeat, taskToken=token)
        logged = [r.getMessage() for r in caplog.records if r.name == "tether.service.refusals"]
        assert logged == [f"refused POST /compat/sfn: 400 {expected}"]
        assert not any(secret in m or served.secret in m for m in logged)
    assert (await served.env.engine.describe(execution_id)).status == "running"


def _altered(secret: str) -> str:
    """The secret with its first character changed (a fixed replacement would be the same one secret in 64)."""
    return ("y" if secret[0] == "x" else "x") + secret[1:]
