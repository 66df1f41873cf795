import { randomUUID } from "node:crypto";
import type { ConnectorSide } from "../domain/connectors.js";
import type { SideDeliveryStatus } from "../domain/engine/status.js";
import type { AuditEntry, Mirror, Source } from "../domain/model.js";
import type { TenantConfig } from "../domain/tenant.js";
import {
  applyTargetChanges,
  type DeliveryPair,
  type DeliveryQueue,
  type DeliveryState,
  LeaseLost,
  type QueuedMirror,
} from "../infra/dynamodb/delivery-queue.js";
import {
  type ApplyContext,
  type ApplyResult,
  type ConnectorStore,
  PermanentDeliveryError,
  type TargetState,
  TransientDeliveryError,
} from "./applier.js";
import {
  type DispatchCursorStore,
  type DispatchedEntry,
  dispatchTenant,
  type OutboxSource,
} from "./dispatch.js";
import { HeldLease } from "./held-lease.js";
import { applierFor, applierKindFor, UnknownApplierKind } from "./registry.js";

/** How transient failures are retried (CONNECTORS §2): exponential backoff, full jitter, a window. */
export interface BackoffPolicy {
  /** The first retry waits up to this long. */
  baseMs: number;
  /** No single wait is longer than this (unless the target's Retry-After asks for more). */
  capMs: number;
  /** A mirror failing for this long since its first failure is parked. */
  windowMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 15 * 60_000, windowMs: 24 * 3_600_000 };

/** One outbox entry as the stream hands it to `deliver` (the shape dispatch queues). */
export type OutboxInsert = DispatchedEntry;

/** What happened to one drain of a queue, for logs, metrics and the retry route's answer. */
export interface DrainReport {
  delivered: number;
  retrying: number;
  parked: number;
  lastError?: string;
}

export type { SideDeliveryStatus };

export interface DeliveryDeps {
  queue: DeliveryQueue;
  /** The tenant's configuration (cached by the caller). */
  loadTenant(tenantId: string): Promise<TenantConfig | null>;
  /** The side's connector with credentials from its `credentialsParameter` merged in. */
  resolveConnector(tenant: TenantConfig, side: Source): Promise<ConnectorSide>;
  connectorStore: ConnectorStore;
  /** Where an applier's findings about the target after applying go (the pair's drift finding). */
  reportDrift?(
    tenantId: string,
    finding: Parameters<NonNullable<ApplyContext["reportDrift"]>>[0],
  ): Promise<void>;
  fetch?: typeof fetch;
  now?: () => number;
  /** A number in [0, 1): the jitter. */
  random?: () => number;
  backoff?: BackoffPolicy;
  /** How long a drainer holds a queue between renewals (made before target calls); a crashed one's lease lapses. */
  leaseMs?: number;
  /** Called for each mirror parked (metrics, logs). */
  onParked?(pair: DeliveryPair, entryId: string, error: string): void;
  onDelivered?(pair: DeliveryPair, entry: QueuedMirror, lagMs: number): void;
  onRetry?(pair: DeliveryPair, entryId: string, error: string): void;
  /**
   * Called for an entry found already behind its queue's delivered-up-to marker. Dispatch queues a
   * tenant's entries in outbox order, so this is not expected; it is not delivered (that would undo
   * a later mirror) and is alarmed on.
   */
  onLate?(pair: DeliveryPair, entryId: string): void;
  /** A drain failed on storage (throttled, say); its queue is left for the retry pass. */
  onDrainError?(pair: DeliveryPair, error: unknown): void;
  /** A stalled tenant's dispatch failed in the retry pass (it stays stalled for the next one). */
  onDispatchError?(tenantId: string, error: unknown): void;
  /** The tenant's outbox, read in its total order: where queued mirrors come from. */
  outbox: OutboxSource;
  /** How far each tenant's outbox has been queued. */
  cursors: DispatchCursorStore;
}

/** Pairs an invocation queued mirrors for, with those mirrors while it knows them all (else null). */
type Touched = Map<string, { pair: DeliveryPair; queued: QueuedMirror[] | null }>;

/** How many mirrors a drain reads ahead from its queue at a time. */
const HEAD_PAGE = 25;
/**
 * Parallel drains of different queues (different pairs or tenants) by one invocation. A drain
 * mostly waits (on the table and on the target), and a stream batch of 100 records can touch as
 * many pairs; HubSpot calls stay within the portal's budget however many run (`rate-limit.ts`).
 */
const DRAIN_CONCURRENCY = 32;
/** Room a drain leaves before its invocation's deadline: one more webhook call and its commit. */
const DRAIN_MARGIN_MS = 8_000;

/**
 * Delivery of committed mirrors to the sides that have a connector (CONNECTORS §2): each mirror is
 * queued per pair and target side in outbox order, applied by the side's applier in that order,
 * retried with backoff when the target fails transiently, parked when it fails for good. Used by
 * the stream-fed `deliver` function, the retry pass and the retry route alike.
 */
/** What became of one queued mirror handed to its side's applier. */
type EntryOutcome =
  | { kind: "delivered"; detail?: string; changes?: ApplyResult["changes"] }
  | { kind: "waiting"; message: string; retryAfterMs: number; changes?: ApplyResult["changes"] }
  | { kind: "transient"; message: string; retryAfterMs: number | null; changes?: ApplyResult["changes"] }
  | { kind: "permanent"; message: string; changes?: ApplyResult["changes"] };

/** Where a drain stands on one pair's queue, carried from mirror to mirror. */
interface DrainProgress {
  target: TargetState;
  attempts: number;
  firstFailedAt: number | null;
  delivered: number;
  /** Mirrors this drain delivered: what is left of the queue is `queued` less these. */
  deliveredNow: number;
}

export class DeliveryService {
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly backoff: BackoffPolicy;
  private readonly leaseMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly deps: DeliveryDeps) {
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
    this.backoff = deps.backoff ?? DEFAULT_BACKOFF;
    this.leaseMs = deps.leaseMs ?? 60_000;
    this.fetchImpl = deps.fetch ?? fetch;
  }

  /**
   * Takes a stream batch of outbox entries as wake-ups: for each tenant in it, queues the tenant's
   * outbox entries from its dispatch cursor on, in outbox order (`dispatchTenant`), then drains the
   * queues they went to. Returns the index of the first insert of a tenant whose entries could not
   * be queued (the stream hands it again), or null. A target that is down never fails this: its
   * mirrors wait in the table for the retry pass.
   */
  async handleInserts(inserts: readonly OutboxInsert[], remainingMs: () => number): Promise<number | null> {
    const seen = new Map<string, { min: number; max: number; firstIndex: number }>();
    for (const [index, insert] of inserts.entries()) {
      const range = seen.get(insert.tenantId);
      if (!range)
        seen.set(insert.tenantId, { min: insert.sequence, max: insert.sequence, firstIndex: index });
      else {
        range.min = Math.min(range.min, insert.sequence);
        range.max = Math.max(range.max, insert.sequence);
      }
    }
    let failedAt: number | null = null;
    const touched: Touched = new Map();
    await Promise.all(
      [...seen].map(async ([tenantId, range]) => {
        try {
          await this.dispatch(tenantId, range, touched, remainingMs);
        } catch {
          failedAt = failedAt === null ? range.firstIndex : Math.min(failedAt, range.firstIndex);
        }
      }),
    );
    await this.drainAll([...touched.values()], remainingMs);
    return failedAt;
  }

  /** Queues a tenant's outbox entries past its dispatch cursor into their pairs' queues, in order. */
  private async dispatch(
    tenantId: string,
    seen: { min: number; max: number } | null,
    touched: Touched,
    remainingMs: () => number,
  ): Promise<void> {
    const tenant = await this.deps.loadTenant(tenantId);
    if (!tenant) return;
    await dispatchTenant(
      { outbox: this.deps.outbox, cursors: this.deps.cursors },
      tenantId,
      seen,
      async (entries) => {
        // One pair's entries in order; different pairs' queues are independent.
        const groups = new Map<string, { pair: DeliveryPair; entries: DispatchedEntry[] }>();
        for (const entry of entries) {
          if (applierKindFor(tenant.connectors[entry.mirror.target]) === null) continue;
          const pair: DeliveryPair = {
            tenantId,
            opportunityId: entry.mirror.opportunityId,
            side: entry.mirror.target,
          };
          const id = pairId(pair);
          const group = groups.get(id) ?? { pair, entries: [] };
          group.entries.push(entry);
          groups.set(id, group);
        }
        await Promise.all(
          [...groups.entries()].map(async ([id, group]) => {
            const queued = group.entries.map(({ sequence, entryId, cursor, at, mirror }) => ({
              sequence,
              entryId,
              cursor,
              at,
              mirror,
            }));
            const outcomes = await this.deps.queue.enqueueAll(group.pair, queued, this.now() + this.leaseMs);
            for (const [index, outcome] of outcomes.entries()) {
              if (outcome === "late") this.deps.onLate?.(group.pair, (queued[index] as QueuedMirror).entryId);
            }
            // Known to the drain only while every one of them was queued here.
            const all = outcomes.every((outcome) => outcome === "queued");
            const known = touched.get(id);
            if (!known) touched.set(id, { pair: group.pair, queued: all ? queued : null });
            else known.queued = known.queued && all ? [...known.queued, ...queued] : null;
          }),
        );
      },
      () => remainingMs() > DRAIN_MARGIN_MS,
    );
  }

  /** The retry pass: drains every queue due now, page by page through the sparse index. */
  async retryDue(remainingMs: () => number, pageSize = 100): Promise<DrainReport & { queues: number }> {
    const total = { delivered: 0, retrying: 0, parked: 0, queues: 0 };
    // Tenants whose dispatch stopped at a number still committing: queue what follows it now.
    const touched: Touched = new Map();
    let stalledKey: Record<string, unknown> | undefined;
    do {
      if (remainingMs() < DRAIN_MARGIN_MS) break;
      const page = await this.deps.cursors.stalled(pageSize, stalledKey);
      for (const tenantId of page.tenantIds) {
        try {
          await this.dispatch(tenantId, null, touched, remainingMs);
        } catch (error) {
          this.deps.onDispatchError?.(tenantId, error);
        }
      }
      stalledKey = page.next;
    } while (stalledKey);
    for (const report of await this.drainAll([...touched.values()], remainingMs)) {
      total.delivered += report.delivered;
      total.retrying += report.retrying;
      total.parked += report.parked;
    }
    let startKey: Record<string, unknown> | undefined;
    do {
      if (remainingMs() < DRAIN_MARGIN_MS) break;
      const page = await this.deps.queue.due(this.now(), pageSize, startKey);
      total.queues += page.pairs.length;
      const reports = await this.drainAll(
        page.pairs.map((pair) => ({ pair, queued: null })),
        remainingMs,
      );
      for (const report of reports) {
        total.delivered += report.delivered;
        total.retrying += report.retrying;
        total.parked += report.parked;
      }
      startKey = page.next;
    } while (startKey);
    return total;
  }

  /**
   * The retry route: sends a parked mirror again now. Returns null when `entryId` names no parked
   * mirror of the tenant (unknown, delivered already, or not parked).
   */
  async retryParked(
    tenantId: string,
    entry: { sequence: number; mirror: Mirror; entryId: string },
    remainingMs: () => number = () => Number.POSITIVE_INFINITY,
    /** Who asked (audited with the retry): a user id, `viewer:<name>` from the pipeline page. */
    actor?: string,
  ): Promise<{ report: DrainReport; status: SideDeliveryStatus } | null> {
    const pair: DeliveryPair = {
      tenantId,
      opportunityId: entry.mirror.opportunityId,
      side: entry.mirror.target,
    };
    const retried: AuditEntry = {
      at: new Date(this.now()).toISOString(),
      type: "mirror.retried",
      source: "command",
      quoteId: entry.mirror.quoteId,
      ...(actor ? { actor } : {}),
      summary: `parked mirror ${entry.entryId} to ${pair.side} sent again`,
    };
    if (!(await this.deps.queue.unpark(pair, entry.entryId, this.now(), retried))) return null;
    const report = await this.drain(pair, remainingMs);
    return { report, status: statusOf(await this.deps.queue.state(pair)) };
  }

  /** The delivery status of a pair's sides that deliver. */
  async status(
    tenant: TenantConfig,
    opportunityId: string,
  ): Promise<Partial<Record<Source, SideDeliveryStatus>>> {
    const sides = (["crm", "cpq"] as const).filter(
      (side) => applierKindFor(tenant.connectors[side]) !== null,
    );
    const states = await Promise.all(
      sides.map((side) => this.deps.queue.state({ tenantId: tenant.tenantId, opportunityId, side })),
    );
    return Object.fromEntries(sides.map((side, index) => [side, statusOf(states[index] as DeliveryState)]));
  }

  private async drainAll(
    pairs: Array<{ pair: DeliveryPair; queued: QueuedMirror[] | null }>,
    remainingMs: () => number,
  ): Promise<DrainReport[]> {
    const reports: DrainReport[] = [];
    let next = 0;
    const worker = async () => {
      while (next < pairs.length) {
        const { pair, queued } = pairs[next++] as { pair: DeliveryPair; queued: QueuedMirror[] | null };
        try {
          reports.push(await this.drain(pair, remainingMs, queued));
        } catch (error) {
          // The queue stays in the due index: the retry pass drains it. Other queues carry on.
          this.deps.onDrainError?.(pair, error);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(DRAIN_CONCURRENCY, pairs.length) }, worker));
    return reports;
  }

  /**
   * Applies a queue's due mirrors in order while holding its lease. A queue another drainer holds
   * is left to it; mirrors queued while this one held it are picked up before it lets go.
   * `queued`: the mirrors this invocation has just queued for the pair, in order, if it knows them.
   */
  async drain(
    pair: DeliveryPair,
    remainingMs: () => number,
    queued: QueuedMirror[] | null = null,
  ): Promise<DrainReport> {
    const report: DrainReport = { delivered: 0, retrying: 0, parked: 0 };
    const owner = randomUUID();
    let after: DeliveryState | undefined;
    for (let round = 0; round < 5; round++) {
      const ended = await this.drainRound(pair, owner, report, remainingMs, round === 0 ? queued : null);
      // Not taken, taken over, or emptied with the lease given back in the last mirror's commit.
      if (ended === null) return report;
      after = ended;
      // A mirror queued while this drainer held the lease, with nothing failing: drain again.
      const more =
        after.queued > 0 &&
        !after.parked &&
        (after.nextAttemptAt ?? 0) <= this.now() &&
        remainingMs() > DRAIN_MARGIN_MS;
      if (!more) break;
    }
    if (after && after.queued <= 0) await this.deps.queue.leaveDueIfEmpty(pair);
    else if (after && !after.parked && after.nextAttemptAt === null) {
      // Out of time (or rounds) with mirrors left: the retry pass takes them soon.
      await this.deps.queue.dueAgainAt(pair, this.now() + 1_000);
    }
    return report;
  }

  /**
   * One hold of the queue's lease: what is due is applied, then the lease goes back. Returns the
   * queue's state after, or null when the drain is over (the lease was not taken or was lost, or
   * the last mirror's commit gave it back with the queue empty).
   */
  private async drainRound(
    pair: DeliveryPair,
    owner: string,
    report: DrainReport,
    remainingMs: () => number,
    queued: QueuedMirror[] | null,
  ): Promise<DeliveryState | null> {
    const until = this.now() + this.leaseMs;
    const state = await this.deps.queue.acquire(pair, owner, this.now(), until);
    if (!state) return null;
    const lease = new HeldLease(this.deps.queue, pair, owner, this.now, this.leaseMs, until);
    let emptied = false;
    let lost = false;
    let after: DeliveryState | null = null;
    try {
      if (state.parked) {
        await this.deps.queue.dropFromDue(pair);
      } else if ((state.nextAttemptAt ?? 0) <= this.now()) {
        emptied = await this.applyDue(pair, lease, state, report, remainingMs, queued);
      }
    } catch (error) {
      // Another drainer took over a lease this one outlived: it carries on from the marker.
      if (!(error instanceof LeaseLost)) throw error;
      lost = true;
    } finally {
      if (!emptied) after = await this.deps.queue.release(pair, owner);
    }
    return lost || emptied ? null : after;
  }

  private async applyDue(
    pair: DeliveryPair,
    lease: HeldLease,
    state: DeliveryState,
    report: DrainReport,
    remainingMs: () => number,
    queued: QueuedMirror[] | null,
  ): Promise<boolean> {
    const tenant = await this.deps.loadTenant(pair.tenantId);
    const progress: DrainProgress = {
      target: state.target,
      attempts: state.attempts,
      firstFailedAt: state.firstFailedAt,
      delivered: state.deliveredSeq,
      deliveredNow: 0,
    };
    // The mirrors just queued here are the whole queue when its count says so: nothing to read.
    let known =
      queued && state.queued === queued.length && (queued[0]?.sequence ?? 0) > state.deliveredSeq
        ? queued
        : null;
    for (;;) {
      const entries = known ?? (await this.deps.queue.head(pair, progress.delivered, HEAD_PAGE));
      if (entries.length === 0) return false;
      // A short page was the whole queue; mirrors queued since are seen when the lease is released.
      const whole = known !== null || entries.length < HEAD_PAGE;
      known = null;
      for (const [index, entry] of entries.entries()) {
        if (remainingMs() < DRAIN_MARGIN_MS) return false;
        const pending = Math.max(1, state.queued - progress.deliveredNow);
        const outcome = await this.applyOne(tenant, pair, entry, progress.target, pending, lease);
        progress.target = applyTargetChanges(progress.target, outcome.changes);
        if (outcome.kind !== "delivered") {
          await this.recordUndelivered(pair, lease.owner, entry, outcome, progress, report);
          return false;
        }
        const last = whole && index === entries.length - 1;
        const emptied = await this.recordDelivered(
          pair,
          lease.owner,
          entry,
          outcome.detail,
          progress,
          report,
          last,
        );
        if (emptied) return true;
      }
      if (whole) return false;
    }
  }

  /**
   * The head mirror was applied: the queue moves past it and the failure count starts over. The
   * last mirror of the queue as the drainer read it (`last`) is committed with the lease given back
   * when nothing was queued since; returns true when that happened (the queue is empty).
   */
  private async recordDelivered(
    pair: DeliveryPair,
    owner: string,
    entry: QueuedMirror,
    detail: string | undefined,
    progress: DrainProgress,
    report: DrainReport,
    last: boolean,
  ): Promise<boolean> {
    const at = new Date(this.now()).toISOString();
    const marked = [
      pair,
      owner,
      entry,
      progress.target,
      at,
      audit(at, "mirror.delivered", pair, entry, detail),
      progress.attempts > 0 || progress.firstFailedAt !== null,
    ] as const;
    let emptied = false;
    if (last) emptied = await this.deps.queue.markLastDelivered(...marked);
    else await this.deps.queue.markDelivered(...marked);
    progress.delivered = entry.sequence;
    progress.deliveredNow++;
    progress.attempts = 0;
    progress.firstFailedAt = null;
    report.delivered++;
    this.deps.onDelivered?.(pair, entry, this.now() - Date.parse(entry.at));
    return emptied;
  }

  /**
   * The head mirror was not applied: it waits (the target asked for time), is parked (a permanent
   * failure, or transient ones past the retry window), or is tried again after a backoff.
   */
  private async recordUndelivered(
    pair: DeliveryPair,
    owner: string,
    entry: QueuedMirror,
    outcome: Exclude<EntryOutcome, { kind: "delivered" }>,
    progress: DrainProgress,
    report: DrainReport,
  ): Promise<void> {
    const { target } = progress;
    if (outcome.kind === "waiting") {
      await this.deps.queue.markWaiting(pair, owner, {
        attempts: progress.attempts,
        firstFailedAt: progress.firstFailedAt,
        nextAttemptAt: this.now() + outcome.retryAfterMs,
        lastError: outcome.message,
        target,
      });
      report.retrying++;
      return;
    }
    progress.attempts++;
    const attempts = progress.attempts;
    const firstFailedAt = progress.firstFailedAt ?? this.now();
    progress.firstFailedAt = firstFailedAt;
    const exhausted = this.now() - firstFailedAt >= this.backoff.windowMs;
    if (outcome.kind === "permanent" || exhausted) {
      const message =
        exhausted && outcome.kind === "transient"
          ? `retries exhausted after ${attempts} attempts: ${outcome.message}`
          : outcome.message;
      const at = new Date(this.now()).toISOString();
      await this.deps.queue.markParked(
        pair,
        owner,
        entry,
        { attempts, firstFailedAt, lastError: message, target },
        audit(at, "mirror.failed", pair, entry, message),
      );
      report.parked++;
      report.lastError = message;
      this.deps.onParked?.(pair, entry.entryId, message);
      return;
    }
    await this.deps.queue.markWaiting(pair, owner, {
      attempts,
      firstFailedAt,
      nextAttemptAt: this.now() + this.delayFor(attempts, outcome.retryAfterMs),
      lastError: outcome.message,
      target,
    });
    report.retrying++;
    report.lastError = outcome.message;
    this.deps.onRetry?.(pair, entry.entryId, outcome.message);
  }

  /** Full jitter (a uniform wait up to base·2^(n−1), capped), never shorter than Retry-After. */
  delayFor(attempts: number, retryAfterMs: number | null): number {
    const ceiling = Math.min(this.backoff.capMs, this.backoff.baseMs * 2 ** Math.min(attempts - 1, 40));
    const jittered = Math.floor(this.random() * ceiling);
    return Math.max(jittered, retryAfterMs ?? 0);
  }

  private async applyOne(
    tenant: TenantConfig | null,
    pair: DeliveryPair,
    entry: QueuedMirror,
    target: TargetState,
    pending: number,
    lease: HeldLease,
  ): Promise<EntryOutcome> {
    if (!tenant) return { kind: "permanent", message: `tenant ${pair.tenantId} is no longer registered` };
    const kind = applierKindFor(tenant.connectors[pair.side]);
    if (kind === null) {
      return { kind: "permanent", message: `the ${pair.side} side no longer has a delivery connector` };
    }
    try {
      const [applier, connector] = await Promise.all([
        applierFor(kind),
        this.deps.resolveConnector(tenant, pair.side),
      ]);
      const result = await applier.apply(
        {
          tenantId: pair.tenantId,
          entryId: entry.entryId,
          cursor: entry.cursor,
          at: entry.at,
          mirror: entry.mirror,
        },
        {
          tenant,
          connector,
          side: pair.side,
          state: target,
          fetch: lease.guard(this.fetchImpl),
          now: this.now,
          connectorStore: this.deps.connectorStore,
          pending,
          ...(this.deps.reportDrift
            ? {
                reportDrift: (finding) =>
                  this.deps.reportDrift?.(pair.tenantId, finding) ?? Promise.resolve(),
              }
            : {}),
        },
      );
      return entryOutcomeOf(result);
    } catch (error) {
      // Taken over mid-mirror: the new holder applies it again; this drainer stops here.
      if (lease.lost) throw new LeaseLost(pair, { cause: error });
      return entryOutcomeOfError(error);
    }
  }
}

/** What an applier's answer means for the entry. */
function entryOutcomeOf(result: ApplyResult): EntryOutcome {
  if (result.outcome === "delivered") {
    return {
      kind: "delivered",
      ...(result.detail ? { detail: result.detail } : {}),
      ...(result.changes ? { changes: result.changes } : {}),
    };
  }
  return {
    kind: "waiting",
    message: result.reason,
    retryAfterMs: result.retryAfterMs,
    ...(result.changes ? { changes: result.changes } : {}),
  };
}

/** What an applier's failure means for the entry: permanent ones park it, the rest are retried. */
function entryOutcomeOfError(error: unknown): EntryOutcome {
  if (error instanceof PermanentDeliveryError) {
    return { kind: "permanent", message: error.message, changes: error.changes };
  }
  if (error instanceof UnknownApplierKind) return { kind: "permanent", message: error.message };
  if (error instanceof TransientDeliveryError) {
    return {
      kind: "transient",
      message: error.message,
      retryAfterMs: error.retryAfterMs,
      changes: error.changes,
    };
  }
  // Anything else (credentials unreadable for a moment, a bug fixed by a deploy) is retried.
  return { kind: "transient", message: `delivery failed: ${(error as Error).message}`, retryAfterMs: null };
}

function pairId(pair: DeliveryPair): string {
  return `${pair.tenantId}\u0000${pair.side}\u0000${pair.opportunityId}`;
}

function audit(
  at: string,
  type: "mirror.delivered" | "mirror.failed",
  pair: DeliveryPair,
  entry: QueuedMirror,
  detail: string | undefined,
): AuditEntry {
  const verb = type === "mirror.delivered" ? "delivered" : "parked";
  return {
    at,
    type,
    source: pair.side,
    quoteId: entry.mirror.quoteId,
    summary: `mirror ${entry.entryId} to ${pair.side} ${verb}${detail ? `: ${detail}` : ""}`.slice(0, 500),
  };
}

export function statusOf(state: DeliveryState): SideDeliveryStatus {
  return {
    pending: Math.max(0, state.queued),
    failing: state.parked !== null || state.attempts > 0,
    parkedEntryId: state.parked,
    nextAttemptAt:
      state.parked === null && state.nextAttemptAt !== null
        ? new Date(state.nextAttemptAt).toISOString()
        : null,
    lastDeliveredAt: state.lastDeliveredAt,
    lastError: state.lastError,
  };
}
