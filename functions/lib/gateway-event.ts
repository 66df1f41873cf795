import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2 } from "aws-lambda";

/**
 * The event API Gateway (HTTP API, payload format 2.0) hands a function for a request. The local
 * server, in-process invocations, the pipeline page's signed calls, tests and the benchmark build
 * their events with it.
 *
 * @module
 */

/** One request as API Gateway receives it, for `apiGatewayEvent`. */
export interface GatewayRequest {
  method: string;
  /** The route's template, e.g. `/webhooks/crm/{tenantId}`. */
  routeKey: string;
  /** The raw (still percent-encoded) path. */
  path: string;
  /** The raw query string, without `?`. */
  query?: string;
  /** Header names in lower case, repeated headers joined with `,` (as API Gateway hands them over). */
  headers?: Record<string, string>;
  cookies?: string[];
  body?: string;
  pathParameters?: Record<string, string>;
  requestId?: string;
  sourceIp?: string;
  protocol?: string;
  /** The API's domain name; by default the `host` header's, else `localhost`. */
  domainName?: string;
  /** The API's id; `local` by default. */
  apiId?: string;
}

/**
 * The API Gateway HTTP API (payload 2.0) event for a request: repeated query parameters joined
 * with `,`; no `queryStringParameters`, `pathParameters`, `cookies` or `body` when there are none.
 */
export function apiGatewayEvent(request: GatewayRequest): APIGatewayProxyEventV2 {
  const query = request.query ?? "";
  const headers = request.headers ?? {};
  const routeKey = `${request.method} ${request.routeKey}`;
  const queryStringParameters = query === "" ? undefined : queryParameters(query);
  const pathParameters = request.pathParameters ?? {};
  const event: APIGatewayProxyEventV2 = {
    version: "2.0",
    routeKey,
    rawPath: request.path,
    rawQueryString: query,
    ...(request.cookies && request.cookies.length > 0 ? { cookies: request.cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    requestContext: requestContext(request, routeKey, headers),
    ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    isBase64Encoded: false,
  };
  if (request.body !== undefined && request.body !== "") event.body = request.body;
  return event;
}

function queryParameters(query: string): Record<string, string> {
  const parameters: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(query)) {
    parameters[name] = name in parameters ? `${parameters[name]},${value}` : value;
  }
  return parameters;
}

function requestContext(
  request: GatewayRequest,
  routeKey: string,
  headers: Record<string, string>,
): APIGatewayProxyEventV2["requestContext"] {
  const now = new Date();
  const domainName = request.domainName ?? headers.host ?? "localhost";
  return {
    accountId: "000000000000",
    apiId: request.apiId ?? "local",
    domainName,
    domainPrefix: domainName.split(".")[0] ?? domainName,
    http: {
      method: request.method,
      path: request.path,
      protocol: request.protocol ?? "HTTP/1.1",
      sourceIp: request.sourceIp ?? "127.0.0.1",
      userAgent: headers["user-agent"] ?? "",
    },
    requestId: request.requestId ?? randomUUID(),
    routeKey,
    stage: "$default",
    time: formatRequestTime(now),
    timeEpoch: now.getTime(),
  };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** API Gateway's `requestContext.time`, e.g. `12/Mar/2020:19:03:58 +0000`. */
function formatRequestTime(date: Date): string {
  const pad = (value: number): string => String(value).padStart(2, "0");
  return (
    `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}
