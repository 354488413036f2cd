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
  InvalidPayload,
  InvalidToken,
  type OverdueActivity,
  RequestRejected,
  ScheduleAlreadyExists,
  ScheduleNotFound,
  StaleToken,
  TetherClient,
  TimeoutError,
  UsageError,
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

/** Ask again until `check` holds of the answer: the server records an attempt as waiting just after its job is queued. */
async function eventually<T>(ask: () => Promise<T>, check: (answer: T) => boolean): Promise<T> {
  const deadline = Date.now() + 20_000; // a hang guard, not a timing
  for (;;) {
    const answer = await ask();
    if (check(answer)) {
      return answer;
    }
    assert.ok(Date.now() < deadline, "the condition did not hold within the hang guard");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test("the overdue view lists activities waiting for their token, by workflow and name, a page at a time", async () => {
  const orders = [newId("T-late"), newId("T-late")];
  const ids: string[] = [];
  const jobs: Job[] = [];
  for (const order of orders) {
    ids.push((await tether.startWorkflow("ts.checkout", [order, 3])).id);
    jobs.push(await nextJob());
  }
  const ours = (items: OverdueActivity[]) => items.filter((item) => ids.includes(item.executionId));
  const listed = await eventually(
    () => tether.overdueActivities({ waitingLongerThan: 0.001, dueWithin: null, workflow: "ts.checkout" }),
    (items) => ours(items).length === 2,
  );
  for (const item of ours(listed)) {
    assert.equal(item.name, "ts.charge");
    assert.equal(item.workflow, "ts.checkout");
    assert.equal(item.attempt, 1);
    assert.deepEqual(item.reasons, ["waiting"]);
    assert.equal(item.overdueAfterMs, 1);
    assert.equal(item.ownOverdueAfter, false);
    assert.ok(item.waitedMs >= 1);
    assert.ok(!Number.isNaN(Date.parse(item.waitingSince)));
  }
  const everyOne = listed.length;
  const oneByOne: OverdueActivity[] = [];
  for (let offset = 0; offset < everyOne; offset++) {
    oneByOne.push(...(await tether.overdueActivities({ waitingLongerThan: 0.001, dueWithin: null, workflow: "ts.checkout", limit: 1, offset })));
  }
  assert.deepEqual(ours(oneByOne).map((item) => item.executionId).sort(), [...ids].sort());
  assert.deepEqual(await tether.overdueActivities({ waitingLongerThan: 0.001, name: "ts.nothing" }), []);
  // The defaults (a day's wait, an hour to a deadline): not overdue yet.
  assert.deepEqual(ours(await tether.overdueActivities()), []);
  await assert.rejects(tether.overdueActivities({ limit: 0 }), UsageError);
  await assert.rejects(tether.overdueActivities({ dueWithin: -1 }), UsageError);

  for (const [i, job] of jobs.entries()) {
    assert.equal(await tether.completeActivity(job.token, { order: orders[i], charged: 3 }), true);
  }
  assert.deepEqual(ours(await tether.overdueActivities({ waitingLongerThan: 0.001, dueWithin: null })), []);
});

test("schedules: made, listed, described, paused, unpaused, triggered and deleted", async () => {
  const id = newId("ts-greetings");
  const made = await tether.createSchedule(id, "ts.greeter", ["Hey"], { cron: "0 9 1 1 *", timezone: "Europe/Berlin", paused: true });
  assert.equal(made.scheduleId, id);
  assert.equal(made.workflow, "ts.greeter");
  assert.deepEqual(made.args, ["Hey"]);
  assert.deepEqual([made.cron, made.timezone, made.overlap, made.catchUp, made.paused], ["0 9 1 1 *", "Europe/Berlin", "skip", "one", true]);
  assert.match(made.nextFireAt ?? "", /-01-01T08:00:00/); // 09:00 in Berlin, in winter
  assert.deepEqual(made.recent, []);

  await assert.rejects(tether.createSchedule(id, "ts.greeter", [], { cron: "0 9 * * *" }), (error: unknown) => {
    assert.ok(error instanceof ScheduleAlreadyExists);
    assert.equal(error.status, 409);
    assert.equal(error.scheduleId, id);
    return true;
  });
  await assert.rejects(tether.createSchedule(newId("ts-bad"), "ts.greeter", [], { cron: "every day" }), (error: unknown) => {
    assert.ok(error instanceof InvalidPayload);
    assert.equal(error.status, 422);
    return true;
  });
  assert.ok((await tether.listSchedules({ workflow: "ts.greeter" })).some((s) => s.scheduleId === id));
  assert.ok(!(await tether.listSchedules({ workflow: "ts.checkout" })).some((s) => s.scheduleId === id));

  assert.equal((await tether.unpauseSchedule(id)).paused, false);
  assert.equal((await tether.pauseSchedule(id)).paused, true);
  assert.equal((await tether.pauseSchedule(id)).paused, true); // pausing twice is one pause

  const executionId = await tether.triggerSchedule(id); // paused or not
  assert.ok(executionId.startsWith(`${id}-`));
  await tether.send(executionId, "name", "Cy");
  assert.equal((await tether.published(executionId, "greeting", { wait: 20 })).value, "Hey, Cy!");
  const described = await tether.describeSchedule(id);
  assert.equal(described.lastExecutionId, executionId);
  assert.deepEqual(described.recent.map((fire) => [fire.outcome, fire.executionId, fire.manual]), [["started", executionId, true]]);

  await tether.deleteSchedule(id);
  await assert.rejects(tether.describeSchedule(id), (error: unknown) => {
    assert.ok(error instanceof ScheduleNotFound);
    assert.equal(error.status, 404);
    assert.equal(error.scheduleId, id);
    return true;
  });
  await assert.rejects(tether.deleteSchedule(id), ScheduleNotFound);
  await assert.rejects(tether.triggerSchedule(id), ScheduleNotFound);
});
