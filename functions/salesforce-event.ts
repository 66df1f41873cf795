import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { ConnectorStore } from "../connectors/applier.js";
import { handleSalesforceEvent, type InboundResult } from "../connectors/salesforce/inbound.js";
import { DynamoConnectorStore } from "../infra/dynamodb/connector-store.js";
import { ssmConnectorResolver } from "./lib/connector-credentials.js";
import { functionStack, type LambdaFunction } from "./lib/function-stack.js";
import { logger } from "./lib/logger.js";
import { recordEvent } from "./lib/metrics.js";
import { type EventFacts, failureLog } from "./lib/middleware/failure-log.js";
import { configFromEnvironment, dynamoClient, type Runtime, runtime } from "./lib/runtime.js";

let sharedConnectorStore: ConnectorStore | undefined;
const resolveCredentials = ssmConnectorResolver(300);

/** The container's connector store on the quotesync table. */
function connectorStore(): ConnectorStore {
  if (!sharedConnectorStore) {
    const config = configFromEnvironment();
    const doc = DynamoDBDocumentClient.from(dynamoClient(config), {
      marshallOptions: { removeUndefinedValues: true },
    });
    sharedConnectorStore = new DynamoConnectorStore(doc, config.tableName);
  }
  return sharedConnectorStore;
}

/** Replaces the container's connector store (tests and the local server). */
export function setSalesforceConnectorStore(store: ConnectorStore | undefined): void {
  sharedConnectorStore = store;
}

/**
 * A Salesforce change event relayed by Event Relay to EventBridge (CONNECTORS §4). Anything it
 * throws — an unknown org (`UnknownSalesforceOrg`), an invalid event, Salesforce or storage down —
 * fails the invocation: EventBridge retries it a few times (the rule's `maximumRetryAttempts`) and
 * then sends it to the on-failure queue, where `quotesync replay` can send it again. Its
 * `detail-type` goes into `facts`, for the failure line.
 */
export async function handleRelayedEvent(
  event: unknown,
  rt: Runtime = runtime(),
  store: ConnectorStore = connectorStore(),
  facts: EventFacts = {},
): Promise<InboundResult> {
  const type = String((event as { "detail-type"?: unknown })?.["detail-type"] ?? "unknown");
  facts.detailType = type;
  const result = await handleSalesforceEvent(event, {
    engine: rt.engine,
    store: rt.store,
    loadTenant: (tenantId) => rt.loadTenant(tenantId),
    resolveConnector: async (tenant) => {
      const crm = tenant.connectors.crm;
      // Credentials kept in SSM (`credentialsParameter`) are merged in as deliver does.
      const resolved =
        crm.kind === "salesforce" && crm.credentialsParameter ? await resolveCredentials(tenant, "crm") : crm;
      if (resolved.kind !== "salesforce") throw new Error("the tenant's CRM connector is not Salesforce");
      return resolved;
    },
    connectorStore: store,
    fetch,
    now: Date.now,
    warn: (message, detail) => logger.warn(message, detail),
  });
  logger.info("salesforce change event", {
    tenantId: result.tenantId,
    detailType: type,
    fed: result.fed.length,
    unchanged: result.unchanged,
    apiCalls: result.apiCalls,
  });
  recordEvent(`salesforce:${type}`, result.fed.length > 0 ? "applied" : "no_change", 0);
  return result;
}

/** The Salesforce change-event function, on the partner event bus. */
export const handler = functionStack<unknown, InboundResult>()
  .use(failureLog("salesforce change event failed", (facts) => `salesforce:${facts.detailType}`))
  .handler((event, context) =>
    handleRelayedEvent(event, runtime(), connectorStore(), context.facts),
  ) as unknown as LambdaFunction<unknown, InboundResult>;
