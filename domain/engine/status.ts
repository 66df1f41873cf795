import { NotFound } from "../errors.js";
import type { QuoteStatus, SyncMode } from "../events.js";
import { liveLines, toMirrorLine } from "../lines.js";
import type { Approval, MirrorLine } from "../model.js";
import type { SyncStore } from "../store.js";
import { fieldMapping, type TenantConfig } from "../tenant.js";
import { syncModeOf } from "./pair-totals.js";

export interface SyncStatus {
  opportunityId: string;
  syncedQuoteId: string | null;
  amount: string | null;
  amountLocked: boolean;
  stage?: string;
  approval: Approval;
  lines: MirrorLine[];
  quotes: Array<{
    quoteId: string;
    syncing: boolean;
    status?: QuoteStatus;
    mode: SyncMode;
    pendingChanges: number;
  }>;
  lastSyncedAt: string | null;
  /** Per side whose connector delivers mirrors (CONNECTORS §2): how delivery to it stands. */
  delivery?: { crm?: SideDeliveryStatus; cpq?: SideDeliveryStatus };
}

/** How delivery of a pair's mirrors to one side stands. */
export interface SideDeliveryStatus {
  /** Mirrors waiting to be delivered (a parked one included). */
  pending: number;
  /** True while the head mirror is failing: retrying or parked. */
  failing: boolean;
  /** The parked mirror's entry id: `POST /sync/{tenantId}/deliveries/{entryId}/retry` sends it again. */
  parkedEntryId: string | null;
  /** When the next attempt is due (ISO time), while retrying or waiting. */
  nextAttemptAt: string | null;
  lastDeliveredAt: string | null;
  lastError: string | null;
}

/** The sync status of an opportunity (SPEC §5), as quotesync holds it. */
export async function readSyncStatus(
  store: SyncStore,
  tenant: TenantConfig,
  opportunityId: string,
): Promise<SyncStatus> {
  const [opportunity, quotes] = await Promise.all([
    store.loadOpportunity(tenant.tenantId, opportunityId),
    store.listQuotesOfOpportunity(tenant.tenantId, opportunityId),
  ]);
  if (!opportunity?.header.known || opportunity.header.deleted) {
    throw new NotFound("opportunity", opportunityId);
  }
  const header = opportunity.header;
  const mapping = fieldMapping(tenant);
  const status: SyncStatus = {
    opportunityId,
    syncedQuoteId: header.syncedQuoteId,
    amount: header.amount,
    amountLocked: header.amountLocked,
    approval: header.approval,
    lines: liveLines(opportunity.lines).map((line) => ({
      ...toMirrorLine(line, mapping.lines),
      fields: line.fields,
    })),
    quotes: quotes
      .filter((quote) => !quote.deleted && quote.opportunityId === opportunityId)
      .map((quote) => ({
        quoteId: quote.id,
        syncing: quote.syncing,
        ...(quote.status ? { status: quote.status } : {}),
        mode: syncModeOf(quote, tenant),
        pendingChanges: quote.pendingChanges,
      })),
    lastSyncedAt: header.lastSyncedAt,
  };
  if (header.stage) status.stage = header.stage;
  return status;
}
