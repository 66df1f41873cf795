import { type DriftIssue, type IndexPosition, type ScheduleCheckpoint, START_OF_CYCLE } from "../schedule.js";
import type { Page, SyncStore } from "../store.js";
import type { TenantConfig } from "../tenant.js";
import { type EngineDeps, runDecision } from "./decision.js";
import { auditOpportunity, pruneStaleFindings, recordFinding, scheduleCause } from "./drift-report.js";
import { pushPendingChanges } from "./scheduled-push.js";

/** The work one run may do, per pass (push, then audit). */
export interface ScheduledRunLimits {
  /** Pairs a pass examines per run at most. */
  pairsPerPass: number;
  /** Index pages (tenant list, pending or synced index, drift report) a pass reads per run at most. */
  pagesPerPass: number;
  /** Ids asked for per index page. */
  pageSize: number;
}

export const DEFAULT_SCHEDULED_LIMITS: ScheduledRunLimits = {
  pairsPerPass: 100,
  pagesPerPass: 50,
  pageSize: 25,
};

export interface PassReport {
  /** Pairs looked at this run. */
  examined: number;
  indexPages: number;
  /** True when the pass reached the end of the last tenant: the next run starts a new cycle. */
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
 * order, each tenant's index in id order. No pass wraps around within a run.
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
  const push = await walkPass(walker, checkpoint.push, {
    list: (s, tenantId, after, limit) => s.listPendingQuoteIds(tenantId, after, limit),
    async visit(tenant, quoteId) {
      const outcome = await runDecision(deps, tenant, scheduleCause(deps), null, "schedule:push", (ws) =>
        pushPendingChanges(ws, store, quoteId),
      );
      if (outcome.response.status === "applied") {
        pushed.push({ tenantId: tenant.tenantId, quoteId, mirrors: outcome.response.mirrors.length });
      }
    },
  });

  const drifting: ScheduledRunReport["audit"]["drifting"] = [];
  let recorded = 0;
  const audit = await walkPass(walker, checkpoint.audit, {
    list: (s, tenantId, after, limit) => s.listSyncedOpportunityIds(tenantId, after, limit),
    async visit(tenant, opportunityId) {
      const found = await auditOpportunity(store, tenant, opportunityId);
      if (found === null) return;
      if (found.issues.length > 0) {
        const kinds = found.issues.map((issue) => issue.kind);
        drifting.push({ tenantId: tenant.tenantId, opportunityId, issues: kinds });
      }
      if (await recordFinding(deps, tenant, opportunityId, found)) recorded++;
    },
    async finishTenant(tenant, position) {
      await pruneStaleFindings(store, tenant.tenantId, position.tenantPassStartedAt ?? startedAt);
    },
  });

  const checkpointSaved = await store.saveScheduleCheckpoint({
    push: push.resumeAt,
    audit: audit.resumeAt,
    version: checkpoint.version,
  });
  return {
    startedAt,
    push: { ...push, pushed },
    audit: { ...audit, drifting, recorded },
    stoppedEarly: shouldStop(),
    checkpointSaved,
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
  let position = { ...start };
  const budgetLeft = () =>
    report.examined < limits.pairsPerPass && report.indexPages < limits.pagesPerPass && !shouldStop();
  const moveToTenantAfter = async (tenantId: string | null): Promise<boolean> => {
    report.indexPages++;
    const next = (await store.listTenantIds(tenantId, 1)).entries[0];
    position = next ? { tenantId: next, after: null, tenantPassStartedAt: walker.now() } : START_OF_CYCLE;
    return next !== undefined;
  };

  walking: while (budgetLeft()) {
    if (position.tenantId === null && !(await moveToTenantAfter(null))) {
      report.cycleCompleted = true;
      break;
    }
    const tenantId = position.tenantId as string;
    const tenant = await walker.tenantOf(tenantId);
    if (tenant) {
      report.indexPages++;
      const limit = Math.min(limits.pageSize, limits.pairsPerPass - report.examined);
      const page = await pass.list(store, tenantId, position.after, limit);
      for (const id of page.entries) {
        if (shouldStop()) break walking;
        try {
          await pass.visit(tenant, id, position);
        } catch (error) {
          // One pair's failure must not stall the others; its index entry stays for the next cycle.
          report.failures.push({
            tenantId,
            id,
            error: error instanceof Error ? error.message : String(error),
          });
        }
        report.examined++;
        position = { ...position, after: id };
      }
      if (page.next !== null) continue;
      if (pass.finishTenant) {
        if (!budgetLeft()) break;
        await pass.finishTenant(tenant, position);
      }
    }
    // Out of budget at a tenant's end: the next run reads its (empty) last page again and moves on.
    if (!budgetLeft()) break;
    if (!(await moveToTenantAfter(tenantId))) {
      report.cycleCompleted = true;
      break;
    }
  }
  report.resumeAt = position;
  return report;
}
