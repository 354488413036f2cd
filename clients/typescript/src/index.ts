/** @tether/client: the TypeScript client of a tether server's HTTP API (no runtime dependencies). */

export { TetherClient, type TetherClientOptions } from "./client.js";
export type {
  ActivityFailure,
  ActivityInfo,
  Heartbeat,
  MessageSent,
  Published,
  StartWith,
  Started,
} from "./records.js";
export * from "./errors.js";
export type { OverdueActivity, OverdueOptions } from "./overdue.js";
export type { CatchUp, Overlap, Schedule, ScheduleFire, ScheduleOptions } from "./schedules.js";
export { DEFAULT_RETRY, type Fetch, type RetryOptions } from "./http.js";
export type { components, JsonValue, operations, paths } from "./schema.js";
