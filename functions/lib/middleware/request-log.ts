import type { MiddlewareObj } from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { logger } from "../logger.js";
import { type EventOutcome, recordEvent, recordRequest, recordSignatureFailure } from "../metrics.js";

/**
 * What an HTTP request's log line and metrics say about it. Identifiers and counts only: never
 * secrets, signatures or payloads.
 */
export interface RequestFacts {
  /** The API Gateway route key, e.g. `POST /webhooks/crm/{tenantId}`. */
  route: string;
  tenantId: string | undefined;
  /** The event or command type, once known: the `Events` metric is counted by it. */
  eventType?: string;
  /** The sender's event id: the correlation id of the request's log lines. */
  eventId?: string;
  outcome?: EventOutcome;
  mirrors?: number;
  /** An error answer's code; the code only, as messages may quote the body. */
  errorCode?: string;
}

/** What `requestLog` adds to the context, and the error mapper completes. */
export interface RequestLogContext {
  facts: RequestFacts;
  startedAt: number;
  /** Set by the error mapper when no rule answered the error: it is logged with its stack. */
  unexpectedError?: boolean;
}

type HttpEvent = APIGatewayProxyEventV2;
type HttpResult = APIGatewayProxyStructuredResultV2;

/**
 * The request's log line and metrics: one `request` line per request (route, tenant, the facts
 * the route added, status, duration), under the event id as correlation id, then an unexpected
 * error at error level with its stack; `Requests`, `ServerErrors`, `SignatureFailures` and the
 * event's `Events` count. Used first among the HTTP middlewares, so its `onError` runs after the
 * error mapper has answered.
 */
export function requestLog(): MiddlewareObj<HttpEvent, HttpResult, Error, Context & RequestLogContext> {
  return {
    before: function requestLogBefore(request) {
      const { event } = request;
      const facts: RequestFacts = {
        route: event.routeKey,
        tenantId: event.pathParameters?.tenantId?.slice(0, 64),
      };
      // A context of its own per request: local callers hand every invocation the same object.
      request.context = { ...request.context, facts, startedAt: performance.now() };
    },
    after: function requestLogAfter(request) {
      writeRequestLine(request.event, request.context, request.response?.statusCode ?? 200);
    },
    onError: function requestLogOnError(request) {
      // No facts: a middleware before this one failed, and the invocation fails without a request line.
      if (request.context.facts === undefined) return;
      writeRequestLine(request.event, request.context, request.response?.statusCode ?? 500);
      if (request.context.unexpectedError) logger.error("request failed", { error: request.error as Error });
    },
  };
}

function writeRequestLine(event: HttpEvent, context: RequestLogContext, status: number): void {
  const { facts } = context;
  // The event id correlates this line, the error line below it and the sender's own logs.
  logger.setCorrelationId(facts.eventId ?? event.requestContext?.requestId);
  logger.info("request", {
    ...facts,
    status,
    durationMs: Math.round(performance.now() - context.startedAt),
  });
  recordRequest(status);
  if (status === 401) recordSignatureFailure();
  if (facts.eventType !== undefined && facts.outcome !== undefined) {
    recordEvent(facts.eventType, facts.outcome, facts.mirrors ?? 0);
  }
}
