import { randomUUID } from "node:crypto";
import http from "node:http";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import {
  apiGatewayEvent,
  findRoute,
  type RouteMatch,
  type RouteTable,
  routesFor,
  routeTable,
} from "./api-gateway.js";
import { lambdaContext } from "./lambda-context.js";
import type { HttpLambda, LocalRoute } from "./routes.js";

/**
 * A thin stand-in for API Gateway (HTTP API, payload format 2.0) in front of the real Lambda
 * handlers: each node:http request becomes the event API Gateway would send, and the handler's
 * structured result becomes the HTTP response.
 */

/** The local body cap: the handlers enforce 1 MiB themselves, this only bounds what we buffer. */
export const MAX_BODY_BYTES = 1_048_576;
/** Beyond this many discarded bytes of an oversized body we stop draining and drop the connection. */
const MAX_DRAIN_BYTES = 64 * MAX_BODY_BYTES;

export interface ExtraRouteResult {
  statusCode: number;
  body: string;
  headers?: Record<string, string>;
}

/**
 * A local-only route (e.g. `POST /local/events`, `PUT /local/tenants/{tenantId}`): a route
 * template like the functions' routes, handed the raw body and the path's parameters.
 */
export interface ExtraRoute {
  method: string;
  path: string;
  handle: (body: string, pathParameters: Record<string, string>) => Promise<ExtraRouteResult>;
}

export interface LocalHttpServerOptions {
  routes: LocalRoute[];
  /** Matched before `routes`. */
  extraRoutes?: ExtraRoute[];
}

/** Returns a server that is not listening yet: call `listen()` on it. */
export function createLocalHttpServer(options: LocalHttpServerOptions): http.Server {
  const routing: Routing = {
    routes: routeTable(options.routes),
    extraRoutes: routeTable(options.extraRoutes ?? []),
    handlers: new Map(),
  };
  return http.createServer((req, res) => {
    handleRequest(req, res, routing).catch((error: unknown) => {
      console.error("local http adapter: unhandled error", error);
      if (!res.headersSent) sendError(res, 500, "internal_error", "internal error");
      else res.destroy();
    });
  });
}

// --- routing ---------------------------------------------------------------------------------------

/** `quotesync-local-post-webhooks-crm`: the local stand-in for the route's function name. */
function functionNameOf(route: LocalRoute): string {
  const literals = route.path.split("/").filter((segment) => segment !== "" && !segment.startsWith("{"));
  return `quotesync-local-${route.method.toLowerCase()}-${literals.join("-")}`;
}

// --- request handling ------------------------------------------------------------------------------

interface Routing {
  routes: RouteTable<LocalRoute>;
  extraRoutes: RouteTable<ExtraRoute>;
  /** Each route's handler, loaded on its first request. */
  handlers: Map<LocalRoute, Promise<HttpLambda>>;
}

async function handleRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  routing: Routing,
): Promise<void> {
  const method = (req.method ?? "GET").toUpperCase();
  const url = req.url ?? "/";
  const queryIndex = url.indexOf("?");
  const rawPath = queryIndex === -1 ? url : url.slice(0, queryIndex);
  const rawQueryString = queryIndex === -1 ? "" : url.slice(queryIndex + 1);

  const extra = findRoute(routing.extraRoutes, method, rawPath);
  if (extra) return answerExtraRoute(req, res, extra, rawPath);
  if (rawPath === "/health") {
    if (method !== "GET" && method !== "HEAD") return methodNotAllowed(req, res, method, rawPath, ["GET"]);
    await discardBody(req);
    return sendJson(res, 200, { status: "ok" });
  }
  const candidates = routesFor(routing.routes, rawPath);
  const match = candidates.find((candidate) => candidate.route.method === method);
  if (!match) {
    if (candidates.length > 0) {
      const allowed = [...new Set(candidates.map((candidate) => candidate.route.method))];
      return methodNotAllowed(req, res, method, rawPath, allowed);
    }
    await discardBody(req);
    return sendError(res, 404, "not_found", `no route for ${method} ${rawPath}`);
  }
  const body = await readBody(req, res);
  if (body === undefined) return;
  const requestId = randomUUID();
  const event = eventOf(req, { method, match, rawPath, rawQueryString, body, requestId });
  await invokeRoute(res, routing, match.route, event);
}

async function answerExtraRoute(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  extra: RouteMatch<ExtraRoute>,
  rawPath: string,
): Promise<void> {
  if (rawPath.startsWith("/local/")) {
    const refusal = localOnlyRefusal(req);
    if (refusal) {
      await discardBody(req);
      return sendError(res, refusal.statusCode, refusal.code, refusal.message);
    }
  }
  const body = await readBody(req, res);
  if (body === undefined) return;
  const result = await extra.route.handle(body.toString("utf8"), extra.pathParameters);
  res.writeHead(result.statusCode, { "content-type": "application/json", ...result.headers });
  res.end(result.body);
}

/** Runs the route's function on the event and writes its result; a function that throws is a 500. */
async function invokeRoute(
  res: http.ServerResponse,
  routing: Routing,
  route: LocalRoute,
  event: APIGatewayProxyEventV2,
): Promise<void> {
  const requestId = event.requestContext.requestId;
  let result: unknown;
  try {
    const loading = routing.handlers.get(route) ?? route.load();
    routing.handlers.set(route, loading);
    const handler = await loading.catch((error: unknown) => {
      routing.handlers.delete(route);
      throw error;
    });
    result = await handler(event, lambdaContext(functionNameOf(route)));
  } catch (error) {
    console.error(
      `local http adapter: ${event.routeKey} threw`,
      error instanceof Error ? error.stack : error,
    );
    return sendError(res, 500, "internal_error", "the function failed; see the server's stderr", {
      "apigw-requestid": requestId,
    });
  }
  writeResult(res, result, requestId);
}

function methodNotAllowed(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  method: string,
  rawPath: string,
  allowed: string[],
): Promise<void> {
  return discardBody(req).then(() =>
    sendError(res, 405, "method_not_allowed", `${method} is not allowed on ${rawPath}`, {
      allow: allowed.join(", "),
    }),
  );
}

/**
 * Buffers the body up to `MAX_BODY_BYTES`. Over that it stops buffering, drains (discards) the rest
 * so the client gets to read the answer, replies 413 and returns `undefined`.
 */
function readBody(req: http.IncomingMessage, res: http.ServerResponse): Promise<Buffer | undefined> {
  const declared = Number(req.headers["content-length"]);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let tooLarge = Number.isFinite(declared) && declared > MAX_BODY_BYTES;
    const tooLargeAnswer = (): void => {
      sendError(res, 413, "payload_too_large", `request body is over ${MAX_BODY_BYTES} bytes`);
      resolve(undefined);
    };
    req.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (tooLarge || received > MAX_BODY_BYTES) {
        tooLarge = true;
        chunks.length = 0;
        if (received > MAX_DRAIN_BYTES) {
          req.removeAllListeners("data");
          req.removeAllListeners("end");
          res.setHeader("connection", "close");
          tooLargeAnswer();
          res.once("finish", () => req.destroy());
        }
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => {
      if (tooLarge) tooLargeAnswer();
      else resolve(Buffer.concat(chunks, received));
    });
    req.once("error", reject);
  });
}

function discardBody(req: http.IncomingMessage): Promise<void> {
  if (req.readableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    req.once("end", resolve);
    req.once("error", () => resolve());
    req.resume();
  });
}

// --- the API Gateway payload 2.0 event -------------------------------------------------------------

/**
 * The event API Gateway would send for a node:http request. API Gateway lower-cases header names
 * and joins repeated headers with ","; cookies move to `cookies`. rawHeaders keeps every
 * repetition (req.headers drops some duplicates).
 */
function eventOf(
  req: http.IncomingMessage,
  input: {
    method: string;
    match: RouteMatch<LocalRoute>;
    rawPath: string;
    rawQueryString: string;
    body: Buffer;
    requestId: string;
  },
): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let index = 0; index + 1 < req.rawHeaders.length; index += 2) {
    const name = (req.rawHeaders[index] as string).toLowerCase();
    const value = req.rawHeaders[index + 1] as string;
    if (name === "cookie") {
      cookies.push(...value.split(";").flatMap((cookie) => (cookie.trim() ? [cookie.trim()] : [])));
      continue;
    }
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  return apiGatewayEvent({
    method: input.method,
    routeKey: input.match.route.path,
    path: input.rawPath,
    query: input.rawQueryString,
    headers,
    cookies,
    body: input.body.toString("utf8"),
    pathParameters: input.match.pathParameters,
    requestId: input.requestId,
    sourceIp: (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, ""),
    protocol: `HTTP/${req.httpVersion}`,
    domainName: headers.host ?? "127.0.0.1",
  });
}

// --- responses -------------------------------------------------------------------------------------

function writeResult(res: http.ServerResponse, result: unknown, requestId: string): void {
  const headers: Record<string, string | string[]> = { "apigw-requestid": requestId };
  // API Gateway payload 2.0: anything that is not an object with `statusCode` is taken as a 200
  // JSON body.
  if (typeof result !== "object" || result === null || !("statusCode" in result)) {
    headers["content-type"] = "application/json";
    res.writeHead(200, headers);
    res.end(typeof result === "string" ? result : JSON.stringify(result ?? null));
    return;
  }
  const structured = result as APIGatewayProxyStructuredResultV2;
  for (const [name, value] of Object.entries(structured.headers ?? {})) {
    headers[name.toLowerCase()] = String(value);
  }
  if (structured.cookies && structured.cookies.length > 0) headers["set-cookie"] = structured.cookies;
  res.writeHead(structured.statusCode ?? 200, headers);
  const body = structured.body ?? "";
  res.end(structured.isBase64Encoded ? Buffer.from(body, "base64") : body);
}

function sendJson(
  res: http.ServerResponse,
  statusCode: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(statusCode, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(value));
}

/**
 * `/local/*` is unauthenticated, so it answers only what a web page cannot send: a JSON content
 * type (a cross-site form or a "simple" fetch is `text/plain`, and anything else needs a CORS
 * preflight this server never grants) to a loopback `Host` (a DNS-rebinding page names its own host).
 */
export function localOnlyRefusal(
  req: Pick<http.IncomingMessage, "headers">,
): { statusCode: number; code: string; message: string } | undefined {
  const host = req.headers.host ?? "";
  const hostname = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0];
  if (!["localhost", "127.0.0.1", "[::1]"].includes(hostname ?? "")) {
    return {
      statusCode: 403,
      code: "forbidden",
      message: "/local/* answers only requests to a loopback host (localhost, 127.0.0.1, [::1])",
    };
  }
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") {
    return {
      statusCode: 415,
      code: "unsupported_media_type",
      message: "/local/* needs content-type: application/json",
    };
  }
  return undefined;
}

function sendError(
  res: http.ServerResponse,
  statusCode: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  // The same body as the functions answer (SPEC §2): `details` is always present.
  sendJson(res, statusCode, { error: { code, message, details: [] } }, headers);
}
