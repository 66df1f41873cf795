import type { ChangeSet, PendingCommit } from "../../domain/store.js";
import { entryCount, type OutboxLog, type Reservation } from "./outbox.js";

/** Headers remembered by `SequenceHints`: bounded, oldest forgotten first. */
const HINTS_KEPT = 2_000;

/**
 * The outbox number each header held when this container last read it, at the version it had.
 * Only a hint: it lets a commit replace a reservation it can see is stale before sending a
 * transaction DynamoDB would refuse. The header conditions remain the guarantee.
 */
export class SequenceHints {
  private readonly seen = new Map<string, { version: number; sequence: number }>();

  note(partition: string, version: number, sequence: unknown): void {
    this.seen.delete(partition);
    if (typeof sequence !== "number") return;
    this.seen.set(partition, { version, sequence });
    if (this.seen.size > HINTS_KEPT) {
      const oldest = this.seen.keys().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
  }

  /** The highest number known for these headers at the versions a decision read; 0 if none. */
  floor(headers: Array<{ partition: string; readVersion: number | null }>): number {
    let floor = 0;
    for (const { partition, readVersion } of headers) {
      const seen = this.seen.get(partition);
      if (seen && seen.version === readVersion) floor = Math.max(floor, seen.sequence);
    }
    return floor;
  }
}

/** Most outbox numbers one decision takes ahead of its reads. */
const MAX_RESERVED = 4;
/** Weight of the latest commit in a kind's share of commits that wrote outbox entries. */
const SHARE_WEIGHT = 0.2;

/**
 * How many outbox numbers a decision takes ahead of its reads, learnt per decision kind in this
 * container: as many as the last commit of that kind with entries wrote (1 to 4), and none while
 * fewer than half of that kind's recent commits wrote any (echoes, mostly: each unused number
 * costs a void marker). Numbers too few, or none, are taken after the reads (one round trip more).
 */
export class ReservationPolicy {
  private readonly kinds = new Map<string, { count: number; share: number }>();

  count(kind: string): number {
    const expected = this.kinds.get(kind) ?? { count: 1, share: 1 };
    return expected.share >= 0.5 ? expected.count : 0;
  }

  /** Learns from a commit of `kind` that wrote `entries` outbox entries. */
  record(kind: string, entries: number): void {
    const expected = this.kinds.get(kind) ?? { count: 1, share: 1 };
    this.kinds.set(kind, {
      count: entries > 0 ? Math.min(MAX_RESERVED, entries) : expected.count,
      share: expected.share * (1 - SHARE_WEIGHT) + (entries > 0 ? SHARE_WEIGHT : 0),
    });
  }
}

/** A commit begun with the numbers `policy` expects taken now; every begun commit ends once. */
export function beginWithReservation(
  outboxLog: OutboxLog,
  policy: ReservationPolicy,
  tenantId: string,
  kind: string,
  commit: (changes: ChangeSet, reservation?: Reservation) => Promise<void>,
): PendingCommit {
  const count = policy.count(kind);
  const reservation = count > 0 ? outboxLog.reserve(tenantId, count) : undefined;
  let ended = false;
  const end = () => {
    if (ended) throw new Error("a begun commit ends once");
    ended = true;
  };
  // Numbers the commit did not take charge of (it failed before numbering its entries, or wrote
  // none through the outbox) are voided here, so no reader waits out their gaps.
  const releaseUnclaimed = async () => {
    if (reservation) await outboxLog.release(reservation);
  };
  return {
    commit: async (changes) => {
      end();
      try {
        if (changes.tenantId !== tenantId) throw new Error("a begun commit stays in its tenant");
        policy.record(kind, entryCount(changes.outbox));
        await commit(changes, reservation);
      } catch (error) {
        await releaseUnclaimed();
        throw error;
      }
    },
    abandon: async () => {
      end();
      await releaseUnclaimed();
    },
  };
}
