"""The reviewer: a separate process that takes review requests from the queue and answers them by token.

Usage: ``python -m examples.orders.consumer <db_url> <queue_path> [--fail-first-attempt-of ORDER_ID]``

It holds no workflow state; all it has is a token per request and its own tether client
on the same store. While it reviews it heartbeats with its progress; for the order named
by ``--fail-first-attempt-of`` it gives up once half-way (``ReviewerUnavailable``), so the
activity is retried and the next attempt resumes from the last heartbeat. SIGTERM stops it
after the reviews under way.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from typing import Any

import tether
from examples.orders.review_queue import Message, ReviewQueue
from examples.orders.workflows import Approval

STEPS = 3
STEP_SECONDS = 0.3
POLL_SECONDS = 0.05


def say(text: str) -> None:
    """One line of output; the demo prefixes it as the reviewer's."""
    print(text, flush=True)


class Reviewer:
    """Answers review requests with a tether client."""

    def __init__(self, client: tether.Client, queue: ReviewQueue, fail_first_attempt_of: str | None) -> None:
        self._client = client
        self._queue = queue
        self._flaky = fail_first_attempt_of

    async def serve(self, stop: asyncio.Event) -> None:
        """Claim messages until ``stop`` is set; each review runs concurrently with the others."""
        async with asyncio.TaskGroup() as group:
            while not stop.is_set():
                message = await asyncio.to_thread(self._queue.claim)
                if message is None:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), POLL_SECONDS)
                    continue
                group.create_task(self._handle(message))

    async def _handle(self, message: Message) -> None:
        try:
            await self._review(message.body)
        except (tether.errors.StaleToken, tether.errors.ActivityAlreadyClosed) as exc:
            # The attempt ended without us (it timed out, or another reviewer answered):
            # the engine has decided, and a retry, if any, brings its own token.
            say(f"{message.body['order_id']}: dropped, {type(exc).__name__}: {exc}")
        except tether.errors.TetherError as exc:
            # Not acknowledged: the message comes back when its lease runs out.
            say(f"{message.body['order_id']}: left for later, {type(exc).__name__}: {exc}")
            return
        await asyncio.to_thread(self._queue.ack, message.id)

    async def _review(self, body: dict[str, Any]) -> None:
        token: str = body["token"]
        order_id: str = body["order_id"]
        attempt: int = body["attempt"]
        checkpoint = body.get("checkpoint") or {}
        done = int(checkpoint.get("step", 0))
        if done:
            say(f"{order_id} attempt {attempt}: resuming after step {done} (checkpoint from the last heartbeat)")
        for step in range(done + 1, STEPS + 1):
            await asyncio.sleep(STEP_SECONDS)
            reply = await self._client.heartbeat_activity(
                token, {"step": step, "of": STEPS, "note": f"reviewing step {step} of {STEPS}"}
            )
            say(f"{order_id} attempt {attempt}: reviewing step {step} of {STEPS} (heartbeat sent)")
            if reply.cancel_requested:
                await self._client.report_activity_cancelled(token, {"step": step})
                say(f"{order_id} attempt {attempt}: cancelled by the workflow")
                return
            if order_id == self._flaky and attempt == 1 and step == 2:
                await self._client.fail_activity(
                    token,
                    error="ReviewerUnavailable",
                    message="the reviewer was called away",
                    details={"step": step},
                )
                say(f"{order_id} attempt {attempt}: failed with ReviewerUnavailable after step {step}")
                return
        await self._client.complete_activity(token, Approval(by="ana", note=f"approved {order_id} in {STEPS} steps"))
        say(f"{order_id} attempt {attempt}: approved")


async def main(db_url: str, queue_path: str, fail_first_attempt_of: str | None) -> None:
    """Serve review requests until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows' event loop
            loop.add_signal_handler(signum, stop.set)
    async with await tether.Client.connect(db_url) as client:
        say(f"ready: reading {queue_path}")
        await Reviewer(client, ReviewQueue(queue_path), fail_first_attempt_of).serve(stop)
    say("stopped")


def run() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(prog="python -m examples.orders.consumer", description=__doc__)
    parser.add_argument("db_url", help="the tether store, e.g. sqlite:///.tether/demo.db")
    parser.add_argument("queue_path", help="the SQLite file of the review queue")
    parser.add_argument("--fail-first-attempt-of", metavar="ORDER_ID", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.db_url, args.queue_path, args.fail_first_attempt_of))


if __name__ == "__main__":
    run()
