// Error answers become the class of their code, with their facts read from `details`.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  ActivityAlreadyClosed,
  ActivityFailed,
  ActivityTimeout,
  ERROR_CLASSES,
  errorFromBody,
  ExecutionClosed,
  ExecutionFailure,
  ExecutionNotFound,
  ActivityNotFound,
  Refused,
  ServerUnreachable,
  StaleToken,
  StoreUnavailable,
  TetherError,
  UnknownWorkflow,
} from "@tether/client";

test("a stale_token answer is a StaleToken with both attempts, a Refused and a TetherError", () => {
  const error = errorFromBody(409, {
    error: "stale_token",
    message: "the token's attempt 1 is no longer current (attempt 2 is)",
    details: { token_attempt: 1, current_attempt: 2 },
  });
  assert.ok(error instanceof StaleToken);
  assert.ok(error instanceof Refused);
  assert.ok(error instanceof TetherError);
  assert.ok(error instanceof Error);
  assert.equal(error.name, "StaleToken");
  assert.equal(error.code, "stale_token");
  assert.equal(error.status, 409);
  assert.equal(error.message, "the token's attempt 1 is no longer current (attempt 2 is)");
  assert.equal(error.tokenAttempt, 1);
  assert.equal(error.currentAttempt, 2);
});

test("an activity_already_closed answer names the final state", () => {
  const error = errorFromBody(409, {
    error: "activity_already_closed",
    message: "closed",
    details: { final_state: "completed", execution_id: "order-1", activity_id: 3 },
  });
  assert.ok(error instanceof ActivityAlreadyClosed);
  assert.equal(error.finalState, "completed");
  assert.equal(error.executionId, "order-1");
  assert.equal(error.activityId, 3);
});

test("subclasses follow the Python tree", () => {
  assert.ok(new ActivityNotFound() instanceof ExecutionNotFound);
  assert.ok(new ActivityTimeout() instanceof ActivityFailed);
  assert.ok(new ActivityFailed() instanceof ExecutionFailure);
  assert.ok(new ServerUnreachable() instanceof StoreUnavailable);
});

test("facts that collide with Error's own names are read under other names", () => {
  const closed = errorFromBody(409, {
    error: "execution_closed",
    message: "closed",
    details: { execution_id: "x", status: "completed" },
  });
  assert.ok(closed instanceof ExecutionClosed);
  assert.equal(closed.status, 409);
  assert.equal(closed.executionStatus, "completed");
  const unknown = errorFromBody(404, { error: "unknown_workflow", message: "no", details: { name: "w" } });
  assert.ok(unknown instanceof UnknownWorkflow);
  assert.equal(unknown.name, "UnknownWorkflow");
  assert.equal(unknown.workflowName, "w");
});

test("missing or mistyped details read as empty values, never a throw", () => {
  const error = errorFromBody(409, { error: "stale_token", message: "stale", details: { current_attempt: "two" } });
  assert.ok(error instanceof StaleToken);
  assert.equal(error.currentAttempt, 0);
  assert.equal(error.tokenAttempt, 0);
  const bare = errorFromBody(409, { error: "activity_already_closed", message: "closed" });
  assert.ok(bare instanceof ActivityAlreadyClosed);
  assert.deepEqual(bare.details, {});
  assert.equal(bare.finalState, "");
});

test("a code this client does not know is a TetherError keeping the code and details", () => {
  const error = errorFromBody(409, { error: "something_newer", message: "new", details: { a: 1 } });
  assert.equal(error.constructor, TetherError);
  assert.equal(error.code, "something_newer");
  assert.deepEqual(error.details, { a: 1 });
});

test("an answer that is not an error body is StoreUnavailable for 5xx, TetherError otherwise", () => {
  const gateway = errorFromBody(502, "<html>bad gateway</html>");
  assert.ok(gateway instanceof StoreUnavailable);
  assert.equal(gateway.status, 502);
  const teapot = errorFromBody(418, null);
  assert.equal(teapot.constructor, TetherError);
  assert.equal(teapot.status, 418);
});

test("every class is in the map under its own code", () => {
  for (const [code, cls] of Object.entries(ERROR_CLASSES)) {
    assert.equal(cls.code, code);
    assert.equal(new cls().code, code);
    assert.equal(new cls().message, code); // the default message, when none is given
  }
  assert.equal(ERROR_CLASSES["tether_error"], TetherError);
});
