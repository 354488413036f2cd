"""TestEnvironment, as users' own test suites use it."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

import tether
from tether.testing import TestEnvironment


@tether.workflow(name="te.sleeper")
async def te_sleeper(days: int) -> str:
    await tether.sleep(timedelta(days=days))
    return tether.now().isoformat()


def _store_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "tether-sqlite")


async def test_time_skips_to_the_timer_while_a_result_is_awaited() -> None:
    async with TestEnvironment(workflows=[te_sleeper]) as env:
        started = env.clock.now()
        handle = await env.client.start_workflow(te_sleeper, 3)

        finished = await handle.result()

        assert finished == (started + timedelta(days=3)).isoformat()


async def test_an_exception_in_the_body_propagates_unwrapped_and_releases_the_store() -> None:
    before = _store_threads()

    async def failing_test() -> None:
        async with TestEnvironment(workflows=[te_sleeper]) as env:
            await env.client.start_workflow(te_sleeper, 1)
            raise ValueError("the test failed")

    with pytest.raises(ValueError, match="the test failed"):
        await failing_test()

    assert _store_threads() == before


async def test_the_database_file_is_removed_after_use_unless_a_path_was_given() -> None:
    async with TestEnvironment(workflows=[te_sleeper]) as env:
        path = env.path
        assert path.exists()

    assert not path.exists()
