import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import type { TenantConfig } from "../../domain/tenant.js";
import type { Audience } from "./authenticate.js";
import { jsonResponse } from "./error-responses.js";
import { functionStack, remainingTimeOf } from "./function-stack.js";
import { errorResponses } from "./middleware/error-responses.js";
import { type JsonBodyContext, jsonBody } from "./middleware/json-body.js";
import { type RequestFacts, type RequestLogContext, requestLog } from "./middleware/request-log.js";
import { type VerifiedTenantContext, verifiedTenant } from "./middleware/verified-tenant.js";
import type { Runtime } from "./runtime.js";

/** What a route handler gets: the verified tenant, the body, the runtime and the request's facts. */
export interface HttpInput {
  event: APIGatewayProxyEventV2;
  tenant: TenantConfig;
  /** The body's bytes exactly as signed. */
  rawBody: Buffer;
  /** The parsed JSON body, for routes that take one (`undefined` for an allowed empty body). */
  body: unknown;
  runtime: Runtime;
  /** What the request's log line and metrics say: the route adds the event type, id and outcome. */
  facts: RequestFacts;
}

/** How a route is reached: whose secrets sign it, and whether it takes a JSON body. */
export interface HttpRoute {
  audience: Audience;
  /** `json`: a JSON body is required; `json-or-empty`: an empty body is allowed too. */
  body?: "json" | "json-or-empty";
}

export type HttpHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

type HttpContext = Context & RequestLogContext & VerifiedTenantContext & Partial<JsonBodyContext>;

/**
 * Builds an HTTP function: the one middleware stack every route shares, named by what each layer
 * does — metrics and Lambda context (`functionStack`), the request log line (`requestLog`), the
 * error mapping (`errorResponses`), tenant and signature (`verifiedTenant`), the JSON body
 * (`jsonBody`) — around a route handler that only parses, calls the domain and maps the result.
 */
export function httpFunction(
  route: HttpRoute,
  handle: (input: HttpInput) => Promise<APIGatewayProxyStructuredResultV2>,
): HttpHandler {
  const stack = functionStack<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(requestLog())
    .use(errorResponses())
    .use(verifiedTenant(route.audience))
    .use(route.body ? [jsonBody({ allowEmpty: route.body === "json-or-empty" })] : []);
  return stack.handler((event, context: HttpContext) =>
    handle({
      event,
      tenant: context.tenant,
      rawBody: context.rawBody,
      body: context.body,
      // Decisions stop retrying in time to answer 503 before the function's timeout.
      runtime: { ...context.runtime, engine: context.runtime.engine.within(remainingTimeOf(context)) },
      facts: context.facts,
    }),
  ) as unknown as HttpHandler;
}

export { jsonResponse };
