/**
 * A queue consumer in TypeScript: it takes jobs that tether activities pushed onto a Redis list,
 * does the work, and finishes each activity by its token through the tether server.
 *
 *   TETHER_URL=http://127.0.0.1:8080 TETHER_API_KEY=... REDIS_URL=redis://127.0.0.1:6379 \
 *   QUEUE=jobs node build/examples/consumer.js
 *
 * A job is `{task, token, attempt, ...}`: `charge` completes (or fails) at once, `export` is
 * long-running work that heartbeats its progress and stops when the workflow cancels it.
 * The job `{"task": "stop"}` ends the consumer. Each finished job is logged as a JSON line.
 */

import { createClient } from "redis";

import { ActivityAlreadyClosed, StaleToken, TetherClient } from "@tether/client";

interface Job {
  task: string;
  token: string;
  attempt: number;
  order?: string;
  amount?: number;
  rows?: number;
}

const tether = new TetherClient({ baseUrl: required("TETHER_URL"), apiKey: process.env["TETHER_API_KEY"] });
const redis = await createClient({ url: required("REDIS_URL") }).connect();
const queue = process.env["QUEUE"] ?? "jobs";
const heartbeatEveryMs = Number(process.env["HEARTBEAT_EVERY_MS"] ?? 1000);

async function charge(job: Job): Promise<Record<string, unknown>> {
  const amount = job.amount ?? 0;
  if (amount <= 0) {
    // Retrying will not help: fail the activity for good.
    await tether.failActivity(job.token, {
      error: "InvalidAmount",
      message: `cannot charge ${amount}`,
      details: { amount },
      nonRetryable: true,
    });
    return { did: "rejected" };
  }
  if (job.order?.startsWith("flaky") && job.attempt === 1) {
    // A passing fault: tether retries the activity by its policy, with a new job and token.
    await tether.failActivity(job.token, { error: "GatewayTimeout", message: "the payment gateway timed out" });
    return { did: "failed, to be retried" };
  }
  const recorded = await tether.completeActivity(job.token, { order: job.order, charged: amount });
  return { did: "completed", recorded };
}

async function exportRows(job: Job): Promise<Record<string, unknown>> {
  const deadlines: (string | null)[] = [];
  for (let row = 0; ; row++) {
    // Each heartbeat keeps the attempt alive, stores its progress, and says whether to stop.
    const beat = await tether.heartbeatActivity(job.token, { row });
    deadlines.push(beat.nextDeadline);
    if (beat.cancelRequested) {
      await tether.reportActivityCancelled(job.token, { stoppedAt: row });
      return { did: "cancelled", row, deadlines: deadlines.slice(0, 2) };
    }
    if (row === job.rows) {
      await tether.completeActivity(job.token, { rows: row });
      return { did: "completed", row };
    }
    await new Promise((resolve) => setTimeout(resolve, heartbeatEveryMs));
  }
}

const tasks: Record<string, (job: Job) => Promise<Record<string, unknown>>> = { charge, export: exportRows };

for (;;) {
  const popped = await redis.blPop(queue, 0);
  if (popped === null) {
    continue;
  }
  const job = JSON.parse(popped.element) as Job;
  if (job.task === "stop") {
    break;
  }
  const run = tasks[job.task];
  let outcome: Record<string, unknown>;
  try {
    outcome = run ? await run(job) : { did: "unknown task" };
  } catch (error) {
    if (!(error instanceof StaleToken || error instanceof ActivityAlreadyClosed)) {
      throw error;
    }
    // Another consumer finished it, or the attempt timed out meanwhile: nothing left to do.
    outcome = { did: "skipped", because: error.code };
  }
  console.log(JSON.stringify({ task: job.task, order: job.order, attempt: job.attempt, ...outcome }));
}
await redis.quit();

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`set ${name}`);
  }
  return value;
}
