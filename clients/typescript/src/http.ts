/**
 * Requests to a tether server, sent again after failures that allow it; errors as tether's classes.
 *
 * Only web-standard globals are used (fetch, AbortController, setTimeout), so the same code runs
 * on Node, Deno, Bun and Cloudflare Workers.
 */

import { errorFromBody, ServerUnreachable, UsageError } from "./errors.js";

/** How failed sends are tried again: connection failures and 502, 503, 504 only. */
export interface RetryOptions {
  /** Tries after the first (0: none). Default 5. */
  retries: number;
  /** The first back-off, in milliseconds; each next one doubles. Default 100. */
  baseDelayMs: number;
  /** The longest back-off, in milliseconds. Default 2000. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = Object.freeze({ retries: 5, baseDelayMs: 100, maxDelayMs: 2000 });

const RETRIED_STATUSES = new Set([502, 503, 504]);
/** Seconds an answer may take beyond what the server was asked to wait (as the Python client). */
export const READ_SECONDS = 30;
/**
 * Connection failures that happen before a request reaches the server (as Node's fetch names
 * them): the only ones after which a call that is not repeatable is sent again.
 */
const NOT_SENT_CODES = new Set([
  "ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT",
]);

export type Fetch = (input: string, init: RequestInit) => Promise<Response>;

export interface Call {
  method: "GET" | "POST" | "DELETE";
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Seconds the server may hold the request (a long poll); the answer may take that much longer. */
  wait?: number;
  /**
   * Whether sending it twice is harmless (default true). One that is not is sent again only
   * if it never reached the server; after a connection that broke once it was sent, its
   * outcome is unknown and it throws ServerUnreachable saying so. A 502-504 is not retried for it.
   */
  repeatable?: boolean;
}

export class Http {
  readonly baseUrl: string;
  readonly #headers: Record<string, string>;
  readonly #fetch: Fetch;
  readonly #retry: RetryOptions;

  constructor(baseUrl: string, apiKey: string | undefined, retry: RetryOptions, fetchImpl: Fetch | undefined) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      throw new UsageError(`${JSON.stringify(baseUrl)} is not a valid server URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new UsageError(`${JSON.stringify(baseUrl)} is not an http:// or https:// URL`);
    }
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    const key = (apiKey ?? "").trim();
    if (key && !/^[\x20-\x7e]+$/.test(key)) {
      throw new UsageError("the API key holds characters an HTTP header cannot carry; check how it was read");
    }
    this.#headers = key ? { Authorization: `Bearer ${key}`, Accept: "application/json" } : { Accept: "application/json" };
    if (!Number.isInteger(retry.retries) || retry.retries < 0 || !(retry.baseDelayMs >= 0) || !(retry.maxDelayMs >= 0)) {
      throw new UsageError("retries must be a whole number from 0, and the delays numbers of milliseconds from 0");
    }
    this.#retry = retry;
    // A detached global fetch throws "Illegal invocation" in browsers and Workers: keep it bound.
    this.#fetch = fetchImpl ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Send a call (again after failures that allow it); the JSON answer, or the tether error it names. */
  async call(call: Call): Promise<unknown> {
    const repeatable = call.repeatable ?? true;
    const url = this.#url(call);
    const headers = call.body === undefined ? this.#headers : { ...this.#headers, "Content-Type": "application/json" };
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);
    const limitMs = ((call.wait ?? 0) + READ_SECONDS) * 1000;
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= this.#retry.retries;
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), limitMs);
      let status: number;
      let text: string;
      try {
        const response = await this.#fetch(url, { method: call.method, headers, body, signal: controller.signal });
        status = response.status;
        text = await response.text();
      } catch (error) {
        // The message names the failure's kind only: request details may hold the API key.
        const kind = failureKind(error);
        if (!repeatable && !NOT_SENT_CODES.has(kind)) {
          throw new ServerUnreachable(
            `the connection to the tether server at ${this.baseUrl} broke after ${call.method} ${call.path} was ` +
              `sent (${kind}): it may or may not have taken effect; describe the execution to see`,
            { details: { url: this.baseUrl }, cause: error },
          );
        }
        if (last) {
          throw new ServerUnreachable(`the tether server at ${this.baseUrl} could not be reached (${kind})`, {
            details: { url: this.baseUrl },
            cause: error,
          });
        }
        await this.#backOff(attempt);
        continue;
      } finally {
        clearTimeout(timer);
      }
      if (RETRIED_STATUSES.has(status) && repeatable && !last) {
        await this.#backOff(attempt);
        continue;
      }
      const parsed = parse(text);
      if (status >= 400) {
        throw errorFromBody(status, parsed);
      }
      return parsed;
    }
  }

  #url(call: Call): string {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined) {
        params.set(name, String(value));
      }
    }
    const query = params.toString();
    return `${this.baseUrl}${call.path}${query ? `?${query}` : ""}`;
  }

  /** Exponential back-off, bounded by maxDelayMs, with jitter: a random delay between half of it and all of it. */
  #backOff(attempt: number): Promise<void> {
    const ceiling = Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** attempt);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    return new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function parse(text: string): unknown {
  if (!text) {
    return null;
  }
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A short name of a failed fetch: the system's code where the runtime gives one. */
function failureKind(error: unknown): string {
  if (error instanceof Error && error.name === "AbortError") {
    return "timeout";
  }
  for (let cause: unknown = error, depth = 0; cause && depth < 4; depth++) {
    const code = codeOf(cause);
    if (code) {
      return code;
    }
    // Node reports a refused connection to a name of several addresses as an AggregateError.
    const errors = (cause as { errors?: unknown }).errors;
    if (Array.isArray(errors)) {
      const codes = errors.map(codeOf).filter(Boolean);
      if (codes.length) {
        return codes.every((c) => NOT_SENT_CODES.has(c)) ? codes[0]! : codes.find((c) => !NOT_SENT_CODES.has(c))!;
      }
    }
    cause = (cause as { cause?: unknown }).cause;
  }
  return error instanceof Error ? error.name : "unknown failure";
}

function codeOf(value: unknown): string {
  const code = (value as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "";
}
