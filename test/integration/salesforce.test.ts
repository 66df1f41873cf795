import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeSalesforce, RelayedEvent } from "../../connectors/salesforce/fake/server.js";
import { auditOpportunity } from "../../domain/engine/drift-report.js";
import { CpqEvent } from "../../domain/events.js";
import type { TenantConfig } from "../../domain/tenant.js";
import {
  createDeliveryRuntime,
  type DeliveryRuntime,
  setDeliveryRuntime,
} from "../../functions/lib/delivery-runtime.js";
import { runtime } from "../../functions/lib/runtime.js";
import { handleRelayedEvent, setSalesforceConnectorStore } from "../../functions/salesforce-event.js";
import { DynamoConnectorStore } from "../../infra/dynamodb/connector-store.js";
import { type StreamDelivery, startStreamDelivery } from "../support/delivery.js";
import { handlerHarness } from "../support/handlers.js";
import { salesforceTenant, startFakeSalesforce } from "../support/salesforce.js";

const OPPORTUNITIES = 30;
const LINES = 10;

/** A seeded generator: the same shuffles and faults on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Salesforce as the CRM through the real delivery path: DynamoDB Local's stream feeds `deliver`,
 * which applies mirrors with the salesforce applier to the fake; the fake's relayed change events
 * go to the Salesforce event function, duplicated, shuffled, several records per event, with
 * REQUEST_LIMIT_EXCEEDED on 10 % of API calls.
 */
describe("Salesforce under load: shuffled, duplicated CDC events and rate limits", () => {
  let h: Awaited<ReturnType<typeof handlerHarness>>;
  let fake: FakeSalesforce;
  let tenant: TenantConfig;
  let products: Map<string, string>;
  let delivery: DeliveryRuntime;
  let streamDelivery: StreamDelivery | undefined;
  const random = seeded(12);
  const pairs: Array<{ opportunityId: string; quoteId: string }> = [];
  let failedAttempts = 0;

  beforeAll(async () => {
    const started = await startFakeSalesforce({ products: 10 });
    fake = started.fake;
    products = started.products;
    fake.holdEvents = true;
    tenant = salesforceTenant(fake.baseUrl, started.pricebookId);
    h = await handlerHarness({ tenants: [tenant], stream: true });
    setSalesforceConnectorStore(new DynamoConnectorStore(h.doc, h.table.tableName));
    delivery = createDeliveryRuntime({
      doc: h.doc,
      tableName: h.table.tableName,
      loadTenant: (tenantId) => runtime().loadTenant(tenantId),
      resolveConnector: async (t, side) => t.connectors[side],
      driftStore: h.store,
      backoff: { baseMs: 20, capMs: 200, windowMs: 600_000 },
      leaseMs: 10_000,
    });
    setDeliveryRuntime(delivery);
    streamDelivery = await startStreamDelivery({ client: h.table.client, rt: delivery });
  }, 60_000);

  afterAll(async () => {
    await streamDelivery?.stop();
    setDeliveryRuntime(undefined);
    setSalesforceConnectorStore(undefined);
    await fake?.close();
    await h?.dispose();
  });

  /** Relays held events to the function; a failing one is retried as EventBridge (and a replay) would. */
  async function relay(events: RelayedEvent[]): Promise<void> {
    for (const event of events) {
      for (let attempt = 1; ; attempt++) {
        try {
          await handleRelayedEvent(event);
          break;
        } catch (error) {
          failedAttempts++;
          if (attempt >= 12) throw error;
        }
      }
    }
  }

  /** Relays until Salesforce and quotesync agree on every pair and nothing is left to relay. */
  async function converge(options: { shuffle?: boolean } = {}): Promise<void> {
    const deadline = Date.now() + 240_000;
    let quietRounds = 0;
    while (quietRounds < 3) {
      if (Date.now() > deadline) throw new Error("did not converge");
      // What deliver has to do first (its writes to the fake are what raise change events).
      await streamDelivery?.idle();
      const events = fake.releaseEvents(
        options.shuffle ? { shuffle: random, duplicate: () => random() < 0.2 } : {},
      );
      await relay(events);
      const quiet = events.length === 0 && (await inStep());
      quietRounds = quiet ? quietRounds + 1 : 0;
      // Nothing to relay yet the sides differ: a delivery waits past the horizon (a rate limit's
      // retry): look again a little later rather than at once.
      if (!quiet && events.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function inStep(): Promise<boolean> {
    for (const { opportunityId, quoteId } of pairs) {
      const quote = await h.store.loadQuote(tenant.tenantId, quoteId);
      const live = [...(quote?.lines.values() ?? [])].filter((line) => !line.deleted);
      const salesforce = fake.org
        .all("OpportunityLineItem")
        .filter((line) => line.OpportunityId === opportunityId);
      if (live.length !== salesforce.length) return false;
      for (const line of live) {
        const twin = salesforce.find((record) => record.QS_Sync_Key__c === line.syncKey);
        if (!twin || twin.Quantity !== line.quantity || twin.UnitPrice !== line.unitPrice) return false;
      }
    }
    return true;
  }

  it("30 synced pairs start through deliver and settle", async () => {
    fake.limitExceeded = () => false;
    for (let n = 0; n < OPPORTUNITIES; n++) {
      const opportunityId = fake.userEdit({
        op: "createOpportunity",
        values: { Name: `Deal ${n}` },
      }) as string;
      pairs.push({ opportunityId, quoteId: `Q-${n}` });
    }
    await relay(fake.releaseEvents());
    const engine = runtime().engine;
    for (const { opportunityId, quoteId } of pairs) {
      const now = () => new Date().toISOString();
      await engine.handleCpqEvent(
        tenant,
        CpqEvent.parse({
          eventId: `${quoteId}-u`,
          type: "quote.upserted",
          occurredAt: now(),
          data: { quote: { id: quoteId, opportunityId, currency: "USD" } },
        }),
      );
      await engine.handleCpqEvent(
        tenant,
        CpqEvent.parse({
          eventId: `${quoteId}-l`,
          type: "quote.lines.replaced",
          occurredAt: now(),
          data: {
            quoteId,
            lines: Array.from({ length: LINES }, (_, i) => ({
              id: `${quoteId}-${i}`,
              productId: products.get(`P${i + 1}`),
              quantity: String(i + 1),
              unitPrice: "20.50",
            })),
          },
        }),
      );
      await engine.startSync(tenant, quoteId, {});
    }
    await converge();
    expect(fake.org.all("OpportunityLineItem")).toHaveLength(OPPORTUNITIES * LINES);
  }, 300_000);

  it("300 rep edits' events, duplicated, shuffled and batched, under 10 % REQUEST_LIMIT_EXCEEDED: both sides converge without an Amount loop", async () => {
    fake.limitExceeded = () => random() < 0.1;
    const relayedBefore = fake.relayed.length;
    for (const [index, { opportunityId }] of pairs.entries()) {
      const lines = fake.org
        .all("OpportunityLineItem")
        .filter((line) => line.OpportunityId === opportunityId);
      for (let edit = 0; edit < 3; edit++) {
        const line = lines[edit] as Record<string, unknown>;
        fake.userEdit({
          op: "updateLine",
          id: String(line.Id),
          values: { Quantity: String(10 + edit + index) },
        });
      }
      // One transaction changing three lines alike: one event naming three records.
      fake.userEdit({
        op: "updateLines",
        ids: lines.slice(3, 6).map((line) => String(line.Id)),
        values: { Discount: "4" },
      });
      if (index % 3 === 0) fake.userEdit({ op: "deleteLine", id: String(lines[9]?.Id) });
    }
    const held = fake.held.length;
    expect(held).toBeGreaterThanOrEqual(150);
    expect(fake.held.some((event) => event.detail.payload.ChangeEventHeader.recordIds.length > 1)).toBe(true);
    await converge({ shuffle: true });
    fake.limitExceeded = () => false;
    await converge();
    expect(fake.relayed.length - relayedBefore).toBeGreaterThanOrEqual(300);
    expect(failedAttempts).toBeGreaterThan(0);
    for (const { opportunityId } of pairs) {
      expect(await auditOpportunity(h.store, tenant, opportunityId)).toMatchObject({ issues: [] });
      const audit = await h.store.readAudit(tenant.tenantId, opportunityId, null, 100);
      expect(audit.entries.filter((entry) => entry.type === "amount.corrected")).toEqual([]);
      expect(await h.store.loadDriftFinding(tenant.tenantId, opportunityId)).toBeNull();
    }
    // Quiet: no more calls once converged (no Amount correction going round).
    const calls = fake.calls.length;
    await converge();
    expect(fake.calls.length).toBe(calls);
    expect(Math.max(...fake.calls.map((call) => call.records))).toBeLessThanOrEqual(200);
    expect(fake.schemaViolations).toEqual([]);
  }, 300_000);
});
