// Retries against a real tether server behind a loopback proxy that fails on purpose first.
// Needs TETHER_URL and TETHER_API_KEY (pytest's tests/clients start the server).

import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";

import { ServerUnreachable, StoreUnavailable, TetherClient, TetherError } from "@tether/client";

const upstream = process.env["TETHER_URL"]!;
const apiKey = process.env["TETHER_API_KEY"]!;
const quick = { retries: 3, baseDelayMs: 1, maxDelayMs: 5 };

type Trouble = "503" | "502" | "504" | "500" | "hang up" | "pass";

/** A proxy to the tether server that answers with `plan`'s trouble, one step per request, then passes. */
class Proxy {
  server: Server;
  plan: Trouble[] = [];
  seen: { method: string; path: string; authorization: string | undefined; trouble: Trouble }[] = [];

  constructor() {
    this.server = createServer((request, response) => void this.handle(request, response));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) {
      chunks.push(chunk as Buffer);
    }
    const trouble = this.plan.shift() ?? "pass";
    this.seen.push({ method: request.method!, path: request.url!, authorization: request.headers.authorization, trouble });
    if (trouble === "hang up") {
      request.socket.destroy(); // the request arrived whole; its answer never comes
      return;
    }
    if (trouble !== "pass") {
      const body = trouble === "503" ? JSON.stringify({ error: "store_unavailable", message: "down", details: {} }) : "";
      response.writeHead(Number(trouble), { "Content-Type": "application/json" }).end(body);
      return;
    }
    const headers: Record<string, string> = {};
    for (const name of ["authorization", "content-type", "accept"]) {
      const value = request.headers[name];
      if (typeof value === "string") {
        headers[name] = value;
      }
    }
    const body = chunks.length ? Buffer.concat(chunks) : undefined;
    const answer = await fetch(`${upstream}${request.url}`, { method: request.method!, headers, body });
    response.writeHead(answer.status, { "Content-Type": answer.headers.get("content-type") ?? "application/json" });
    response.end(Buffer.from(await answer.arrayBuffer()));
  }

  reset(plan: Trouble[]): void {
    this.plan = plan;
    this.seen = [];
  }
}

const proxy = new Proxy();

before(async () => {
  proxy.server.listen(0, "127.0.0.1");
  await once(proxy.server, "listening");
});

after(() => {
  proxy.server.close();
  proxy.server.closeAllConnections();
});

function client(retries: Partial<typeof quick> = quick): TetherClient {
  return new TetherClient({ baseUrl: proxy.url, apiKey, retries });
}

function newId(what: string): string {
  return `${what}-${crypto.randomUUID()}`;
}

test("503 and 504 answers are tried again until the server answers", async () => {
  proxy.reset(["503", "504", "503"]);
  const started = await client().startWorkflow("ts.greeter", ["Hello"], { id: newId("retried") });
  assert.equal(started.started, true);
  assert.deepEqual(proxy.seen.map((s) => s.trouble), ["503", "504", "503", "pass"]);
  assert.ok(proxy.seen.every((s) => s.authorization === `Bearer ${apiKey}`));
});

test("the tries are bounded: the last 503 is thrown as StoreUnavailable", async () => {
  proxy.reset(["503", "503", "503", "503", "503"]);
  await assert.rejects(client().result("anything", { wait: 0 }), (error: unknown) => {
    assert.ok(error instanceof StoreUnavailable);
    assert.equal(error.status, 503);
    return true;
  });
  assert.equal(proxy.seen.length, 4); // the first and three retries
});

test("other statuses are never tried again", async () => {
  proxy.reset(["500"]);
  await assert.rejects(client().result("anything", { wait: 0 }), (error: unknown) => {
    assert.ok(error instanceof TetherError);
    assert.equal(error.status, 500);
    return true;
  });
  assert.equal(proxy.seen.length, 1);
});

test("a send without a key is not sent again after a 502: a second could be a second message", async () => {
  const id = newId("unkeyed");
  await client().startWorkflow("ts.greeter", ["Hello"], { id });
  proxy.reset(["502"]);
  await assert.rejects(client().send(id, "name", "Ana"), StoreUnavailable);
  assert.equal(proxy.seen.length, 1);

  proxy.reset(["502"]); // with a key, a second send is the same message
  const sent = await client().send(id, "name", "Ana", { key: "ana" });
  assert.equal(sent.stored, true);
  assert.equal(proxy.seen.length, 2);
});

test("a connection that broke after a send without a key was sent: the outcome is unknown, not retried", async () => {
  const id = newId("broken");
  await client().startWorkflow("ts.greeter", ["Hello"], { id });
  proxy.reset(["hang up"]);
  await assert.rejects(client().send(id, "name", "Ana"), (error: unknown) => {
    assert.ok(error instanceof ServerUnreachable);
    assert.match(error.message, /may or may not have taken effect/);
    assert.equal(error.url, proxy.url);
    return true;
  });
  assert.equal(proxy.seen.length, 1);
});

test("a repeatable call is sent again after a broken connection", async () => {
  proxy.reset(["hang up", "hang up"]);
  const started = await client().startWorkflow("ts.greeter", ["Hello"], { id: newId("resent") });
  assert.equal(started.started, true);
  assert.equal(proxy.seen.length, 3);
});

test("a server nobody listens on is ServerUnreachable after the retries", async () => {
  const closed = createServer();
  closed.listen(0, "127.0.0.1");
  await once(closed, "listening");
  const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  closed.close();
  await once(closed, "close");
  const nowhere = new TetherClient({ baseUrl: url, retries: quick });
  // Refused before anything was sent: even a send without a key is tried again, then given up.
  await assert.rejects(nowhere.send("x", "name", "Ana"), (error: unknown) => {
    assert.ok(error instanceof ServerUnreachable);
    assert.match(error.message, /could not be reached \(ECONNREFUSED\)/);
    return true;
  });
});

test("schedules: a create, trigger or delete is not sent again after a 502; reads, pauses and unpauses are", async () => {
  const id = newId("ts-retried");
  proxy.reset(["502"]); // a second create would be refused as existing
  await assert.rejects(client().createSchedule(id, "ts.greeter", [], { cron: "0 9 1 1 *", paused: true }), StoreUnavailable);
  assert.equal(proxy.seen.length, 1);
  await client().createSchedule(id, "ts.greeter", [], { cron: "0 9 1 1 *", paused: true });

  for (const call of [
    () => client().pauseSchedule(id),
    () => client().unpauseSchedule(id),
    () => client().describeSchedule(id),
    () => client().listSchedules({ workflow: "ts.greeter" }),
    () => client().overdueActivities({ workflow: "ts.greeter" }),
  ]) {
    proxy.reset(["503", "502"]);
    await call();
    assert.deepEqual(proxy.seen.map((s) => s.trouble), ["503", "502", "pass"]);
  }

  proxy.reset(["502"]); // a second trigger would start a second execution
  await assert.rejects(client().triggerSchedule(id), StoreUnavailable);
  assert.equal(proxy.seen.length, 1);
  assert.deepEqual((await client().describeSchedule(id)).recent, []);

  proxy.reset(["502"]); // a second delete would be refused as not found
  await assert.rejects(client().deleteSchedule(id), StoreUnavailable);
  assert.equal(proxy.seen.length, 1);
  await client().deleteSchedule(id);
});

test("retries: 0 sends once", async () => {
  proxy.reset(["503"]);
  await assert.rejects(client({ ...quick, retries: 0 }).result("anything", { wait: 0 }), StoreUnavailable);
  assert.equal(proxy.seen.length, 1);
});
