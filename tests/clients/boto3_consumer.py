"""The same queue consumer, written for AWS Step Functions' task tokens: only its endpoint names tether.

    TETHER_URL=http://127.0.0.1:8080 AWS_ACCESS_KEY_ID=<key id> AWS_SECRET_ACCESS_KEY=<SigV4 secret> \\
    REDIS_URL=redis://127.0.0.1:6379 QUEUE=jobs python -m tests.clients.boto3_consumer

Step Functions' API has no non-retryable failure and no cancellation report: a failure is
retried by the activity's policy, and a heartbeat after the workflow asked the activity to
stop answers TaskTimedOut (tether records the cancellation itself).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

import boto3
import redis

HEARTBEAT_EVERY = int(os.environ.get("HEARTBEAT_EVERY_MS", "1000")) / 1000

sfn = boto3.client(
    "stepfunctions",
    endpoint_url=os.environ["TETHER_URL"] + "/compat/sfn",
    region_name="us-east-1",  # any region; the key id and its SigV4 secret: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
)


def charge(job: dict[str, Any]) -> dict[str, Any]:
    amount = job.get("amount", 0)
    if amount <= 0:
        sfn.send_task_failure(taskToken=job["token"], error="InvalidAmount", cause=f"cannot charge {amount}")
        return {"did": "rejected"}
    if job["order"].startswith("flaky") and job["attempt"] == 1:
        sfn.send_task_failure(taskToken=job["token"], error="GatewayTimeout", cause="the payment gateway timed out")
        return {"did": "failed, to be retried"}
    sfn.send_task_success(taskToken=job["token"], output=json.dumps({"order": job["order"], "charged": amount}))
    return {"did": "completed"}


def export_rows(job: dict[str, Any]) -> dict[str, Any]:
    row = 0
    while True:
        try:
            sfn.send_task_heartbeat(taskToken=job["token"])
        except sfn.exceptions.TaskTimedOut:  # the workflow asked the activity to stop: tether recorded it cancelled
            return {"did": "cancelled", "row": row}
        if row == job["rows"]:
            sfn.send_task_success(taskToken=job["token"], output=json.dumps({"rows": row}))
            return {"did": "completed", "row": row}
        time.sleep(HEARTBEAT_EVERY)
        row += 1


TASKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {"charge": charge, "export": export_rows}


def main() -> None:
    queue = redis.Redis.from_url(os.environ["REDIS_URL"])
    while True:
        popped = queue.blpop([os.environ.get("QUEUE", "jobs")])
        assert popped is not None  # no timeout: blpop waits for a job
        job = json.loads(popped[1])
        if job["task"] == "stop":
            break
        try:
            outcome = TASKS[job["task"]](job)
        except (sfn.exceptions.TaskTimedOut, sfn.exceptions.TaskDoesNotExist) as exc:
            outcome = {"did": "skipped", "because": exc.response["Error"]["Code"]}
        print(json.dumps({"task": job["task"], "order": job.get("order"), "attempt": job["attempt"], **outcome}))


if __name__ == "__main__":
    main()
