import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { isTenantId, type TenantConfig } from "../../domain/tenant.js";
import { type Audience, authenticate } from "./authenticate.js";
import { type ErrorBody, httpResponseFor, jsonResponse } from "./error-responses.js";
import { RequestRejected } from "./http-errors.js";
import { MAX_JSON_DEPTH, nestsDeeperThan, reservedKeyPaths } from "./json-guard.js";
import { logger } from "./logger.js";
import {
  type EventOutcome,
  metrics,
  outcomeOfStatus,
  recordEvent,
  recordRequest,
  recordSignatureFailure,
} from "./metrics.js";
import { type Runtime, runtime } from "./runtime.js";

/** What a route handler gets: the verified tenant, the raw body, and the runtime. */
export interface HttpInput {
  event: APIGatewayProxyEventV2;
  tenant: TenantConfig;
  rawBody: Buffer;
  runtime: Runtime;
  /**
   * Facts for the request's log line and metrics: `eventType`, `eventId` (the correlation id),
   * `outcome`, `mirrors`. Only identifiers and counts: never secrets, signatures or payloads.
   */
  log: Record<string, unknown>;
}

export type HttpHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * Builds an HTTP function: the one middleware stack every route shares — metrics flushed per
 * invocation, Lambda context and correlation id in every log line, error mapping, the request log
 * line, tenant lookup and signature check on raw bytes — around a route handler that only parses,
 * calls the domain and maps the result.
 */
export function httpFunction(
  audience: Audience,
  route: (input: HttpInput) => Promise<APIGatewayProxyStructuredResultV2>,
): HttpHandler {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(logMetrics(metrics))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use({
      onError: async (request) => {
        const { response, expected } = httpResponseFor(request.error);
        if (!expected) logger.error("request failed", { error: request.error as Error });
        request.response = response;
      },
    })
    .handler(async (event) => {
      const started = performance.now();
      const log: Record<string, unknown> = {
        route: event.routeKey,
        tenantId: event.pathParameters?.tenantId?.slice(0, 64),
      };
      let statusCode = 500;
      try {
        const tenantId = event.pathParameters?.tenantId ?? "";
        const rt = runtime();
        const tenant = isTenantId(tenantId) ? await rt.loadTenant(tenantId) : null;
        if (!tenant)
          throw new RequestRejected(404, "not_found", `tenant ${tenantId.slice(0, 64)} not found`, [
            { resource: "tenant" },
          ]);
        const rawBody = authenticate(event, tenant, audience, Math.floor(Date.now() / 1000));
        const result = await route({ event, tenant, rawBody, runtime: rt, log });
        statusCode = result.statusCode ?? 200;
        return result;
      } catch (error) {
        const { response } = httpResponseFor(error);
        statusCode = response.statusCode ?? 500;
        // The error code only: messages may quote the body (JSON.parse does), and bodies stay out of logs.
        log.errorCode = (JSON.parse(String(response.body)) as ErrorBody).error.code;
        if (typeof log.eventType === "string") log.outcome = outcomeOfStatus(statusCode);
        throw error;
      } finally {
        // The event id correlates this line, the error line below it and the sender's own logs.
        logger.setCorrelationId(
          typeof log.eventId === "string" ? log.eventId : event.requestContext?.requestId,
        );
        logger.info("request", {
          ...log,
          status: statusCode,
          durationMs: Math.round(performance.now() - started),
        });
        recordRequest(statusCode);
        if (statusCode === 401) recordSignatureFailure();
        if (typeof log.eventType === "string" && typeof log.outcome === "string") {
          recordEvent(log.eventType, log.outcome as EventOutcome, Number(log.mirrors ?? 0));
        }
      }
    }) as unknown as HttpHandler;
}

/** Parses the raw body as JSON (400 malformed_json); an empty body is `undefined`. */
export function parseJsonBody(rawBody: Buffer, options: { allowEmpty?: boolean } = {}): unknown {
  const text = rawBody.toString("utf8");
  if (text.trim() === "") {
    if (options.allowEmpty) return undefined;
    throw new RequestRejected(400, "malformed_json", "the body is empty; expected a JSON object");
  }
  if (nestsDeeperThan(text)) {
    throw new RequestRejected(422, "invalid_event", `the body nests deeper than ${MAX_JSON_DEPTH} levels`, [
      { path: [], message: `at most ${MAX_JSON_DEPTH} levels of nesting` },
    ]);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new RequestRejected(
      400,
      "malformed_json",
      `the body is not valid JSON: ${(error as Error).message}`,
      [],
      { cause: error },
    );
  }
  const reserved = reservedKeyPaths(body);
  if (reserved.length > 0) {
    throw new RequestRejected(
      422,
      "invalid_event",
      "the body uses a reserved key (__proto__, constructor, prototype)",
      reserved.map((path) => ({ path, message: "reserved key" })),
    );
  }
  return body;
}

export { jsonResponse };
