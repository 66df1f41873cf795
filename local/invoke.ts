import type { APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { signRequest } from "../functions/lib/signature.js";
import { apiGatewayEvent, findRoute, routeTable } from "./api-gateway.js";
import { LOCAL_TIMEOUT_MS, lambdaContext } from "./lambda-context.js";
import { type HttpLambda, type LocalRoute, localRoutes } from "./routes.js";

export { apiGatewayEvent };

/** A handler's answer with its JSON body parsed. */
export interface InvokeResponse {
  statusCode: number;
  headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: callers read whatever JSON the route answered
  body: any;
}

/** The Lambda context of one in-process invocation, with a deadline from now (`timeoutMs`). */
export function localLambdaContext(timeoutMs = LOCAL_TIMEOUT_MS): Context {
  return lambdaContext("quotesync-local", timeoutMs);
}

const localRouteTable = routeTable(localRoutes);

/** Finds the route (API Gateway syntax, `{name}` parameters) that serves `method path`. */
export function matchRoute(
  method: string,
  path: string,
  routes: LocalRoute[] = localRoutes,
): { route: LocalRoute; pathParameters: Record<string, string> } {
  const found = findRoute(routes === localRoutes ? localRouteTable : routeTable(routes), method, path);
  if (!found) throw new Error(`no route for ${method} ${path}`);
  return found;
}

/** Each route's handler, imported once (as a Lambda container keeps its module). */
const loadedHandlers = new Map<LocalRoute, Promise<HttpLambda>>();

function loadHandler(route: LocalRoute): Promise<HttpLambda> {
  let loading = loadedHandlers.get(route);
  if (!loading) {
    loading = route.load();
    loadedHandlers.set(route, loading);
    loading.catch(() => loadedHandlers.delete(route));
  }
  return loading;
}

/**
 * Runs the Lambda handler of a route in-process on the event API Gateway would build, signed
 * with `secret` unless a `signature` header value is given. The handlers use the container's
 * runtime, so whoever calls this sets it first (`setRuntime`) or sets the environment.
 */
export async function invokeRoute(
  method: "GET" | "POST",
  path: string,
  options: {
    rawBody?: string;
    secret?: string | null;
    signature?: string;
    headers?: Record<string, string>;
    /** The invocation's timeout (default `LOCAL_TIMEOUT_MS`). */
    timeoutMs?: number;
  },
): Promise<InvokeResponse> {
  const [rawPath = path, query = ""] = path.split("?");
  const body = options.rawBody ?? "";
  const headers: Record<string, string> = { "content-type": "application/json", ...(options.headers ?? {}) };
  if (options.signature) headers["x-quotesync-signature"] = options.signature;
  else if (options.secret)
    headers["x-quotesync-signature"] = signRequest({
      secret: options.secret,
      method,
      pathWithQuery: path,
      body,
    });
  const { route, pathParameters } = matchRoute(method, rawPath);
  const handler = await loadHandler(route);
  const event = apiGatewayEvent({
    method,
    routeKey: route.path,
    path: rawPath,
    query,
    body,
    headers,
    pathParameters,
  });
  const result = (await handler(
    event,
    localLambdaContext(options.timeoutMs),
  )) as APIGatewayProxyStructuredResultV2;
  const text = typeof result.body === "string" ? result.body : "";
  return {
    statusCode: result.statusCode ?? 200,
    headers: Object.fromEntries(
      Object.entries(result.headers ?? {}).map(([key, value]) => [key, String(value)]),
    ),
    body: text ? JSON.parse(text) : undefined,
  };
}
