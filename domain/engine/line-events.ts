import { lineValueChanges, snapshotLines } from "../audit-values.js";
import { InvalidEvent } from "../errors.js";
import { type CpqEvent, type CrmEvent, LIMITS, type LineInput } from "../events.js";
import { liveLines, tombstoneForUnknownLine } from "../lines.js";
import type {
  AuditValueChange,
  OpportunityAggregate,
  QuoteAggregate,
  Source,
  StoredLine,
  SyncResponse,
} from "../model.js";
import {
  applyLineDelete,
  applyLineUpsert,
  findLine,
  type LineOutcome,
  type LineSide,
  overallStatus,
  type SyncedPair,
} from "./line-changes.js";
import { isSyncedPair, liveLineCount, settleSyncedHeader, syncModeOf } from "./pair-totals.js";
import {
  type Decision,
  type DecisionContext,
  decided,
  type LineRef,
  type ReadPlan,
  type Snapshot,
} from "./snapshot.js";
import type { Workspace } from "./workspace.js";

/** A line event of either system, reduced to what changes. */
export type LineChange =
  | { kind: "upserted"; lines: LineInput[] }
  | { kind: "deleted"; lineIds: string[] }
  | { kind: "replaced"; lines: LineInput[] };

/** A line change and the record whose lines it changes: the opportunity (crm) or the quote (cpq). */
export interface OwnedLineChange {
  sender: Source;
  ownerId: string;
  change: LineChange;
}

/** The line change an event carries, whichever system sent it; null for other events. */
export function lineChangeOf(event: CrmEvent | CpqEvent): OwnedLineChange | null {
  switch (event.type) {
    case "opportunity.lines.upserted":
    case "opportunity.lines.replaced":
      return { sender: "crm", ownerId: event.data.opportunityId, change: linesOf(event) };
    case "quote.lines.upserted":
    case "quote.lines.replaced":
      return { sender: "cpq", ownerId: event.data.quoteId, change: linesOf(event) };
    case "opportunity.lines.deleted":
      return {
        sender: "crm",
        ownerId: event.data.opportunityId,
        change: { kind: "deleted", lineIds: event.data.lineIds },
      };
    case "quote.lines.deleted":
      return {
        sender: "cpq",
        ownerId: event.data.quoteId,
        change: { kind: "deleted", lineIds: event.data.lineIds },
      };
    default:
      return null;
  }
}

/** An upsert or a snapshot of lines, from either system. */
function linesOf(event: {
  type: `${string}.lines.${"upserted" | "replaced"}`;
  data: { lines: LineInput[] };
}): LineChange {
  return { kind: event.type.endsWith(".upserted") ? "upserted" : "replaced", lines: event.data.lines };
}

/** Lines an upsert or delete may name to be decided on the lines it names alone (read by key). */
const LINES_READ_BY_KEY = 20;

/**
 * What a line change reads: the owner, and its synced counterpart. An upsert or delete of a few
 * lines needs only those lines and their twins (the rest is summed on the headers); a snapshot
 * (`*.lines.replaced`) needs every line.
 */
export function lineChangeReads(owned: OwnedLineChange): ReadPlan {
  const { change } = owned;
  const refs: LineRef[] | undefined =
    change.kind === "upserted"
      ? change.lines.map((line) => ({ id: line.id, syncKey: line.syncKey }))
      : change.kind === "deleted"
        ? change.lineIds.map((id) => ({ id }))
        : undefined;
  const lines = refs && refs.length <= LINES_READ_BY_KEY ? { lines: refs } : {};
  return owned.sender === "crm"
    ? { from: "opportunity", opportunityId: owned.ownerId, ...lines }
    : { from: "quote", quoteId: owned.ownerId, opportunity: "if-syncing", ...lines };
}

/** Decides a line change of either system on the snapshot `lineChangeReads` names. */
export function decideLineChange(
  snapshot: Snapshot,
  owned: OwnedLineChange,
  context: DecisionContext,
): Decision {
  return decided(context, snapshot, (ws) =>
    owned.sender === "crm"
      ? crmLineChange(ws, owned.ownerId, owned.change, context.newSyncKey)
      : cpqLineChange(ws, owned.ownerId, owned.change, context.newSyncKey),
  );
}

/** A CRM line event on the opportunity's lines. */
function crmLineChange(
  ws: Workspace,
  opportunityId: string,
  change: LineChange,
  newSyncKey: () => string,
): SyncResponse {
  const opportunity = ws.useOpportunity(opportunityId);
  const syncedQuoteId = opportunity.header.syncedQuoteId;
  const loadedQuote = syncedQuoteId ? ws.useQuote(syncedQuoteId) : null;
  const quote = loadedQuote && isSyncedPair(loadedQuote, opportunity) ? loadedQuote : null;
  return applyLineChange(ws, "crm", opportunity, quote, opportunity.lines, change, newSyncKey);
}

/** A CPQ line event on the quote's lines. */
function cpqLineChange(
  ws: Workspace,
  quoteId: string,
  change: LineChange,
  newSyncKey: () => string,
): SyncResponse {
  const quote = ws.useQuote(quoteId);
  const named = quote.header.syncing ? quote.header.opportunityId : null;
  const loadedOpportunity = named ? ws.useOpportunity(named) : null;
  const opportunity = loadedOpportunity && isSyncedPair(quote, loadedOpportunity) ? loadedOpportunity : null;
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

/** The pair as seen from one side: `other` is the side that receives mirrors. */
function pairSeenFrom(
  ws: Workspace,
  sender: Source,
  quote: QuoteAggregate,
  opportunity: OpportunityAggregate,
): SyncedPair {
  return {
    opportunityId: opportunity.header.id,
    quoteId: quote.header.id,
    other: sender === "cpq" ? opportunity.lines : quote.lines,
    live: syncModeOf(quote.header, ws.tenant) === "live",
  };
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
  const outcomes = lineOutcomes(side, change, ownHeader);
  checkLineLimit(sender, sender === "crm" ? opportunity : ownQuote, own);
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

/** Applies each line of the change on the sender's side, in order. */
function lineOutcomes(
  side: LineSide,
  change: LineChange,
  ownHeader: { id: string; linesReplacedAt?: number } | undefined,
): LineOutcome[] {
  const { ws, sender, own, newSyncKey } = side;
  const at = ws.cause.at;
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
    return outcomes;
  }
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
  return outcomes;
}

/** A record may not hold more live lines than `LIMITS.linesPerRecord`. */
function checkLineLimit(
  sender: Source,
  ownAggregate: OpportunityAggregate | QuoteAggregate | null | undefined,
  own: Map<string, StoredLine>,
): void {
  const liveCount = ownAggregate ? liveLineCount(ownAggregate) : liveLines(own).length;
  if (liveCount > LIMITS.linesPerRecord) {
    throw new InvalidEvent(
      `${sender === "crm" ? "an opportunity" : "a quote"} may hold at most ${LIMITS.linesPerRecord} lines`,
      [{ path: ["data", "lines"], message: `would hold ${liveCount} lines` }],
    );
  }
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
