/** The shapes a {@link TetherClient} takes and gives besides the generated schema's: camelCase, documented. */

import type { components } from "./schema.js";

type Schemas = components["schemas"];

/** The reply to a heartbeat. */
export interface Heartbeat {
  /** Cancellation was requested: stop, then call {@link TetherClient.reportActivityCancelled}. */
  cancelRequested: boolean;
  /** When the attempt times out unless another heartbeat comes first (ISO 8601); null without a heartbeat timeout. */
  nextDeadline: string | null;
}

/** An activity as its token's holder sees it. */
export interface ActivityInfo {
  executionId: string;
  workflow: string;
  activityId: number;
  name: string;
  state: Schemas["ActivityState"];
  /** The activity's current attempt (the next one, while it backs off). */
  attempt: number;
  /** The attempt the token names; null for an activity token. */
  tokenAttempt: number | null;
  /** Whether a completion, failure or heartbeat with this token would be taken now. */
  current: boolean;
  cancelRequested: boolean;
  lastHeartbeatAt: string | null;
  heartbeatDetails: unknown;
  /** Due times (ISO 8601) of the armed deadlines: total, attempt, heartbeat, retry. */
  deadlines: Record<string, string>;
  /** The JSON Schema a result must match; null if anything goes. */
  resultSchema: Record<string, unknown> | null;
}

/** A failure to report with {@link TetherClient.failActivity}. */
export interface ActivityFailure {
  /** The failure's type name (1 to 512 characters), as the workflow's ActivityFailed.error sees it. */
  error: string;
  message?: string;
  details?: unknown;
  /** Fail the activity now instead of retrying it by its policy. */
  nonRetryable?: boolean;
}

/** The execution to start first when it does not exist (send with start). */
export interface StartWith {
  workflow: string;
  args?: unknown[];
  /** Seconds until it times out; null: no deadline; omitted: the workflow's own. */
  timeout?: number | null;
  /** Orders its ready work before that of lower priority (default 0); an existing execution keeps its own. */
  priority?: number;
}

/** A message accepted. */
export interface MessageSent {
  messageId: number;
  /** False when its key had been sent before (nothing changed). */
  stored: boolean;
  /** True when this call started the execution. */
  started: boolean;
}

/** The last value an execution published under a name. */
export interface Published {
  value: unknown;
  version: number;
  publishedAt: string | null;
}

/** The execution a start names. */
export interface Started {
  id: string;
  workflow: string;
  /** False when an execution with this id existed already (it is that one). */
  started: boolean;
}
