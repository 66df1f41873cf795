import type { AuditType } from "../model.js";
import type { DriftFinding, DriftIssue } from "../schedule.js";
import type { SyncStore } from "../store.js";
import type { TenantConfig } from "../tenant.js";
import type { EngineDeps } from "./decision.js";
import { auditSyncedPair } from "./pair-audit.js";
import { type Cause, Workspace } from "./workspace.js";

/** Drift report pages the prune step reads per tenant pass at most; the rest waits a pass. */
const PRUNE_PAGES = 20;

export function scheduleCause(deps: EngineDeps): Cause {
  return { source: "schedule", at: deps.clock() };
}

/**
 * Audits one opportunity named by the synced index; null when it is no longer synced (the index
 * lags). The pair is read in separate consistent reads, so a change landing between them could
 * look like drift: a pair with issues is read and checked once more, and only what persists counts.
 */
export async function auditOpportunity(
  store: SyncStore,
  tenant: TenantConfig,
  opportunityId: string,
): Promise<{ quoteId: string; issues: DriftIssue[] } | null> {
  let result: { quoteId: string; issues: DriftIssue[] } | null = null;
  for (let attempt = 0; attempt < 2; attempt++) {
    const opportunity = await store.loadOpportunity(tenant.tenantId, opportunityId);
    const quoteId = opportunity?.header.syncedQuoteId;
    if (!opportunity || opportunity.header.deleted || !quoteId) return null;
    const [quotes, synced] = await Promise.all([
      store.listQuotesOfOpportunity(tenant.tenantId, opportunityId),
      store.loadQuote(tenant.tenantId, quoteId),
    ]);
    result = { quoteId, issues: auditSyncedPair(tenant, opportunity, quotes, synced) };
    if (result.issues.length === 0) break;
  }
  return result;
}

const signature = (issue: DriftIssue) => `${issue.kind}\n${issue.detail}`;

/**
 * Keeps the tenant's drift report current for one opportunity and records issues not reported
 * at the previous check in the audit trail (so a lasting drift is audited once, not every run).
 * Returns true when it wrote audit entries.
 */
export async function recordFinding(
  deps: EngineDeps,
  tenant: TenantConfig,
  opportunityId: string,
  found: { quoteId: string; issues: DriftIssue[] },
): Promise<boolean> {
  const { store } = deps;
  const previous = await store.loadDriftFinding(tenant.tenantId, opportunityId);
  if (found.issues.length === 0) {
    if (previous) await store.deleteDriftFinding(tenant.tenantId, opportunityId);
    return false;
  }
  const known = new Set((previous?.issues ?? []).map(signature));
  const fresh = found.issues.filter((issue) => !known.has(signature(issue)));
  const ws = new Workspace(tenant, scheduleCause(deps), deps.clock());
  for (const issue of fresh) {
    const type: AuditType = issue.kind === "milestone_pending" ? "audit.milestone_pending" : "audit.drift";
    ws.audit(opportunityId, type, issue.detail, found.quoteId);
  }
  const { audit } = ws.toChangeSet();
  if (audit.length > 0) await store.commit({ tenantId: tenant.tenantId, quotes: [], outbox: [], audit });
  const unchanged = fresh.length === 0 && previous?.issues.length === found.issues.length;
  const finding: DriftFinding = {
    opportunityId,
    quoteId: found.quoteId,
    issues: found.issues,
    detectedAt: unchanged && previous ? previous.detectedAt : ws.nowIso,
    checkedAt: ws.nowIso,
  };
  await store.saveDriftFinding(tenant.tenantId, finding);
  return audit.length > 0;
}

/** Drops findings the tenant's pass did not re-check: their opportunity is no longer synced. */
export async function pruneStaleFindings(
  store: SyncStore,
  tenantId: string,
  passStartedAt: string,
): Promise<void> {
  let cursor: string | null = null;
  for (let page = 0; page < PRUNE_PAGES; page++) {
    const report = await store.readDriftReport(tenantId, cursor, 100);
    for (const finding of report.entries) {
      if (finding.checkedAt < passStartedAt) await store.deleteDriftFinding(tenantId, finding.opportunityId);
    }
    cursor = report.next;
    if (cursor === null) break;
  }
}
