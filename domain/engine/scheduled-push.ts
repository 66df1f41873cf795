import type { SyncResponse } from "../model.js";
import { reconcilePair } from "./pair-lines.js";
import { isSyncedPair, settleSyncedHeader, syncModeOf } from "./pair-totals.js";
import { type Decision, type DecisionContext, decided, type ReadPlan, type Snapshot } from "./snapshot.js";
import type { Workspace } from "./workspace.js";

/** What a scheduled push reads: the quote, and its opportunity while it is syncing. */
export function pushReads(quoteId: string): ReadPlan {
  return { from: "quote", quoteId, opportunity: "if-syncing" };
}

/** The scheduled push of one quote (see `pushPendingChanges`). */
export function decidePush(snapshot: Snapshot, quoteId: string, context: DecisionContext): Decision {
  return decided(context, snapshot, (ws) => pushPendingChanges(ws, quoteId));
}

/**
 * The scheduled push of one quote (SPEC §1.8): the pending changes of a synced pair are
 * reconciled and the net difference goes out as one mirror per target, with the amount and
 * approval settled. Manual-mode quotes keep their changes pending (a start or trigger pushes
 * them); a quote whose mode became `live` while changes were pending is pushed too.
 */
function pushPendingChanges(ws: Workspace, quoteId: string): SyncResponse {
  const quote = ws.useQuote(quoteId);
  const header = quote.header;
  const opportunityId = header.opportunityId;
  if (!header.known || header.deleted || !header.syncing || header.pendingChanges === 0 || !opportunityId) {
    return { status: "no_change", mirrors: [], quoteId };
  }
  if (syncModeOf(header, ws.tenant) === "manual") {
    return { status: "pending", mirrors: [], quoteId, opportunityId };
  }
  const opportunity = ws.useOpportunity(opportunityId);
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
