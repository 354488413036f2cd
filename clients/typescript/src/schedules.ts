/**
 * Schedules as the TypeScript client shows them, and the calls that make and change them
 * (`/v1/schedules`): the semantics are the Python client's (`tether.Client.create_schedule`, ...).
 */

import type { Call } from "./http.js";
import type { components, JsonValue } from "./schema.js";

type Schemas = components["schemas"];

/** What an occurrence does while the last execution still runs: skip it, start it when that one closes, or start it. */
export type Overlap = Schemas["Overlap"];
/** Which occurrences missed while no worker ran fire: the latest, all, or none. */
export type CatchUp = Schemas["CatchUp"];

/** How a schedule fires: its cron expression, and its policies. */
export interface ScheduleOptions {
  /** Five fields (`0 9 * * MON`), or six with seconds first. */
  cron: string;
  /** The IANA time zone the expression reads in (default UTC). */
  timezone?: string;
  /** Default `skip`. */
  overlap?: Overlap;
  /** Default `one`. */
  catchUp?: CatchUp;
  /** Make it paused (default false). */
  paused?: boolean;
}

/** One occurrence a schedule handled. */
export interface ScheduleFire {
  /** The time the cron expression named (the time of the trigger, for a trigger), ISO 8601. */
  nominalAt: string;
  /** When a worker handled it. */
  firedAt: string;
  /** `started`, `skipped` or `buffered`. */
  outcome: string;
  /** The execution it started, or would have started. */
  executionId: string | null;
  /** Started by {@link TetherClient.triggerSchedule} rather than by the cron expression. */
  manual: boolean;
}

/** A schedule: its definition, where it stands, and (described) its latest fires. */
export interface Schedule {
  scheduleId: string;
  workflow: string;
  args: unknown[];
  cron: string;
  timezone: string;
  overlap: Overlap;
  catchUp: CatchUp;
  paused: boolean;
  /** The next occurrence due (while paused: the one due when it was paused); null if the expression has no more. */
  nextFireAt: string | null;
  /** The execution it started last. */
  lastExecutionId: string | null;
  /** The occurrence held back until the last execution closes (`buffer_one`), if any. */
  bufferedAt: string | null;
  createdAt: string;
  updatedAt: string;
  /** The latest fires, newest first (a description fills it; listings leave it empty). */
  recent: ScheduleFire[];
}

/** The call that makes a schedule: not sent again once sent (a second would be refused as existing). */
export function createCall(
  id: string,
  workflow: string,
  args: JsonValue[],
  options: ScheduleOptions,
): Call {
  const body: Schemas["CreateSchedule"] = {
    id,
    workflow,
    args,
    cron: options.cron,
    timezone: options.timezone ?? "UTC",
    overlap: options.overlap ?? "skip",
    catch_up: options.catchUp ?? "one",
    paused: options.paused ?? false,
    check_known: true,
  };
  return { method: "POST", path: "/v1/schedules", body, repeatable: false };
}

/** The path of a schedule, or of an action on it: the id comes last and whole. */
export function path(id: string, action = ""): string {
  return `/v1/schedules/${action ? `${action}/` : ""}${encodeURIComponent(id)}`;
}

export function scheduleOf(info: Schemas["ScheduleInfo"]): Schedule {
  return {
    scheduleId: info.schedule_id,
    workflow: info.workflow,
    args: info.args,
    cron: info.cron,
    timezone: info.timezone,
    overlap: info.overlap,
    catchUp: info.catch_up,
    paused: info.paused,
    nextFireAt: info.next_fire_at,
    lastExecutionId: info.last_execution_id,
    bufferedAt: info.buffered_at,
    createdAt: info.created_at,
    updatedAt: info.updated_at,
    recent: (info.recent ?? []).map((fire) => ({
      nominalAt: fire.nominal_at,
      firedAt: fire.fired_at,
      outcome: fire.outcome,
      executionId: fire.execution_id,
      manual: fire.manual,
    })),
  };
}
