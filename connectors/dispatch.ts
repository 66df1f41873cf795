import type { Mirror } from "../domain/model.js";

/** One outbox entry as delivery queues it. */
export interface DispatchedEntry {
  tenantId: string;
  sequence: number;
  entryId: string;
  cursor: string;
  at: string;
  mirror: Mirror;
}

/** The tenant's outbox read in its total order (`infra/dynamodb/outbox.ts` `OutboxLog.read`). */
export interface OutboxSource {
  /**
   * Entries after `afterSeq`, oldest first, stopping before a number still being committed;
   * `last` is the last number consumed (an entry or a void), `afterSeq` when none was.
   */
  readAfter(
    tenantId: string,
    afterSeq: number,
    limit: number,
  ): Promise<{ entries: DispatchedEntry[]; last: number }>;
  /** The last sequence number the tenant's outbox handed out (written, void or still committing). */
  lastHandedOut(tenantId: string): Promise<number>;
}

/** Where dispatch stands per tenant (`infra/dynamodb/dispatch-cursor.ts`). */
export interface DispatchCursorStore {
  get(tenantId: string): Promise<number | null>;
  advance(tenantId: string, to: number): Promise<void>;
  markStalled(tenantId: string): Promise<void>;
  clearStalled(tenantId: string): Promise<void>;
  stalled(
    limit: number,
    startKey?: Record<string, unknown>,
  ): Promise<{ tenantIds: string[]; next?: Record<string, unknown> }>;
}

const PAGE = 100;

/**
 * Moves a tenant's outbox entries into their pairs' delivery queues in outbox order. DynamoDB
 * Streams orders records per item, not across the items of a partition (and a partition may split
 * into shards read in parallel), so `deliver` does not queue what a stream record carries: a record
 * only wakes the dispatch of its tenant, which reads the outbox from the tenant's cursor and queues
 * each entry (`enqueue`, idempotent) before moving the cursor past it. An entry is therefore queued
 * only after every earlier entry of its tenant was, whichever record arrived first; the queue then
 * applies a pair's entries in sequence order. Returns how far the cursor got.
 */
export async function dispatchTenant(
  deps: { outbox: OutboxSource; cursors: DispatchCursorStore },
  tenantId: string,
  seen: { min: number; max: number } | null,
  enqueue: (entries: DispatchedEntry[]) => Promise<void>,
  hasTime: () => boolean,
): Promise<number> {
  let cursor = await deps.cursors.get(tenantId);
  // A tenant's first delivery starts at the oldest entry the stream handed (entries committed
  // before its connector was configured are not delivered); with no record, at the beginning.
  cursor ??= Math.max(0, (seen?.min ?? 1) - 1);
  while (hasTime()) {
    const page = await deps.outbox.readAfter(tenantId, cursor, PAGE);
    if (page.entries.length > 0) await enqueue(page.entries);
    if (page.last <= cursor) break;
    await deps.cursors.advance(tenantId, page.last);
    cursor = page.last;
    if (page.entries.length < PAGE && (seen === null || cursor >= seen.max)) break;
  }
  if (seen === null) {
    // The retry pass: done with the tenant once its cursor reached the last number handed out. An
    // empty read is not enough: the reader also stops before a number still committing, with
    // entries possibly written behind it.
    if (cursor >= (await deps.outbox.lastHandedOut(tenantId))) await deps.cursors.clearStalled(tenantId);
  } else if (cursor < seen.max) {
    // Stopped at a number still committing (or one whose writer crashed: readers pass it after a
    // grace period) with later entries waiting: the retry pass comes back for them.
    await deps.cursors.markStalled(tenantId);
  }
  return cursor;
}
