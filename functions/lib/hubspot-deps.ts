import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { ConnectorStore } from "../../connectors/applier.js";
import type { WebhookDeps } from "../../connectors/hubspot/webhook.js";
import type { TenantConfig } from "../../domain/tenant.js";
import { DynamoConnectorStore } from "../../infra/dynamodb/connector-store.js";
import { ssmConnectorResolver } from "./connector-credentials.js";
import { configFromEnvironment, dynamoClient, runtime } from "./runtime.js";

/** What the HubSpot function takes from its container; tests and the local server may replace parts. */
export interface HubSpotEnvironment {
  publicUrl: string;
  connectorStore: ConnectorStore;
  fetch: typeof fetch;
  now: () => number;
  /** How the portal's rate budget waits (tests that move their own clock replace it). */
  sleep?: (ms: number) => Promise<void>;
}

const resolveConnector = ssmConnectorResolver(300);

let overrides: Partial<HubSpotEnvironment> = {};
let sharedStore: ConnectorStore | undefined;

/** Replaces parts of the HubSpot function's environment (tests, the local server); `{}` resets. */
export function setHubSpotEnvironment(next: Partial<HubSpotEnvironment>): void {
  overrides = next;
}

function environment(): HubSpotEnvironment {
  // A custom domain's URL when deployed with one, else the HTTP API's own endpoint.
  const publicUrl =
    overrides.publicUrl ?? (process.env.QUOTESYNC_PUBLIC_URL || process.env.QUOTESYNC_API_ENDPOINT);
  if (!publicUrl) throw new Error("neither QUOTESYNC_PUBLIC_URL nor QUOTESYNC_API_ENDPOINT is set");
  if (!overrides.connectorStore && !sharedStore) {
    const config = configFromEnvironment();
    const doc = DynamoDBDocumentClient.from(dynamoClient(config), {
      marshallOptions: { removeUndefinedValues: true },
    });
    sharedStore = new DynamoConnectorStore(doc, config.tableName);
  }
  return {
    publicUrl,
    connectorStore: overrides.connectorStore ?? (sharedStore as ConnectorStore),
    fetch: overrides.fetch ?? globalThis.fetch,
    now: overrides.now ?? Date.now,
    ...(overrides.sleep ? { sleep: overrides.sleep } : {}),
  };
}

/**
 * The webhook's dependencies: the container's runtime (engine, store, tenants) and HubSpot's
 * environment; `timeLeft`, the invocation's remaining milliseconds, bounds the engine's retries.
 */
export function hubSpotDeps(log: WebhookDeps["log"], timeLeft: () => number): WebhookDeps {
  const rt = runtime();
  // Within the invocation's deadline: decisions stop retrying in time to answer before it.
  const engine = rt.engine.within(timeLeft);
  const env = environment();
  return {
    ...env,
    store: rt.store,
    findTenantIdByPortal: (portalId) => rt.store.findTenantIdByHubSpotPortal(portalId),
    loadTenant: async (tenantId) => {
      const tenant = await rt.loadTenant(tenantId);
      if (!tenant) return null;
      // The app's client secret and token may live in the sides' credentialsParameter (SSM).
      const [crm, cpq] = await Promise.all([
        resolveConnector(tenant, "crm"),
        resolveConnector(tenant, "cpq"),
      ]);
      return { ...tenant, connectors: { crm, cpq } } as TenantConfig;
    },
    handleCrmEvent: (tenant, event) => engine.handleCrmEvent(tenant, event),
    handleCpqEvent: (tenant, event) => engine.handleCpqEvent(tenant, event),
    startSync: (tenant, quoteId, input) => engine.startSync(tenant, quoteId, input),
    stopSync: (tenant, quoteId, input) => engine.stopSync(tenant, quoteId, input),
    log,
  };
}
