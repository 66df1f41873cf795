import {
  type DriftIssue,
  type IndexPosition,
  type ScheduleCheckpoint,
  START_OF_CYCLE,
  type TenantCursor,
} from "../schedule.js";
import type { Page, SyncStore } from "../store.js";
import type { TenantConfig } from "../tenant.js";
import { type EngineDeps, runDecision } from "./decision.js";
import { auditOpportunity, pruneStaleFindings, recordFinding, scheduleCause } from "./drift-report.js";
import { decidePush, pushReads } from "./scheduled-push.js";

/** The work one run may do, per pass (push, then audit). */
export interface ScheduledRunLimits {
  /** Pairs a pass examines per run at most. */
  pairsPerPass: number;
  /** Index pages (tenant list, pending or synced index, drift report) a pass reads per run at most. */
  pagesPerPass: number;
  /** Ids asked for per index page. */
  pageSize: number;
  /**
   * Pairs a pass examines per tenant per run at most (default: `pairsPerPass`): a tenant with a
   * large backlog takes its quota and the pass moves on to the next tenant.
   */
  pairsPerTenant?: number;
}

export const DEFAULT_SCHEDULED_LIMITS: ScheduledRunLimits = {
  pairsPerPass: 100,
  pagesPerPass: 50,
  pageSize: 25,
  pairsPerTenant: 25,
};

export interface PassReport {
  /** Pairs looked at this run. */
  examined: number;
  indexPages: number;
  /** True when the pass served every tenant this run and walked each one's index to its end. */
  cycleCompleted: boolean;
  /** Where the next run resumes. */
  resumeAt: IndexPosition;
  failures: Array<{ tenantId: string; id: string; error: string }>;
}

export interface ScheduledRunReport {
  startedAt: string;
  push: PassReport & { pushed: Array<{ tenantId: string; quoteId: string; mirrors: number }> };
  audit: PassReport & {
    drifting: Array<{ tenantId: string; opportunityId: string; issues: DriftIssue["kind"][] }>;
    /** Findings recorded in the audit trail this run (new or changed since the last check). */
    recorded: number;
  };
  /** True when the deadline cut the run short. */
  stoppedEarly: boolean;
  /** False when another run saved the checkpoint meanwhile (this run's positions were dropped). */
  checkpointSaved: boolean;
}

interface Pass {
  list(store: SyncStore, tenantId: string, after: string | null, limit: number): Promise<Page<string>>;
  visit(tenant: TenantConfig, id: string, position: IndexPosition): Promise<void>;
  /** Runs when a tenant's index has been walked to its end. */
  finishTenant?(tenant: TenantConfig, position: IndexPosition): Promise<void>;
}

/**
 * One run of the scheduled function (SPEC §1.8, §1.13). First it pushes the pending changes of
 * non-manual synced quotes (sparse index of synced quotes with pending changes), then it audits
 * synced pairs (sparse index of synced opportunities), recording drift in the audit trail and the
 * tenant's drift report. Each pass does bounded work and resumes at its checkpoint: tenants in id
 * order from a starting tenant that rotates, each tenant's index in id order from its own cursor,
 * at most `pairsPerTenant` pairs per tenant per run. So a tenant with a large backlog cannot hold
 * up the others: a run that serves every tenant starts the next run one tenant later; a run cut
 * short by its budget starts the next run at the first tenant it did not serve.
 */
export async function runScheduled(
  deps: EngineDeps,
  options: { limits?: ScheduledRunLimits; shouldStop?: () => boolean } = {},
): Promise<ScheduledRunReport> {
  const { store } = deps;
  const limits = options.limits ?? DEFAULT_SCHEDULED_LIMITS;
  const shouldStop = options.shouldStop ?? (() => false);
  const startedAt = new Date(deps.clock()).toISOString();
  const checkpoint: ScheduleCheckpoint = (await store.loadScheduleCheckpoint()) ?? {
    push: START_OF_CYCLE,
    audit: START_OF_CYCLE,
    version: null,
  };
  const tenants = new Map<string, TenantConfig | null>();
  const tenantOf = async (tenantId: string) => {
    if (!tenants.has(tenantId)) tenants.set(tenantId, await store.loadTenant(tenantId));
    return tenants.get(tenantId) ?? null;
  };
  const walker = { store, limits, shouldStop, tenantOf, now: () => new Date(deps.clock()).toISOString() };

  const pushed: ScheduledRunReport["push"]["pushed"] = [];
  const push = await walkPass(walker, checkpoint.push, pushPass(deps, pushed));
  const findings = { drifting: [] as ScheduledRunReport["audit"]["drifting"], recorded: 0 };
  const audit = await walkPass(walker, checkpoint.audit, auditPass(deps, startedAt, findings));

  const checkpointSaved = await store.saveScheduleCheckpoint({
    push: push.resumeAt,
    audit: audit.resumeAt,
    version: checkpoint.version,
  });
  return {
    startedAt,
    push: { ...push, pushed },
    audit: { ...audit, ...findings },
    stoppedEarly: shouldStop(),
    checkpointSaved,
  };
}

/** The push pass: a non-manual synced quote's pending changes pushed to the opportunity. */
function pushPass(deps: EngineDeps, pushed: ScheduledRunReport["push"]["pushed"]): Pass {
  return {
    list: (s, tenantId, after, limit) => s.listPendingQuoteIds(tenantId, after, limit),
    async visit(tenant, quoteId) {
      const outcome = await runDecision(deps, tenant, {
        cause: scheduleCause(deps),
        eventKey: null,
        kind: "schedule:push",
        reads: pushReads(quoteId),
        decide: (snapshot, context) => decidePush(snapshot, quoteId, context),
      });
      if (outcome.response.status === "applied") {
        pushed.push({ tenantId: tenant.tenantId, quoteId, mirrors: outcome.response.mirrors.length });
      }
    },
  };
}

/** The audit pass: a synced pair checked for drift, findings recorded, stale ones pruned. */
function auditPass(
  deps: EngineDeps,
  startedAt: string,
  findings: Pick<ScheduledRunReport["audit"], "drifting" | "recorded">,
): Pass {
  const { store } = deps;
  return {
    list: (s, tenantId, after, limit) => s.listSyncedOpportunityIds(tenantId, after, limit),
    async visit(tenant, opportunityId) {
      const found = await auditOpportunity(store, tenant, opportunityId);
      if (found === null) return;
      if (found.issues.length > 0) {
        const kinds = found.issues.map((issue) => issue.kind);
        findings.drifting.push({ tenantId: tenant.tenantId, opportunityId, issues: kinds });
      }
      if (await recordFinding(deps, tenant, opportunityId, found)) findings.recorded++;
    },
    async finishTenant(tenant, position) {
      await pruneStaleFindings(store, tenant.tenantId, position.tenantPassStartedAt ?? startedAt);
    },
  };
}

interface Walker {
  store: SyncStore;
  limits: ScheduledRunLimits;
  shouldStop: () => boolean;
  tenantOf: (tenantId: string) => Promise<TenantConfig | null>;
  now: () => string;
}

/** Walks one sparse index across tenants from `start`, within the pass's budget. */
async function walkPass(walker: Walker, start: IndexPosition, pass: Pass): Promise<PassReport> {
  const { store, limits, shouldStop } = walker;
  const report: PassReport = {
    examined: 0,
    indexPages: 0,
    cycleCompleted: false,
    resumeAt: { ...start },
    failures: [],
  };
  const budgetLeft = () =>
    report.examined < limits.pairsPerPass && report.indexPages < limits.pagesPerPass && !shouldStop();
  const tenantAfter = async (tenantId: string | null): Promise<string | null> => {
    report.indexPages++;
    return (await store.listTenantIds(tenantId, 1)).entries[0] ?? null;
  };
  const cursors = new Map<string, TenantCursor>(Object.entries(start.cursors ?? {}));
  if (start.tenantId !== null && (start.after !== null || start.tenantPassStartedAt !== null)) {
    cursors.set(start.tenantId, { after: start.after, tenantPassStartedAt: start.tenantPassStartedAt });
  }

  const first = start.tenantId ?? (budgetLeft() ? await tenantAfter(null) : null);
  if (first === null) {
    report.cycleCompleted = start.tenantId === null && report.indexPages > 0;
    report.resumeAt = position(start.tenantId, cursors);
    return report;
  }
  const nextStart = await serveTenants(first, { walker, pass, report, cursors, budgetLeft, tenantAfter });
  report.resumeAt = position(nextStart, cursors);
  return report;
}

interface PassRun {
  walker: Walker;
  pass: Pass;
  report: PassReport;
  cursors: Map<string, TenantCursor>;
  budgetLeft: () => boolean;
  tenantAfter: (tenantId: string | null) => Promise<string | null>;
}

/** Serves tenants in id order from `first` while the budget lasts; returns where the next run starts. */
async function serveTenants(first: string, run: PassRun): Promise<string | null> {
  const { walker, pass, report, cursors, budgetLeft, tenantAfter } = run;
  const quota = walker.limits.pairsPerTenant ?? walker.limits.pairsPerPass;
  let tenantId = first;
  let second: string | null = null;
  let backlog = false;
  for (;;) {
    if (!budgetLeft()) return tenantId;
    const cursor = cursors.get(tenantId) ?? { after: null, tenantPassStartedAt: walker.now() };
    const served = await serveTenant(walker, tenantId, cursor, pass, report, quota, budgetLeft);
    if (served === "finished") cursors.delete(tenantId);
    else cursors.set(tenantId, cursor);
    if (served !== "finished") backlog = true;
    if (served === "cut") return tenantId;
    // One more tenant-list read even when the budget is spent, so the next run starts where this
    // one left off rather than at a tenant already served.
    const next = await tenantAfterWrapping(tenantAfter, tenantId);
    second ??= next;
    if (next === null || next === first) {
      // Every tenant served this run: the next run starts one tenant later.
      report.cycleCompleted = !backlog;
      return second ?? first;
    }
    if (!budgetLeft()) return next;
    tenantId = next;
  }
}

/** The tenant after `tenantId` in id order, wrapping to the first; null when there is none. */
async function tenantAfterWrapping(
  tenantAfter: (tenantId: string | null) => Promise<string | null>,
  tenantId: string,
): Promise<string | null> {
  return (await tenantAfter(tenantId)) ?? (await tenantAfter(null));
}

function position(tenantId: string | null, cursors: Map<string, TenantCursor>): IndexPosition {
  if (tenantId === null) return { ...START_OF_CYCLE };
  const own = cursors.get(tenantId) ?? { after: null, tenantPassStartedAt: null };
  const others = [...cursors.entries()].filter(([id]) => id !== tenantId);
  return { tenantId, ...own, ...(others.length > 0 ? { cursors: Object.fromEntries(others) } : {}) };
}

/**
 * Up to `quota` pairs of one tenant from its cursor (moved along as pairs are visited):
 * `finished` when its index was walked to the end, `quota` when the quota was used with more to
 * come, `cut` when the run's budget or deadline stopped it first.
 */
async function serveTenant(
  walker: Walker,
  tenantId: string,
  cursor: TenantCursor,
  pass: Pass,
  report: PassReport,
  quota: number,
  budgetLeft: () => boolean,
): Promise<"finished" | "quota" | "cut"> {
  const { store, limits, shouldStop } = walker;
  const tenant = await walker.tenantOf(tenantId);
  if (!tenant) return "finished";
  let taken = 0;
  for (;;) {
    if (taken >= quota) return "quota";
    if (!budgetLeft()) return "cut";
    report.indexPages++;
    const limit = Math.min(limits.pageSize, quota - taken, limits.pairsPerPass - report.examined);
    const page = await pass.list(store, tenantId, cursor.after, limit);
    for (const id of page.entries) {
      if (shouldStop()) return "cut";
      try {
        await pass.visit(tenant, id, { tenantId, ...cursor });
      } catch (error) {
        // One pair's failure must not stall the others; its index entry stays for the next cycle.
        report.failures.push({ tenantId, id, error: error instanceof Error ? error.message : String(error) });
      }
      report.examined++;
      taken++;
      cursor.after = id;
    }
    if (page.next !== null) continue;
    if (pass.finishTenant) {
      // Out of budget at a tenant's end: the next run reads its (empty) last page again and finishes it.
      if (!budgetLeft()) return "cut";
      await pass.finishTenant(tenant, { tenantId, ...cursor });
    }
    return "finished";
  }
}
