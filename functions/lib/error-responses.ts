import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { ZodError } from "zod";
import { HubSpotUnavailable } from "../../connectors/hubspot/errors.js";
import {
  ConcurrentModification,
  DuplicateEvent,
  Forbidden,
  InvalidCursor,
  InvalidEvent,
  NotFound,
  PortalInUse,
  PreconditionFailed,
  StorageBusy,
} from "../../domain/errors.js";
import type { ErrorBody } from "../../domain/responses.js";
import { RequestRejected } from "./http-errors.js";

/** The error body of SPEC §2, typed from its schema (which the OpenAPI document is generated from). */
export type { ErrorBody } from "../../domain/responses.js";

export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  };
}

/** An error as the HTTP answer of SPEC §2: status, the body's code, message and details, headers. */
interface HttpFailure {
  statusCode: number;
  code: string;
  message: string;
  details?: unknown[];
  headers?: Record<string, string>;
}

/** zod issues as the error details of SPEC §2: where (path) and what (message). */
export function zodDetails(error: ZodError): unknown[] {
  return error.issues.map((issue) => ({
    path: issue.path.map((part) => (typeof part === "symbol" ? String(part) : part)),
    message: issue.message,
    code: issue.code,
  }));
}

/** The answer a recognised error gets; `undefined` for anything unexpected. */
function failureOf(error: unknown): HttpFailure | undefined {
  if (error instanceof RequestRejected) {
    return { statusCode: error.statusCode, code: error.code, message: error.message, details: error.details };
  }
  if (error instanceof ZodError) {
    const message = "the request does not match the schema";
    return { statusCode: 422, code: "invalid_event", message, details: zodDetails(error) };
  }
  if (error instanceof InvalidEvent) {
    return { statusCode: 422, code: "invalid_event", message: error.message, details: error.details };
  }
  if (error instanceof NotFound) {
    const details = [{ resource: error.resource, id: error.resourceId }];
    return { statusCode: 404, code: "not_found", message: error.message, details };
  }
  if (error instanceof PortalInUse) {
    const details = [{ portalId: error.portalId, tenantId: error.ownerTenantId }];
    return { statusCode: 409, code: "portal_in_use", message: error.message, details };
  }
  if (error instanceof PreconditionFailed) {
    return { statusCode: 409, code: error.code, message: error.message, details: error.details };
  }
  if (error instanceof Forbidden) return { statusCode: 403, code: "forbidden", message: error.message };
  if (
    error instanceof StorageBusy ||
    error instanceof ConcurrentModification ||
    error instanceof DuplicateEvent
  ) {
    const retryAfter = error instanceof StorageBusy ? error.retryAfterSeconds : 1;
    const message = "storage is busy; nothing was written, retry later";
    return { statusCode: 503, code: "retry_later", message, headers: { "retry-after": String(retryAfter) } };
  }
  if (error instanceof InvalidCursor) {
    return { statusCode: 400, code: "invalid_cursor", message: error.message };
  }
  if (error instanceof HubSpotUnavailable) {
    // HubSpot limits or fails the reads a webhook's events need; HubSpot retries any non-2xx answer.
    const retryAfter = Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000));
    const message = "HubSpot is rate limiting or unavailable; retry later";
    return { statusCode: 503, code: "retry_later", message, headers: { "retry-after": String(retryAfter) } };
  }
  return undefined;
}

const INTERNAL_ERROR: HttpFailure = { statusCode: 500, code: "internal_error", message: "internal error" };

/**
 * The invocation ran out of time: middy answers just before Lambda's timeout. What was under way
 * is a transaction that either commits whole or not at all, and a retry of the same event or
 * command is answered once, so the sender is told to retry — not that nothing was written.
 */
const OUT_OF_TIME: HttpFailure = {
  statusCode: 503,
  code: "retry_later",
  message: "the request ran out of time before it finished; retry later",
  headers: { "retry-after": "1" },
};

/** middy's early answer before the function's timeout (`timeoutEarlyInMillis`). */
function isFunctionTimeout(error: unknown): boolean {
  const { name, cause } = (error ?? {}) as { name?: unknown; cause?: { package?: unknown } };
  return name === "TimeoutError" && cause?.package === "@middy/core";
}

/**
 * The one place where errors become HTTP responses (SPEC §2 "Errors"), with the error code for
 * the request's log line. Anything not recognised is a 500 (`expected: false`) whose details stay
 * in the log; so is the function's timeout, answered 503 `retry_later`.
 */
export function httpResponseFor(error: unknown): {
  response: APIGatewayProxyStructuredResultV2 & { statusCode: number };
  code: string;
  expected: boolean;
} {
  const failure = failureOf(error);
  // A timeout stays unexpected (logged as a failure) while it answers like contended storage.
  const unexpected = isFunctionTimeout(error) ? OUT_OF_TIME : INTERNAL_ERROR;
  const { statusCode, code, message, details = [], headers = {} } = failure ?? unexpected;
  const body: ErrorBody = { error: { code, message, details } };
  return { response: { ...jsonResponse(statusCode, body, headers), statusCode }, code, expected: !!failure };
}
