import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { signRequest } from "../functions/lib/signature.js";
import { type LocalRoute, localRoutes } from "./routes.js";

/** A handler's answer with its JSON body parsed. */
export interface InvokeResponse {
  statusCode: number;
  headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: callers read whatever JSON the route answered
  body: any;
}

/** Builds the API Gateway HTTP API (payload 2.0) event API Gateway would send for a request. */
export function apiGatewayEvent(options: {
  method: "GET" | "POST";
  routeKey: string;
  path: string;
  query?: string;
  body?: string;
  headers?: Record<string, string>;
  pathParameters: Record<string, string>;
}): APIGatewayProxyEventV2 {
  const query = options.query ?? "";
  return {
    version: "2.0",
    routeKey: `${options.method} ${options.routeKey}`,
    rawPath: options.path,
    rawQueryString: query,
    headers: { "content-type": "application/json", ...(options.headers ?? {}) },
    ...(query ? { queryStringParameters: Object.fromEntries(new URLSearchParams(query)) } : {}),
    pathParameters: options.pathParameters,
    isBase64Encoded: false,
    ...(options.body !== undefined && options.body !== "" ? { body: options.body } : {}),
    requestContext: {
      accountId: "local",
      apiId: "local",
      domainName: "localhost",
      domainPrefix: "localhost",
      http: {
        method: options.method,
        path: options.path,
        protocol: "HTTP/1.1",
        sourceIp: "127.0.0.1",
        userAgent: "quotesync-local",
      },
      requestId: randomUUID(),
      routeKey: `${options.method} ${options.routeKey}`,
      stage: "$default",
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
  } as APIGatewayProxyEventV2;
}

/** The Lambda context handed to in-process invocations (the handlers read none of it). */
export const localLambdaContext = {
  functionName: "quotesync-local",
  awsRequestId: "local",
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;

/** Finds the route (API Gateway syntax, `{name}` parameters) that serves `method path`. */
export function matchRoute(
  method: string,
  path: string,
  routes: LocalRoute[] = localRoutes,
): { route: LocalRoute; pathParameters: Record<string, string> } {
  for (const route of routes) {
    if (route.method !== method) continue;
    const names: string[] = [];
    const pattern = new RegExp(
      `^${route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
        names.push(name);
        return "([^/]+)";
      })}$`,
    );
    const match = pattern.exec(path);
    if (match) {
      const pathParameters = Object.fromEntries(
        names.map((name, index) => [name, decodeURIComponent(match[index + 1] ?? "")]),
      );
      return { route, pathParameters };
    }
  }
  throw new Error(`no route for ${method} ${path}`);
}

/**
 * Runs the Lambda handler of a route in-process on the event API Gateway would build, signed
 * with `secret` unless a `signature` header value is given. The handlers use the container's
 * runtime, so whoever calls this sets it first (`setRuntime`) or sets the environment.
 */
export async function invokeRoute(
  method: "GET" | "POST",
  path: string,
  options: { rawBody?: string; secret?: string | null; signature?: string; headers?: Record<string, string> },
): Promise<InvokeResponse> {
  const [rawPath = path, query = ""] = path.split("?");
  const body = options.rawBody ?? "";
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.signature) headers["x-quotesync-signature"] = options.signature;
  else if (options.secret)
    headers["x-quotesync-signature"] = signRequest({
      secret: options.secret,
      method,
      pathWithQuery: path,
      body,
    });
  const { route, pathParameters } = matchRoute(method, rawPath);
  const handler = await route.load();
  const event = apiGatewayEvent({
    method,
    routeKey: route.path,
    path: rawPath,
    query,
    body,
    headers,
    pathParameters,
  });
  const result = (await handler(event, localLambdaContext)) as APIGatewayProxyStructuredResultV2;
  const text = typeof result.body === "string" ? result.body : "";
  return {
    statusCode: result.statusCode ?? 200,
    headers: Object.fromEntries(
      Object.entries(result.headers ?? {}).map(([key, value]) => [key, String(value)]),
    ),
    body: text ? JSON.parse(text) : undefined,
  };
}
