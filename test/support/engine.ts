import { SyncEngine } from "../../domain/engine/sync-engine.js";
import { CpqEvent, CrmEvent } from "../../domain/events.js";
import { InMemorySyncStore } from "../../domain/memory-store.js";
import type { OpportunityRecord, QuoteRecord } from "../../domain/model.js";
import type { SyncStore } from "../../domain/store.js";
import { demoTenant, type TenantConfig } from "../../domain/tenant.js";

/** Where the harness clock starts (12:00 on the test epoch's day), unless told otherwise. */
export const HARNESS_START = Date.UTC(2026, 0, 1, 12);

/** An ISO time `seconds` after the harness clock's start: a change made after a start at that time. */
export function afterStart(seconds: number): string {
  return new Date(HARNESS_START + seconds * 1000).toISOString();
}

/** A sync engine on the in-memory store with a frozen, steppable clock and predictable sync keys. */
export function engineHarness<S extends InMemorySyncStore = InMemorySyncStore>(
  options: {
    tenant?: TenantConfig;
    now?: number;
    /** A store of the test's own (an in-memory store that records, fails or races), on the harness clock. */
    store?: (clock: () => number) => S;
  } = {},
) {
  let now = options.now ?? HARNESS_START;
  let keys = 0;
  const store = options.store ? options.store(() => now) : (new InMemorySyncStore(() => now) as S);
  const tenant = options.tenant ?? demoTenant({ crm: "crm-secret-0001", cpq: "cpq-secret-0001" });
  const engine = new SyncEngine({
    store,
    clock: () => now,
    newSyncKey: () => `sk-${++keys}`,
    sleep: async () => {},
  });
  return {
    store,
    tenant,
    engine,
    advance(ms: number) {
      now += ms;
    },
    async setup() {
      await store.putTenant(tenant);
    },
    crm(event: unknown) {
      return engine.handleCrmEvent(tenant, CrmEvent.parse(event));
    },
    cpq(event: unknown, channel?: "cpq" | "eventbridge") {
      return engine.handleCpqEvent(tenant, CpqEvent.parse(event), channel);
    },
    start(quoteId: string, input: Record<string, unknown> = {}) {
      return engine.startSync(tenant, quoteId, input);
    },
    stop(quoteId: string, input: Record<string, unknown> = {}) {
      return engine.stopSync(tenant, quoteId, input);
    },
    status(opportunityId: string) {
      return engine.status(tenant, opportunityId);
    },
  };
}

/**
 * Writes a header as `change` leaves it, through the store port behind the engine's back, as a lost
 * or foreign write would leave it (drift for the scheduled audit to find).
 */
export async function tamper(
  store: SyncStore,
  tenantId: string,
  record: { opportunityId: string } | { quoteId: string },
  change: Partial<OpportunityRecord> | Partial<QuoteRecord>,
): Promise<void> {
  if ("opportunityId" in record) {
    const opportunity = await store.loadOpportunity(tenantId, record.opportunityId);
    if (!opportunity) throw new Error(`no opportunity ${record.opportunityId}`);
    const header = { ...opportunity.header, ...(change as Partial<OpportunityRecord>) };
    await store.commit({ tenantId, opportunity: { record: header }, quotes: [], outbox: [], audit: [] });
    return;
  }
  const quote = await store.loadQuote(tenantId, record.quoteId);
  if (!quote) throw new Error(`no quote ${record.quoteId}`);
  const header = { ...quote.header, ...(change as Partial<QuoteRecord>) };
  await store.commit({ tenantId, quotes: [{ record: header }], outbox: [], audit: [] });
}
