/**
 * The errors a tether server reports, one class per stable code, in the Python package's tree.
 *
 * Every refusal and failure arrives as `{"error": code, "message", "details"}`; {@link errorFromBody}
 * rebuilds the class of that code (through {@link ERROR_CLASSES}), so `instanceof StaleToken`
 * works as `except StaleToken` does in Python. Each class reads its facts from `details`, whatever
 * JSON is there: a missing or mistyped fact reads as an empty string, 0 or null, never a throw.
 *
 * ```
 * TetherError
 * ├── UsageError          NotInActivity, NotInWorkflow, NonDeterminism, UnknownWorkflow, UnknownActivity,
 * │                       MissingExtra
 * │                       UndecodablePayload
 * ├── Refused             InvalidToken, StaleToken, CallbackExpired, Unauthenticated, PermissionDenied,
 * │                       InvalidPayload, PayloadTooLarge, RequestTimeout, ExecutionNotFound (ActivityNotFound),
 * │                       ExecutionIdTaken, ApiKeyNotFound, SinkNotFound, ScheduleNotFound, ScheduleAlreadyExists,
 * │                       InvalidSignature, ActivityAlreadyClosed,
 * │                       NoAttemptOpen, WrongActivity,
 * │                       CancellationNotRequested, ExecutionClosed, ExecutionNotClosed, ExecutionNotResumable,
 * │                       ActivityNotInBackoff, RequestRejected, MessageKeyReused, NotPublished
 * ├── StoreUnavailable    ServerUnreachable, StoreNotFound
 * └── ExecutionFailure    ActivityFailed (ActivityTimeout, ActivityCancelled),
 *                         WorkflowFailed (ChildWorkflowFailed, HistoryTooLarge),
 *                         WorkflowCancelled, WorkflowTerminated, WorkflowTimedOut
 * ```
 */

/**
 * The body of every error answer, whatever the OpenAPI document calls it: one schema, or a union
 * discriminated on `error` with typed `details` per code. Either way it reads as this, and the
 * class of `error` reads its own facts from `details`.
 */
export interface ErrorBody {
  error: string;
  message: string;
  details?: Record<string, unknown>;
}

/** An error's facts, as the server sent them. */
export type Details = Readonly<Record<string, unknown>>;

/** What an error carries besides its message. */
export interface TetherErrorInit {
  /** The HTTP status it came with (0: raised by this client, no answer involved). */
  status?: number;
  details?: Record<string, unknown>;
  /** The code as sent, when no class knows it (a newer server); else the class's own. */
  code?: string;
  cause?: unknown;
}

function text(details: Details, key: string): string {
  const value = details[key];
  return typeof value === "string" ? value : "";
}

function int(details: Details, key: string): number {
  const value = details[key];
  return typeof value === "number" ? value : 0;
}

function intOrNull(details: Details, key: string): number | null {
  const value = details[key];
  return typeof value === "number" ? value : null;
}

/** A tether operation failed: the root of every error this client throws for tether. */
export class TetherError extends Error {
  /** The stable code of this class, as on the wire. */
  static readonly code: string = "tether_error";
  /** The stable code, e.g. `stale_token` (the one sent, for a code this client does not know). */
  readonly code: string;
  /** The HTTP status of the answer; 0 when none came (raised by the client itself). */
  readonly status: number;
  /** The error's facts as the server sent them (`{}` when none). */
  readonly details: Details;

  constructor(message?: string, init: TetherErrorInit = {}) {
    const cls = new.target as typeof TetherError;
    super(message || cls.code, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code ?? cls.code;
    this.status = init.status ?? 0;
    this.details = Object.freeze({ ...(init.details ?? {}) });
  }
}

// ── used wrongly ────────────────────────────────────────────────────────────────────────────

/** tether was used in a way it does not support. */
export class UsageError extends TetherError {
  static override readonly code: string = "usage_error";
}

/** Called outside an activity (a Python-side error; a server reports it only from its own code). */
export class NotInActivity extends UsageError {
  static override readonly code: string = "not_in_activity";
}

/** Called outside a workflow (a Python-side error). */
export class NotInWorkflow extends UsageError {
  static override readonly code: string = "not_in_workflow";
}

/** Workflow code diverged from its recorded history. */
export class NonDeterminism extends UsageError {
  static override readonly code: string = "non_determinism";
  get executionId(): string {
    return text(this.details, "execution_id");
  }
  get eventSeq(): number | null {
    return intOrNull(this.details, "event_seq");
  }
}

/** An encoded payload could not be decoded: no codec, an unknown key, or altered data (a Python-side error). */
export class UndecodablePayload extends UsageError {
  static override readonly code: string = "undecodable_payload";
  /** The encoding its envelope names (`details.encoding`). */
  get encoding(): string {
    return text(this.details, "encoding");
  }
  /** The key id its envelope names, if any (`details.key`). */
  get key(): string | null {
    const found = this.details["key"];
    return typeof found === "string" ? found : null;
  }
}

/** No workflow of that name is registered (a start of an unknown workflow). */
export class UnknownWorkflow extends UsageError {
  static override readonly code: string = "unknown_workflow";
  /** The workflow's name (`details.name`). */
  get workflowName(): string {
    return text(this.details, "name");
  }
}

/** No activity of that name is registered. */
export class UnknownActivity extends UsageError {
  static override readonly code: string = "unknown_activity";
  /** The activity's name (`details.name`). */
  get activityName(): string {
    return text(this.details, "name");
  }
}

/** A feature needs packages that only one of tether's extras installs (a Python-side error). */
export class MissingExtra extends UsageError {
  static override readonly code: string = "missing_extra";
  /** The extra to install, as in `pip install 'tether[postgres]'` (`details.extra`). */
  get extra(): string {
    return text(this.details, "extra");
  }
  /** The module that was missing (`details.module`). */
  get module(): string {
    return text(this.details, "module");
  }
}

// ── refused: nothing changed ────────────────────────────────────────────────────────────────

/** A request was refused and nothing changed. */
export class Refused extends TetherError {
  static override readonly code: string = "refused";
}

/** The token is forged, truncated or altered. */
export class InvalidToken extends Refused {
  static override readonly code: string = "invalid_token";
}

/** The token's attempt is no longer the current one. */
export class StaleToken extends Refused {
  static override readonly code: string = "stale_token";
  get tokenAttempt(): number {
    return int(this.details, "token_attempt");
  }
  get currentAttempt(): number {
    return int(this.details, "current_attempt");
  }
}

/** The callback URL's expiry has passed. */
export class CallbackExpired extends Refused {
  static override readonly code: string = "callback_expired";
  /** When it expired (ISO 8601, UTC). */
  get expiredAt(): string {
    return text(this.details, "expired_at");
  }
}

/** No API key, or an unknown or revoked one. */
export class Unauthenticated extends Refused {
  static override readonly code: string = "unauthenticated";
}

/** The API key does not allow this for this workflow. */
export class PermissionDenied extends Refused {
  static override readonly code: string = "permission_denied";
  get action(): string {
    return text(this.details, "action");
  }
  get workflow(): string {
    return text(this.details, "workflow");
  }
}

/** A value is invalid or does not match its declared type; `errors` names each field. */
export class InvalidPayload extends Refused {
  static override readonly code: string = "invalid_payload";
  get errors(): unknown[] {
    const value = this.details["errors"];
    return Array.isArray(value) ? value : [];
  }
}

/** The request body exceeds the server's size limit. */
export class PayloadTooLarge extends Refused {
  static override readonly code: string = "payload_too_large";
  get limit(): number {
    return int(this.details, "limit");
  }
}

/** The request body arrived too slowly. */
export class RequestTimeout extends Refused {
  static override readonly code: string = "request_timeout";
}

/** No execution has that id. */
export class ExecutionNotFound extends Refused {
  static override readonly code: string = "execution_not_found";
  get executionId(): string {
    return text(this.details, "execution_id");
  }
}

/** The execution has no activity with that id. */
export class ActivityNotFound extends ExecutionNotFound {
  static override readonly code: string = "activity_not_found";
  get activityId(): number {
    return int(this.details, "activity_id");
  }
}

/** The execution id belongs to an execution of another workflow. */
export class ExecutionIdTaken extends Refused {
  static override readonly code: string = "execution_id_taken";
  get executionId(): string {
    return text(this.details, "execution_id");
  }
  /** The workflow that holds the id. */
  get workflow(): string {
    return text(this.details, "workflow");
  }
  /** The workflow the call asked for. */
  get requested(): string {
    return text(this.details, "requested");
  }
}

/** No notification sink has that id or URL. */
export class SinkNotFound extends Refused {
  static override readonly code: string = "sink_not_found";
  get sink(): string {
    return text(this.details, "sink");
  }
}

/** No schedule has that id. */
export class ScheduleNotFound extends Refused {
  static override readonly code: string = "schedule_not_found";
  get scheduleId(): string {
    return text(this.details, "schedule_id");
  }
}

/** A schedule with that id exists already; delete it first to make it again. */
export class ScheduleAlreadyExists extends Refused {
  static override readonly code: string = "schedule_already_exists";
  get scheduleId(): string {
    return text(this.details, "schedule_id");
  }
}

/** A notification's signature does not verify: altered, signed with another secret, or too old. */
export class InvalidSignature extends Refused {
  static override readonly code: string = "invalid_signature";
}

/** No active API key has that id or name. */
export class ApiKeyNotFound extends Refused {
  static override readonly code: string = "api_key_not_found";
  get key(): string {
    return text(this.details, "key");
  }
}

/** The activity closed otherwise before; `finalState` says how (completed, failed, timed_out, cancelled). */
export class ActivityAlreadyClosed extends Refused {
  static override readonly code: string = "activity_already_closed";
  get finalState(): string {
    return text(this.details, "final_state");
  }
  get executionId(): string {
    return text(this.details, "execution_id");
  }
  get activityId(): number {
    return int(this.details, "activity_id");
  }
}

/** By activity token: no attempt is open to heartbeat (a retry's back-off, or queued). */
export class NoAttemptOpen extends Refused {
  static override readonly code: string = "no_attempt_open";
  get executionId(): string {
    return text(this.details, "execution_id");
  }
  get activityId(): number {
    return int(this.details, "activity_id");
  }
  get state(): string {
    return text(this.details, "state");
  }
  get nextAttempt(): number {
    return int(this.details, "next_attempt");
  }
}

/** The token is of another activity than the call named (`activity`). */
export class WrongActivity extends Refused {
  static override readonly code: string = "wrong_activity";
  get expected(): string {
    return text(this.details, "expected");
  }
  get actual(): string {
    return text(this.details, "actual");
  }
  get executionId(): string {
    return text(this.details, "execution_id");
  }
  get activityId(): number {
    return int(this.details, "activity_id");
  }
}

/** A cancellation was reported that nobody requested (a heartbeat says when one is). */
export class CancellationNotRequested extends Refused {
  static override readonly code: string = "cancellation_not_requested";
  get executionId(): string {
    return text(this.details, "execution_id");
  }
  get activityId(): number {
    return int(this.details, "activity_id");
  }
}

/** The execution is closed already; nothing was stored. */
export class ExecutionClosed extends Refused {
  static override readonly code: string = "execution_closed";
  get executionId(): string {
    return text(this.details, "execution_id");
  }
  /** How it closed (`details.status`; `status` is the HTTP status). */
  get executionStatus(): string {
    return text(this.details, "status");
  }
}

/** The execution is still running; close it first. */
export class ExecutionNotClosed extends Refused {
  static override readonly code: string = "execution_not_closed";
  get executionId(): string {
    return text(this.details, "execution_id");
  }
}

/** Only a failed, timed-out or terminated execution resumes. */
export class ExecutionNotResumable extends Refused {
  static override readonly code: string = "execution_not_resumable";
  get executionId(): string {
    return text(this.details, "execution_id");
  }
  /** Its status (`details.status`; `status` is the HTTP status). */
  get executionStatus(): string {
    return text(this.details, "status");
  }
}

/** The activity waits for no retry. */
export class ActivityNotInBackoff extends Refused {
  static override readonly code: string = "activity_not_in_backoff";
  get executionId(): string {
    return text(this.details, "execution_id");
  }
  get activityId(): number {
    return int(this.details, "activity_id");
  }
  get state(): string {
    return text(this.details, "state");
  }
}

/** The workflow rejected the request; `reason` says why. */
export class RequestRejected extends Refused {
  static override readonly code: string = "request_rejected";
  get reason(): string {
    return text(this.details, "reason");
  }
  get executionId(): string {
    return text(this.details, "execution_id");
  }
  /** The request's name (`details.name`). */
  get requestName(): string {
    return text(this.details, "name");
  }
}

/** A message key was used before with another name or payload. */
export class MessageKeyReused extends Refused {
  static override readonly code: string = "message_key_reused";
  get executionId(): string {
    return text(this.details, "execution_id");
  }
  get key(): string {
    return text(this.details, "key");
  }
}

/** The execution published no value of that name (yet). */
export class NotPublished extends Refused {
  static override readonly code: string = "not_published";
  get executionId(): string {
    return text(this.details, "execution_id");
  }
  /** The value's name (`details.name`). */
  get valueName(): string {
    return text(this.details, "name");
  }
}

// ── unavailable ─────────────────────────────────────────────────────────────────────────────

/** The store could not be reached or failed (503); worth trying again later. */
export class StoreUnavailable extends TetherError {
  static override readonly code: string = "store_unavailable";
}

/** The tether server could not be reached, or the connection broke and a call's outcome is unknown. */
export class ServerUnreachable extends StoreUnavailable {
  static override readonly code: string = "server_unreachable";
  get url(): string {
    return text(this.details, "url");
  }
}

/** No store exists where the server's URL points. */
export class StoreNotFound extends StoreUnavailable {
  static override readonly code: string = "store_not_found";
  get path(): string {
    return text(this.details, "path");
  }
}

// ── what executions end with ────────────────────────────────────────────────────────────────

/** A workflow or activity ended without a result. */
export class ExecutionFailure extends TetherError {
  static override readonly code: string = "execution_failure";
}

/** An activity failed: `error` is the failure's type name, `attempt` the attempt that failed last. */
export class ActivityFailed extends ExecutionFailure {
  static override readonly code: string = "activity_failed";
  get error(): string {
    return text(this.details, "error");
  }
  /** The failure's own details (`details.details`). */
  get failureDetails(): unknown {
    return this.details["details"] ?? null;
  }
  get attempt(): number {
    return int(this.details, "attempt");
  }
  get nonRetryable(): boolean {
    return this.details["non_retryable"] === true;
  }
}

/** An activity timed out: `kind` is total, attempt or heartbeat. */
export class ActivityTimeout extends ActivityFailed {
  static override readonly code: string = "activity_timeout";
  get kind(): string {
    return text(this.details, "kind");
  }
}

/** The activity was cancelled. */
export class ActivityCancelled extends ActivityFailed {
  static override readonly code: string = "activity_cancelled";
}

/** The workflow failed: `error` names the failure's type. */
export class WorkflowFailed extends ExecutionFailure {
  static override readonly code: string = "workflow_failed";
  get error(): string {
    return text(this.details, "error");
  }
  /** The failure's own details (`details.details`). */
  get failureDetails(): unknown {
    return this.details["details"] ?? null;
  }
}

/** A child workflow failed, was cancelled or timed out. */
export class ChildWorkflowFailed extends WorkflowFailed {
  static override readonly code: string = "child_workflow_failed";
  get childId(): string {
    return text(this.details, "child_id");
  }
  get workflow(): string {
    return text(this.details, "workflow");
  }
  /** The child's failure: `{code, message, details}` (`details.cause`). */
  get childFailure(): unknown {
    return this.details["cause"] ?? null;
  }
}

/** A workflow task was refused: the run's history passed its limit. */
export class HistoryTooLarge extends WorkflowFailed {
  static override readonly code: string = "history_too_large";
  get executionId(): string {
    return text(this.details, "execution_id");
  }
  get events(): number {
    return int(this.details, "events");
  }
  get limit(): number {
    return int(this.details, "limit");
  }
}

/** The workflow was cancelled. */
export class WorkflowCancelled extends ExecutionFailure {
  static override readonly code: string = "workflow_cancelled";
}

/** The execution was terminated from outside; `reason` says why. */
export class WorkflowTerminated extends ExecutionFailure {
  static override readonly code: string = "workflow_terminated";
  get reason(): string {
    return text(this.details, "reason");
  }
}

/** The execution passed its workflow deadline. */
export class WorkflowTimedOut extends ExecutionFailure {
  static override readonly code: string = "workflow_timed_out";
}

/** A wait this client was asked to bound ran out first (the execution or request goes on). */
export class TimeoutError extends Error {}

const CLASSES = {
  TetherError, UsageError, NotInActivity, NotInWorkflow, NonDeterminism, UnknownWorkflow, UnknownActivity,
  MissingExtra, UndecodablePayload, Refused, InvalidToken, StaleToken, CallbackExpired, Unauthenticated, PermissionDenied, InvalidPayload,
  PayloadTooLarge, RequestTimeout, ExecutionNotFound, ActivityNotFound, ExecutionIdTaken, ApiKeyNotFound,
  SinkNotFound, ScheduleNotFound, ScheduleAlreadyExists, InvalidSignature, ActivityAlreadyClosed, NoAttemptOpen, WrongActivity, CancellationNotRequested, ExecutionClosed,
  ExecutionNotClosed, ExecutionNotResumable, ActivityNotInBackoff, RequestRejected, MessageKeyReused,
  NotPublished, StoreUnavailable, ServerUnreachable, StoreNotFound, ExecutionFailure, ActivityFailed,
  ActivityTimeout, ActivityCancelled, WorkflowFailed, ChildWorkflowFailed, HistoryTooLarge, WorkflowCancelled,
  WorkflowTerminated, WorkflowTimedOut,
};

// Names set here, not taken from the constructors: bundlers that minify rename classes.
for (const [name, cls] of Object.entries({ ...CLASSES, TimeoutError })) {
  Object.defineProperty(cls.prototype, "name", { value: name, writable: true, configurable: true });
}

/** Each error code the server may send, to its class. */
export const ERROR_CLASSES: Readonly<Record<string, typeof TetherError>> = Object.freeze(
  Object.fromEntries(Object.values(CLASSES).map((cls) => [cls.code, cls])),
);

/**
 * The error an answer reports, as the class of its code (`TetherError` for a code unknown here).
 *
 * A body that is not an error body (a proxy's page) gives `StoreUnavailable` for a 5xx status,
 * else `TetherError`, naming the status.
 */
export function errorFromBody(status: number, body: unknown): TetherError {
  if (isErrorBody(body)) {
    const cls = Object.hasOwn(ERROR_CLASSES, body.error) ? ERROR_CLASSES[body.error]! : TetherError;
    const details = isObject(body.details) ? body.details : {};
    return new cls(body.message, { status, details, code: body.error });
  }
  const message = `the server answered ${status}`;
  return status >= 500 ? new StoreUnavailable(message, { status }) : new TetherError(message, { status });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isErrorBody(value: unknown): value is ErrorBody {
  return isObject(value) && typeof value["error"] === "string" && typeof value["message"] === "string";
}
