"""W6: messages into a running workflow. Send → the workflow's next step, sends at once, and request → reply.

W6 times ``client.send`` from its call to the moment the workflow has taken the message
and its next step has run. That step is observed through what it commits: the workflow
receives ``ping`` and at once calls an async activity (``bench.pinged``) that notes the time
it starts and hands it back in-process, as W2's parked activities hand over their tokens.
An attempt starts only after the transaction that took the message (``MessageReceived``),
scheduled the activity and started its attempt has committed, so the activity starting is
the earliest thing outside the workflow that can know the step ran and is durable.

Each send waits for the previous round to be over: the activity's completion and the
workflow's step back to ``receive`` must have committed, or the message would find the
workflow busy and wait for it. The benchmark leaves a settle time after each round (outside
what it measures) and checks afterwards, from the history, that each message was sent
while the workflow waited (the last event before its ``MessageSent`` is a
``WorkflowTaskCompleted``); rounds that found it busy are counted (``sent_while_busy``) and
left out of the percentiles. A first round, not counted, warms up (the workflow's first step,
the activity's first run).

W6 also sends ``n`` messages at once to one workflow that receives them all (sends
acknowledged per second, and messages received per second until its result); it answers a
request first, so that the clock starts with the workflow waiting. W6b times
``client.request`` → reply, one at a time, against a workflow that answers each request
with ``req.reply`` in the step that takes it (and waits for the next in the same step).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import tether
from bench.figures import RUN, percentile_ms

pings: asyncio.Queue[tuple[int, float]] = asyncio.Queue()

SETTLE_SECONDS = 0.005
"""The pause after each W6 round, so that the next message finds the workflow waiting again."""


@tether.activity(name="bench.pinged")
async def pinged(i: int) -> int:
    await pings.put((i, time.perf_counter()))
    return i


@tether.workflow(name="bench.pings")
async def ping_loop(n: int) -> int:
    total = 0
    for _ in range(n):
        ping: int = await tether.receive("ping")
        total += await pinged(ping)
    return total


@tether.workflow(name="bench.drain")
async def drain(n: int) -> int:
    ready = await tether.receive_request("ready")
    ready.reply(None)  # the caller learns that the workflow waits for messages
    total = 0
    for _ in range(n):
        total += await tether.receive("bulk")
    return total


@tether.workflow(name="bench.echo")
async def echo(n: int) -> int:
    for _ in range(n):
        request = await tether.receive_request("echo")
        request.reply(request.payload)
    return n


WORKFLOWS = [ping_loop, drain, echo]
ACTIVITIES = [pinged]


def _busy_rounds(history: list[tether.HistoryEvent]) -> set[int]:
    """The rounds whose message was sent while the workflow had a step to finish (not yet waiting)."""
    busy = set()
    for before, event in itertools.pairwise(history):
        if event.type == "MessageSent" and before.type != "WorkflowTaskCompleted":
            busy.add(int(event.data["payload"]))
    return busy


async def w6(client: tether.Client, rounds: int, n: int) -> dict[str, Any]:
    """Send → next step, one round at a time; n sends at once to one workflow; request → reply (W6b)."""
    ping_id = f"{RUN}-w6"
    handle = await client.start_workflow(ping_loop, rounds + 1, id=ping_id)
    to_step: dict[int, float] = {}
    send_call: list[float] = []
    for i in range(-1, rounds):  # round -1 warms up (the workflow's first step, the activity's first run)
        started = time.perf_counter()
        await client.send(ping_id, "ping", i)
        called = time.perf_counter()
        got, ran = await pings.get()
        assert got == i, (got, i)
        if i >= 0:
            send_call.append(called - started)
            to_step[i] = ran - started
        await asyncio.sleep(SETTLE_SECONDS)
    assert await handle.result() == rounds * (rounds - 1) // 2 - 1
    busy = _busy_rounds(await handle.history()) & to_step.keys()
    steps = [seconds for i, seconds in to_step.items() if i not in busy]

    bulk_id = f"{RUN}-w6-bulk"
    bulk = await client.start_workflow(drain, n, id=bulk_id)
    await client.request(bulk_id, "ready")
    began = time.perf_counter()
    await asyncio.gather(*(client.send(bulk_id, "bulk", 1) for _ in range(n)))
    sent = time.perf_counter() - began
    assert await bulk.result() == n
    received = time.perf_counter() - began
    return {
        "rounds": rounds,
        "sent_while_busy": len(busy),
        "send_to_step_p50_ms": percentile_ms(steps, 0.5),
        "send_to_step_p99_ms": percentile_ms(steps, 0.99),
        "send_call_p50_ms": percentile_ms(send_call, 0.5),
        "send_call_p99_ms": percentile_ms(send_call, 0.99),
        "n": n,
        "sends_per_s": round(n / sent, 1),
        "received_per_s": round(n / received, 1),
        **await _w6b(client, rounds),
    }


async def _w6b(client: tether.Client, rounds: int) -> dict[str, Any]:
    """Request → reply, one at a time."""
    echo_id = f"{RUN}-w6b"
    handle = await client.start_workflow(echo, rounds + 1, id=echo_id)
    assert await client.request(echo_id, "echo", -1) == -1  # warms up, as in W6
    latencies: list[float] = []
    began = time.perf_counter()
    for i in range(rounds):
        started = time.perf_counter()
        assert await client.request(echo_id, "echo", i) == i
        latencies.append(time.perf_counter() - started)
    elapsed = time.perf_counter() - began
    assert await handle.result() == rounds + 1
    return {
        "w6b_request_to_reply_p50_ms": percentile_ms(latencies, 0.5),
        "w6b_request_to_reply_p99_ms": percentile_ms(latencies, 0.99),
        "w6b_requests_per_s": round(rounds / elapsed, 1),
    }
