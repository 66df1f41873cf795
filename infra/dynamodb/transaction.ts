import { randomBytes, randomUUID } from "node:crypto";
import { type DynamoDBDocumentClient, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { ConcurrentModification, StorageBusy } from "../../domain/errors.js";
import type { ChangeSet } from "../../domain/store.js";
import { AuditSuffixes } from "./audit-items.js";
import { type CommitPlan, type GenerationSwitch, planCommit, type TransactItem } from "./commit-plan.js";
import { isAmbiguousWriteFailure, type TransactionRole, translateTransactionError } from "./errors.js";
import { headerWrite, onlyOrderRefused } from "./header-writes.js";
import { batchWrite, deleteGeneration, LINES_PER_WAVE, lineItem } from "./line-sets.js";
import type { ListingHints } from "./listing-hints.js";
import type { Numbering, OutboxLog, Reservation } from "./outbox.js";
import type { SequenceHints } from "./outbox-numbers.js";

/** Attempts at a transaction whose earlier attempts timed out or failed with a 500. */
const AMBIGUOUS_WRITE_ATTEMPTS = 3;
/**
 * Times a commit is numbered: again when its numbers proved older than its pair's latest entry,
 * or outlasted the write deadline before the transaction was sent.
 */
const NUMBERING_ATTEMPTS = 3;

/** How one attempt at the transaction ended. */
type Attempt =
  | { outcome: "written" }
  /** Refused only because its numbers are not above the pair's latest: the same writes may be renumbered. */
  | { outcome: "stale numbers"; error: unknown }
  /** Numbered too late to write: new numbers are needed. */
  | { outcome: "expired" }
  /** Refused or failed; `ambiguous`: it may have been applied all the same (a timeout, a 500). */
  | { outcome: "failed"; error: Error; ambiguous: boolean };

/**
 * Commits a decision's `ChangeSet`: `planCommit` builds every item (no I/O), `commit` writes the
 * plan. Line sets too large for one transaction are written first under a new generation that no
 * reader looks at, then switched to by the conditional header write; the generation left behind
 * (the old one on success, the new one on a failure known to be a failure) is deleted afterwards.
 */
export class ChangeSetWriter {
  private readonly auditSuffixes = new AuditSuffixes();

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly outboxLog: OutboxLog,
    private readonly hints: SequenceHints,
    private readonly listings: ListingHints,
    private readonly clock: () => number,
  ) {}

  /** `reservation`: the outbox numbers `beginCommit` took ahead, if this commit was begun. */
  async write(changes: ChangeSet, reservation?: Reservation): Promise<void> {
    const now = this.clock();
    const plan = planCommit(changes, {
      tableName: this.tableName,
      now,
      newGeneration: () => `${now.toString(36)}${randomBytes(4).toString("hex")}`,
      auditSuffix: () => this.auditSuffixes.next(),
      listingAt: (partition, version) => this.listings.at(partition, version),
    });
    await this.commit(plan, reservation);
  }

  /**
   * Writes a plan: the switched line sets, then the one transaction, numbered and renumbered here
   * (the only retry loop of a commit), then the cleanup of the generation left behind.
   */
  async commit(plan: CommitPlan, reservation?: Reservation): Promise<void> {
    const floor = this.hints.floor(plan.headers);
    // Reserved numbers held through line batches would stall every reader of the tenant's outbox
    // while they run. No batches, or batches that go in one wave: the entries are numbered beside
    // them. Longer ones void the reservation alongside and number the entries after the batches.
    const early = inOneWave(plan.switched)
      ? this.outboxLog.number(plan.tenantId, plan.entries.length, reservation, floor)
      : undefined;
    // Awaited below; a failed allocation must not go unhandled while the batches run.
    early?.catch(() => {});
    const released = !early && reservation ? this.outboxLog.release(reservation) : undefined;
    // Set when the transaction's fate is unknown (timeout, 500): it may have switched to the new
    // generations, so they must not be deleted.
    let outcomeUnknown = false;
    // True once an attempt has the early numbers: it writes them or voids them itself.
    let earlyTaken = false;
    try {
      await this.writeSwitchedLines(plan.switched);
      await released;
      for (let attempt = 1; ; attempt++) {
        const numbering =
          attempt === 1 && early
            ? await early.finally(() => {
                earlyTaken = true;
              })
            : await this.outboxLog.number(plan.tenantId, plan.entries.length, undefined, floor);
        const result = await this.attempt(plan, numbering);
        if (result.outcome === "written") break;
        if (result.outcome === "failed") {
          outcomeUnknown = result.ambiguous;
          throw result.error;
        }
        if (attempt >= NUMBERING_ATTEMPTS) throw exhausted(result);
      }
    } catch (error) {
      await Promise.all([released, early && !earlyTaken && voidUnused(this.outboxLog, early)]);
      if (!outcomeUnknown) await this.dropGenerations(plan.switched, "to");
      throw error;
    }
    await this.dropGenerations(plan.switched, "from");
  }

  /** One numbered attempt at the transaction; its numbers are written with it or voided when it returns. */
  private async attempt(plan: CommitPlan, numbering: Numbering): Promise<Attempt> {
    try {
      if (numbering.sequences.length > 0 && this.outboxLog.expired(numbering.allocatedAt)) {
        // Reserved numbers topped up too late, or a fresh allocation this slow: numbers this old
        // may already have been skipped by a reader. Void them; take new ones while attempts last.
        await this.outboxLog.voidAll(plan.tenantId, numbering.sequences);
        return { outcome: "expired" };
      }
      const range = this.outboxLog.range(numbering);
      const items = [
        ...plan.headers.map((header) => headerWrite(this.tableName, header, range)),
        ...plan.items,
        ...this.outboxLog.entryItems(numbering, plan.entries),
      ];
      try {
        if (items.length > 0) await this.transactWrite(items);
        return { outcome: "written" };
      } catch (error) {
        await this.outboxLog.voidAll(plan.tenantId, numbering.sequences);
        if (range && onlyOrderRefused(error, plan.headers)) return { outcome: "stale numbers", error };
        const translated = translateTransactionError(error, rolesOf(plan));
        return { outcome: "failed", error: translated, ambiguous: isAmbiguousWriteFailure(error) };
      }
    } finally {
      await numbering.spareVoided;
    }
  }

  /**
   * Sends one TransactWriteItems, retrying a bounded number of times (with jitter) when its fate
   * is unknown — a timeout or a 500 may come after DynamoDB applied it. Every attempt carries the
   * same ClientRequestToken, so DynamoDB applies the transaction at most once and answers a repeat
   * of an applied one with success (within its 10-minute token window). The SDK's own retries
   * reuse the request it serialized, token included; this loop extends that guarantee to retries
   * after the SDK gave up.
   */
  private async transactWrite(items: TransactItem[]): Promise<void> {
    const input = { TransactItems: items, ClientRequestToken: randomUUID() };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.doc.send(new TransactWriteCommand(input));
        return;
      } catch (error) {
        if (!isAmbiguousWriteFailure(error) || attempt >= AMBIGUOUS_WRITE_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * 2 ** attempt));
      }
    }
  }

  /** The line sets too large for the transaction, under generations no reader looks at yet. */
  private async writeSwitchedLines(switched: GenerationSwitch[]): Promise<void> {
    await batchWrite(
      this.doc,
      this.tableName,
      switched.flatMap((entry) =>
        [...entry.lines.all.values()].map((line) => ({
          PutRequest: { Item: lineItem(entry.partition, entry.to, line) },
        })),
      ),
    );
  }

  /** Deletes the generations no header names (best effort: readers ignore them anyway). */
  private async dropGenerations(switched: GenerationSwitch[], which: "from" | "to"): Promise<void> {
    await Promise.allSettled(
      switched.map((entry) =>
        deleteGeneration(this.doc, this.tableName, entry.partition, entry[which], entry.lines.all.keys()),
      ),
    );
  }
}

/** What each item of the plan's transaction stands for: headers first, as `attempt` sends them. */
function rolesOf(plan: CommitPlan): TransactionRole[] {
  return [
    ...plan.headers.map((header): TransactionRole => ({ kind: "header", label: header.label })),
    ...plan.roles,
  ];
}

/** Line sets whose batches all go at once (see `batchWrite`). */
function inOneWave(switched: GenerationSwitch[]): boolean {
  return switched.reduce((sum, entry) => sum + entry.lines.all.size, 0) <= LINES_PER_WAVE;
}

/** Voids numbers taken beside line batches that failed: no attempt took them in charge. */
async function voidUnused(outboxLog: OutboxLog, early: Promise<Numbering>): Promise<void> {
  const numbering = await early.catch(() => null);
  if (!numbering) return;
  await Promise.all([outboxLog.voidAll(numbering.tenantId, numbering.sequences), numbering.spareVoided]);
}

/** The error of a commit whose every numbering failed. */
function exhausted(last: Extract<Attempt, { outcome: "expired" | "stale numbers" }>): Error {
  if (last.outcome === "expired") return new StorageBusy(1);
  // The pair and its records are as the decision read them; only its numbers kept losing to
  // entries committed since: another writer is busy on the pair.
  return new ConcurrentModification({ items: ["outbox sequence"] }, { cause: last.error });
}
