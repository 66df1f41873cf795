import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { ZodError } from "zod";
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

function errorResponse(
  statusCode: number,
  code: string,
  message: string,
  details: unknown[] = [],
  headers: Record<string, string> = {},
) {
  const body: ErrorBody = { error: { code, message, details } };
  return jsonResponse(statusCode, body, headers);
}

/** zod issues as the error details of SPEC §2: where (path) and what (message). */
export function zodDetails(error: ZodError): unknown[] {
  return error.issues.map((issue) => ({
    path: issue.path.map((part) => (typeof part === "symbol" ? String(part) : part)),
    message: issue.message,
    code: issue.code,
  }));
}

/**
 * The one place where errors become HTTP responses (SPEC §2 "Errors"). Anything not recognised
 * is a 500 whose details stay in the log.
 */
export function httpResponseFor(error: unknown): {
  response: APIGatewayProxyStructuredResultV2;
  expected: boolean;
} {
  if (error instanceof RequestRejected) {
    return {
      response: errorResponse(error.statusCode, error.code, error.message, error.details),
      expected: true,
    };
  }
  if (error instanceof ZodError) {
    return {
      response: errorResponse(
        422,
        "invalid_event",
        "the request does not match the schema",
        zodDetails(error),
      ),
      expected: true,
    };
  }
  if (error instanceof InvalidEvent) {
    return { response: errorResponse(422, "invalid_event", error.message, error.details), expected: true };
  }
  if (error instanceof NotFound) {
    return {
      response: errorResponse(404, "not_found", error.message, [
        { resource: error.resource, id: error.resourceId },
      ]),
      expected: true,
    };
  }
  if (error instanceof PortalInUse) {
    return {
      response: errorResponse(409, "portal_in_use", error.message, [
        { portalId: error.portalId, tenantId: error.ownerTenantId },
      ]),
      expected: true,
    };
  }
  if (error instanceof PreconditionFailed) {
    return { response: errorResponse(409, error.code, error.message, error.details), expected: true };
  }
  if (error instanceof Forbidden) {
    return { response: errorResponse(403, "forbidden", error.message), expected: true };
  }
  if (
    error instanceof StorageBusy ||
    error instanceof ConcurrentModification ||
    error instanceof DuplicateEvent
  ) {
    const retryAfter = error instanceof StorageBusy ? error.retryAfterSeconds : 1;
    return {
      response: errorResponse(503, "retry_later", "storage is busy; nothing was written, retry later", [], {
        "retry-after": String(retryAfter),
      }),
      expected: true,
    };
  }
  if (error instanceof InvalidCursor) {
    return { response: errorResponse(400, "invalid_cursor", error.message), expected: true };
  }
  return { response: errorResponse(500, "internal_error", "internal error"), expected: false };
}
