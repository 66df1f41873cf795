import middy from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import type { TenantConfig } from "../../domain/tenant.js";
import { type Audience, authenticate } from "./authenticate.js";
import { httpResponseFor, jsonResponse } from "./error-responses.js";
import { RequestRejected } from "./http-errors.js";
import { logger } from "./logger.js";
import { type Runtime, runtime } from "./runtime.js";

/** What a route handler gets: the verified tenant, the raw body, and the runtime. */
export interface HttpInput {
  event: APIGatewayProxyEventV2;
  tenant: TenantConfig;
  rawBody: Buffer;
  runtime: Runtime;
  /** Facts for the request's log line (event type, id, status, mirrors). */
  log: Record<string, unknown>;
}

export type HttpHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * Builds an HTTP function: the one middleware stack every route shares — error mapping, the
 * request log line, tenant lookup and signature check on raw bytes — around a route handler
 * that only parses, calls the domain and maps the result.
 */
export function httpFunction(
  audience: Audience,
  route: (input: HttpInput) => Promise<APIGatewayProxyStructuredResultV2>,
): HttpHandler {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
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
        tenantId: event.pathParameters?.tenantId,
      };
      let statusCode = 500;
      try {
        const tenantId = event.pathParameters?.tenantId ?? "";
        const rt = runtime();
        const tenant = /^[a-z0-9][a-z0-9-]{0,63}$/.test(tenantId) ? await rt.loadTenant(tenantId) : null;
        if (!tenant)
          throw new RequestRejected(404, "not_found", `tenant ${tenantId.slice(0, 64)} not found`, [
            { resource: "tenant" },
          ]);
        const rawBody = authenticate(event, tenant, audience, Math.floor(Date.now() / 1000));
        const result = await route({ event, tenant, rawBody, runtime: rt, log });
        statusCode = result.statusCode ?? 200;
        return result;
      } catch (error) {
        statusCode = httpResponseFor(error).response.statusCode ?? 500;
        if (error instanceof Error) log.errorCode = error.name;
        throw error;
      } finally {
        logger.info("request", {
          ...log,
          status: statusCode,
          durationMs: Math.round(performance.now() - started),
        });
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
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RequestRejected(
      400,
      "malformed_json",
      `the body is not valid JSON: ${(error as Error).message}`,
      [],
      { cause: error },
    );
  }
}

export { jsonResponse };
