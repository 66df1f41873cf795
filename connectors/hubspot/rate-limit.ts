import type { ConnectorStore } from "../applier.js";

/**
 * The per-portal request budget (CONNECTORS §3 "Rate limits"), shared by every concurrent function
 * through the `ConnectorStore`: the record holds the grant times of the last window, so no 10 s
 * window — sliding, not only aligned — ever holds more than `limit` requests. Each grant is a
 * conditional write; a writer that loses reloads and decides again.
 */
const WINDOW_MS = 10_000;
/**
 * Grants are held a little longer than the window: HubSpot counts requests as they arrive, a moment
 * after they are granted, so two grants 10 s apart may arrive less than 10 s apart.
 */
const HELD_MS = WINDOW_MS + 1_000;

export interface RateBudget {
  /** Waits until `count` requests may be made now, and records them as made. */
  take(count: number): Promise<void>;
}

export function portalBudget(options: {
  store: ConnectorStore;
  tenantId: string;
  portalId: number;
  limit: number;
  now: () => number;
  sleep?: (ms: number) => Promise<void>;
}): RateBudget {
  const { store, tenantId, limit, now } = options;
  const key = `hubspot#rate#${options.portalId}`;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  return {
    async take(count) {
      const wanted = Math.min(Math.max(1, count), limit);
      for (let attempt = 0; attempt < 1000; attempt++) {
        const record = await store.get(tenantId, key);
        const at = now();
        const grants = ((record?.value as number[] | undefined) ?? []).filter((time) => time > at - HELD_MS);
        if (grants.length + wanted <= limit) {
          const next = [...grants, ...Array.from({ length: wanted }, () => at)];
          if (await store.put(tenantId, key, next, record?.version ?? null, 60)) return;
          continue;
        }
        // Full: wait until enough of the oldest grants leave the window.
        const freedAt = (grants[grants.length + wanted - limit - 1] ?? at) + HELD_MS;
        await sleep(Math.max(5, freedAt - at + 1));
      }
      throw new Error("rate budget: too many conflicting writers");
    },
  };
}
