/**
 * This file was auto-generated from docs/openapi.json by scripts/generate.mjs (npm run generate).
 * Do not make direct changes to the file.
 */

/** Any JSON value: the document's recursive JSONValue schema. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface paths {
    "/v1/activities/cancelled": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Report Activity Cancelled
         * @description Acknowledge a requested cancellation; the workflow sees ActivityCancelled.
         *
         *     Refused (409 ``cancellation_not_requested``) when nobody asked the activity to stop; the
         *     same report repeated is acknowledged without change, another one is ``activity_already_closed``.
         */
        post: operations["reportActivityCancelled"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/activities/complete": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Complete Activity
         * @description Complete the activity a token names; the same completion repeated is acknowledged without change.
         *
         *     The result is checked against the activity's declared result type (422 naming the field).
         *     With ``activity``, a token of another activity is refused (409 ``wrong_activity``) first.
         */
        post: operations["completeActivity"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/activities/describe": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Describe Activity
         * @description The activity a token names as it stands now: state, attempt, deadlines, last heartbeat, result schema.
         *
         *     ``current`` says whether the token's attempt is open (a call with it would be taken).
         *     A POST, so that the token travels in the body, not in a URL that logs keep.
         */
        post: operations["describeActivity"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/activities/fail": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Fail Activity
         * @description Fail the attempt a token names; it is retried by policy unless non_retryable.
         *
         *     The same failure repeated is acknowledged without change (``recorded`` false).
         */
        post: operations["failActivity"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/activities/heartbeat": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Heartbeat Activity
         * @description Record a heartbeat; its details become the checkpoint. The reply says whether cancellation was requested.
         *
         *     With ``activity``, a token of another activity is refused (409 ``wrong_activity``) first.
         */
        post: operations["heartbeatActivity"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/activities/overdue": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List Overdue Activities
         * @description Activities waiting for a token too long or near a deadline (the overdue view), longest waiting first.
         *
         *     Too long: longer than their own ``overdue_after``, or than ``waiting_longer_than_ms`` when
         *     they declare none. Each says why (``reasons``), its waiting age limit and its nearest
         *     deadline. Those of the workflows the caller may read (workflows:read) or write activities
         *     of (activities:write). Running (sync) attempts wait for no token and are not listed.
         */
        get: operations["listOverdueActivities"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/activities/waiting": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List Waiting Activities
         * @description Activities whose attempt went async and waits for a token, longest waiting first.
         *
         *     Those of the workflows the caller may read (workflows:read) or write activities of
         *     (activities:write); each carries its ``activity_token`` only with activities:write on its
         *     workflow. The token completes, fails or heartbeats whichever attempt is current.
         */
        get: operations["listWaitingActivities"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/callbacks/complete/{token}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Complete By Callback
         * @description Complete the attempt a callback URL names with the result its body holds; no API key needed.
         *
         *     Refused as ``completeActivity`` is (409 stale or closed, 422 a result of the wrong type), 400
         *     when the URL is altered or made to fail, 410 once it expired; the same completion repeated
         *     is acknowledged with ``recorded`` false.
         */
        post: operations["completeByCallback"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/callbacks/fail/{token}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Fail By Callback
         * @description Fail the attempt a callback URL names; it is retried by policy unless non_retryable. No API key needed.
         *
         *     Refused as ``failActivity`` is (409 stale or closed), 400 when the URL is altered or made to
         *     complete, 410 once it expired; the same failure repeated is acknowledged with ``recorded`` false.
         */
        post: operations["failByCallback"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/cancellations/{execution_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Cancel Workflow
         * @description Request cancellation: open activities and timers are cancelled and the workflow ends as cancelled.
         */
        post: operations["cancelWorkflow"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Health
         * @description Whether the server is up (no API key needed).
         */
        get: operations["getHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/histories/{execution_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * History
         * @description Every event of an execution's run, every attempt included.
         */
        get: operations["getHistory"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/messages/{execution_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send Message
         * @description Send a message to a running execution: stored at once, received once, in send order.
         *
         *     The same ``key`` sent again is the same message (``stored`` false), even after the
         *     execution closed. A closed execution is refused with 409 ``execution_closed`` and
         *     nothing is stored; a payload that does not match the type the workflow declares for
         *     ``name`` is 422. With ``start``, the execution is started first unless it exists, in the
         *     same transaction (needs ``workflows:start`` too); an id held by another workflow is 409
         *     ``execution_id_taken`` and nothing is sent.
         */
        post: operations["sendMessage"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/published/{name}/{execution_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Published
         * @description The last value an execution published under ``name``, with its version (404 ``not_published`` if none).
         *
         *     With ``wait``, the request waits that long for a version newer than ``after`` (a first
         *     one, without ``after``) and answers as soon as one is published; when the wait ends, it
         *     answers the current value unchanged. The chain's id reads its current run.
         */
        get: operations["getPublished"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/requests/{execution_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send Request
         * @description Send a request and wait up to ``wait`` seconds for the workflow's answer.
         *
         *     The reply comes with state ``replied``; a rejection is 409 ``request_rejected`` with its
         *     ``reason``; an execution that closes without answering is 409 ``execution_closed``. If no
         *     answer came in time, the state says where the request stands: send the same ``key``
         *     again to go on waiting for the same request (without a key, a second call is a second request).
         */
        post: operations["sendRequest"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/results/{execution_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Result
         * @description The outcome of an execution, waiting up to ``wait`` seconds for it to close (status running if it did not).
         *
         *     A caller that hangs up stops the wait: it no longer counts as waiting for the result.
         */
        get: operations["getResult"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/resumptions/{execution_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Resume Workflow
         * @description Run a failed, timed-out or terminated execution again from where it stopped (409 for any other status).
         */
        post: operations["resumeWorkflow"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/retries/{execution_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Retry Activity Now
         * @description Skip an activity's retry back-off: its next attempt is queued now.
         *
         *     An activity that waits for no retry is refused with 409 ``activity_not_in_backoff``
         *     (naming its state); an activity the execution does not have is 404 ``activity_not_found``.
         */
        post: operations["retryActivityNow"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/schedules": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List Schedules
         * @description The schedules of workflows the API key may read, by id, with their next fire times.
         */
        get: operations["listSchedules"];
        put?: never;
        /**
         * Create Schedule
         * @description Make a schedule that starts ``workflow`` at the times of ``cron`` in ``timezone``.
         *
         *     An id in use is refused with 409 ``schedule_already_exists`` and nothing changes; a bad
         *     cron expression, time zone or policy is 422 ``invalid_payload`` naming the field; a
         *     workflow name no worker registered is 404 ``unknown_workflow`` unless ``check_known`` is false.
         */
        post: operations["createSchedule"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/schedules/pause/{schedule_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Pause Schedule
         * @description Stop a schedule's occurrences until it is unpaused (pausing a paused one changes nothing).
         */
        post: operations["pauseSchedule"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/schedules/trigger/{schedule_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Trigger Schedule
         * @description Start the schedule's workflow now, whatever its cron expression, overlap policy or pause.
         */
        post: operations["triggerSchedule"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/schedules/unpause/{schedule_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Unpause Schedule
         * @description Resume a paused schedule from its first occurrence after now: nothing missed while paused fires.
         */
        post: operations["unpauseSchedule"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/schedules/{schedule_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Describe Schedule
         * @description A schedule with its latest fires, newest first (404 ``schedule_not_found`` if none has this id).
         */
        get: operations["describeSchedule"];
        put?: never;
        post?: never;
        /**
         * Delete Schedule
         * @description Delete a schedule: it starts nothing more; the executions it started stay.
         */
        delete: operations["deleteSchedule"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/terminations/{execution_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Terminate Workflow
         * @description Close a running execution now, without running its code: its open activities end cancelled.
         *
         *     Its result then raises WorkflowTerminated with the reason; a closed execution is refused
         *     with 409 ``execution_closed`` (naming its status) and nothing changes.
         */
        post: operations["terminateWorkflow"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/workflows": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List Workflows
         * @description Executions newest first, of the workflows the caller may read.
         */
        get: operations["listWorkflows"];
        put?: never;
        /**
         * Start Workflow
         * @description Start an execution of a workflow a worker registered; starting an existing id again returns it.
         */
        post: operations["startWorkflow"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/workflows/{execution_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Describe
         * @description An execution's status, input, outcome and pending activities with their deadlines (of its latest run).
         */
        get: operations["describeWorkflow"];
        put?: never;
        post?: never;
        /**
         * Delete Workflow
         * @description Delete a closed execution with its history; its id may then be started again.
         *
         *     A running execution is refused with 409 ``execution_not_closed`` and nothing changes.
         */
        delete: operations["deleteWorkflow"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /**
         * Accepted
         * @description The request was accepted; what it asked for happens next (the body is null).
         */
        Accepted: null;
        /**
         * Acknowledged
         * @description A change was accepted.
         */
        Acknowledged: {
            /**
             * Recorded
             * @description False when the same call had been recorded before (nothing changed).
             */
            recorded: boolean;
        };
        /**
         * ActivityAlreadyClosedBody
         * @description activity_already_closed: The activity is already closed.
         */
        ActivityAlreadyClosedBody: {
            details: components["schemas"]["ActivityAlreadyClosedDetails"];
            /**
             * @description The error's stable code. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            error: "activity_already_closed";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * ActivityAlreadyClosedDetails
         * @description The details of activity_already_closed: the activity and the state it closed in.
         */
        ActivityAlreadyClosedDetails: {
            /** Activity Id */
            activity_id: number;
            /** Execution Id */
            execution_id: string;
            final_state: components["schemas"]["ActivityState"];
        };
        /**
         * ActivityDescription
         * @description One activity of an execution as it stands now.
         */
        ActivityDescription: {
            /** Activity Id */
            activity_id: number;
            /** Attempt */
            attempt: number;
            /** Attempt Started At */
            attempt_started_at: string | null;
            /** Cancel Requested */
            cancel_requested: boolean;
            /** Deadlines */
            deadlines: {
                [key: string]: string;
            };
            /** Heartbeat Details */
            heartbeat_details: components["schemas"]["JSONValue"];
            /** Last Failure */
            last_failure: {
                [key: string]: components["schemas"]["JSONValue"];
            } | null;
            /** Last Heartbeat At */
            last_heartbeat_at: string | null;
            /** Name */
            name: string;
            /**
             * Scheduled At
             * Format: date-time
             */
            scheduled_at: string;
            state: components["schemas"]["ActivityState"];
        };
        /**
         * ActivityDetails
         * @description The details of an error about one activity of an execution.
         */
        ActivityDetails: {
            /** Activity Id */
            activity_id: number;
            /** Execution Id */
            execution_id: string;
        };
        /**
         * ActivityInfo
         * @description An activity as its token's holder sees it: what it needs before it completes, fails or heartbeats.
         */
        ActivityInfo: {
            /** Activity Id */
            activity_id: number;
            /** Attempt */
            attempt: number;
            /** Cancel Requested */
            cancel_requested: boolean;
            /** Current */
            current: boolean;
            /** Deadlines */
            deadlines: {
                [key: string]: string;
            };
            /** Execution Id */
            execution_id: string;
            /** Heartbeat Details */
            heartbeat_details: components["schemas"]["JSONValue"];
            /** Last Heartbeat At */
            last_heartbeat_at: string | null;
            /** Name */
            name: string;
            /** Result Schema */
            result_schema: {
                [key: string]: components["schemas"]["JSONValue"];
            } | null;
            state: components["schemas"]["ActivityState"];
            /** Token Attempt */
            token_attempt: number | null;
            /** Workflow */
            workflow: string;
        };
        /**
         * ActivityNotFoundBody
         * @description activity_not_found: The execution has no activity with that id.
         */
        ActivityNotFoundBody: {
            details: components["schemas"]["ActivityDetails"];
            /**
             * @description The error's stable code. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            error: "activity_not_found";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * ActivityNotInBackoffBody
         * @description activity_not_in_backoff: The activity does not wait for a retry; nothing changed.
         */
        ActivityNotInBackoffBody: {
            details: components["schemas"]["ActivityStateDetails"];
            /**
             * Error
             * @description The error's stable code.
             * @constant
             */
            error: "activity_not_in_backoff";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * ActivityState
         * @description Where an activity stands; the last four are final.
         * @enum {string}
         */
        ActivityState: "scheduled" | "running" | "async" | "backoff" | "completed" | "failed" | "timed_out" | "cancelled";
        /**
         * ActivityStateDetails
         * @description The details of activity_not_in_backoff: the state the activity is in instead.
         */
        ActivityStateDetails: {
            /** Activity Id */
            activity_id: number;
            /** Execution Id */
            execution_id: string;
            state: components["schemas"]["ActivityState"];
        };
        /**
         * CallbackExpiredBody
         * @description callback_expired: The callback URL's expiry has passed; nothing changed. ``expired_at`` is when (ISO 8601, UTC).
         */
        CallbackExpiredBody: {
            details: components["schemas"]["CallbackExpiredDetails"];
            /**
             * Error
             * @description The error's stable code.
             * @constant
             */
            error: "callback_expired";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * CallbackExpiredDetails
         * @description The details of callback_expired.
         */
        CallbackExpiredDetails: {
            /**
             * Expired At
             * @description When the callback URL expired (ISO 8601, UTC).
             */
            expired_at: string;
        };
        /**
         * CancellationNotRequestedBody
         * @description cancellation_not_requested: The activity's cancellation was reported, but nobody asked it to stop; it goes on as it was.
         */
        CancellationNotRequestedBody: {
            details: components["schemas"]["ActivityDetails"];
            /**
             * @description The error's stable code. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            error: "cancellation_not_requested";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * CatchUp
         * @description Which occurrences that fell due while no worker ran (or while workers were late) are fired.
         * @enum {string}
         */
        CatchUp: "one" | "all" | "none";
        /**
         * CompleteActivity
         * @description Complete the activity a token names with its result.
         */
        CompleteActivity: {
            /**
             * Activity
             * @description The activity the token must be of (its registered name); another is refused (409 wrong_activity).
             */
            activity?: string | null;
            /** Result */
            result?: components["schemas"]["JSONValue"];
            /**
             * Token
             * @description A token as the activity got it: of its attempt (ctx.token) or the activity's (ctx.activity_token).
             */
            token: string;
        };
        /**
         * CreateSchedule
         * @description Make a schedule: the workflow it starts, with which arguments, at the times of a cron expression.
         */
        CreateSchedule: {
            /**
             * Args
             * @description Positional arguments, as JSON values.
             */
            args?: components["schemas"]["JSONValue"][];
            /**
             * @description Which occurrences missed while no worker ran are fired.
             * @default one
             */
            catch_up: components["schemas"]["CatchUp"];
            /**
             * Check Known
             * @description Refuse a workflow name no worker has registered yet (callers holding the code send false).
             * @default true
             */
            check_known: boolean;
            /**
             * Cron
             * @description A cron expression of five fields (or six, seconds first), e.g. 0 9 * * MON.
             */
            cron: string;
            /**
             * Id
             * @description The schedule's id (no '/').
             */
            id: string;
            /**
             * @description What an occurrence does while the last execution still runs.
             * @default skip
             */
            overlap: components["schemas"]["Overlap"];
            /**
             * Paused
             * @description Make it paused.
             * @default false
             */
            paused: boolean;
            /**
             * Timezone
             * @description The IANA time zone the expression reads in.
             * @default UTC
             */
            timezone: string;
            /** Workflow */
            workflow: string;
        };
        /**
         * DescribeActivity
         * @description Read the activity a token names.
         */
        DescribeActivity: {
            /**
             * Token
             * @description A token as the activity got it: of its attempt (ctx.token) or the activity's (ctx.activity_token).
             */
            token: string;
        };
        /**
         * ExecutionClosedBody
         * @description execution_closed: The execution is closed already; nothing changed.
         */
        ExecutionClosedBody: {
            details: components["schemas"]["ExecutionStatusDetails"];
            /**
             * @description The error's stable code. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            error: "execution_closed";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * ExecutionDetails
         * @description The details of an error about one execution.
         */
        ExecutionDetails: {
            /** Execution Id */
            execution_id: string;
        };
        /**
         * ExecutionIdTakenBody
         * @description execution_id_taken: The execution id is taken by an execution of another workflow.
         */
        ExecutionIdTakenBody: {
            details: components["schemas"]["ExecutionIdTakenDetails"];
            /**
             * @description The error's stable code. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            error: "execution_id_taken";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * ExecutionIdTakenDetails
         * @description The details of execution_id_taken: the workflow that holds the id, and the one asked for.
         */
        ExecutionIdTakenDetails: {
            /** Execution Id */
            execution_id: string;
            /** Requested */
            requested: string;
            /** Workflow */
            workflow: string;
        };
        /**
         * ExecutionNotClosedBody
         * @description execution_not_closed: The execution is still running; close it first (cancel or terminate).
         */
        ExecutionNotClosedBody: {
            details: components["schemas"]["ExecutionDetails"];
            /**
             * Error
             * @description The error's stable code.
             * @constant
             */
            error: "execution_not_closed";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * ExecutionNotFoundBody
         * @description execution_not_found: No workflow execution has that id.
         */
        ExecutionNotFoundBody: {
            details: components["schemas"]["ExecutionDetails"];
            /**
             * @description The error's stable code. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            error: "execution_not_found";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * ExecutionNotResumableBody
         * @description execution_not_resumable: Only a failed, timed-out or terminated execution can be resumed; nothing changed.
         */
        ExecutionNotResumableBody: {
            details: components["schemas"]["ExecutionStatusDetails"];
            /**
             * Error
             * @description The error's stable code.
             * @constant
             */
            error: "execution_not_resumable";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * ExecutionStatusDetails
         * @description The details of an error about an execution's status.
         */
        ExecutionStatusDetails: {
            /** Execution Id */
            execution_id: string;
            status: components["schemas"]["WorkflowStatus"];
        };
        /**
         * FailActivity
         * @description Fail the attempt a token names; it is retried by policy unless non_retryable.
         */
        FailActivity: {
            /** Details */
            details?: components["schemas"]["JSONValue"];
            /**
             * Error
             * @description The failure's type name.
             */
            error: string;
            /**
             * Message
             * @default
             */
            message: string;
            /**
             * Non Retryable
             * @default false
             */
            non_retryable: boolean;
            /**
             * Token
             * @description A token as the activity got it: of its attempt (ctx.token) or the activity's (ctx.activity_token).
             */
            token: string;
        };
        /**
         * Failure
         * @description Fail an attempt: it is retried by policy unless non_retryable (the body of a fail callback URL).
         */
        Failure: {
            /** Details */
            details?: components["schemas"]["JSONValue"];
            /**
             * Error
             * @description The failure's type name.
             */
            error: string;
            /**
             * Message
             * @default
             */
            message: string;
            /**
             * Non Retryable
             * @default false
             */
            non_retryable: boolean;
        };
        /**
         * HeartbeatActivity
         * @description Record a heartbeat; its details become the next attempt's checkpoint.
         */
        HeartbeatActivity: {
            /**
             * Activity
             * @description The activity the token must be of (its registered name); another is refused (409 wrong_activity).
             */
            activity?: string | null;
            /** Details */
            details?: components["schemas"]["JSONValue"];
            /**
             * Token
             * @description A token as the activity got it: of its attempt (ctx.token) or the activity's (ctx.activity_token).
             */
            token: string;
        };
        /**
         * HeartbeatResponse
         * @description The reply to a heartbeat.
         */
        HeartbeatResponse: {
            /** Cancel Requested */
            cancel_requested: boolean;
            /** Next Heartbeat Due */
            next_heartbeat_due?: string | null;
        };
        /**
         * History
         * @description Every event of an execution, in order.
         */
        History: {
            /** Events */
            events: components["schemas"]["HistoryEvent"][];
        };
        /**
         * HistoryEvent
         * @description One history event as users read it.
         */
        HistoryEvent: {
            /**
             * At
             * Format: date-time
             */
            at: string;
            /** Data */
            data: {
                [key: string]: components["schemas"]["JSONValue"];
            };
            /** Seq */
            seq: number;
            /** Type */
            type: string;
        };
        /**
         * InvalidPayloadBody
         * @description invalid_payload: A value could not be serialised or does not match its declared type.
         */
        InvalidPayloadBody: {
            details: components["schemas"]["InvalidPayloadDetails"];
            /**
             * Error
             * @description The error's stable code.
             * @constant
             */
            error: "invalid_payload";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * InvalidPayloadDetails
         * @description The details of invalid_payload: each problem found.
         */
        InvalidPayloadDetails: {
            /** Errors */
            errors: components["schemas"]["PayloadProblem"][];
        };
        /**
         * InvalidTokenBody
         * @description invalid_token: The activity token is forged, truncated or altered.
         */
        InvalidTokenBody: {
            details: components["schemas"]["NoDetails"];
            /**
             * Error
             * @description The error's stable code.
             * @constant
             */
            error: "invalid_token";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        JSONValue: JsonValue;
        /**
         * MessageInfo
         * @description A message or request sent to an execution, and where it stands.
         */
        MessageInfo: {
            /** Answer */
            answer?: components["schemas"]["JSONValue"];
            /** Key */
            key: string | null;
            /** Kind */
            kind: string;
            /** Message Id */
            message_id: number;
            /** Name */
            name: string;
            /** Payload */
            payload: components["schemas"]["JSONValue"];
            /**
             * Sent At
             * Format: date-time
             */
            sent_at: string;
            /** State */
            state: string;
            /** Updated At */
            updated_at?: string | null;
        };
        /**
         * MessageKeyReusedBody
         * @description message_key_reused: A message's key was used before for another message (a different name, kind or payload); nothing changed.
         */
        MessageKeyReusedBody: {
            details: components["schemas"]["MessageKeyReusedDetails"];
            /**
             * @description The error's stable code. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            error: "message_key_reused";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * MessageKeyReusedDetails
         * @description The details of message_key_reused.
         */
        MessageKeyReusedDetails: {
            /** Execution Id */
            execution_id: string;
            /** Key */
            key: string;
        };
        /**
         * MessageSent
         * @description A message accepted.
         */
        MessageSent: {
            /** Message Id */
            message_id: number;
            /**
             * Started
             * @description True when this call started the execution (send with start).
             * @default false
             */
            started: boolean;
            /**
             * Stored
             * @description False when its key had been sent before (nothing changed).
             */
            stored: boolean;
        };
        /**
         * NameDetails
         * @description The details of an unknown workflow or activity: its name.
         */
        NameDetails: {
            /** Name */
            name: string;
        };
        /**
         * NamedValueDetails
         * @description The details of not_published: the execution and the value's name.
         */
        NamedValueDetails: {
            /** Execution Id */
            execution_id: string;
            /** Name */
            name: string;
        };
        /**
         * NoAttemptOpenBody
         * @description no_attempt_open: No attempt of the activity is open: it waits for its retry, or for a worker to start its next attempt.
         */
        NoAttemptOpenBody: {
            details: components["schemas"]["NoAttemptOpenDetails"];
            /**
             * @description The error's stable code. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            error: "no_attempt_open";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * NoAttemptOpenDetails
         * @description The details of no_attempt_open: where the activity stands, and its next attempt.
         */
        NoAttemptOpenDetails: {
            /** Activity Id */
            activity_id: number;
            /** Execution Id */
            execution_id: string;
            /** Next Attempt */
            next_attempt: number;
            state: components["schemas"]["ActivityState"];
        };
        /**
         * NoDetails
         * @description An error that reports no facts beyond its code and message.
         */
        NoDetails: Record<string, never>;
        /**
         * NotPublishedBody
         * @description not_published: The execution has published no value of that name (yet): ``client.published`` found none.
         */
        NotPublishedBody: {
            details: components["schemas"]["NamedValueDetails"];
            /**
             * @description The error's stable code. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            error: "not_published";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * Outcome
         * @description Where an execution stands after a result request: closed with its outcome, or still running.
         */
        Outcome: {
            /**
             * Error
             * @description The failure, when failed.
             */
            error?: {
                [key: string]: components["schemas"]["JSONValue"];
            } | null;
            /** Id */
            id: string;
            /**
             * Result
             * @description The result, when completed.
             */
            result?: components["schemas"]["JSONValue"];
            status: components["schemas"]["WorkflowStatus"];
            /** Workflow */
            workflow: string;
        };
        /**
         * OverdueActivity
         * @description An activity waiting for its token too long, or close to a deadline: what the overdue view lists.
         *
         *     ``reasons`` holds ``waiting`` (it waited longer than ``overdue_after``), ``deadline`` (its
         *     nearest deadline falls within the view's horizon, or passed and is about to be applied), or both.
         */
        OverdueActivity: {
            /** Activity Id */
            activity_id: number;
            /** Attempt */
            attempt: number;
            /** Deadline */
            deadline: string | null;
            /** Deadline Kind */
            deadline_kind: string | null;
            /** Execution Id */
            execution_id: string;
            /** Name */
            name: string;
            /** Overdue After Ms */
            overdue_after_ms: number | null;
            /** Own Overdue After */
            own_overdue_after: boolean;
            /** Reasons */
            reasons: string[];
            /** Waited Ms */
            waited_ms: number;
            /**
             * Waiting Since
             * Format: date-time
             */
            waiting_since: string;
            /** Workflow */
            workflow: string;
        };
        /**
         * OverduePage
         * @description A page of overdue activities (waiting too long, or near a deadline), longest waiting first.
         */
        OverduePage: {
            /** Items */
            items: components["schemas"]["OverdueActivity"][];
            /**
             * Next Offset
             * @description The offset of the next page; null on the last page.
             */
            next_offset: number | null;
        };
        /**
         * Overlap
         * @description What an occurrence does while the execution the schedule started last still runs.
         * @enum {string}
         */
        Overlap: "skip" | "buffer_one" | "allow";
        /**
         * PayloadProblem
         * @description One invalid part of a request or value: where it is, what is wrong, and the kind of problem.
         *
         *     Every invalid_payload reports its problems in this shape, whether the request did not
         *     parse, a field broke its constraints, or a value did not match its declared type.
         */
        PayloadProblem: {
            /**
             * Loc
             * @description The path to the invalid part: field names and list indexes (empty: the whole body).
             */
            loc: (string | number)[];
            /**
             * Msg
             * @description What is wrong, for people.
             */
            msg: string;
            /**
             * Type
             * @description The kind of problem, e.g. missing, json_invalid, value_error.
             */
            type: string;
        };
        /**
         * PayloadTooLargeBody
         * @description payload_too_large: The request body exceeds the server's size limit.
         */
        PayloadTooLargeBody: {
            details: components["schemas"]["PayloadTooLargeDetails"];
            /**
             * Error
             * @description The error's stable code.
             * @constant
             */
            error: "payload_too_large";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * PayloadTooLargeDetails
         * @description The details of payload_too_large.
         */
        PayloadTooLargeDetails: {
            /**
             * Limit
             * @description The largest request body the server takes, in bytes.
             */
            limit: number;
        };
        /**
         * PermissionDeniedBody
         * @description permission_denied: The caller's API key does not allow this.
         */
        PermissionDeniedBody: {
            details: components["schemas"]["PermissionDeniedDetails"];
            /**
             * Error
             * @description The error's stable code.
             * @constant
             */
            error: "permission_denied";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * PermissionDeniedDetails
         * @description The details of permission_denied: what was asked, and of which workflow.
         */
        PermissionDeniedDetails: {
            /** Action */
            action: string;
            /** Workflow */
            workflow: string;
        };
        /**
         * Published
         * @description The last value an execution published under a name (``tether.publish``), and its version.
         *
         *     Versions count the publishes of that name: 1, 2, ... (continuing across continue-as-new).
         */
        Published: {
            /** Published At */
            published_at?: string | null;
            /** Value */
            value: components["schemas"]["JSONValue"];
            /** Version */
            version: number;
        };
        /**
         * PublishedValue
         * @description A value an execution published, as its description lists it.
         */
        PublishedValue: {
            /** Name */
            name: string;
            /**
             * Published At
             * Format: date-time
             */
            published_at: string;
            /** Value */
            value?: components["schemas"]["JSONValue"];
            /**
             * Value Omitted
             * @default false
             */
            value_omitted: boolean;
            /** Version */
            version: number;
        };
        /**
         * ReportActivityCancelled
         * @description Acknowledge a requested cancellation.
         */
        ReportActivityCancelled: {
            /** Details */
            details?: components["schemas"]["JSONValue"];
            /**
             * Token
             * @description A token as the activity got it: of its attempt (ctx.token) or the activity's (ctx.activity_token).
             */
            token: string;
        };
        /**
         * RequestOutcome
         * @description Where a request stands: replied (with the reply), or still waiting for an answer.
         */
        RequestOutcome: {
            /**
             * Reply
             * @description The reply, when replied.
             */
            reply?: components["schemas"]["JSONValue"];
            /** Request Id */
            request_id: number;
            /**
             * State
             * @description pending: not taken yet; received: taken, not answered yet; replied. A rejection is 409.
             * @enum {string}
             */
            state: "pending" | "received" | "replied";
            /**
             * Waited
             * @description Seconds this call waited for the answer, by the server's clock.
             * @default 0
             */
            waited: number;
        };
        /**
         * RequestRejectedBody
         * @description request_rejected: The workflow rejected the request (``req.reject(reason)``); ``reason`` says why.
         */
        RequestRejectedBody: {
            details: components["schemas"]["RequestRejectedDetails"];
            /**
             * @description The error's stable code. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            error: "request_rejected";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * RequestRejectedDetails
         * @description The details of request_rejected: the workflow's reason.
         */
        RequestRejectedDetails: {
            /** Execution Id */
            execution_id: string;
            /** Name */
            name: string;
            /** Reason */
            reason: string;
        };
        /**
         * RequestTimeoutBody
         * @description request_timeout: The request body did not arrive in time.
         */
        RequestTimeoutBody: {
            details: components["schemas"]["NoDetails"];
            /**
             * Error
             * @description The error's stable code.
             * @constant
             */
            error: "request_timeout";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * ResumeWorkflow
         * @description Resume a failed, timed-out or terminated execution from where it stopped.
         */
        ResumeWorkflow: {
            /**
             * Timeout
             * @description Seconds from now to a new deadline; null: none.
             */
            timeout: number | null;
        };
        /**
         * RetryActivityNow
         * @description Start the next attempt of an activity that waits out its retry back-off, now.
         */
        RetryActivityNow: {
            /**
             * Activity Id
             * @description The activity, as describe lists it.
             */
            activity_id: number;
        };
        /**
         * RetryStarted
         * @description The attempt that was queued.
         */
        RetryStarted: {
            /** Attempt */
            attempt: number;
        };
        /**
         * ScheduleAlreadyExistsBody
         * @description schedule_already_exists: A schedule with that id exists already; delete it first to make it again.
         */
        ScheduleAlreadyExistsBody: {
            details: components["schemas"]["ScheduleDetails"];
            /**
             * Error
             * @description The error's stable code.
             * @constant
             */
            error: "schedule_already_exists";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * ScheduleDetails
         * @description The details of an error about one schedule.
         */
        ScheduleDetails: {
            /** Schedule Id */
            schedule_id: string;
        };
        /**
         * ScheduleFire
         * @description One occurrence a schedule handled.
         */
        ScheduleFire: {
            /** Execution Id */
            execution_id: string | null;
            /**
             * Fired At
             * Format: date-time
             */
            fired_at: string;
            /**
             * Manual
             * @default false
             */
            manual: boolean;
            /**
             * Nominal At
             * Format: date-time
             */
            nominal_at: string;
            /** Outcome */
            outcome: string;
        };
        /**
         * ScheduleInfo
         * @description A schedule as listed and described: its definition, where it stands, and its latest fires.
         */
        ScheduleInfo: {
            /** Args */
            args: components["schemas"]["JSONValue"][];
            /** Buffered At */
            buffered_at: string | null;
            catch_up: components["schemas"]["CatchUp"];
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Cron */
            cron: string;
            /** Last Execution Id */
            last_execution_id: string | null;
            /** Next Fire At */
            next_fire_at: string | null;
            overlap: components["schemas"]["Overlap"];
            /** Paused */
            paused: boolean;
            /** Recent */
            recent?: components["schemas"]["ScheduleFire"][];
            /** Schedule Id */
            schedule_id: string;
            /** Timezone */
            timezone: string;
            /**
             * Updated At
             * Format: date-time
             */
            updated_at: string;
            /** Workflow */
            workflow: string;
        };
        /**
         * ScheduleNotFoundBody
         * @description schedule_not_found: No schedule has that id.
         */
        ScheduleNotFoundBody: {
            details: components["schemas"]["ScheduleDetails"];
            /**
             * Error
             * @description The error's stable code.
             * @constant
             */
            error: "schedule_not_found";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * SchedulePage
         * @description Schedules by id.
         */
        SchedulePage: {
            /** Items */
            items: components["schemas"]["ScheduleInfo"][];
        };
        /**
         * ScheduleTriggered
         * @description The execution a trigger started.
         */
        ScheduleTriggered: {
            /** Execution Id */
            execution_id: string;
        };
        /**
         * SendMessage
         * @description Send a message to a running execution; it is durable at once and received in send order.
         */
        SendMessage: {
            /**
             * Key
             * @description An idempotency key: the same key sent again to the execution is the same message.
             */
            key?: string | null;
            /**
             * Name
             * @description The message's or request's name.
             */
            name: string;
            /** Payload */
            payload?: components["schemas"]["JSONValue"];
            /** @description Start the execution first unless it exists (one transaction). */
            start?: components["schemas"]["StartWith"] | null;
        };
        /**
         * SendRequest
         * @description Send a request to a running execution and wait for the workflow's answer.
         */
        SendRequest: {
            /**
             * Key
             * @description An idempotency key: the same key sent again to the execution is the same message.
             */
            key?: string | null;
            /**
             * Name
             * @description The message's or request's name.
             */
            name: string;
            /** Payload */
            payload?: components["schemas"]["JSONValue"];
            /**
             * Wait
             * @description Seconds to wait for the answer in this call.
             * @default 0
             */
            wait: number;
        };
        /**
         * StaleTokenBody
         * @description stale_token: The token belongs to an attempt that is no longer the current one.
         */
        StaleTokenBody: {
            details: components["schemas"]["StaleTokenDetails"];
            /**
             * @description The error's stable code. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            error: "stale_token";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * StaleTokenDetails
         * @description The details of stale_token: the token's attempt and the current one.
         */
        StaleTokenDetails: {
            /** Current Attempt */
            current_attempt: number;
            /** Token Attempt */
            token_attempt: number;
        };
        /**
         * StartWith
         * @description The execution to start if none has the id yet (send with start).
         */
        StartWith: {
            /**
             * Args
             * @description Positional arguments, as JSON values.
             */
            args?: components["schemas"]["JSONValue"][];
            /**
             * Check Known
             * @description Refuse a workflow name no worker has registered yet.
             * @default true
             */
            check_known: boolean;
            /**
             * Priority
             * @description Orders the execution's ready workflow tasks and activity attempts before those of lower priority (first come first within one); its activities, children and later runs inherit it.
             * @default 0
             */
            priority: number;
            /**
             * Timeout
             * @description Seconds until the execution times out (see start).
             */
            timeout?: number | null;
            /** Workflow */
            workflow: string;
        };
        /**
         * StartWorkflow
         * @description Start an execution; the same id twice gives one execution.
         */
        StartWorkflow: {
            /**
             * Args
             * @description Positional arguments, as JSON values.
             */
            args?: components["schemas"]["JSONValue"][];
            /**
             * Check Known
             * @description Refuse a workflow name no worker has registered yet (callers holding the code send false).
             * @default true
             */
            check_known: boolean;
            /**
             * Id
             * @description The execution id; a random one if omitted.
             */
            id?: string | null;
            /**
             * Priority
             * @description Orders the execution's ready workflow tasks and activity attempts before those of lower priority (first come first within one); its activities, children and later runs inherit it.
             * @default 0
             */
            priority: number;
            /**
             * Timeout
             * @description Seconds until the execution times out; null: no deadline; omitted: the workflow's own timeout (armed from the start by the first workflow task).
             */
            timeout?: number | null;
            /** Workflow */
            workflow: string;
        };
        /**
         * Started
         * @description The execution a start request names.
         */
        Started: {
            /** Id */
            id: string;
            /**
             * Started
             * @description False when an execution with this id existed already.
             */
            started: boolean;
            /** Workflow */
            workflow: string;
        };
        /**
         * StoreUnavailableBody
         * @description store_unavailable: The store could not be reached or failed.
         */
        StoreUnavailableBody: {
            details: components["schemas"]["NoDetails"];
            /**
             * Error
             * @description The error's stable code.
             * @constant
             */
            error: "store_unavailable";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * TerminateWorkflow
         * @description Close a running execution now, without running its code.
         */
        TerminateWorkflow: {
            /**
             * Reason
             * @description Why; its result raises WorkflowTerminated with it.
             */
            reason: string;
        };
        /**
         * UnauthenticatedBody
         * @description unauthenticated: The request carries no API key, or one that is unknown or revoked.
         */
        UnauthenticatedBody: {
            details: components["schemas"]["NoDetails"];
            /**
             * Error
             * @description The error's stable code.
             * @constant
             */
            error: "unauthenticated";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * UnknownWorkflowBody
         * @description unknown_workflow: No workflow of that name is registered.
         */
        UnknownWorkflowBody: {
            details: components["schemas"]["NameDetails"];
            /**
             * @description The error's stable code. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            error: "unknown_workflow";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * WaitingActivity
         * @description An activity whose current attempt went async: it waits for someone to complete or fail it.
         */
        WaitingActivity: {
            /** Activity Id */
            activity_id: number;
            /** Activity Token */
            activity_token?: string | null;
            /** Args */
            args: components["schemas"]["JSONValue"][];
            /** Attempt */
            attempt: number;
            /**
             * Description
             * @default
             */
            description: string;
            /** Execution Id */
            execution_id: string;
            /** Form Schema */
            form_schema?: {
                [key: string]: components["schemas"]["JSONValue"];
            } | null;
            /** Heartbeat Details */
            heartbeat_details: components["schemas"]["JSONValue"];
            /** Inbox */
            inbox: boolean;
            /** Last Heartbeat At */
            last_heartbeat_at: string | null;
            /** Name */
            name: string;
            /** Result Schema */
            result_schema: {
                [key: string]: components["schemas"]["JSONValue"];
            } | null;
            /** Title */
            title?: string | null;
            /**
             * Waiting Since
             * Format: date-time
             */
            waiting_since: string;
            /** Workflow */
            workflow: string;
        };
        /**
         * WaitingPage
         * @description A page of activities waiting for a token, longest waiting first.
         */
        WaitingPage: {
            /**
             * Items
             * @description Each with its activity_token when the caller may write to its activities (else null).
             */
            items: components["schemas"]["WaitingActivity"][];
            /**
             * Next Offset
             * @description The offset of the next page; null on the last page.
             */
            next_offset: number | null;
        };
        /**
         * WorkflowDescription
         * @description An execution: its status, outcome and pending activities.
         */
        WorkflowDescription: {
            /** Cancel Requested */
            cancel_requested: boolean;
            /** Children */
            children?: string[];
            /** Closed At */
            closed_at: string | null;
            /** Deadline */
            deadline?: string | null;
            /** Error */
            error: {
                [key: string]: components["schemas"]["JSONValue"];
            } | null;
            /** Id */
            id: string;
            /** Input */
            input: components["schemas"]["JSONValue"][];
            /** Messages */
            messages?: components["schemas"]["MessageInfo"][];
            /** Next Run Id */
            next_run_id?: string | null;
            /** Parent Id */
            parent_id?: string | null;
            /** Patches */
            patches?: string[];
            /** Pending Activities */
            pending_activities: components["schemas"]["ActivityDescription"][];
            /** Previous Run Id */
            previous_run_id?: string | null;
            /**
             * Priority
             * @default 0
             */
            priority: number;
            /** Published */
            published?: components["schemas"]["PublishedValue"][];
            /** Result */
            result: components["schemas"]["JSONValue"];
            /**
             * Run
             * @default 1
             */
            run: number;
            /**
             * Run Id
             * @default
             */
            run_id: string;
            /**
             * Started At
             * Format: date-time
             */
            started_at: string;
            status: components["schemas"]["WorkflowStatus"];
            /** Task Error */
            task_error: {
                [key: string]: components["schemas"]["JSONValue"];
            } | null;
            /** Workflow */
            workflow: string;
        };
        /**
         * WorkflowPage
         * @description A page of executions, newest first.
         */
        WorkflowPage: {
            /** Items */
            items: components["schemas"]["WorkflowSummary"][];
            /**
             * Next Offset
             * @description The offset of the next page; null on the last page.
             */
            next_offset: number | null;
        };
        /**
         * WorkflowStatus
         * @description Where an execution stands.
         * @enum {string}
         */
        WorkflowStatus: "running" | "completed" | "failed" | "cancelled" | "terminated" | "timed_out" | "continued";
        /**
         * WorkflowSummary
         * @description One row of a workflow listing.
         */
        WorkflowSummary: {
            /** Closed At */
            closed_at: string | null;
            /** Id */
            id: string;
            /**
             * Started At
             * Format: date-time
             */
            started_at: string;
            status: components["schemas"]["WorkflowStatus"];
            /** Workflow */
            workflow: string;
        };
        /**
         * WrongActivityBody
         * @description wrong_activity: The token is of another activity than the one the call named (``activity=``); nothing changed.
         */
        WrongActivityBody: {
            details: components["schemas"]["WrongActivityDetails"];
            /**
             * @description The error's stable code. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            error: "wrong_activity";
            /**
             * Message
             * @description What happened, for people.
             */
            message: string;
        };
        /**
         * WrongActivityDetails
         * @description The details of wrong_activity: the activity named, and the one the token is of.
         */
        WrongActivityDetails: {
            /** Activity Id */
            activity_id: number;
            /** Actual */
            actual: string;
            /** Execution Id */
            execution_id: string;
            /** Expected */
            expected: string;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    reportActivityCancelled: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ReportActivityCancelled"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Acknowledged"];
                };
            };
            /** @description `invalid_token`: The activity token is forged, truncated or altered. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidTokenBody"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `execution_not_found`: No workflow execution has that id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionNotFoundBody"];
                };
            };
            /** @description `request_timeout`: The request body did not arrive in time. */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RequestTimeoutBody"];
                };
            };
            /** @description `stale_token`: The token belongs to an attempt that is no longer the current one. `activity_already_closed`: The activity is already closed. `no_attempt_open`: No attempt of the activity is open: it waits for its retry, or for a worker to start its next attempt. `cancellation_not_requested`: The activity's cancellation was reported, but nobody asked it to stop; it goes on as it was. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StaleTokenBody"] | components["schemas"]["ActivityAlreadyClosedBody"] | components["schemas"]["NoAttemptOpenBody"] | components["schemas"]["CancellationNotRequestedBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `invalid_payload`: A value could not be serialised or does not match its declared type. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidPayloadBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    completeActivity: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CompleteActivity"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Acknowledged"];
                };
            };
            /** @description `invalid_token`: The activity token is forged, truncated or altered. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidTokenBody"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `execution_not_found`: No workflow execution has that id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionNotFoundBody"];
                };
            };
            /** @description `request_timeout`: The request body did not arrive in time. */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RequestTimeoutBody"];
                };
            };
            /** @description `stale_token`: The token belongs to an attempt that is no longer the current one. `activity_already_closed`: The activity is already closed. `wrong_activity`: The token is of another activity than the one the call named (``activity=``); nothing changed. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StaleTokenBody"] | components["schemas"]["ActivityAlreadyClosedBody"] | components["schemas"]["WrongActivityBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `invalid_payload`: A value could not be serialised or does not match its declared type. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidPayloadBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    describeActivity: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["DescribeActivity"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ActivityInfo"];
                };
            };
            /** @description `invalid_token`: The activity token is forged, truncated or altered. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidTokenBody"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `execution_not_found`: No workflow execution has that id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionNotFoundBody"];
                };
            };
            /** @description `request_timeout`: The request body did not arrive in time. */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RequestTimeoutBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `invalid_payload`: A value could not be serialised or does not match its declared type. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidPayloadBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    failActivity: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["FailActivity"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Acknowledged"];
                };
            };
            /** @description `invalid_token`: The activity token is forged, truncated or altered. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidTokenBody"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `execution_not_found`: No workflow execution has that id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionNotFoundBody"];
                };
            };
            /** @description `request_timeout`: The request body did not arrive in time. */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RequestTimeoutBody"];
                };
            };
            /** @description `stale_token`: The token belongs to an attempt that is no longer the current one. `activity_already_closed`: The activity is already closed. `no_attempt_open`: No attempt of the activity is open: it waits for its retry, or for a worker to start its next attempt. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StaleTokenBody"] | components["schemas"]["ActivityAlreadyClosedBody"] | components["schemas"]["NoAttemptOpenBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `invalid_payload`: A value could not be serialised or does not match its declared type. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidPayloadBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    heartbeatActivity: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["HeartbeatActivity"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HeartbeatResponse"];
                };
            };
            /** @description `invalid_token`: The activity token is forged, truncated or altered. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidTokenBody"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `execution_not_found`: No workflow execution has that id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionNotFoundBody"];
                };
            };
            /** @description `request_timeout`: The request body did not arrive in time. */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RequestTimeoutBody"];
                };
            };
            /** @description `stale_token`: The token belongs to an attempt that is no longer the current one. `activity_already_closed`: The activity is already closed. `no_attempt_open`: No attempt of the activity is open: it waits for its retry, or for a worker to start its next attempt. `wrong_activity`: The token is of another activity than the one the call named (``activity=``); nothing changed. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StaleTokenBody"] | components["schemas"]["ActivityAlreadyClosedBody"] | components["schemas"]["NoAttemptOpenBody"] | components["schemas"]["WrongActivityBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `invalid_payload`: A value could not be serialised or does not match its declared type. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidPayloadBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    listOverdueActivities: {
        parameters: {
            query?: {
                /** @description The waiting age limit of activities that declare no overdue_after; omitted: only those past their own are listed for their age. */
                waiting_longer_than_ms?: number | null;
                /** @description List activities whose nearest deadline (total, attempt, heartbeat, their workflow's) falls within this from now; omitted: deadlines do not count. */
                due_within_ms?: number | null;
                /** @description Only activities of this workflow. */
                workflow?: string | null;
                /** @description Only activities of this name. */
                name?: string | null;
                limit?: number;
                offset?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OverduePage"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `invalid_payload`: A value could not be serialised or does not match its declared type. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidPayloadBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    listWaitingActivities: {
        parameters: {
            query?: {
                /** @description Only activities of this workflow. */
                workflow?: string | null;
                /** @description Only activities of this name. */
                name?: string | null;
                /** @description Only activities marked for a person (the web UI's inbox). */
                inbox?: boolean;
                limit?: number;
                offset?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WaitingPage"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `invalid_payload`: A value could not be serialised or does not match its declared type. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidPayloadBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    completeByCallback: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The signed token of the callback URL, as `tether.context().callback_url()` made it. */
                token: string;
            };
            cookie?: never;
        };
        /** @description The activity's result as JSON (any JSON value; `null` for none), checked against its declared result type. */
        requestBody: {
            content: {
                "application/json": components["schemas"]["JSONValue"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Acknowledged"];
                };
            };
            /** @description `invalid_token`: The activity token is forged, truncated or altered. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidTokenBody"];
                };
            };
            /** @description `execution_not_found`: No workflow execution has that id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionNotFoundBody"];
                };
            };
            /** @description `request_timeout`: The request body did not arrive in time. */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RequestTimeoutBody"];
                };
            };
            /** @description `stale_token`: The token belongs to an attempt that is no longer the current one. `activity_already_closed`: The activity is already closed. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StaleTokenBody"] | components["schemas"]["ActivityAlreadyClosedBody"];
                };
            };
            /** @description `callback_expired`: The callback URL's expiry has passed; nothing changed. ``expired_at`` is when (ISO 8601, UTC). */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CallbackExpiredBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `invalid_payload`: A value could not be serialised or does not match its declared type. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidPayloadBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    failByCallback: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The signed token of the callback URL, as `tether.context().callback_url()` made it. */
                token: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["Failure"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Acknowledged"];
                };
            };
            /** @description `invalid_token`: The activity token is forged, truncated or altered. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidTokenBody"];
                };
            };
            /** @description `execution_not_found`: No workflow execution has that id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionNotFoundBody"];
                };
            };
            /** @description `request_timeout`: The request body did not arrive in time. */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RequestTimeoutBody"];
                };
            };
            /** @description `stale_token`: The token belongs to an attempt that is no longer the current one. `activity_already_closed`: The activity is already closed. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StaleTokenBody"] | components["schemas"]["ActivityAlreadyClosedBody"];
                };
            };
            /** @description `callback_expired`: The callback URL's expiry has passed; nothing changed. ``expired_at`` is when (ISO 8601, UTC). */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CallbackExpiredBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `invalid_payload`: A value could not be serialised or does not match its declared type. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidPayloadBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    cancelWorkflow: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Accepted"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `execution_not_found`: No workflow execution has that id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionNotFoundBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    getHealth: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        [key: string]: string;
                    };
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
        };
    };
    getHistory: {
        parameters: {
            query?: {
                /** @description Which run of an execution that continued as new (default: its latest). */
                run?: number | null;
            };
            header?: never;
            path: {
                execution_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["History"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `execution_not_found`: No workflow execution has that id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionNotFoundBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `invalid_payload`: A value could not be serialised or does not match its declared type. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidPayloadBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    sendMessage: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SendMessage"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MessageSent"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `execution_not_found`: No workflow execution has that id. `unknown_workflow`: No workflow of that name is registered. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionNotFoundBody"] | components["schemas"]["UnknownWorkflowBody"];
                };
            };
            /** @description `request_timeout`: The request body did not arrive in time. */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RequestTimeoutBody"];
                };
            };
            /** @description `execution_closed`: The execution is closed already; nothing changed. `message_key_reused`: A message's key was used before for another message (a different name, kind or payload); nothing changed. `execution_id_taken`: The execution id is taken by an execution of another workflow. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionClosedBody"] | components["schemas"]["MessageKeyReusedBody"] | components["schemas"]["ExecutionIdTakenBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `invalid_payload`: A value could not be serialised or does not match its declared type. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidPayloadBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    getPublished: {
        parameters: {
            query?: {
                /** @description A version seen already: wait for a newer one. */
                after?: number | null;
                /** @description Seconds to wait for a newer version (or a first one). */
                wait?: number;
            };
            header?: never;
            path: {
                /** @description The value's name (printable characters, no '/'). */
                name: string;
                execution_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Published"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `execution_not_found`: No workflow execution has that id. `not_published`: The execution has published no value of that name (yet): ``client.published`` found none. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionNotFoundBody"] | components["schemas"]["NotPublishedBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `invalid_payload`: A value could not be serialised or does not match its declared type. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidPayloadBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    sendRequest: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SendRequest"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RequestOutcome"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `execution_not_found`: No workflow execution has that id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionNotFoundBody"];
                };
            };
            /** @description `request_timeout`: The request body did not arrive in time. */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RequestTimeoutBody"];
                };
            };
            /** @description `execution_closed`: The execution is closed already; nothing changed. `message_key_reused`: A message's key was used before for another message (a different name, kind or payload); nothing changed. `request_rejected`: The workflow rejected the request (``req.reject(reason)``); ``reason`` says why. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionClosedBody"] | components["schemas"]["MessageKeyReusedBody"] | components["schemas"]["RequestRejectedBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `invalid_payload`: A value could not be serialised or does not match its declared type. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidPayloadBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    getResult: {
        parameters: {
            query?: {
                /** @description Seconds to wait for the execution to close. */
                wait?: number;
            };
            header?: never;
            path: {
                execution_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Outcome"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `execution_not_found`: No workflow execution has that id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionNotFoundBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `invalid_payload`: A value could not be serialised or does not match its declared type. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidPayloadBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    resumeWorkflow: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ResumeWorkflow"];
            };
        };
        responses: {
            /** @description Successful Response */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Accepted"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `execution_not_found`: No workflow execution has that id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionNotFoundBody"];
                };
            };
            /** @description `request_timeout`: The request body did not arrive in time. */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RequestTimeoutBody"];
                };
            };
            /** @description `execution_not_resumable`: Only a failed, timed-out or terminated execution can be resumed; nothing changed. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionNotResumableBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `invalid_payload`: A value could not be serialised or does not match its declared type. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidPayloadBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    retryActivityNow: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RetryActivityNow"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RetryStarted"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `execution_not_found`: No workflow execution has that id. `activity_not_found`: The execution has no activity with that id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionNotFoundBody"] | components["schemas"]["ActivityNotFoundBody"];
                };
            };
            /** @description `request_timeout`: The request body did not arrive in time. */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RequestTimeoutBody"];
                };
            };
            /** @description `activity_not_in_backoff`: The activity does not wait for a retry; nothing changed. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ActivityNotInBackoffBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `invalid_payload`: A value could not be serialised or does not match its declared type. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidPayloadBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    listSchedules: {
        parameters: {
            query?: {
                /** @description Only schedules of this workflow. */
                workflow?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SchedulePage"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    createSchedule: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateSchedule"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ScheduleInfo"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `unknown_workflow`: No workflow of that name is registered. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnknownWorkflowBody"];
                };
            };
            /** @description `request_timeout`: The request body did not arrive in time. */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RequestTimeoutBody"];
                };
            };
            /** @description `schedule_already_exists`: A schedule with that id exists already; delete it first to make it again. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ScheduleAlreadyExistsBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `invalid_payload`: A value could not be serialised or does not match its declared type. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidPayloadBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    pauseSchedule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                schedule_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ScheduleInfo"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `schedule_not_found`: No schedule has that id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ScheduleNotFoundBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    triggerSchedule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                schedule_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ScheduleTriggered"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `schedule_not_found`: No schedule has that id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ScheduleNotFoundBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    unpauseSchedule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                schedule_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ScheduleInfo"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `schedule_not_found`: No schedule has that id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ScheduleNotFoundBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    describeSchedule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                schedule_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ScheduleInfo"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `schedule_not_found`: No schedule has that id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ScheduleNotFoundBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    deleteSchedule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                schedule_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `schedule_not_found`: No schedule has that id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ScheduleNotFoundBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    terminateWorkflow: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["TerminateWorkflow"];
            };
        };
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `execution_not_found`: No workflow execution has that id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionNotFoundBody"];
                };
            };
            /** @description `request_timeout`: The request body did not arrive in time. */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RequestTimeoutBody"];
                };
            };
            /** @description `execution_closed`: The execution is closed already; nothing changed. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionClosedBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `invalid_payload`: A value could not be serialised or does not match its declared type. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidPayloadBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    listWorkflows: {
        parameters: {
            query?: {
                status?: components["schemas"]["WorkflowStatus"] | null;
                /** @description Only executions of this workflow. */
                workflow?: string | null;
                limit?: number;
                offset?: number;
                /** @description Only executions whose id starts so. */
                id_prefix?: string | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WorkflowPage"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `invalid_payload`: A value could not be serialised or does not match its declared type. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidPayloadBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    startWorkflow: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["StartWorkflow"];
            };
        };
        responses: {
            /** @description An execution with this id existed already. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Started"];
                };
            };
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Started"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `unknown_workflow`: No workflow of that name is registered. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnknownWorkflowBody"];
                };
            };
            /** @description `request_timeout`: The request body did not arrive in time. */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RequestTimeoutBody"];
                };
            };
            /** @description `execution_id_taken`: The execution id is taken by an execution of another workflow. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionIdTakenBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `invalid_payload`: A value could not be serialised or does not match its declared type. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidPayloadBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    describeWorkflow: {
        parameters: {
            query?: {
                /** @description Which run of an execution that continued as new (default: its latest). */
                run?: number | null;
            };
            header?: never;
            path: {
                execution_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WorkflowDescription"];
                };
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `execution_not_found`: No workflow execution has that id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionNotFoundBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `invalid_payload`: A value could not be serialised or does not match its declared type. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidPayloadBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
    deleteWorkflow: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description `unauthenticated`: The request carries no API key, or one that is unknown or revoked. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedBody"];
                };
            };
            /** @description `permission_denied`: The caller's API key does not allow this. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PermissionDeniedBody"];
                };
            };
            /** @description `execution_not_found`: No workflow execution has that id. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionNotFoundBody"];
                };
            };
            /** @description `execution_not_closed`: The execution is still running; close it first (cancel or terminate). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionNotClosedBody"];
                };
            };
            /** @description `payload_too_large`: The request body exceeds the server's size limit. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PayloadTooLargeBody"];
                };
            };
            /** @description `store_unavailable`: The store could not be reached or failed. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StoreUnavailableBody"];
                };
            };
        };
    };
}
