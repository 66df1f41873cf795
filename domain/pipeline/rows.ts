import type { SideDeliveryStatus } from "../engine/status.js";
import type { SyncMode } from "../events.js";
import type { Approval, OpportunityRecord, QuoteRecord } from "../model.js";
import type { DriftFinding } from "../schedule.js";
import type { TenantConfig } from "../tenant.js";

/** Delivery of mirrors to one side, as its delivery queue stands (the status's `delivery.<side>`). */
export type SideDelivery = SideDeliveryStatus;

/** Delivery state of an opportunity's mirrors, per target system that delivers; null for none. */
export interface DeliveryState {
  crm?: SideDelivery;
  cpq?: SideDelivery;
}

/** Why a row is in the "needs attention" view, most serious first. */
export type AttentionKind =
  | "drift"
  | "delivery_failing"
  | "approval_required"
  | "milestone_pending"
  | "quote_expired";

export interface Attention {
  kind: AttentionKind;
  text: string;
}

/** One opportunity as the pipeline page lists it. */
export interface PipelineRow {
  opportunityId: string;
  name: string | null;
  stage: string | null;
  amount: string | null;
  currency: string | null;
  amountLocked: boolean;
  syncedQuoteId: string | null;
  mode: SyncMode | null;
  pendingChanges: number;
  approval: Approval;
  drift: DriftFinding | null;
  delivery: DeliveryState | null;
  syncedQuoteExpiresAt: string | null;
  /** When quotesync last applied a change to the opportunity header (ISO time). */
  changedAt: string;
  attention: Attention[];
}

export const ATTENTION_ORDER: AttentionKind[] = [
  "drift",
  "delivery_failing",
  "approval_required",
  "milestone_pending",
  "quote_expired",
];

/**
 * A pipeline row from the opportunity header, its synced quote's header (if any) and its drift
 * finding (if any): what a sales manager reads at a glance, and why it needs attention.
 */
export function pipelineRow(
  tenant: TenantConfig,
  opportunity: OpportunityRecord,
  syncedQuote: QuoteRecord | null,
  drift: DriftFinding | null,
  now: number,
  /** The opportunity's delivery queues (sides that deliver); null when none delivers or none was read. */
  delivery: DeliveryState | null = null,
): PipelineRow {
  const quote = syncedQuote && syncedQuote.id === opportunity.syncedQuoteId ? syncedQuote : null;
  const mode = quote ? (quote.syncMode ?? tenant.policy.mode) : null;
  const pendingChanges = quote?.syncing ? quote.pendingChanges : 0;
  // Findings are about synced pairs: once sync stops, one left until the audit's next pass is stale.
  const finding = opportunity.syncedQuoteId ? drift : null;
  const attention = attentionOf(tenant, opportunity, quote, finding, delivery, pendingChanges, now);
  return {
    opportunityId: opportunity.id,
    name: opportunity.name,
    stage: opportunity.stage,
    amount: opportunity.amount,
    currency: opportunity.currency,
    amountLocked: opportunity.amountLocked,
    syncedQuoteId: opportunity.syncedQuoteId,
    mode,
    pendingChanges,
    approval: opportunity.approval,
    drift: finding,
    delivery,
    syncedQuoteExpiresAt: quote?.expiresAt ?? null,
    changedAt: new Date(opportunity.changedAt).toISOString(),
    attention,
  };
}

/** Why a row needs attention, in `ATTENTION_ORDER`. */
function attentionOf(
  tenant: TenantConfig,
  opportunity: OpportunityRecord,
  quote: QuoteRecord | null,
  finding: DriftFinding | null,
  delivery: DeliveryState | null,
  pendingChanges: number,
  now: number,
): Attention[] {
  const attention: Attention[] = [];
  // A manual-mode pair waiting at a milestone is reported by the audit too: one reason, not two.
  const driftIssues = finding?.issues.filter((issue) => issue.kind !== "milestone_pending") ?? [];
  if (driftIssues.length > 0)
    attention.push({ kind: "drift", text: driftIssues.map((issue) => issue.detail).join("; ") });
  const milestoneFinding = finding?.issues.find((issue) => issue.kind === "milestone_pending");
  for (const side of ["crm", "cpq"] as const) {
    const state = delivery?.[side];
    if (state?.failing)
      attention.push({
        kind: "delivery_failing",
        text: state.parkedEntryId
          ? `mirror ${state.parkedEntryId} to ${side} parked${state.lastError ? `: ${state.lastError}` : ""}`
          : `delivery to ${side} failing, retried${state.nextAttemptAt ? ` at ${state.nextAttemptAt.slice(11, 16)} UTC` : ""}${state.lastError ? `: ${state.lastError}` : ""}`,
      });
  }
  if (opportunity.approval.required)
    attention.push({
      kind: "approval_required",
      text: opportunity.approval.reasons.join("; ") || "no reason given",
    });
  if (pendingChanges > 0 && opportunity.stage && tenant.policy.milestoneStages.includes(opportunity.stage))
    attention.push({
      kind: "milestone_pending",
      text: `${pendingChanges} pending change${pendingChanges === 1 ? "" : "s"} at milestone stage ${opportunity.stage}`,
    });
  else if (milestoneFinding) attention.push({ kind: "milestone_pending", text: milestoneFinding.detail });
  if (quote?.expiresAt && Date.parse(quote.expiresAt) < now)
    attention.push({
      kind: "quote_expired",
      text: `synced quote ${quote.id} expired ${quote.expiresAt.slice(0, 10)}`,
    });
  attention.sort((a, b) => ATTENTION_ORDER.indexOf(a.kind) - ATTENTION_ORDER.indexOf(b.kind));
  return attention;
}
