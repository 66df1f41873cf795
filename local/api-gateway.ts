import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2 } from "aws-lambda";

/**
 * What API Gateway (HTTP API, payload format 2.0) does in front of the functions, for running them
 * locally: which route a request takes, and the event the function is handed. The local server,
 * in-process invocations, tests and the benchmark all use these two.
 *
 * @module
 */

/** A route template in API Gateway syntax (`/sync/{tenantId}/outbox`) and what it serves. */
export interface RouteTemplate {
  method: string;
  path: string;
}

interface CompiledTemplate<R extends RouteTemplate> {
  route: R;
  segments: Array<{ literal: string } | { param: string }>;
  literalCount: number;
}

/** Routes ready for matching: `routesFor` takes these. */
export type RouteTable<R extends RouteTemplate> = ReadonlyArray<CompiledTemplate<R>>;

/** A route that fits a path, with the path's parameters (percent-decoded). */
export interface RouteMatch<R extends RouteTemplate> {
  route: R;
  pathParameters: Record<string, string>;
}

export function routeTable<R extends RouteTemplate>(routes: readonly R[]): RouteTable<R> {
  return routes.map((route) => {
    const segments = splitPath(route.path).map((segment) => {
      const param = /^\{([^{}]+)\}$/.exec(segment)?.[1];
      return param ? { param } : { literal: segment };
    });
    return { route, segments, literalCount: segments.filter((segment) => "literal" in segment).length };
  });
}

/**
 * Every route whose template fits the raw (still percent-encoded) path, whatever its method; like
 * API Gateway, the most specific (most literal segments) first. A segment that does not decode
 * fits no template.
 */
export function routesFor<R extends RouteTemplate>(table: RouteTable<R>, rawPath: string): RouteMatch<R>[] {
  const parts = splitPath(rawPath);
  return table
    .flatMap((entry) => {
      const pathParameters = fitTemplate(entry, parts);
      return pathParameters ? [{ entry, match: { route: entry.route, pathParameters } }] : [];
    })
    .sort((a, b) => b.entry.literalCount - a.entry.literalCount)
    .map(({ match }) => match);
}

/** The route serving `method rawPath`, or `undefined`. */
export function findRoute<R extends RouteTemplate>(
  table: RouteTable<R>,
  method: string,
  rawPath: string,
): RouteMatch<R> | undefined {
  return routesFor(table, rawPath).find((match) => match.route.method === method);
}

function fitTemplate<R extends RouteTemplate>(
  entry: CompiledTemplate<R>,
  parts: string[],
): Record<string, string> | undefined {
  if (parts.length !== entry.segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [index, segment] of entry.segments.entries()) {
    const value = safeDecode(parts[index] as string);
    if (value === undefined) return undefined;
    if ("literal" in segment) {
      if (value !== segment.literal) return undefined;
    } else {
      params[segment.param] = value;
    }
  }
  return params;
}

function splitPath(path: string): string[] {
  return path.split("/").filter((segment) => segment !== "");
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

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
    apiId: "local",
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
