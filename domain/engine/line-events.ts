import { lineValueChanges, snapshotLines } from "../audit-values.js";
import { InvalidEvent } from "../errors.js";
import { LIMITS, type LineInput } from "../events.js";
import { tombstoneForUnknownLine } from "../lines.js";
import type {
  AuditValueChange,
  OpportunityAggregate,
  QuoteAggregate,
  Source,
  StoredLine,
  SyncResponse,
} from "../model.js";
import type { SyncStore } from "../store.js";
import {
  applyLineDelete,
  applyLineUpsert,
  findLine,
  type LineOutcome,
  type LineSide,
  overallStatus,
} from "./line-changes.js";
import { isSyncedPair, loadOpportunityWithQuote, loadQuoteWithOpportunity, pairSeenFrom } from "./load.js";
import { settleSyncedHeader } from "./pair-totals.js";
import type { Workspace } from "./workspace.js";

/** A line event of either system, reduced to what changes. */
export type LineChange =
  | { kind: "upserted"; lines: LineInput[] }
  | { kind: "deleted"; lineIds: string[] }
  | { kind: "replaced"; lines: LineInput[] };

/** Applies a CRM line event to the opportunity's lines (`ownerId` = opportunity id). */
export async function applyCrmLineChange(
  ws: Workspace,
  store: SyncStore,
  opportunityId: string,
  change: LineChange,
  newSyncKey: () => string,
): Promise<SyncResponse> {
  const loaded = await loadOpportunityWithQuote(ws, store, opportunityId);
  const opportunity = loaded.opportunity;
  const quote = loaded.quote && isSyncedPair(loaded.quote, opportunity) ? loaded.quote : null;
  return applyLineChange(ws, "crm", opportunity, quote, opportunity.lines, change, newSyncKey);
}

/** Applies a CPQ line event to the quote's lines. */
export async function applyCpqLineChange(
  ws: Workspace,
  store: SyncStore,
  quoteId: string,
  change: LineChange,
  newSyncKey: () => string,
): Promise<SyncResponse> {
  const loaded = await loadQuoteWithOpportunity(ws, store, quoteId);
  const quote = loaded.quote;
  const opportunity =
    loaded.opportunity && isSyncedPair(quote, loaded.opportunity) ? loaded.opportunity : null;
  return applyLineChange(
    ws,
    "cpq",
    opportunity,
    opportunity ? quote : null,
    quote.lines,
    change,
    newSyncKey,
    quote,
  );
}

function applyLineChange(
  ws: Workspace,
  sender: Source,
  opportunity: OpportunityAggregate | null,
  syncedQuote: QuoteAggregate | null,
  own: Map<string, StoredLine>,
  change: LineChange,
  newSyncKey: () => string,
  ownQuote: QuoteAggregate | null = syncedQuote,
): SyncResponse {
  const at = ws.cause.at;
  const pair = opportunity && syncedQuote ? pairSeenFrom(ws, sender, syncedQuote, opportunity) : null;
  const ownHeader = sender === "crm" ? opportunity?.header : ownQuote?.header;
  const side: LineSide = {
    ws,
    sender,
    own,
    quoteId: sender === "cpq" ? (ownQuote?.header.id ?? null) : (syncedQuote?.header.id ?? null),
    pair,
    newSyncKey,
    snapshot: change.kind === "replaced",
    replacedAt: ownHeader?.linesReplacedAt,
  };
  const before = snapshotLines(own, ws.mapping.lines);
  const outcomes: LineOutcome[] = [];
  if (change.kind === "deleted") {
    for (const lineId of change.lineIds) {
      const line = findLine(own, { id: lineId });
      if (line) {
        outcomes.push(applyLineDelete(side, line, at, lineId));
      } else {
        ws.putLine(sender, side.quoteId ?? "", tombstoneForUnknownLine(lineId, newSyncKey(), at, sender));
        outcomes.push("no_change");
      }
    }
  } else {
    const reported = new Set<string>();
    for (const input of change.lines) {
      outcomes.push(applyLineUpsert(side, input, at));
      const line = findLine(own, input);
      if (line) reported.add(line.syncKey);
    }
    if (change.kind === "replaced") {
      for (const line of [...own.values()]) {
        if (!line.deleted && !reported.has(line.syncKey)) outcomes.push(applyLineDelete(side, line, at));
      }
      // Lines the snapshot does not hold are gone as of `at`, those quotesync has not heard of too.
      if (ownHeader && at > (ownHeader.linesReplacedAt ?? Number.NEGATIVE_INFINITY)) {
        if (sender === "crm") ws.updateOpportunity({ linesReplacedAt: at });
        else ws.updateQuote(ownHeader.id, { linesReplacedAt: at });
      }
    }
  }
  const liveCount = [...own.values()].filter((line) => !line.deleted).length;
  if (liveCount > LIMITS.linesPerRecord) {
    throw new InvalidEvent(
      `a ${sender === "crm" ? "opportunity" : "quote"} may hold at most ${LIMITS.linesPerRecord} lines`,
      [{ path: ["data", "lines"], message: `would hold ${liveCount} lines` }],
    );
  }
  const opportunityId =
    opportunity?.header.id ?? (sender === "cpq" ? ownQuote?.header.opportunityId : null) ?? null;
  const pending = outcomes.filter((outcome) => outcome === "pending").length;
  if (pair && syncedQuote && opportunity) {
    if (pending > 0) {
      ws.updateQuote(syncedQuote.header.id, { pendingChanges: syncedQuote.header.pendingChanges + pending });
    }
    // In every mode: the approval flag follows the quote's lines at once (SPEC §1.9); while changes
    // wait to be pushed, the amount stays at what was pushed (see `settleSyncedHeader`).
    settleSyncedHeader(ws, opportunity, syncedQuote);
  }
  const status = overallStatus(outcomes, pair !== null);
  auditLineChange(
    ws,
    sender,
    opportunityId,
    syncedQuote?.header.id ?? ownQuote?.header.id,
    outcomes,
    status,
    lineValueChanges(before, own, ws.mapping.lines),
  );
  return { status, mirrors: ws.producedMirrors() };
}

function auditLineChange(
  ws: Workspace,
  sender: Source,
  opportunityId: string | null,
  quoteId: string | undefined,
  outcomes: LineOutcome[],
  status: string,
  changes: AuditValueChange[],
): void {
  const count = (kind: LineOutcome) => outcomes.filter((outcome) => outcome === kind).length;
  const target = sender === "crm" ? "cpq" : "crm";
  // What reached the other side: a change of fields it does not share is applied, not mirrored.
  const mirrored = ws
    .producedMirrors()
    .some(
      (mirror) => mirror.target === target && (mirror.lines?.upsert.length || mirror.lines?.delete.length),
    );
  if (status === "applied" && mirrored) {
    ws.audit(
      opportunityId,
      "change.mirrored",
      `${count("applied")} line change(s) from ${sender} mirrored to ${target}`,
      quoteId,
      changes,
    );
  } else if (status === "applied") {
    ws.audit(
      opportunityId,
      "change.applied",
      `${count("applied")} line change(s) from ${sender} applied; nothing to mirror to ${target}`,
      quoteId,
      changes,
    );
  } else if (status === "pending") {
    ws.audit(
      opportunityId,
      "change.pending",
      `${count("pending")} line change(s) from ${sender} pending`,
      quoteId,
      changes,
    );
  }
  if (count("stale") > 0) {
    ws.audit(
      opportunityId,
      "change.stale",
      `${count("stale")} stale line change(s) from ${sender} answered with the current values`,
      quoteId,
    );
  }
}
