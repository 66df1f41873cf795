import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { ApplyContext, ConnectorStore, TargetStateChanges } from "../../connectors/applier.js";
import { salesforceApplier } from "../../connectors/salesforce/applier.js";
import type { RelayedEvent } from "../../connectors/salesforce/fake/server.js";
import { handleSalesforceEvent, type InboundResult } from "../../connectors/salesforce/inbound.js";
import type { Mirror } from "../../domain/model.js";
import type { DriftIssue } from "../../domain/schedule.js";
import type { TenantConfig } from "../../domain/tenant.js";
import { createRuntime, type Runtime } from "../../functions/lib/runtime.js";
import { DynamoConnectorStore } from "../../infra/dynamodb/connector-store.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import type { TestTable } from "./dynamo.js";

/**
 * quotesync on DynamoDB Local with a Salesforce CRM: the engine, the connector store, a stand-in
 * for `deliver` that applies the CRM mirrors of the outbox in order with the salesforce applier
 * (keeping each pair's target state as deliver does), and the inbound function fed with the
 * fake's relayed events.
 */
export function salesforceHarness(table: TestTable, tenant: TenantConfig) {
  const doc = DynamoDBDocumentClient.from(table.client, { marshallOptions: { removeUndefinedValues: true } });
  const store = new DynamoSyncStore({ doc, tableName: table.tableName });
  const rt: Runtime = createRuntime(store, { tenantCacheMs: 0, resolveSecrets: async (t) => t });
  const connectorStore: ConnectorStore = new DynamoConnectorStore(doc, table.tableName);
  const states = new Map<string, { lineIds: Record<string, string>; facts: Record<string, string> }>();
  const drift = new Map<string, DriftIssue[]>();
  const inboundResults: InboundResult[] = [];
  let cursor: string | null = null;
  const failures: Error[] = [];

  const deliverOne = async (mirror: Mirror, entryId: string): Promise<"delivered" | "failed"> => {
    const pair = `${mirror.opportunityId}/${mirror.quoteId}`;
    const state = states.get(pair) ?? { lineIds: {}, facts: {} };
    states.set(pair, state);
    const context: ApplyContext = {
      tenant,
      connector: tenant.connectors.crm,
      side: "crm",
      state: { lineIds: { ...state.lineIds }, facts: { ...state.facts } },
      fetch,
      now: Date.now,
      connectorStore,
      reportDrift: async (finding) => void drift.set(finding.opportunityId, finding.issues),
    };
    try {
      const result = await salesforceApplier.apply(
        { tenantId: tenant.tenantId, entryId, cursor: entryId, at: new Date().toISOString(), mirror },
        context,
      );
      keep(state, result.changes);
      return "delivered";
    } catch (error) {
      keep(state, (error as { changes?: TargetStateChanges }).changes);
      failures.push(error as Error);
      return "failed";
    }
  };

  return {
    rt,
    store,
    connectorStore,
    states,
    drift,
    inboundResults,
    failures,
    async setup() {
      await store.putTenant(tenant);
    },
    /** Applies every CRM mirror committed since the last call, in outbox order; a failed one is retried up to `attempts` times. */
    async deliver(attempts = 1): Promise<number> {
      let delivered = 0;
      for (;;) {
        const page = await store.readOutbox(tenant.tenantId, cursor, 100);
        for (const entry of page.entries) {
          if (entry.mirror.target === "crm") {
            let outcome = await deliverOne(entry.mirror, entry.cursor);
            for (let attempt = 1; outcome === "failed" && attempt < attempts; attempt++) {
              outcome = await deliverOne(entry.mirror, entry.cursor);
            }
            if (outcome === "failed") throw failures.at(-1);
            delivered++;
          }
          cursor = entry.cursor;
        }
        if (page.entries.length === 0 || page.next === null) break;
      }
      return delivered;
    },
    /** Feeds relayed events to the inbound side; a failing one is retried as EventBridge would, up to `attempts` times. */
    async receive(events: RelayedEvent[], attempts = 1): Promise<InboundResult[]> {
      const results: InboundResult[] = [];
      for (const event of events) {
        for (let attempt = 1; ; attempt++) {
          try {
            const result = await handleSalesforceEvent(event, {
              engine: rt.engine,
              store,
              loadTenant: (id) => rt.loadTenant(id),
              connectorStore,
              fetch,
              now: Date.now,
            });
            results.push(result);
            inboundResults.push(result);
            break;
          } catch (error) {
            if (attempt >= attempts) throw error;
          }
        }
      }
      return results;
    },
  };
}

function keep(
  state: { lineIds: Record<string, string>; facts: Record<string, string> },
  changes: TargetStateChanges | undefined,
): void {
  for (const [key, id] of Object.entries(changes?.lineIds?.set ?? {})) state.lineIds[key] = id;
  for (const key of changes?.lineIds?.remove ?? []) delete state.lineIds[key];
  for (const [key, value] of Object.entries(changes?.facts ?? {})) {
    if (value === null) delete state.facts[key];
    else state.facts[key] = value;
  }
}
