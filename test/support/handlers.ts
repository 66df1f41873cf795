import { randomUUID } from "node:crypto";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { demoTenant, type TenantConfig } from "../../domain/tenant.js";
import { createRuntime, setRuntime } from "../../functions/lib/runtime.js";
import { signRequest } from "../../functions/lib/signature.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { localRoutes } from "../../local/routes.js";
import { createTestTable, type TestTable } from "./dynamo.js";

export const DEMO_SECRETS = { crm: "demo-crm-secret", cpq: "demo-cpq-secret" } as const;

export interface HandlerResponse {
  statusCode: number;
  headers: Record<string, string>;
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
        userAgent: "test",
      },
      requestId: randomUUID(),
      routeKey: `${options.method} ${options.routeKey}`,
      stage: "$default",
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
  } as APIGatewayProxyEventV2;
}

const context = {
  functionName: "test",
  awsRequestId: "test",
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;

function matchRoute(method: string, path: string) {
  for (const route of localRoutes) {
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
 * Runs the real Lambda handlers in-process against a fresh table on DynamoDB Local, with the
 * demo tenant registered. Requests are signed like a real CRM/CPQ would sign them.
 */
export async function handlerHarness(options: { tenants?: TenantConfig[] } = {}) {
  const table: TestTable = await createTestTable();
  const doc = DynamoDBDocumentClient.from(table.client, { marshallOptions: { removeUndefinedValues: true } });
  const store = new DynamoSyncStore({ doc, tableName: table.tableName });
  for (const tenant of options.tenants ?? [demoTenant(DEMO_SECRETS)]) await store.putTenant(tenant);
  setRuntime(createRuntime(store, { tenantCacheMs: 0 }));

  async function request(
    method: "GET" | "POST",
    path: string,
    options: {
      body?: unknown;
      rawBody?: string;
      secret?: string | null;
      signature?: string;
      headers?: Record<string, string>;
    } = {},
  ): Promise<HandlerResponse> {
    const [rawPath = path, query = ""] = path.split("?");
    const body = options.rawBody ?? (options.body === undefined ? "" : JSON.stringify(options.body));
    const secret =
      options.secret === undefined
        ? rawPath.startsWith("/webhooks/crm")
          ? DEMO_SECRETS.crm
          : DEMO_SECRETS.cpq
        : options.secret;
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.signature) headers["x-quotesync-signature"] = options.signature;
    else if (secret)
      headers["x-quotesync-signature"] = signRequest({ secret, method, pathWithQuery: path, body });
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
    const result = (await handler(event, context)) as APIGatewayProxyStructuredResultV2;
    const text = typeof result.body === "string" ? result.body : "";
    return {
      statusCode: result.statusCode ?? 200,
      headers: Object.fromEntries(
        Object.entries(result.headers ?? {}).map(([key, value]) => [key, String(value)]),
      ),
      body: text ? JSON.parse(text) : undefined,
    };
  }

  return {
    table,
    store,
    doc,
    request,
    crm: (event: unknown, tenantId = "demo") => request("POST", `/webhooks/crm/${tenantId}`, { body: event }),
    cpq: (event: unknown, tenantId = "demo") => request("POST", `/webhooks/cpq/${tenantId}`, { body: event }),
    start: (quoteId: string, body: unknown = {}, tenantId = "demo") =>
      request("POST", `/sync/${tenantId}/quotes/${encodeURIComponent(quoteId)}/start`, { body }),
    stop: (quoteId: string, body: unknown = {}, tenantId = "demo") =>
      request("POST", `/sync/${tenantId}/quotes/${encodeURIComponent(quoteId)}/stop`, { body }),
    status: (opportunityId: string, tenantId = "demo") =>
      request("GET", `/sync/${tenantId}/opportunities/${encodeURIComponent(opportunityId)}`),
    async dispose() {
      setRuntime(undefined);
      await table.dispose();
    },
  };
}
