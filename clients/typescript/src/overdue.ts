/**
 * The overdue view as the TypeScript client reads it (`GET /v1/activities/overdue`): activities
 * waiting for their token too long, or near a deadline; the semantics are the Python client's
 * (`tether.Client.overdue_activities`).
 */

import { UsageError } from "./errors.js";
import type { components } from "./schema.js";

type Schemas = components["schemas"];

/** The most items one page holds (the server's limit); longer listings are read page by page. */
export const MAX_PAGE = 1000;
/** The waiting age limit of activities that declare none, unless a call gives another: a day. */
const DEFAULT_WAITING_LONGER_THAN = 86_400;
/** How near a deadline lists an activity, unless a call says otherwise: an hour. */
const DEFAULT_DUE_WITHIN = 3_600;

/** Which activities the overdue view lists. */
export interface OverdueOptions {
  /**
   * Seconds: the waiting age limit of activities that declare no `overdue_after` (default a day);
   * null lists only those past their own.
   */
  waitingLongerThan?: number | null;
  /** Seconds: how near a deadline lists an activity (default an hour); null: deadlines do not count. */
  dueWithin?: number | null;
  /** Only those of executions of this workflow. */
  workflow?: string;
  /** Only those of this activity name. */
  name?: string;
  /** At most this many (default 100). */
  limit?: number;
  /** Skip this many first (default 0): the next page starts at `offset + limit`. */
  offset?: number;
}

/** An activity waiting for its token too long, or close to a deadline. */
export interface OverdueActivity {
  executionId: string;
  workflow: string;
  activityId: number;
  name: string;
  attempt: number;
  /** When its current attempt went async (began to wait for its token), ISO 8601. */
  waitingSince: string;
  /** How long it has waited, by the server's clock when it was listed. */
  waitedMs: number;
  /** The waiting age it is held to: its own, else the view's; null when neither applies. */
  overdueAfterMs: number | null;
  /** Whether `overdueAfterMs` is the activity's own, not the view's default. */
  ownOverdueAfter: boolean;
  /** Its nearest deadline (the activity's total, attempt or heartbeat deadline, or its workflow's), ISO 8601. */
  deadline: string | null;
  /** `total`, `attempt`, `heartbeat` or `workflow`; null without a deadline. */
  deadlineKind: string | null;
  /** `waiting`, `deadline` or both. */
  reasons: string[];
}

/** The query's filters (without limit and offset), checked as the Python client checks them. */
export function filters(options: OverdueOptions): Record<string, string | number | undefined> {
  return {
    waiting_longer_than_ms: milliseconds(options.waitingLongerThan, DEFAULT_WAITING_LONGER_THAN, "waitingLongerThan"),
    due_within_ms: milliseconds(options.dueWithin, DEFAULT_DUE_WITHIN, "dueWithin"),
    workflow: options.workflow || undefined,
    name: options.name || undefined,
  };
}

/** The limit and offset of a listing, checked. */
export function bounds(options: OverdueOptions): { limit: number; offset: number } {
  const limit = options.limit ?? 100;
  const offset = options.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 1 || !Number.isInteger(offset) || offset < 0) {
    throw new UsageError("limit must be a whole number from 1 and offset one from 0");
  }
  return { limit, offset };
}

function milliseconds(value: number | null | undefined, fallback: number, what: string): number | undefined {
  if (value === null) {
    return undefined;
  }
  const seconds = value ?? fallback;
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(`${what} must be a positive number of seconds, or null to leave that criterion out`);
  }
  return Math.max(1, Math.round(seconds * 1000));
}

export function overdueOf(item: Schemas["OverdueActivity"]): OverdueActivity {
  return {
    executionId: item.execution_id,
    workflow: item.workflow,
    activityId: item.activity_id,
    name: item.name,
    attempt: item.attempt,
    waitingSince: item.waiting_since,
    waitedMs: item.waited_ms,
    overdueAfterMs: item.overdue_after_ms,
    ownOverdueAfter: item.own_overdue_after,
    deadline: item.deadline,
    deadlineKind: item.deadline_kind,
    reasons: item.reasons,
  };
}
