import {
  ConcurrentModification,
  DuplicateEvent,
  Forbidden,
  PreconditionFailed,
  StorageBusy,
} from "../errors.js";
import type { SyncResponse } from "../model.js";
import type { PendingCommit, SyncStore } from "../store.js";
import type { TenantConfig } from "../tenant.js";
import { type Cause, Workspace } from "./workspace.js";

/** What the engine needs from the outside world, injected so tests can freeze time. */
export interface EngineDeps {
  store: SyncStore;
  clock: () => number;
  newSyncKey: () => string;
  /** Waits between retries; tests pass a no-op. */
  sleep?: (ms: number) => Promise<void>;
  /** Attempts at a decision before answering `StorageBusy` (default 12). */
  maxAttempts?: number;
  /**
   * Told of each commit that lost to another writer (a conflict), and whether the decision will be
   * retried; the functions count them as metrics. Must not throw.
   */
  onConflict?: (conflict: { attempt: number; retrying: boolean }) => void;
}

export interface Outcome {
  response: SyncResponse;
  /** True when this delivery was a duplicate answered with the stored response. */
  replayed: boolean;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Full-jitter exponential backoff, capped: spreads out writers racing on one opportunity. */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(1000, 15 * 2 ** attempt);
  return Math.floor(random() * cap);
}

/**
 * Runs a decision against fresh state and commits what it decided, atomically, with the event's
 * response as its idempotency record. On a conflict it reloads and decides again, a bounded
 * number of times (Castore-style optimistic concurrency). A duplicate delivery — sequential or
 * concurrent — gets the stored response of the delivery that committed.
 */
export async function runDecision(
  deps: EngineDeps,
  tenant: TenantConfig,
  cause: Cause,
  eventKey: string | null,
  /** The sort of decision (`crm:opportunity.lines.upserted`, `command:start`…), for the store. */
  kind: string,
  decide: (ws: Workspace) => Promise<SyncResponse>,
): Promise<Outcome> {
  const sleep = deps.sleep ?? defaultSleep;
  const maxAttempts = deps.maxAttempts ?? 12;
  if (eventKey) {
    // A redelivery is answered from its processed-event record with one read, before any of the
    // decision's reads and work; the commit's condition on that record stays the real guard
    // against a copy delivered concurrently.
    const original = await deps.store.findProcessedEvent(tenant.tenantId, eventKey);
    if (original) return { response: original, replayed: true };
  }
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const ws = new Workspace(tenant, cause, deps.clock());
    // Begun before the reads, so the store can overlap what the commit needs with them.
    const pending = beginCommit(deps.store, tenant.tenantId, kind);
    let response: SyncResponse;
    try {
      response = await decide(ws);
    } catch (error) {
      let committed = false;
      try {
        if (eventKey) {
          const original = await deps.store.findProcessedEvent(tenant.tenantId, eventKey);
          if (original) return { response: original, replayed: true };
        }
        if (
          (error instanceof PreconditionFailed || error instanceof Forbidden) &&
          ws.toChangeSet().audit.length > 0
        ) {
          committed = true;
          await recordRefusal(pending, ws);
        }
        throw error;
      } finally {
        if (!committed) await pending.abandon();
      }
    }
    try {
      await pending.commit(ws.toChangeSet(eventKey ? { key: eventKey, response } : undefined));
      return { response, replayed: false };
    } catch (error) {
      if (error instanceof DuplicateEvent && eventKey) {
        const original = await deps.store.findProcessedEvent(tenant.tenantId, eventKey);
        if (original) return { response: original, replayed: true };
      } else if (!(error instanceof ConcurrentModification)) {
        throw error;
      }
      deps.onConflict?.({ attempt: attempt + 1, retrying: attempt + 1 < maxAttempts });
      await sleep(backoffDelay(attempt));
    }
  }
  throw new StorageBusy(1);
}

function beginCommit(store: SyncStore, tenantId: string, kind: string): PendingCommit {
  return (
    store.beginCommit?.(tenantId, kind) ?? {
      commit: (changes) => store.commit(changes),
      abandon: async () => {},
    }
  );
}

/** A refusal is audited (SPEC §1.13) but changes no sync state: only its audit entry is written. */
async function recordRefusal(pending: PendingCommit, ws: Workspace): Promise<void> {
  const { audit, tenantId } = ws.toChangeSet();
  await pending.commit({ tenantId, quotes: [], outbox: [], audit });
}
