import type { SyncResponse } from "../model.js";
import type { SyncStore } from "../store.js";
import { isSyncedPair, loadOpportunityInto, loadQuoteInto } from "./load.js";
import { settleSyncedHeader, syncModeOf } from "./pair-totals.js";
import { reconcilePair } from "./sync-lifecycle.js";
import type { Workspace } from "./workspace.js";

/**
 * The scheduled push of one quote (SPEC §1.8): the pending changes of a synced pair are
 * reconciled and the net difference goes out as one mirror per target, with the amount and
 * approval settled. Manual-mode quotes keep their changes pending (a start or trigger pushes
 * them); a quote whose mode became `live` while changes were pending is pushed too.
 */
export async function pushPendingChanges(
  ws: Workspace,
  store: SyncStore,
  quoteId: string,
): Promise<SyncResponse> {
  const quote = await loadQuoteInto(ws, store, quoteId);
  const header = quote.header;
  const opportunityId = header.opportunityId;
  if (!header.known || header.deleted || !header.syncing || header.pendingChanges === 0 || !opportunityId) {
    return { status: "no_change", mirrors: [], quoteId };
  }
  if (syncModeOf(header, ws.tenant) === "manual") {
    return { status: "pending", mirrors: [], quoteId, opportunityId };
  }
  const opportunity = await loadOpportunityInto(ws, store, opportunityId);
  if (!isSyncedPair(quote, opportunity)) return { status: "no_change", mirrors: [], quoteId };
  const pending = header.pendingChanges;
  const copied = reconcilePair(ws, quote, opportunity);
  ws.updateQuote(quoteId, { pendingChanges: 0 });
  ws.updateOpportunity({ lastSyncedAt: ws.nowIso });
  settleSyncedHeader(ws, opportunity, quote, { linesPushed: true });
  ws.audit(
    opportunityId,
    "change.pushed",
    `${pending} pending change(s) pushed by the schedule: ${copied} line(s) copied`,
    quoteId,
  );
  return { status: "applied", mirrors: ws.producedMirrors(), quoteId, opportunityId };
}
