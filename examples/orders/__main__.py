"""The order demo, end to end on an embedded SQLite store: ``python -m examples.orders`` (or ``bin/demo``).

It starts a worker in this process and a reviewer in another (``examples.orders.consumer``),
runs three orders and prints what happens: the reviewer's heartbeats reaching the engine,
one review failing and being retried from its checkpoint, a durable sleep, the results, and
the history of the order that was retried. Its files go to ``.tether/`` in the working
directory, recreated on every run.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tether
from examples.orders import workflows
from examples.orders.review_queue import ReviewQueue
from examples.orders.workflows import OrderSummary, fulfil_order

STATE_DIR = Path(".tether")
DB_URL = "sqlite:///.tether/demo.db"
QUEUE_PATH = STATE_DIR / "demo-queue.db"
ORDERS = [("A-1001", 120.00), ("A-1002", 35.50), ("A-1003", 990.00)]
FLAKY_ORDER = ORDERS[0][0]
"""The reviewer gives up on this order's first attempt, so its approval is retried."""
RESULT_TIMEOUT = 60.0
WATCH_SECONDS = 0.1
REPO_ROOT = Path(__file__).resolve().parents[2]

_started = time.monotonic()


def show(source: str, text: str) -> None:
    """Print one progress line, stamped with the seconds since the demo started."""
    print(f"{time.monotonic() - _started:5.1f}s  {source:<8}  {text}", flush=True)


def fresh_state() -> None:
    """Create .tether/ and remove the files of an earlier run."""
    STATE_DIR.mkdir(exist_ok=True)
    for name in ("demo.db", QUEUE_PATH.name):
        for suffix in ("", "-wal", "-shm"):
            (STATE_DIR / f"{name}{suffix}").unlink(missing_ok=True)


# the reviewer process


async def start_reviewer() -> asyncio.subprocess.Process:
    """Start the reviewer with its own tether client on the same store."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "examples.orders.consumer",
        DB_URL,
        str(QUEUE_PATH),
        "--fail-first-attempt-of",
        FLAKY_ORDER,
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )


async def relay(process: asyncio.subprocess.Process, ready: asyncio.Event) -> None:
    """Print the reviewer's lines as they come; set ``ready`` once it is serving."""
    assert process.stdout is not None
    async for raw in process.stdout:
        line = raw.decode(errors="replace").rstrip()
        if line.startswith("ready"):
            ready.set()
        show("reviewer", line)


async def stop_reviewer(process: asyncio.subprocess.Process) -> int:
    """Ask the reviewer to stop (SIGTERM) and wait for it; kill it if it hangs."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode


# watching progress through the client


def describe_activity(activity: tether.ActivityDescription) -> str:
    """One line about an open activity: state, attempt, and its last heartbeat, checkpoint or failure."""
    text = f"{activity.name:<17} attempt {activity.attempt}  {activity.state.value:<8}"
    details = activity.heartbeat_details
    note = details.get("note") if isinstance(details, dict) else None
    if activity.state == tether.ActivityState.BACKOFF and activity.last_failure:
        failure = activity.last_failure
        text += f" attempt {failure.get('attempt')} failed: {failure.get('error')} ({failure.get('message')})"
        retry_at = activity.deadlines.get("retry")
        if retry_at is not None:
            text += f", retry at {retry_at:%H:%M:%S} UTC"
    elif note and activity.last_heartbeat_at is not None:
        text += f" heartbeat: {note}"
    elif note:
        # No heartbeat from this attempt yet: the details are the earlier attempt's, its checkpoint.
        text += f" no heartbeat yet, checkpoint: {note}"
    return text.rstrip()


async def watch(client: tether.Client, order_ids: Sequence[str]) -> None:
    """Print each order's open activity whenever what the engine knows about it changes."""
    shown: dict[str, str] = {}
    open_ids = list(order_ids)
    while open_ids:
        for order_id in list(open_ids):
            description = await client.describe(order_id)
            if description.status != tether.WorkflowStatus.RUNNING:
                line = description.status.value
                open_ids.remove(order_id)
            elif description.pending_activities:
                line = "; ".join(describe_activity(a) for a in description.pending_activities)
            else:
                line = await waiting_line(client, order_id)
            if line and shown.get(order_id) != line:
                shown[order_id] = line
                show("tether", f"{order_id}  {line}")
        await asyncio.sleep(WATCH_SECONDS)


async def waiting_line(client: tether.Client, order_id: str) -> str:
    """What an order with no open activity waits for: its durable timer, if it started one."""
    events = [e for e in await client.history(order_id) if e.type != "WorkflowTaskCompleted"]
    if events and events[-1].type == "TimerStarted":
        due = datetime.fromtimestamp(events[-1].data["due_at_ms"] / 1000, UTC)
        return f"sleeping until {due:%H:%M:%S} UTC (a durable timer: it fires even if the worker restarts meanwhile)"
    return ""


# the compact history


def compact_history(events: Sequence[tether.HistoryEvent]) -> list[str]:
    """History lines for people: task markers left out, repeated events folded into one line."""
    names: dict[int, str] = {}
    rows: list[tuple[str, str, str, str]] = []
    counts: list[int] = []
    for event in events:
        if event.type == "WorkflowTaskCompleted":
            continue
        data = event.data
        if event.type == "ActivityScheduled":
            names[data["activity_id"]] = data["name"]
        subject = names.get(data["activity_id"], "") if "activity_id" in data else ""
        if "timer_id" in data:
            subject = f"timer #{data['timer_id']}"
        attempt = f"attempt {data['attempt']}" if "attempt" in data else ""
        row = (event.type, subject, attempt, _detail(event.type, data))
        if rows and rows[-1][:3] == row[:3] and event.type == "ActivityHeartbeat":
            rows[-1] = row
            counts[-1] += 1
            continue
        rows.append(row)
        counts.append(1)
    lines = []
    for (kind, subject, attempt, detail), count in zip(rows, counts, strict=True):
        times = f"x{count}" if count > 1 else ""
        lines.append(f"{kind:<24}{subject:<18}{attempt:<11}{times:<4}{detail}".rstrip())
    return lines


def _detail(kind: str, data: dict[str, Any]) -> str:
    if kind == "ActivityHeartbeat":
        return f"last: {json.dumps(data.get('details'))}"
    if kind in ("ActivityAttemptFailed", "ActivityFailed", "ActivityTimedOut"):
        failure = data.get("failure") or {}
        return f"{failure.get('error')}: {failure.get('message')}"
    return ""


def summary_line(summary: OrderSummary) -> str:
    """One line about a finished order."""
    return (
        f"completed: reserved {summary.reservation}, approved by {summary.approved_by} "
        f"({summary.approval_note!r}, {summary.review_updates_seen} progress updates seen), "
        f"charged {summary.receipt}, dispatched {summary.dispatched_at:%H:%M:%S} UTC"
    )


# the demo


async def run_orders(client: tether.Client, reviewer: asyncio.subprocess.Process) -> bool:
    """Start the orders, watch them, print their results; True if every one completed."""
    ready = asyncio.Event()
    async with asyncio.TaskGroup() as group:
        relaying = group.create_task(relay(reviewer, ready))
        await asyncio.wait_for(ready.wait(), 30)

        handles = []
        for order_id, amount in ORDERS:
            handles.append(await client.start_workflow(fulfil_order, order_id, amount, id=order_id))
            show("demo", f"started workflow fulfil_order({order_id!r}, {amount:.2f})")
        watcher = group.create_task(watch(client, [h.id for h in handles]))

        outcomes = await asyncio.wait_for(
            asyncio.gather(*(h.result() for h in handles), return_exceptions=True), RESULT_TIMEOUT
        )
        await watcher
        code = await stop_reviewer(reviewer)
        await relaying
        show("demo", f"reviewer stopped (exit code {code})")

    print("\nresults:")
    ok = True
    for handle, outcome in zip(handles, outcomes, strict=True):
        if isinstance(outcome, OrderSummary):
            print(f"  {handle.id}  {summary_line(outcome)}")
        else:
            ok = False
            print(f"  {handle.id}  did not complete: {type(outcome).__name__}: {outcome}")

    print(f"\nhistory of {FLAKY_ORDER} (workflow-task markers left out):")
    for line in compact_history(await client.history(FLAKY_ORDER)):
        print(f"  {line}")
    return ok


async def main() -> int:
    """Run the demo; the exit code is 0 when every order completed."""
    fresh_state()
    workflows.use_queue(ReviewQueue(QUEUE_PATH))
    show("demo", f"store {DB_URL}, review queue {QUEUE_PATH}")
    async with (
        await tether.Client.connect(DB_URL) as client,
        tether.Worker(
            client,
            workflows=[fulfil_order],
            activities=[workflows.reserve_stock, workflows.request_approval, workflows.charge_payment],
        ),
    ):
        show("demo", "worker running in this process")
        reviewer = await start_reviewer()
        show("demo", f"reviewer process started (pid {reviewer.pid})")
        try:
            ok = await run_orders(client, reviewer)
        finally:
            await stop_reviewer(reviewer)
    print("\nall orders completed" if ok else "\nsome orders did not complete")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
