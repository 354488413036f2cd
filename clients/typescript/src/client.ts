/**
 * TetherClient: what a service in TypeScript does with a tether server — closes and heartbeats
 * activities by token, lists overdue activities, sends messages and requests, reads published
 * values, starts workflows and waits for their results, and manages schedules. The semantics are
 * the Python client's (`tether.Client` over HTTP).
 */

import {
  InvalidToken,
  NotPublished,
  TimeoutError,
  UsageError,
  WorkflowCancelled,
  WorkflowFailed,
  WorkflowTerminated,
  WorkflowTimedOut,
} from "./errors.js";
import { type Call, DEFAULT_RETRY, type Fetch, Http, type RetryOptions } from "./http.js";
import * as overdue from "./overdue.js";
import type { OverdueActivity, OverdueOptions } from "./overdue.js";
import * as schedules from "./schedules.js";
import type { Schedule, ScheduleOptions } from "./schedules.js";
import type {
  ActivityFailure,
  ActivityInfo,
  Heartbeat,
  MessageSent,
  Published,
  StartWith,
  Started,
} from "./records.js";
import type { components, JsonValue } from "./schema.js";

type Schemas = components["schemas"];

/** Where a server's longest single wait ends; longer waits ask again (the server's limit). */
const MAX_WAIT_SECONDS = 60;

export interface TetherClientOptions {
  /** The server, e.g. `http://tether:8080`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** How connection failures and 502/503/504 are tried again: a count of retries, or the whole policy. */
  retries?: number | Partial<RetryOptions>;
  /** A fetch to use instead of the global one (a Workers service binding's, say). */
  fetch?: Fetch;
}

export class TetherClient {
  readonly #http: Http;

  constructor(options: TetherClientOptions) {
    const given = options.retries;
    const retry = typeof given === "number" ? { ...DEFAULT_RETRY, retries: given } : { ...DEFAULT_RETRY, ...given };
    this.#http = new Http(options.baseUrl, options.apiKey, retry, options.fetch);
  }

  /** The server's URL, without a trailing slash. */
  get baseUrl(): string {
    return this.#http.baseUrl;
  }

  // ── activities, by token ──────────────────────────────────────────────────────────────────

  /**
   * Complete the activity a token names with its result; false if this same completion was recorded before.
   *
   * The token is an attempt's (`ctx.token`) or the activity's (`ctx.activity_token`). With
   * `activity` (its registered name), a token of another activity is refused (WrongActivity).
   *
   * @throws InvalidToken, StaleToken, ActivityAlreadyClosed (see `finalState`), WrongActivity, InvalidPayload
   */
  async completeActivity(token: string, result: unknown = null, options: { activity?: string } = {}): Promise<boolean> {
    const body: Schemas["CompleteActivity"] = { token: checked(token), result: json(result) };
    if (options.activity !== undefined) {
      body.activity = options.activity;
    }
    return recorded(await this.#call({ method: "POST", path: "/v1/activities/complete", body }));
  }

  /**
   * Fail the attempt a token names; it is retried by the activity's policy unless `nonRetryable`.
   * False if this same failure was recorded before.
   *
   * @throws InvalidToken, StaleToken, ActivityAlreadyClosed, InvalidPayload
   */
  async failActivity(token: string, failure: ActivityFailure): Promise<boolean> {
    const body: Schemas["FailActivity"] = {
      token: checked(token),
      error: failure.error,
      message: failure.message ?? "",
      details: json(failure.details),
      non_retryable: failure.nonRetryable ?? false,
    };
    return recorded(await this.#call({ method: "POST", path: "/v1/activities/fail", body }));
  }

  /**
   * Record a heartbeat; its details become the checkpoint a next attempt starts from.
   * The reply says whether cancellation was requested.
   *
   * @throws InvalidToken, StaleToken, ActivityAlreadyClosed, NoAttemptOpen, WrongActivity, InvalidPayload
   */
  async heartbeatActivity(token: string, details?: unknown, options: { activity?: string } = {}): Promise<Heartbeat> {
    const body: Schemas["HeartbeatActivity"] = { token: checked(token) };
    if (details !== undefined) {
      body.details = json(details);
    }
    if (options.activity !== undefined) {
      body.activity = options.activity;
    }
    const reply = (await this.#call({ method: "POST", path: "/v1/activities/heartbeat", body })) as
      Schemas["HeartbeatResponse"];
    return { cancelRequested: reply.cancel_requested, nextDeadline: reply.next_heartbeat_due ?? null };
  }

  /**
   * Acknowledge a requested cancellation; the workflow sees ActivityCancelled.
   * False if this same report was recorded before.
   *
   * @throws InvalidToken, StaleToken, CancellationNotRequested, ActivityAlreadyClosed
   */
  async reportActivityCancelled(token: string, details?: unknown): Promise<boolean> {
    const body: Schemas["ReportActivityCancelled"] = { token: checked(token) };
    if (details !== undefined) {
      body.details = json(details);
    }
    return recorded(await this.#call({ method: "POST", path: "/v1/activities/cancelled", body }));
  }

  /**
   * The activity a token names as it stands now: state, attempt, deadlines, last heartbeat, result schema.
   *
   * @throws InvalidToken, ExecutionNotFound, PermissionDenied
   */
  async describeActivity(token: string): Promise<ActivityInfo> {
    const body: Schemas["DescribeActivity"] = { token: checked(token) };
    const info = (await this.#call({ method: "POST", path: "/v1/activities/describe", body })) as
      Schemas["ActivityInfo"];
    return {
      executionId: info.execution_id,
      workflow: info.workflow,
      activityId: info.activity_id,
      name: info.name,
      state: info.state,
      attempt: info.attempt,
      tokenAttempt: info.token_attempt,
      current: info.current,
      cancelRequested: info.cancel_requested,
      lastHeartbeatAt: info.last_heartbeat_at,
      heartbeatDetails: info.heartbeat_details,
      deadlines: info.deadlines,
      resultSchema: info.result_schema,
    };
  }

  /**
   * Activities waiting for their token too long, or near a deadline, longest waiting first (the overdue view).
   *
   * Overdue: it waited since `make_async()` longer than its own `overdue_after`, or, declaring
   * none, than `waitingLongerThan` seconds (default a day); or its nearest deadline falls within
   * `dueWithin` seconds (default an hour). `reasons` says which. Only those of workflows the key
   * may read or write activities of; a listing longer than a page is read page by page.
   *
   * @throws UsageError (a limit, offset or duration out of range), InvalidPayload
   */
  async overdueActivities(options: OverdueOptions = {}): Promise<OverdueActivity[]> {
    const filters = overdue.filters(options);
    const { limit } = overdue.bounds(options);
    let { offset } = overdue.bounds(options);
    const items: OverdueActivity[] = [];
    for (;;) {
      const query = { ...filters, limit: Math.min(limit - items.length, overdue.MAX_PAGE), offset };
      const page = (await this.#call({ method: "GET", path: "/v1/activities/overdue", query })) as
        Schemas["OverduePage"];
      items.push(...page.items.map(overdue.overdueOf));
      if (page.next_offset === null || items.length >= limit) {
        return items;
      }
      offset = page.next_offset;
    }
  }

  // ── talking to executions ─────────────────────────────────────────────────────────────────

  /**
   * Send message `name` to an execution: durable at once, received once, in send order.
   *
   * The same `key` sent again is the same message (`stored` false), even after the execution
   * closed; with a key the call is also safe to send again after a broken connection, without
   * one it is not (ServerUnreachable then says the outcome is unknown). With `start`, the
   * execution is started first unless it exists, in the same transaction.
   *
   * @throws ExecutionNotFound, ExecutionClosed, MessageKeyReused, InvalidPayload, ExecutionIdTaken, PermissionDenied
   */
  async send(
    executionId: string,
    name: string,
    payload: unknown = null,
    options: { key?: string; start?: StartWith } = {},
  ): Promise<MessageSent> {
    const body: Schemas["SendMessage"] = { name, payload: json(payload), key: options.key ?? null };
    if (options.start !== undefined) {
      const start: Schemas["StartWith"] = {
        workflow: options.start.workflow,
        args: (options.start.args ?? []).map(json),
        check_known: true,
        priority: options.start.priority ?? 0,
      };
      if (options.start.timeout !== undefined) {
        start.timeout = options.start.timeout;
      }
      body.start = start;
    }
    const reply = (await this.#call({
      method: "POST",
      path: byId("messages", executionId),
      body,
      repeatable: options.key !== undefined,
    })) as Schemas["MessageSent"];
    return { messageId: reply.message_id, stored: reply.stored, started: reply.started ?? false };
  }

  /**
   * Send request `name` and return the workflow's reply (plain JSON; `T` only names its type, unchecked).
   *
   * The server holds each call up to a minute; the client asks again with the same key until
   * the reply comes or `timeoutSeconds` (counted in what the server waited) runs out. Without a
   * key one is made, so asking again is always the same request.
   *
   * @throws TimeoutError no answer in time (the request stays; a later reply is recorded)
   * @throws RequestRejected the workflow rejected it (`reason`)
   * @throws ExecutionClosed, ExecutionNotFound, MessageKeyReused, InvalidPayload, PermissionDenied
   */
  async request<T = unknown>(
    executionId: string,
    name: string,
    payload: unknown = null,
    options: { key?: string; timeoutSeconds?: number } = {},
  ): Promise<T> {
    const key = options.key ?? randomId();
    let left = seconds(options.timeoutSeconds, "timeoutSeconds");
    for (;;) {
      const wait = left === undefined ? MAX_WAIT_SECONDS : Math.min(left, MAX_WAIT_SECONDS);
      const body: Schemas["SendRequest"] = { name, payload: json(payload), key, wait };
      const outcome = (await this.#call({ method: "POST", path: byId("requests", executionId), body, wait })) as
        Schemas["RequestOutcome"];
      if (outcome.state === "replied") {
        return (outcome.reply ?? null) as T;
      }
      if (left !== undefined) {
        left -= outcome.waited; // by the server's clock, which decides when its waits end
        if (left <= 0) {
          throw new TimeoutError(`execution ${JSON.stringify(executionId)} did not answer request ${JSON.stringify(name)} in time`);
        }
      }
    }
  }

  /**
   * The last value an execution published as `name`, with its version.
   *
   * With `wait` (seconds), waits up to that long for a version newer than `after` (a first one
   * without `after`) and answers as soon as one is published; at the end of the wait the current
   * value comes back unchanged. Long waits are a series of calls of at most a minute each.
   *
   * @throws NotPublished no value of that name (when the wait, if any, ends)
   * @throws ExecutionNotFound, PermissionDenied, InvalidPayload
   */
  async published(executionId: string, name: string, options: { after?: number; wait?: number } = {}): Promise<Published> {
    const path = `/v1/published/${encodeURIComponent(name)}/${encodeURIComponent(executionId)}`;
    const after = options.after;
    let left = Math.round((seconds(options.wait, "wait") ?? 0) * 1000);
    for (;;) {
      const share = Math.min(left, MAX_WAIT_SECONDS * 1000);
      left -= share;
      let reply: Schemas["Published"];
      try {
        reply = (await this.#call({ method: "GET", path, query: { wait: share / 1000, after }, wait: share / 1000 })) as
          Schemas["Published"];
      } catch (error) {
        if (error instanceof NotPublished && left > 0) {
          continue;
        }
        throw error;
      }
      if (left <= 0 || after === undefined || reply.version > after) {
        return { value: reply.value, version: reply.version, publishedAt: reply.published_at ?? null };
      }
    }
  }

  // ── starting and awaiting ─────────────────────────────────────────────────────────────────

  /**
   * Start an execution of a workflow a worker registered, with positional arguments.
   *
   * `id` names the execution (a random one otherwise, made here so that a retried start is the
   * same start); starting the same id again returns it with `started` false. `timeout` (seconds,
   * or null for none) overrides the workflow's own. `priority` (default 0) orders its ready work
   * before that of lower priority; its activities, children and later runs inherit it.
   *
   * @throws UnknownWorkflow, ExecutionIdTaken, InvalidPayload, PermissionDenied
   */
  async startWorkflow(
    workflow: string,
    args: unknown[] = [],
    options: { id?: string; timeout?: number | null; priority?: number } = {},
  ): Promise<Started> {
    const body: Schemas["StartWorkflow"] = {
      workflow,
      args: args.map(json),
      id: options.id ?? randomId(),
      check_known: true,
      priority: options.priority ?? 0,
    };
    if (options.timeout !== undefined) {
      body.timeout = options.timeout;
    }
    const reply = (await this.#call({ method: "POST", path: "/v1/workflows", body })) as Schemas["Started"];
    return { id: reply.id, workflow: reply.workflow, started: reply.started };
  }

  /**
   * Wait for an execution to close and return its result (plain JSON; `T` only names its type, unchecked).
   *
   * `wait` bounds the wait in seconds (omitted: as long as it takes, a minute per call).
   *
   * @throws WorkflowFailed (`error`, `failureDetails`), WorkflowCancelled, WorkflowTerminated (`reason`), WorkflowTimedOut
   * @throws TimeoutError still running when `wait` ran out (the execution goes on)
   * @throws ExecutionNotFound, PermissionDenied
   */
  async result<T = unknown>(executionId: string, options: { wait?: number } = {}): Promise<T> {
    const wait = seconds(options.wait, "wait");
    const deadline = wait === undefined ? undefined : Date.now() + wait * 1000;
    let outcome: Schemas["Outcome"];
    for (;;) {
      const left = deadline === undefined ? MAX_WAIT_SECONDS : Math.max(0, deadline - Date.now()) / 1000;
      const share = Math.min(left, MAX_WAIT_SECONDS);
      outcome = (await this.#call({ method: "GET", path: byId("results", executionId), query: { wait: share }, wait: share })) as
        Schemas["Outcome"];
      if (outcome.status !== "running" || (deadline !== undefined && Date.now() >= deadline)) {
        break;
      }
    }
    const named = JSON.stringify(executionId);
    const error = outcome.error ?? {};
    switch (outcome.status) {
      case "running":
        throw new TimeoutError(`execution ${named} is still running`);
      case "cancelled":
        throw new WorkflowCancelled(`execution ${named} was cancelled`);
      case "terminated": {
        const reason = typeof error["message"] === "string" ? error["message"] : "";
        throw new WorkflowTerminated(`execution ${named} was terminated: ${reason}`, { details: { reason } });
      }
      case "timed_out":
        throw new WorkflowTimedOut(`execution ${named} passed its deadline`);
      case "failed": {
        const message = typeof error["message"] === "string" ? error["message"] : "";
        const details = { error: error["error"] ?? "WorkflowFailed", details: error["details"] ?? null };
        throw new WorkflowFailed(message, { details });
      }
      default:
        return (outcome.result ?? null) as T;
    }
  }

  // ── schedules ─────────────────────────────────────────────────────────────────────────────

  /**
   * Make schedule `id`: start `workflow` with `args` at every time `options.cron` names in `options.timezone`.
   *
   * Each occurrence starts execution `<id>-<UTC time>Z` once. Not sent again once it reached
   * the server (a second would be refused as existing): a broken connection then throws
   * ServerUnreachable saying the outcome is unknown; describe the schedule to see.
   *
   * @throws ScheduleAlreadyExists, InvalidPayload (cron, time zone, policy), UnknownWorkflow, PermissionDenied
   */
  async createSchedule(id: string, workflow: string, args: unknown[], options: ScheduleOptions): Promise<Schedule> {
    const reply = await this.#call(schedules.createCall(id, workflow, args.map(json), options));
    return schedules.scheduleOf(reply as Schemas["ScheduleInfo"]);
  }

  /** Every schedule (of `workflow` only, if given) the key may read, by id, with next fire times. */
  async listSchedules(options: { workflow?: string } = {}): Promise<Schedule[]> {
    const query = { workflow: options.workflow };
    const page = (await this.#call({ method: "GET", path: "/v1/schedules", query })) as Schemas["SchedulePage"];
    return page.items.map(schedules.scheduleOf);
  }

  /**
   * A schedule with its latest fires (`recent`, newest first).
   *
   * @throws ScheduleNotFound, PermissionDenied
   */
  async describeSchedule(id: string): Promise<Schedule> {
    return schedules.scheduleOf((await this.#call({ method: "GET", path: schedules.path(id) })) as Schemas["ScheduleInfo"]);
  }

  /**
   * Stop a schedule's occurrences until it is unpaused; pausing twice is one pause.
   *
   * @throws ScheduleNotFound, PermissionDenied
   */
  async pauseSchedule(id: string): Promise<Schedule> {
    const reply = await this.#call({ method: "POST", path: schedules.path(id, "pause") });
    return schedules.scheduleOf(reply as Schemas["ScheduleInfo"]);
  }

  /**
   * Resume a paused schedule from its first occurrence after now: nothing missed while paused fires.
   *
   * @throws ScheduleNotFound, PermissionDenied
   */
  async unpauseSchedule(id: string): Promise<Schedule> {
    const reply = await this.#call({ method: "POST", path: schedules.path(id, "unpause") });
    return schedules.scheduleOf(reply as Schemas["ScheduleInfo"]);
  }

  /**
   * Start the schedule's workflow now, whatever its cron expression, overlap policy or pause; the execution's id.
   *
   * Not sent again once it reached the server: a second would start a second execution.
   *
   * @throws ScheduleNotFound, PermissionDenied
   */
  async triggerSchedule(id: string): Promise<string> {
    const reply = await this.#call({ method: "POST", path: schedules.path(id, "trigger"), repeatable: false });
    return (reply as Schemas["ScheduleTriggered"]).execution_id;
  }

  /**
   * Delete a schedule: it starts nothing more; the executions it started stay.
   *
   * Not sent again once it reached the server (a second would be refused as not found).
   *
   * @throws ScheduleNotFound, PermissionDenied
   */
  async deleteSchedule(id: string): Promise<void> {
    await this.#call({ method: "DELETE", path: schedules.path(id), repeatable: false });
  }

  #call(call: Call): Promise<unknown> {
    return this.#http.call(call);
  }
}

/** A value the caller gives as JSON: sent as `JSON.stringify` writes it (`undefined` as null). */
function json(value: unknown): JsonValue {
  return (value ?? null) as JsonValue;
}

function checked(token: string): string {
  // Refused here as the server would refuse it, rather than as a malformed request body.
  if (typeof token !== "string" || !token) {
    throw new InvalidToken("the token is malformed");
  }
  return token;
}

function recorded(reply: unknown): boolean {
  return (reply as Schemas["Acknowledged"]).recorded === true;
}

function byId(collection: string, executionId: string): string {
  // The id comes last and whole ('/' included, as %2F): the server routes on what precedes it.
  return `/v1/${collection}/${encodeURIComponent(executionId)}`;
}

function seconds(value: number | undefined, what: string): number | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new UsageError(`${what} must be a number of seconds from 0`);
  }
  return value;
}

function randomId(): string {
  return globalThis.crypto.randomUUID().replaceAll("-", "");
}
