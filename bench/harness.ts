import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { demoTenant } from "../domain/tenant.js";
import { createRuntime, setRuntime } from "../functions/lib/runtime.js";
import { ensureTable } from "../infra/create-table.js";
import { DynamoSyncStore } from "../infra/dynamodb/store.js";
import { type DynamoDbLocal, localDynamoClientConfig, startDynamoDbLocal } from "../infra/dynamodb-local.js";
import { type InvokeResponse, invokeRoute } from "../local/invoke.js";
import { DynamoMeter } from "./meter.js";

export const SECRETS = { crm: "demo-crm-secret", cpq: "demo-cpq-secret" } as const;

/** The benchmark's world: its own DynamoDB Local, one table, the demo tenant, the real handlers. */
export interface Bench {
  dynamo: DynamoDbLocal;
  client: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  store: DynamoSyncStore;
  tableName: string;
  meter: DynamoMeter;
  crm(event: unknown): Promise<InvokeResponse>;
  cpq(event: unknown): Promise<InvokeResponse>;
  start(quoteId: string): Promise<InvokeResponse>;
  status(opportunityId: string): Promise<InvokeResponse>;
  /** A second table for the raw baseline, on the same DynamoDB Local. */
  newTable(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function startBench(): Promise<Bench> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";
  process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
  const dynamo = await startDynamoDbLocal();
  const client = new DynamoDBClient(localDynamoClientConfig(dynamo.endpoint));
  const meter = new DynamoMeter();
  meter.attach(client);
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const tableName = "quotesync-bench";
  await ensureTable(client, tableName);
  const store = new DynamoSyncStore({ doc, tableName, onConsumedCapacity: meter.onCapacity });
  await store.putTenant(demoTenant(SECRETS));
  // As in a Lambda container: the tenant configuration is cached between invocations.
  setRuntime(createRuntime(store, { tenantCacheMs: 10 * 60_000 }));

  const post = (path: string, body: unknown, secret: string) =>
    invokeRoute("POST", path, { rawBody: JSON.stringify(body), secret });
  return {
    dynamo,
    client,
    doc,
    store,
    tableName,
    meter,
    crm: (event) => post("/webhooks/crm/demo", event, SECRETS.crm),
    cpq: (event) => post("/webhooks/cpq/demo", event, SECRETS.cpq),
    start: (quoteId) => post(`/sync/demo/quotes/${encodeURIComponent(quoteId)}/start`, {}, SECRETS.cpq),
    status: (opportunityId) =>
      invokeRoute("GET", `/sync/demo/opportunities/${encodeURIComponent(opportunityId)}`, {
        secret: SECRETS.crm,
      }),
    newTable: (name) => ensureTable(client, name),
    async close() {
      setRuntime(undefined);
      client.destroy();
      await dynamo.stop();
    },
  };
}

/** Fails the benchmark loudly when a request it relies on did not succeed. */
export function expectOk(response: InvokeResponse, what: string): InvokeResponse {
  if (response.statusCode !== 200) {
    throw new Error(`${what}: HTTP ${response.statusCode} ${JSON.stringify(response.body).slice(0, 400)}`);
  }
  return response;
}
