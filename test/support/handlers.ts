import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { InMemorySyncStore } from "../../domain/memory-store.js";
import { demoTenant, type TenantConfig } from "../../domain/tenant.js";
import { createRuntime, setRuntime } from "../../functions/lib/runtime.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { apiGatewayEvent, type InvokeResponse, invokeRoute } from "../../local/invoke.js";
import { createTestTable, type TestTable } from "./dynamo.js";
import { nextEventId } from "./events.js";

export const DEMO_SECRETS = { crm: "demo-crm-secret", cpq: "demo-cpq-secret" } as const;

export type HandlerResponse = InvokeResponse;

export { apiGatewayEvent };

/**
 * Runs the real Lambda handlers in-process against a fresh table on DynamoDB Local, with the
 * demo tenant registered. Requests are signed like a real CRM/CPQ would sign them.
 */
export async function handlerHarness(
  options: { tenants?: TenantConfig[]; stream?: boolean; clock?: () => number } = {},
) {
  const table: TestTable = await createTestTable({ stream: options.stream ?? false });
  const doc = DynamoDBDocumentClient.from(table.client, { marshallOptions: { removeUndefinedValues: true } });
  const store = new DynamoSyncStore({ doc, tableName: table.tableName });
  for (const tenant of options.tenants ?? [demoTenant(DEMO_SECRETS)]) await store.putTenant(tenant);
  setRuntime(createRuntime(store, { tenantCacheMs: 0, ...(options.clock ? { clock: options.clock } : {}) }));
  return {
    table,
    store,
    doc,
    ...signedRequests(),
    async dispose() {
      setRuntime(undefined);
      await table.dispose();
    },
  };
}

/** The same handlers over the in-memory store: for tests of the engine's rules through the functions. */
export async function memoryHandlerHarness<S extends InMemorySyncStore = InMemorySyncStore>(
  options: { tenants?: TenantConfig[]; clock?: () => number; store?: S } = {},
) {
  const store = options.store ?? (new InMemorySyncStore(options.clock) as S);
  for (const tenant of options.tenants ?? [demoTenant(DEMO_SECRETS)]) await store.putTenant(tenant);
  setRuntime(createRuntime(store, { tenantCacheMs: 0, ...(options.clock ? { clock: options.clock } : {}) }));
  return {
    store,
    ...signedRequests(),
    async dispose() {
      setRuntime(undefined);
    },
  };
}

/** Requests to the handlers, signed like a real CRM/CPQ would sign them. */
function signedRequests() {
  async function request(
    method: "GET" | "POST",
    path: string,
    options: {
      body?: unknown;
      rawBody?: string;
      secret?: string | null;
      signature?: string;
      headers?: Record<string, string>;
      /** The function's time limit for this invocation (default: as deployed, `LOCAL_TIMEOUT_MS`). */
      timeoutMs?: number;
    } = {},
  ): Promise<HandlerResponse> {
    const body = options.rawBody ?? (options.body === undefined ? "" : JSON.stringify(options.body));
    const secret =
      options.secret === undefined
        ? path.startsWith("/webhooks/crm")
          ? DEMO_SECRETS.crm
          : DEMO_SECRETS.cpq
        : options.secret;
    return invokeRoute(method, path, {
      rawBody: body,
      secret,
      ...(options.signature ? { signature: options.signature } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
  }

  return {
    request,
    crm: (event: unknown, tenantId = "demo") => request("POST", `/webhooks/crm/${tenantId}`, { body: event }),
    cpq: (event: unknown, tenantId = "demo") => request("POST", `/webhooks/cpq/${tenantId}`, { body: event }),
    // Each call is a new command (its own eventId): two identical signed requests within the same
    // second are one request to quotesync (a replay), and tests start the same quote in quick succession.
    start: (quoteId: string, body: unknown = { eventId: nextEventId("start") }, tenantId = "demo") =>
      request("POST", `/sync/${tenantId}/quotes/${encodeURIComponent(quoteId)}/start`, { body }),
    stop: (quoteId: string, body: unknown = { eventId: nextEventId("stop") }, tenantId = "demo") =>
      request("POST", `/sync/${tenantId}/quotes/${encodeURIComponent(quoteId)}/stop`, { body }),
    status: (opportunityId: string, tenantId = "demo") =>
      request("GET", `/sync/${tenantId}/opportunities/${encodeURIComponent(opportunityId)}`),
  };
}
