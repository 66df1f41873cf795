import type { LineInput } from "../events.js";
import { indexedLines } from "../line-index.js";
import {
  isOutdatedMirror,
  lineValuesFrom,
  mirrorFingerprint,
  outdatedAfterOverwrite,
  sameMirrorValues,
  sameStoredValues,
  storedLine,
  toMirrorLine,
  valuesForTarget,
} from "../lines.js";
import type { LineValues, Source, StoredLine } from "../model.js";
import { isOlderThanLine, isOlderThanRecord } from "../records.js";
import type { Workspace } from "./workspace.js";

export type LineOutcome = "applied" | "no_change" | "stale" | "pending";

/** The synced pair a line change belongs to, when there is one. */
export interface SyncedPair {
  opportunityId: string;
  quoteId: string;
  /** The other side's lines. */
  other: Map<string, StoredLine>;
  /** Live mode mirrors at once; other modes accumulate pending changes. */
  live: boolean;
}

/** One side's lines receiving changes from the system that owns them. */
export interface LineSide {
  ws: Workspace;
  /** The system that sent the change and owns `own`. */
  sender: Source;
  own: Map<string, StoredLine>;
  /** The quote these lines belong to (cpq), or the synced quote (crm), or null. */
  quoteId: string | null;
  pair: SyncedPair | null;
  newSyncKey: () => string;
  /**
   * The change is a snapshot (`*.lines.replaced`): the sender's whole set as of its time, which
   * cannot hold a copy quotesync made after that time (`mirroredAt`), so such copies win over it.
   * A single upsert or delete is a user's change and is judged by the copied change's time alone.
   */
  snapshot?: boolean;
  /**
   * Time of the newest snapshot of `own` applied from the sender (`linesReplacedAt`): a line it
   * did not hold, reported from before then and unknown to quotesync, had been deleted by then.
   */
  replacedAt?: number | undefined;
}

/** SPEC §1.11, for a report by the line's own system (see `LineSide.snapshot`). */
function isOlderReport(side: LineSide, at: number, line: StoredLine): boolean {
  return side.snapshot ? isOlderThanLine(at, side.sender, line) : isOlderThanRecord(at, side.sender, line);
}

const otherSide = (side: Source): Source => (side === "crm" ? "cpq" : "crm");

/** Finds the line a report refers to: by the sync key quotesync issued, else by the sender's id. */
export function findLine(
  own: Map<string, StoredLine>,
  ids: { syncKey?: string | undefined; id: string },
): StoredLine | undefined {
  if (ids.syncKey) {
    const bySyncKey = own.get(ids.syncKey);
    if (bySyncKey) return bySyncKey;
  }
  // The workspace holds every aggregate's lines as IndexedLines, so this is a lookup, not a copy.
  const byId = indexedLines(own).findById(ids.id);
  if (byId) return byId;
  for (const line of own.values()) {
    if (line.formerIds?.includes(ids.id)) return line;
  }
  return undefined;
}

/** An older report under another id: the id is remembered, the current one kept. */
function withFormerId(line: StoredLine, id: string): StoredLine {
  if (line.id === null) return { ...line, id };
  if (line.id === id || line.formerIds?.includes(id)) return line;
  return { ...line, formerIds: [...(line.formerIds ?? []), id].slice(-5) };
}

/** The line as reported under `id`, remembering the id it had before. */
function withReportedId(line: StoredLine, id: string): StoredLine {
  if (line.id === id || line.id === null) return { ...line, id };
  const formerIds = [...(line.formerIds ?? []).filter((former) => former !== id), line.id].slice(-5);
  return { ...line, id, formerIds };
}

function deletedUnderAnotherKey(
  own: Map<string, StoredLine>,
  id: string,
  syncKey: string,
): StoredLine | undefined {
  for (const line of own.values()) {
    if (line.deleted && line.id === id && line.syncKey !== syncKey) return line;
  }
  return undefined;
}

/**
 * While synced, tombstones are final: a late upsert of a deleted line is answered with the delete
 * again. With no pair to answer through, a report made after the delete is what its owner holds
 * now (e.g. a copy re-created by a mirror in flight at a stop): it is kept, so the next start
 * (which replaces the opportunity's lines by the quote's) deletes or copies it. So is an older
 * report of an owner's line the delete did not name (see below). Neither is kept when made before
 * the owner's last snapshot (`replacedAt`), which left the line out.
 */
function upsertOverTombstone(
  side: LineSide,
  input: LineInput,
  at: number,
  tombstone: StoredLine,
): LineOutcome {
  const { ws, sender, pair } = side;
  if (pair) {
    ws.mirrorLineDelete(sender, pair.opportunityId, pair.quoteId, input.id);
    return "stale";
  }
  // A snapshot of the owner's since, which left the line out: the line was gone by then.
  if (side.replacedAt !== undefined && at < side.replacedAt) return "stale";
  // The delete named the owner's line by the tombstone's ids (or by sync key, before the owner's id
  // was known). A line reported under another id (the owner re-created it from a second delivery
  // of a mirror) was never named: it is what its owner holds, unless the owner deleted that id since.
  const named = tombstone.id === null || tombstone.id === input.id || tombstone.formerIds?.includes(input.id);
  if (!named) {
    const deletedById = deletedUnderAnotherKey(side.own, input.id, tombstone.syncKey);
    if (deletedById && deletedById.changedAt >= at) return "stale";
  } else if (at <= tombstone.changedAt || isOlderThanLine(at, sender, tombstone)) return "stale";
  const values = lineValuesFrom(input, undefined);
  ws.putLine(
    sender,
    side.quoteId ?? "",
    storedLine(values, { syncKey: tombstone.syncKey, id: input.id, changedAt: at, changedBy: sender }),
  );
  return "applied";
}

/** Applies one reported line (SPEC §1.3, §1.11, §1.12) and mirrors it when the pair is live. */
export function applyLineUpsert(side: LineSide, input: LineInput, at: number): LineOutcome {
  const { ws, sender, own, pair } = side;
  const existing = findLine(own, input);
  if (!existing && side.replacedAt !== undefined && at < side.replacedAt) return "stale";
  if (existing?.deleted) return upsertOverTombstone(side, input, at, existing);
  if (existing && existing.id !== input.id) {
    const deletedById = deletedUnderAnotherKey(own, input.id, existing.syncKey);
    if (deletedById) {
      // The owner deleted this line by its id before quotesync had learned that id: apply it now.
      return applyLineDelete(side, withReportedId(existing, input.id), deletedById.changedAt, input.id);
    }
  }
  const values = lineValuesFrom(input, existing);
  if (existing && sameStoredValues(existing, values)) {
    // A report of the same values still tells where the owner stood at `at`: a change made
    // before it, delivered later, must not win over what the owner holds now.
    if (existing.id !== input.id || at > existing.changedAt) {
      const confirmed =
        at >= existing.changedAt ? withReportedId(existing, input.id) : withFormerId(existing, input.id);
      if (at > existing.changedAt) confirmed.changedAt = at;
      side.ws.putLine(sender, side.quoteId ?? "", confirmed);
    }
    return "no_change";
  }
  // A late echo of a mirror quotesync has moved past is answered with the winner while synced; with
  // no pair to answer through, a report that is not older is what the system holds now (it applied
  // the mirror over its user's newer change), so it is kept, and the next start copies it.
  if (existing && (isOlderReport(side, at, existing) || (pair && isOutdatedEcho(existing, values, ws)))) {
    // An older change, or a late echo of a mirror we have moved past: send the winner back.
    if (pair) answerWithLine(side, pair, existing, input.id);
    return "stale";
  }
  const syncKey = existing?.syncKey ?? input.syncKey ?? side.newSyncKey();
  const line = storedLine(values, {
    syncKey,
    id: input.id,
    changedAt: at,
    changedBy: sender,
    outdatedMirrors: outdatedAfterOverwrite(existing, sender, ws.mapping.lines),
  });
  const formerIds = existing ? withReportedId(existing, input.id).formerIds : undefined;
  if (formerIds) line.formerIds = formerIds;
  ws.putLine(sender, side.quoteId ?? "", line);
  const mirrorChanged = !existing || !sameMirrorValues(existing, values, ws.mapping.lines);
  if (!pair || !mirrorChanged) return "applied";
  if (!pair.live) return "pending";
  mirrorLineToOtherSide(side, pair, line);
  return "applied";
}

/** True when `values` are one of the mirrors `line` has moved past (a late echo of it). */
function isOutdatedEcho(line: StoredLine, values: LineValues, ws: Workspace): boolean {
  return (
    line.outdatedMirrors.length > 0 && isOutdatedMirror(line, mirrorFingerprint(values, ws.mapping.lines))
  );
}

/**
 * Answers an older report of the owner's with the line as quotesync holds it (SPEC §1.11), under
 * the id the owner reported. The values are now in flight to the owner: marked, so that once
 * overwritten their echo is known for one (`sentToOwner`).
 */
function answerWithLine(side: LineSide, pair: SyncedPair, line: StoredLine, id: string | null): void {
  const { ws, sender } = side;
  const answer = { ...line, id };
  ws.mirrorLineUpsert(sender, pair.opportunityId, pair.quoteId, toMirrorLine(answer, ws.mapping.lines));
  if (!line.sentToOwner) ws.putLine(sender, side.quoteId ?? "", { ...line, sentToOwner: true });
}

/** Copies a line to the other side of a synced pair and mirrors it there. */
export function mirrorLineToOtherSide(side: LineSide, pair: SyncedPair, line: StoredLine): void {
  const { ws } = side;
  const target = otherSide(side.sender);
  const counterpart = pair.other.get(line.syncKey);
  const outdated = outdatedAfterOverwrite(counterpart, target, ws.mapping.lines);
  const copy = storedLine(
    valuesForTarget(line, counterpart?.deleted ? undefined : counterpart, ws.mapping.lines),
    {
      syncKey: line.syncKey,
      id: counterpart?.id ?? null,
      changedAt: line.changedAt,
      changedBy: line.changedBy,
      outdatedMirrors: outdated,
    },
  );
  copy.mirroredAt = Math.max(ws.cause.at, line.changedAt);
  ws.putLine(target, pair.quoteId, copy);
  pair.other.set(copy.syncKey, copy);
  ws.mirrorLineUpsert(target, pair.opportunityId, pair.quoteId, toMirrorLine(copy, ws.mapping.lines));
}

/** Deletes one reported line, leaving a tombstone, and mirrors the delete when the pair is live. */
export function applyLineDelete(
  side: LineSide,
  line: StoredLine,
  at: number,
  deletedId: string | null = line.id,
): LineOutcome {
  const { ws, sender, pair } = side;
  if (line.deleted) {
    // A delete of a line already deleted (by a mirror in flight, a snapshot of the other side)
    // still tells where the owner stood at `at`: a report it made before then, delivered later
    // (a snapshot still holding the line), must not bring the line back once no pair answers it.
    if (at > line.changedAt)
      ws.putLine(sender, side.quoteId ?? "", { ...line, changedAt: at, changedBy: sender });
    return "no_change";
  }
  if (isOlderReport(side, at, line)) {
    if (pair) answerWithLine(side, pair, line, line.id);
    return "stale";
  }
  const tombstone: StoredLine = {
    ...line,
    deleted: true,
    changedAt: at,
    changedBy: sender,
    outdatedMirrors: [],
  };
  ws.putLine(sender, side.quoteId ?? "", tombstone);
  if (pair) {
    // Copies the owner still holds under other ids (re-created by a late mirror) go too.
    for (const id of [line.id, ...(line.formerIds ?? [])]) {
      if (id && id !== deletedId) ws.mirrorLineDelete(sender, pair.opportunityId, pair.quoteId, id);
    }
  }
  if (!pair) return "applied";
  if (!pair.live) return "pending";
  deleteLineOnOtherSide(side, pair, tombstone);
  return "applied";
}

/** Tombstones a line's counterpart and mirrors the delete (by the target's id, else the sync key). */
export function deleteLineOnOtherSide(side: LineSide, pair: SyncedPair, tombstone: StoredLine): void {
  const target = otherSide(side.sender);
  const counterpart = pair.other.get(tombstone.syncKey);
  if (!counterpart || counterpart.deleted) return;
  const copy: StoredLine = {
    ...counterpart,
    deleted: true,
    changedAt: tombstone.changedAt,
    changedBy: tombstone.changedBy,
    outdatedMirrors: [],
    mirroredAt: Math.max(side.ws.cause.at, tombstone.changedAt),
  };
  side.ws.putLine(target, pair.quoteId, copy);
  pair.other.set(copy.syncKey, copy);
  for (const id of [counterpart.id ?? counterpart.syncKey, ...(counterpart.formerIds ?? [])]) {
    side.ws.mirrorLineDelete(target, pair.opportunityId, pair.quoteId, id);
  }
}

/** Combines per-line outcomes into the response status of SPEC §5. */
export function overallStatus(
  outcomes: LineOutcome[],
  synced: boolean,
): "applied" | "no_change" | "stale" | "not_synced" | "pending" {
  if (outcomes.includes("pending")) return "pending";
  if (outcomes.includes("applied")) return synced ? "applied" : "not_synced";
  if (outcomes.includes("stale")) return "stale";
  return "no_change";
}
