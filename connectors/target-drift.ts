import type { DriftFinding, DriftIssue } from "../domain/schedule.js";
import type { SyncStore } from "../domain/store.js";

/** Issues an applier found on the target system start with this, so a later check can replace them. */
export const TARGET_DRIFT_PREFIX = "CRM: ";

/**
 * Keeps what an applier found on the target after applying (e.g. Salesforce's Amount against the
 * synced lines) in the opportunity's drift finding, beside what the scheduled audit found: the
 * applier's earlier issues are replaced, the audit's kept; an empty finding is deleted.
 */
export async function recordTargetDrift(
  store: Pick<SyncStore, "loadDriftFinding" | "saveDriftFinding" | "deleteDriftFinding">,
  tenantId: string,
  finding: { opportunityId: string; quoteId: string; issues: DriftIssue[] },
  now: () => number,
): Promise<void> {
  const previous = await store.loadDriftFinding(tenantId, finding.opportunityId);
  const kept = (previous?.issues ?? []).filter((issue) => !issue.detail.startsWith(TARGET_DRIFT_PREFIX));
  const found = finding.issues.map((issue) => ({
    ...issue,
    detail: `${TARGET_DRIFT_PREFIX}${issue.detail}`,
  }));
  const issues = [...kept, ...found];
  if (issues.length === 0) {
    if (previous) await store.deleteDriftFinding(tenantId, finding.opportunityId);
    return;
  }
  const nowIso = new Date(now()).toISOString();
  const same = previous && JSON.stringify(previous.issues) === JSON.stringify(issues);
  const next: DriftFinding = {
    opportunityId: finding.opportunityId,
    quoteId: finding.quoteId,
    issues,
    detectedAt: same && previous ? previous.detectedAt : nowIso,
    checkedAt: nowIso,
  };
  await store.saveDriftFinding(tenantId, next);
}
