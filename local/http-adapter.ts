import { randomUUID } from "node:crypto";
import http from "node:http";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
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
 * A local-only route (e.g. `POST /local/events`): exact method and path (or a path pattern whose
 * groups are handed over, e.g. `PUT /local/tenants/{tenantId}`), raw body in.
 */
export interface ExtraRoute {
  method: string;
  path: string | RegExp;
  handle: (body: string, params: string[]) => Promise<ExtraRouteResult>;
}

export interface LocalHttpServerOptions {
  routes: LocalRoute[];
  /** Matched before `routes`. */
  extraRoutes?: ExtraRoute[];
}

/** Returns a server that is not listening yet: call `listen()` on it. */
export function createLocalHttpServer(options: LocalHttpServerOptions): http.Server {
  const compiled = options.routes.map(compileRoute);
  const extraRoutes = options.extraRoutes ?? [];

  return http.createServer((req, res) => {
    handleRequest(req, res, compiled, extraRoutes).catch((error: unknown) => {
      console.error("local http adapter: unhandled error", error);
      if (!res.headersSent) sendError(res, 500, "internal_error", "internal error");
      else res.destroy();
    });
  });
}

// --- routing ---------------------------------------------------------------------------------------

interface CompiledRoute {
  route: LocalRoute;
  segments: Array<{ literal: string } | { param: string }>;
  literalCount: number;
  functionName: string;
  handler?: Promise<HttpLambda>;
}

function compileRoute(route: LocalRoute): CompiledRoute {
  const segments = splitPath(route.path).map((segment) => {
    const param = /^\{([^{}]+)\}$/.exec(segment)?.[1];
    return param ? { param } : { literal: segment };
  });
  const literals = segments.flatMap((segment) => ("literal" in segment ? [segment.literal] : []));
  return {
    route,
    segments,
    literalCount: literals.length,
    functionName: `quotesync-local-${route.method.toLowerCase()}-${literals.join("-")}`,
  };
}

function splitPath(path: string): string[] {
  return path.split("/").filter((segment) => segment !== "");
}

/** Matches a raw (still percent-encoded) path; `undefined` if it does not fit the template. */
function matchTemplate(compiled: CompiledRoute, rawPath: string): Record<string, string> | undefined {
  const parts = splitPath(rawPath);
  if (parts.length !== compiled.segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [index, segment] of compiled.segments.entries()) {
    const part = parts[index] as string;
    if ("literal" in segment) {
      if (safeDecode(part) !== segment.literal) return undefined;
    } else {
      const value = safeDecode(part);
      if (value === undefined) return undefined;
      params[segment.param] = value;
    }
  }
  return params;
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** Like API Gateway: the most specific route (most literal segments) wins. */
function findRoutes(
  compiled: CompiledRoute[],
  rawPath: string,
): Array<{ compiled: CompiledRoute; params: Record<string, string> }> {
  return compiled
    .flatMap((entry) => {
      const params = matchTemplate(entry, rawPath);
      return params ? [{ compiled: entry, params }] : [];
    })
    .sort((a, b) => b.compiled.literalCount - a.compiled.literalCount);
}

// --- request handling ------------------------------------------------------------------------------

async function handleRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  compiled: CompiledRoute[],
  extraRoutes: ExtraRoute[],
): Promise<void> {
  const method = (req.method ?? "GET").toUpperCase();
  const url = req.url ?? "/";
  const queryIndex = url.indexOf("?");
  const rawPath = queryIndex === -1 ? url : url.slice(0, queryIndex);
  const rawQueryString = queryIndex === -1 ? "" : url.slice(queryIndex + 1);

  const extra = extraRoutes.find(
    (route) =>
      route.method.toUpperCase() === method &&
      (typeof route.path === "string" ? route.path === rawPath : route.path.test(rawPath)),
  );
  if (extra) {
    if (rawPath.startsWith("/local/")) {
      const refusal = localOnlyRefusal(req);
      if (refusal) {
        await discardBody(req);
        sendError(res, refusal.statusCode, refusal.code, refusal.message);
        return;
      }
    }
    const body = await readBody(req, res);
    if (body === undefined) return;
    const params = typeof extra.path === "string" ? [] : (extra.path.exec(rawPath)?.slice(1) ?? []);
    const result = await extra.handle(body.toString("utf8"), params);
    res.writeHead(result.statusCode, { "content-type": "application/json", ...result.headers });
    res.end(result.body);
    return;
  }

  if (rawPath === "/health") {
    if (method !== "GET" && method !== "HEAD") {
      return methodNotAllowed(req, res, method, rawPath, ["GET"]);
    }
    await discardBody(req);
    sendJson(res, 200, { status: "ok" });
    return;
  }

  const candidates = findRoutes(compiled, rawPath);
  const match = candidates.find((candidate) => candidate.compiled.route.method === method);
  if (!match) {
    if (candidates.length > 0) {
      const allowed = [...new Set(candidates.map((candidate) => candidate.compiled.route.method))];
      return methodNotAllowed(req, res, method, rawPath, allowed);
    }
    await discardBody(req);
    sendError(res, 404, "not_found", `no route for ${method} ${rawPath}`);
    return;
  }

  const body = await readBody(req, res);
  if (body === undefined) return;

  const requestId = randomUUID();
  const event = buildEvent(req, {
    method,
    route: match.compiled.route,
    rawPath,
    rawQueryString,
    pathParameters: match.params,
    body,
    requestId,
  });
  const context = buildContext(match.compiled.functionName);

  let result: unknown;
  try {
    match.compiled.handler ??= match.compiled.route.load();
    const handler = await match.compiled.handler.catch((error: unknown) => {
      match.compiled.handler = undefined;
      throw error;
    });
    result = await handler(event, context);
  } catch (error) {
    console.error(
      `local http adapter: ${event.routeKey} threw`,
      error instanceof Error ? error.stack : error,
    );
    sendError(res, 500, "internal_error", "the function failed; see the server's stderr", {
      "apigw-requestid": requestId,
    });
    return;
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

function buildEvent(
  req: http.IncomingMessage,
  input: {
    method: string;
    route: LocalRoute;
    rawPath: string;
    rawQueryString: string;
    pathParameters: Record<string, string>;
    body: Buffer;
    requestId: string;
  },
): APIGatewayProxyEventV2 {
  // API Gateway lower-cases header names and joins repeated headers with ","; cookies move to
  // `cookies`. rawHeaders keeps every repetition (req.headers drops some duplicates).
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let index = 0; index + 1 < req.rawHeaders.length; index += 2) {
    const name = (req.rawHeaders[index] as string).toLowerCase();
    const value = req.rawHeaders[index + 1] as string;
    if (name === "cookie") {
      cookies.push(
        ...value
          .split(";")
          .map((cookie) => cookie.trim())
          .filter(Boolean),
      );
      continue;
    }
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }

  let queryStringParameters: Record<string, string> | undefined;
  if (input.rawQueryString !== "") {
    queryStringParameters = {};
    for (const [name, value] of new URLSearchParams(input.rawQueryString)) {
      queryStringParameters[name] =
        name in queryStringParameters ? `${queryStringParameters[name]},${value}` : value;
    }
  }

  const now = new Date();
  const domainName = headers.host ?? "127.0.0.1";
  const routeKey = `${input.route.method} ${input.route.path}`;
  const event: APIGatewayProxyEventV2 = {
    version: "2.0",
    routeKey,
    rawPath: input.rawPath,
    rawQueryString: input.rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName,
      domainPrefix: domainName.split(".")[0] ?? domainName,
      http: {
        method: input.method,
        path: input.rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, ""),
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: input.requestId,
      routeKey,
      stage: "$default",
      time: formatRequestTime(now),
      timeEpoch: now.getTime(),
    },
    ...(Object.keys(input.pathParameters).length > 0 ? { pathParameters: input.pathParameters } : {}),
    isBase64Encoded: false,
  };
  // Like API Gateway, a request without a body has no `body` property at all.
  if (input.body.length > 0) event.body = input.body.toString("utf8");
  return event;
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

const TIMEOUT_MS = 30_000;

function buildContext(functionName: string): Context {
  const deadline = Date.now() + TIMEOUT_MS;
  const awsRequestId = randomUUID();
  const unsupported = (): never => {
    throw new Error("callback-style Lambda context methods are not supported locally");
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: "1024",
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/[$LATEST]${awsRequestId.replaceAll("-", "")}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
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
