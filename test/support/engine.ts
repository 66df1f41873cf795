import { SyncEngine } from "../../domain/engine/sync-engine.js";
import { CpqEvent, CrmEvent } from "../../domain/events.js";
import { InMemorySyncStore } from "../../domain/memory-store.js";
import { demoTenant, type TenantConfig } from "../../domain/tenant.js";

/** Where the harness clock starts (12:00 on the test epoch's day), unless told otherwise. */
export const HARNESS_START = Date.UTC(2026, 0, 1, 12);

/** An ISO time `seconds` after the harness clock's start: a change made after a start at that time. */
export function afterStart(seconds: number): string {
  return new Date(HARNESS_START + seconds * 1000).toISOString();
}

/** A sync engine on the in-memory store with a frozen, steppable clock and predictable sync keys. */
export function engineHarness(options: { tenant?: TenantConfig; now?: number } = {}) {
  let now = options.now ?? HARNESS_START;
  let keys = 0;
  const store = new InMemorySyncStore(() => now);
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
    cpq(event: unknown) {
      return engine.handleCpqEvent(tenant, CpqEvent.parse(event));
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
