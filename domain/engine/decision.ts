import { ConcurrentModification, DuplicateEvent, StorageBusy } from "../errors.js";
import type { SyncResponse } from "../model.js";
import type { PendingCommit, SyncStore } from "../store.js";
import type { TenantConfig } from "../tenant.js";
import { loadSnapshot, readsByKey } from "./load.js";
import type { Decision, DecisionContext, ReadPlan, Snapshot } from "./snapshot.js";
import type { Cause, Workspace } from "./workspace.js";

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
   * The milliseconds the invocation has left (a Lambda context's `getRemainingTimeInMillis`);
   * none: no deadline. A decision does not start an attempt it may not finish in time.
   */
  timeLeft?: () => number;
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

/** The backoff's wait when the engine is given no `sleep` (a function, so a test can reach its body). */
function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Full-jitter exponential backoff, capped: spreads out writers racing on one opportunity. */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(1000, 15 * 2 ** attempt);
  return Math.floor(random() * cap);
}

/**
 * Time a decision keeps in hand for one more attempt (reads, commit, and the SDK's own retries of a
 * slow call): with less left after the backoff it answers `StorageBusy` (503, nothing written)
 * instead of running into the function's timeout mid-attempt.
 */
export const ATTEMPT_RESERVE_MS = 8_000;

/** One decision: what it reads, and the rule that decides on what was read. */
export interface DecisionPlan {
  cause: Cause;
  /** The idempotency key of the event or command; null: not idempotent (the schedule's pushes). */
  eventKey: string | null;
  /** The sort of decision (`crm:opportunity.lines.upserted`, `command:start`…), for the store. */
  kind: string;
  reads: ReadPlan;
  /** A synchronous, pure rule: it sees only the snapshot and the context. */
  decide: (snapshot: Snapshot, context: DecisionContext) => Decision;
}

/**
 * Load → decide → commit. Reads what the plan names, runs its rule on that snapshot, and commits
 * what it decided atomically, with the event's response as its idempotency record. On a conflict
 * it reloads and decides again, a bounded number of times (Castore-style optimistic concurrency).
 * A duplicate delivery — sequential or concurrent — gets the stored response of the delivery that
 * committed. This is the one place that reads and writes for a decision.
 */
export async function runDecision(
  deps: EngineDeps,
  tenant: TenantConfig,
  plan: DecisionPlan,
): Promise<Outcome> {
  const sleep = deps.sleep ?? defaultSleep;
  const maxAttempts = deps.maxAttempts ?? 12;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const read = await readForDecision(deps, tenant, plan, attempt === 0);
    if ("replayed" in read) return read;
    const { pending } = read;
    const context: DecisionContext = {
      tenant,
      cause: plan.cause,
      now: deps.clock(),
      newSyncKey: deps.newSyncKey,
    };
    const decision = await decideOrAbandon(deps, tenant, plan, read.snapshot, context, pending);
    if ("replayed" in decision) return decision;
    try {
      const { eventKey } = plan;
      const { response } = decision;
      await pending.commit(decision.changes.toChangeSet(eventKey ? { key: eventKey, response } : undefined));
      return { response, replayed: false };
    } catch (error) {
      if (error instanceof DuplicateEvent && plan.eventKey) {
        const original = await deps.store.findProcessedEvent(tenant.tenantId, plan.eventKey);
        if (original) return { response: original, replayed: true };
      } else if (!(error instanceof ConcurrentModification)) {
        throw error;
      }
      const delay = backoffDelay(attempt);
      const inTime = (deps.timeLeft?.() ?? Number.POSITIVE_INFINITY) - delay >= ATTEMPT_RESERVE_MS;
      const retrying = attempt + 1 < maxAttempts && inTime;
      deps.onConflict?.({ attempt: attempt + 1, retrying });
      if (!retrying) break;
      await sleep(delay);
    }
  }
  throw new StorageBusy(1);
}

/**
 * The decision's reads, and the commit begun beside them (so the store can overlap what the
 * commit needs with them). On the first attempt a redelivery is answered from its processed-event
 * record: looked up beside the reads when they are a few reads by key (one wave of reads), before
 * them when they read whole line sets (a replayed large change then costs one read). The commit's
 * condition on that record stays the real guard against a copy delivered concurrently.
 */
async function readForDecision(
  deps: EngineDeps,
  tenant: TenantConfig,
  plan: DecisionPlan,
  firstAttempt: boolean,
): Promise<{ snapshot: Snapshot; pending: PendingCommit } | Outcome> {
  const { store } = deps;
  const eventKey = firstAttempt ? plan.eventKey : null;
  // A read by key looks the record up in its own round trip; whole reads look it up first.
  const together = eventKey !== null && readsByKey(store, tenant.tenantId, plan.reads);
  if (eventKey && !together) {
    const original = await store.findProcessedEvent(tenant.tenantId, eventKey);
    if (original) return { response: original, replayed: true };
  }
  const pending = beginCommit(store, tenant.tenantId, plan.kind);
  let loaded: Awaited<ReturnType<typeof loadSnapshot>>;
  try {
    loaded = await loadSnapshot(store, tenant, plan.reads, together ? eventKey : null);
  } catch (error) {
    await pending.abandon();
    throw error;
  }
  if (loaded.processed || !loaded.snapshot) {
    await pending.abandon();
    if (!loaded.processed) throw new Error("nothing was read for the decision");
    return { response: loaded.processed, replayed: true };
  }
  return { snapshot: loaded.snapshot, pending };
}

/**
 * Runs the rule. A rule that throws, or refuses, writes nothing but a refusal's audit entry; a
 * duplicate delivery is answered from its record even then.
 */
async function decideOrAbandon(
  deps: EngineDeps,
  tenant: TenantConfig,
  plan: DecisionPlan,
  snapshot: Snapshot,
  context: DecisionContext,
  pending: PendingCommit,
): Promise<{ response: SyncResponse; changes: Workspace } | Outcome> {
  let decision: Decision | undefined;
  let failure: unknown;
  try {
    decision = plan.decide(snapshot, context);
    if (!decision.refused) return decision;
  } catch (error) {
    failure = error;
  }
  let committed = false;
  try {
    const original = plan.eventKey
      ? await deps.store.findProcessedEvent(tenant.tenantId, plan.eventKey)
      : null;
    if (original) return { response: original, replayed: true };
    if (decision?.refused) {
      committed = true;
      await recordRefusal(pending, decision.changes);
      throw decision.refused;
    }
    throw failure;
  } finally {
    if (!committed) await pending.abandon();
  }
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
