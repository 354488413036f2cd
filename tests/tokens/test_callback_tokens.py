"""Callback URLs as a test sees them: ``env.post_callback`` on either transport, their token's one spelling, and misuse.

``TestEnvironment.post_callback`` delivers a callback URL's POST as the third party would
(through the environment's server over HTTP, or to the engine); the refusals are those of
the server, raised as the same error classes.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import tether
from tests.helpers.activity_tests import Mailbox, advance, post, result_of, snapshot, token_body, with_body
from tests.tokens.test_token_spelling import CALLBACK_CLAIMS, CALLBACK_TOKEN, SECRET
from tether.errors import ActivityAlreadyClosed, CallbackExpired, InvalidPayload, InvalidToken, StaleToken, UsageError
from tether.model import callback_tokens, tokens
from tether.testing import TestEnvironment


@tether.activity(retry=tether.RetryPolicy(max_attempts=3, initial_interval=timedelta(seconds=1)))
async def ct_charge(order: str, expires: float | None) -> int:
    ctx = tether.context()
    post({"attempt": ctx.attempt, "complete": ctx.callback_url(expires=expires), "fail": ctx.callback_url("fail")})
    return tether.make_async()


@tether.workflow
async def ct_order(order: str, expires: float | None = None) -> int:
    return await ct_charge(order, expires) * 2


@tether.activity
def ct_charge_in_a_thread(order: str) -> int:
    post({"complete": tether.context().callback_url()})  # a sync activity: on a worker thread
    return tether.make_async()


@tether.workflow
async def ct_order_in_a_thread(order: str) -> int:
    return await ct_charge_in_a_thread(order) * 2


def environment(**options: Any) -> TestEnvironment:
    return TestEnvironment(
        workflows=[ct_order, ct_order_in_a_thread], activities=[ct_charge, ct_charge_in_a_thread], **options
    )


async def waiting(env: TestEnvironment, expires: float | None = None) -> tuple[Mailbox, Any, dict[str, Any]]:
    box = Mailbox()
    handle = await env.client.start_workflow(ct_order, "o", expires, id=box.id)
    urls = await box.get()
    assert isinstance(urls, dict)
    await env.wait_for_idle()
    return box, handle, urls


async def test_post_callback_completes_the_activity_and_a_repeat_is_not_recorded() -> None:
    async with environment() as env:
        _, handle, urls = await waiting(env)
        base = env.server_url if env.transport == "http" else "http://tether.test"
        assert urls["complete"].startswith(f"{base}/v1/callbacks/complete/")

        assert await env.post_callback(urls["complete"], 21) is True
        assert await env.post_callback(urls["complete"], 21) is False
        assert await result_of(handle) == 42
        with pytest.raises(ActivityAlreadyClosed):
            await env.post_callback(urls["fail"], {"error": "Declined"})


async def test_a_sync_activity_makes_callback_urls_on_its_thread() -> None:
    async with environment() as env:
        box = Mailbox()
        handle = await env.client.start_workflow(ct_order_in_a_thread, "o", id=box.id)
        urls = await box.get()
        assert isinstance(urls, dict)

        assert await env.post_callback(urls["complete"], 4) is True
        assert await result_of(handle) == 8


async def test_post_callback_fails_the_attempt_and_the_retry_gets_urls_of_its_own() -> None:
    async with environment() as env:
        box, handle, urls = await waiting(env)

        assert await env.post_callback(urls["fail"], {"error": "Busy", "message": "try later"}) is True
        await advance(env, timedelta(seconds=1))
        second = await box.get()
        assert isinstance(second, dict)
        with pytest.raises(StaleToken):
            await env.post_callback(urls["complete"], 1)
        assert await env.post_callback(second["complete"], 5) is True
        assert await result_of(handle) == 10


async def test_an_expired_url_raises_callback_expired_on_the_virtual_clock_and_changes_nothing() -> None:
    async with environment() as env:
        box, _, urls = await waiting(env, expires=timedelta(days=7).total_seconds())
        await advance(env, timedelta(days=7))
        before = await snapshot(env.client, box.id)

        with pytest.raises(CallbackExpired) as expired:
            await env.post_callback(urls["complete"], 21)

        assert expired.value.expired_at == env.clock.now().isoformat()
        assert await snapshot(env.client, box.id) == before


@pytest.mark.parametrize(
    "alter",
    [
        lambda url: url.replace("/complete/", "/fail/"),
        lambda url: url[:-1],
        lambda url: f"{url.rpartition('/')[0]}/{with_body(url.rpartition('/')[2], _attempt_2(url))}",
        lambda url: "https://tether.test/not/a/callback",
    ],
    ids=["other action", "truncated", "attempt altered", "not a callback URL"],
)
async def test_an_altered_url_raises_invalid_token_and_changes_nothing(alter: Any) -> None:
    async with environment() as env:
        box, _, urls = await waiting(env)
        before = await snapshot(env.client, box.id)

        with pytest.raises(InvalidToken):
            await env.post_callback(
                alter(urls["complete"]), {"error": "X"} if "/fail/" in alter(urls["complete"]) else 1
            )

        assert await snapshot(env.client, box.id) == before


def _attempt_2(url: str) -> Any:
    body = token_body(url.rpartition("/")[2])
    body[5] = 2
    return body


async def test_a_result_of_the_wrong_type_raises_invalid_payload_and_changes_nothing() -> None:
    async with environment() as env:
        box, _, urls = await waiting(env)
        before = await snapshot(env.client, box.id)

        with pytest.raises(InvalidPayload):
            await env.post_callback(urls["complete"], "twenty-one")
        with pytest.raises(InvalidPayload):
            await env.post_callback(urls["fail"], {"message": "no error type"})

        assert await snapshot(env.client, box.id) == before


@tether.activity
async def ct_misuse(case: str) -> str:
    ctx = tether.context()
    try:
        if case == "action":
            ctx.callback_url("heartbeat")  # type: ignore[arg-type]  # the misuse under test
        elif case == "expires":
            ctx.callback_url(expires=timedelta(0))
        else:
            ctx.callback_url()
    except UsageError as exc:
        return str(exc)
    return "no error"


@tether.workflow
async def ct_misuse_run(case: str) -> str:
    return await ct_misuse(case)


@pytest.mark.parametrize(
    ("case", "says"),
    [("action", 'must be "complete" or "fail"'), ("expires", "positive duration")],
)
async def test_callback_url_refuses_an_unknown_action_and_a_non_positive_expiry(case: str, says: str) -> None:
    async with TestEnvironment(workflows=[ct_misuse_run], activities=[ct_misuse]) as env:
        handle = await env.client.start_workflow(ct_misuse_run, case)
        assert says in await result_of(handle)


@pytest.mark.single_backend
async def test_a_worker_without_a_public_url_refuses_to_make_callback_urls(tmp_path: Path) -> None:
    async with await tether.Client.connect(f"sqlite:///{tmp_path / 't.db'}") as client:
        async with tether.Worker(client, workflows=[ct_misuse_run], activities=[ct_misuse]):
            handle = await client.start_workflow(ct_misuse_run, "no public url")
            said = await handle.result(timeout=10)
        assert "public base URL" in said
        assert "--public-url" in said
        with pytest.raises(UsageError):
            tether.Worker(client, activities=[ct_misuse], public_url="tether.example.com")


@pytest.mark.single_backend
def test_a_callback_token_verifies_to_what_was_signed() -> None:
    assert callback_tokens.verify(CALLBACK_TOKEN, {1: SECRET}) == CALLBACK_CLAIMS
    assert callback_tokens.key_id_of(CALLBACK_TOKEN) == 1


@pytest.mark.single_backend
def test_no_signature_of_one_kind_of_token_is_one_of_the_other() -> None:
    activity_token = tokens.sign(CALLBACK_CLAIMS.attempt_claims, 1, SECRET)
    with pytest.raises(InvalidToken):
        callback_tokens.verify(activity_token, {1: SECRET})
    with pytest.raises(InvalidToken):
        tokens.verify(CALLBACK_TOKEN, {1: SECRET})
    # Even a body of the other shape under a signature made the activity token's way is refused.
    body = CALLBACK_TOKEN.split(".")[0]
    same_mac = f"{body}.{tokens.b64(tokens.mac(SECRET, body.encode()))}"
    with pytest.raises(InvalidToken):
        callback_tokens.verify(same_mac, {1: SECRET})
