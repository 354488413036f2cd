// The client against a real tether server serving tests/clients/queue_app.py, whose activities push
// their jobs (with tokens) onto the Redis list QUEUE. Needs TETHER_URL, TETHER_API_KEY, REDIS_URL, QUEUE.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { createClient } from "redis";

import {
  ActivityAlreadyClosed,
  CancellationNotRequested,
  ExecutionClosed,
  ExecutionNotFound,
  InvalidToken,
  RequestRejected,
  StaleToken,
  TetherClient,
  TimeoutError,
  Unauthenticated,
  UnknownWorkflow,
  WorkflowFailed,
} from "@tether/client";

interface Job {
  task: string;
  token: string;
  activity_token: string;
  attempt: number;
}

const tether = new TetherClient({ baseUrl: process.env["TETHER_URL"]!, apiKey: process.env["TETHER_API_KEY"]! });
const redis = createClient({ url: process.env["REDIS_URL"]! });

before(async () => {
  await redis.connect();
});

after(async () => {
  await redis.quit();
});

async function nextJob(): Promise<Job> {
  const popped = await redis.blPop(process.env["QUEUE"]!, 20);
  assert.ok(popped, "no job on the queue within 20 s");
  return JSON.parse(popped.element) as Job;
}

function newId(what: string): string {
  return `${what}-${crypto.randomUUID()}`;
}

test("a start with an id starts one execution; again, it is the same one", async () => {
  const id = newId("greeter");
  assert.deepEqual(await tether.startWorkflow("ts.greeter", ["Hello"], { id }), {
    id,
    workflow: "ts.greeter",
    started: true,
  });
  assert.equal((await tether.startWorkflow("ts.greeter", ["Hello"], { id })).started, false);
});

test("messages, published values, requests and the result", async () => {
  const { id } = await tether.startWorkflow("ts.greeter", ["Hello"]);
  // Before the workflow takes requests: no answer within the wait, and the request stays.
  await assert.rejects(tether.request(id, "confirm", "early", { timeoutSeconds: 0.2 }), TimeoutError);

  const sent = await tether.send(id, "name", "Ana", { key: "name-1" });
  assert.deepEqual([sent.stored, sent.started, typeof sent.messageId], [true, false, "number"]);
  assert.equal((await tether.send(id, "name", "Ana", { key: "name-1" })).stored, false); // the same message

  const published = await tether.published(id, "greeting", { wait: 20 });
  assert.equal(published.value, "Hello, Ana!");
  assert.equal(published.version, 1);
  assert.ok(published.publishedAt);

  // The early request is answered first, in send order: rejected, as is this one.
  await assert.rejects(tether.request(id, "confirm", "maybe", { timeoutSeconds: 20 }), (error: unknown) => {
    assert.ok(error instanceof RequestRejected);
    assert.equal(error.reason, "'maybe' is not yes");
    assert.equal(error.status, 409);
    return true;
  });
  assert.equal(await tether.request(id, "confirm", "yes", { timeoutSeconds: 20 }), "confirmed for Ana");
  assert.equal(await tether.result(id, { wait: 20 }), "Hello, Ana!");

  await assert.rejects(tether.send(id, "name", "Bo"), (error: unknown) => {
    assert.ok(error instanceof ExecutionClosed);
    assert.equal(error.executionStatus, "completed");
    return true;
  });
});

test("send with start starts the execution and sends in one call", async () => {
  const id = newId("started-by-send");
  const sent = await tether.send(id, "name", "Bo", { start: { workflow: "ts.greeter", args: ["Hi"] } });
  assert.equal(sent.started, true);
  assert.equal((await tether.published(id, "greeting", { wait: 20 })).value, "Hi, Bo!");
});

test("a failed workflow's result throws WorkflowFailed naming the failure", async () => {
  const { id } = await tether.startWorkflow("ts.breaks", ["on purpose"]);
  await assert.rejects(tether.result(id, { wait: 20 }), (error: unknown) => {
    assert.ok(error instanceof WorkflowFailed);
    assert.equal(error.error, "ValueError");
    assert.equal(error.message, "on purpose");
    return true;
  });
});

test("refusals come back as their classes", async () => {
  await assert.rejects(tether.startWorkflow("ts.nothing"), (error: unknown) => {
    assert.ok(error instanceof UnknownWorkflow);
    assert.equal(error.status, 404);
    assert.equal(error.workflowName, "ts.nothing");
    return true;
  });
  await assert.rejects(tether.result("no-such-execution", { wait: 0 }), (error: unknown) => {
    assert.ok(error instanceof ExecutionNotFound);
    assert.equal(error.executionId, "no-such-execution");
    return true;
  });
  const keyless = new TetherClient({ baseUrl: process.env["TETHER_URL"]! });
  await assert.rejects(keyless.result("anything", { wait: 0 }), (error: unknown) => {
    assert.ok(error instanceof Unauthenticated);
    assert.equal(error.status, 401);
    return true;
  });
  await assert.rejects(tether.completeActivity("not-a-token", 1), (error: unknown) => {
    assert.ok(error instanceof InvalidToken);
    assert.equal(error.status, 400);
    return true;
  });
});

test("a completion repeated is acknowledged; other closes after it are refused with the final state", async () => {
  const { id } = await tether.startWorkflow("ts.checkout", ["T-1", 5]);
  const job = await nextJob();
  assert.equal(await tether.completeActivity(job.token, { order: "T-1", charged: 5 }), true);
  assert.equal(await tether.completeActivity(job.token, { order: "T-1", charged: 5 }), false);
  await assert.rejects(tether.failActivity(job.token, { error: "Late" }), (error: unknown) => {
    assert.ok(error instanceof ActivityAlreadyClosed);
    assert.equal(error.finalState, "completed");
    return true;
  });
  await assert.rejects(tether.heartbeatActivity(job.token, { late: true }), ActivityAlreadyClosed);
  assert.deepEqual(await tether.result(id, { wait: 20 }), { order: "T-1", charged: 5 });
});

test("after a retryable failure the old attempt's token is stale; the activity token reaches the new attempt", async () => {
  const { id } = await tether.startWorkflow("ts.checkout", ["T-2", 7]);
  const first = await nextJob();
  assert.equal(await tether.failActivity(first.token, { error: "GatewayTimeout", details: { try: 1 } }), true);
  const second = await nextJob();
  assert.equal(second.attempt, 2);

  await assert.rejects(tether.completeActivity(first.token, "too late"), (error: unknown) => {
    assert.ok(error instanceof StaleToken);
    assert.equal(error.tokenAttempt, 1);
    assert.equal(error.currentAttempt, 2);
    return true;
  });
  const info = await tether.describeActivity(second.token);
  assert.equal(info.executionId, id);
  assert.equal(info.name, "ts.charge");
  assert.equal(info.attempt, 2);
  assert.equal(info.tokenAttempt, 2);
  assert.equal(info.current, true);

  const beat = await tether.heartbeatActivity(second.token, { step: 1 });
  assert.deepEqual(beat, { cancelRequested: false, nextDeadline: null }); // ts.charge has no heartbeat timeout
  assert.equal((await tether.describeActivity(second.token)).heartbeatDetails?.constructor, Object);
  await assert.rejects(tether.reportActivityCancelled(second.token), CancellationNotRequested);

  assert.equal(await tether.completeActivity(second.activity_token, { order: "T-2", charged: 7 }), true);
  assert.deepEqual(await tether.result(id, { wait: 20 }), { order: "T-2", charged: 7 });
});
