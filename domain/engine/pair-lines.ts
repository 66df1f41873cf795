import {
  liveLines,
  outdatedAfterOverwrite,
  sameMirrorValues,
  storedLine,
  toMirrorLine,
  valuesForTarget,
} from "../lines.js";
import type { OpportunityAggregate, QuoteAggregate, StoredLine } from "../model.js";
import { isOlderThanRecord } from "../records.js";
import { deleteLineOnOtherSide, type LineSide, mirrorLineToOtherSide } from "./line-changes.js";
import type { Workspace } from "./workspace.js";

/**
 * The quote wins: every quote line is copied to the opportunity, every other opportunity line
 * deleted. `newSyncKey` keys the tombstone of a CRM line a copy replaces (see below).
 */
export function replaceOpportunityLines(
  ws: Workspace,
  quote: QuoteAggregate,
  opportunity: OpportunityAggregate,
  newSyncKey: () => string,
): void {
  const opportunityId = opportunity.header.id;
  const quoteId = quote.header.id;
  const keep = new Set<string>();
  for (const line of liveLines(quote.lines)) {
    keep.add(line.syncKey);
    const current = opportunity.lines.get(line.syncKey);
    const live = current && !current.deleted ? current : undefined;
    const values = valuesForTarget(line, live, ws.mapping.lines);
    let copy: StoredLine;
    if (live && sameMirrorValues(live, values, ws.mapping.lines)) {
      copy = live;
    } else {
      copy = storedLine(values, {
        syncKey: line.syncKey,
        id: live?.id ?? null,
        // The pair's time is the time of the quote line's last change: all line times are the
        // systems' own event times, never quotesync's clock.
        changedAt: Math.max(line.changedAt, live?.changedAt ?? 0),
        changedBy: "cpq",
        outdatedMirrors: outdatedAfterOverwrite(live, "crm", ws.mapping.lines),
      });
      copy.mirroredAt = Math.max(ws.cause.at, copy.changedAt);
      if (current?.deleted && current.id !== null) {
        // The copy is a new CRM line under the sync key of one deleted there: the tombstone moves
        // to a key of its own and keeps the deleted line's ids, so a late report of that line (a
        // CRM snapshot from before the delete names it by id alone) still meets its tombstone.
        ws.putOpportunityLine({ ...current, syncKey: newSyncKey() });
      }
      ws.putOpportunityLine(copy);
    }
    ws.mirrorLineUpsert("crm", opportunityId, quoteId, toMirrorLine(copy, ws.mapping.lines));
  }
  for (const line of liveLines(opportunity.lines)) {
    if (keep.has(line.syncKey)) continue;
    ws.putOpportunityLine({
      ...line,
      deleted: true,
      changedAt: Math.max(ws.cause.at, line.changedAt),
      changedBy: "cpq",
      outdatedMirrors: [],
    });
    ws.mirrorLineDelete("crm", opportunityId, quoteId, line.id ?? line.syncKey);
  }
}

/**
 * Pushes accumulated changes of a synced pair (SPEC §1.8): for each line the side changed last
 * wins (equal times: the CPQ), and the net difference is mirrored to the other side.
 * Returns how many lines it copied.
 */
export function reconcilePair(
  ws: Workspace,
  quote: QuoteAggregate,
  opportunity: OpportunityAggregate,
): number {
  const quoteId = quote.header.id;
  const opportunityId = opportunity.header.id;
  const keys = new Set([...quote.lines.keys(), ...opportunity.lines.keys()]);
  let pushed = 0;
  for (const key of keys) {
    const q = quote.lines.get(key);
    const o = opportunity.lines.get(key);
    if (q && o && q.deleted === o.deleted && (q.deleted || sameMirrorValues(q, o, ws.mapping.lines))) {
      continue;
    }
    const quoteWins = !o || (q !== undefined && !isOlderThanRecord(q.changedAt, "cpq", o));
    const winner = quoteWins ? q : o;
    if (!winner) continue;
    const side: LineSide = {
      ws,
      sender: quoteWins ? "cpq" : "crm",
      own: quoteWins ? quote.lines : opportunity.lines,
      quoteId,
      pair: { opportunityId, quoteId, other: quoteWins ? opportunity.lines : quote.lines, live: true },
      newSyncKey: () => key,
    };
    if (winner.deleted) deleteLineOnOtherSide(side, side.pair as NonNullable<LineSide["pair"]>, winner);
    else mirrorLineToOtherSide(side, side.pair as NonNullable<LineSide["pair"]>, winner);
    pushed++;
  }
  return pushed;
}
