import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { TargetState, TargetStateChanges } from "../../connectors/applier.js";
import { StorageBusy } from "../../domain/errors.js";
import type { AuditEntry, Mirror, Source } from "../../domain/model.js";
import { TENANT_ID_PART } from "../../domain/tenant.js";
import { AuditSuffixes, auditItem } from "./audit-items.js";
import { translateStorageError } from "./errors.js";
import { keys, outboxSortKey } from "./keys.js";

/** One pair's target side: the unit deliveries are ordered in. */
export interface DeliveryPair {
  tenantId: string;
  opportunityId: string;
  side: Source;
}

/** A mirror waiting in its pair's queue, in outbox order. */
export interface QueuedMirror {
  sequence: number;
  entryId: string;
  cursor: string;
  at: string;
  mirror: Mirror;
}

/** How long a delivered mirror's queue item stays as a tombstone. */
const TOMBSTONE_SECONDS = 7 * 24 * 3600;

/**
 * `queued`; `duplicate`: queued or delivered before (a redelivered record); `late`: never queued,
 * but a later mirror of the pair was delivered already (it arrived out of order).
 */
export type EnqueueOutcome = "queued" | "duplicate" | "late";

/** The state item of a pair's delivery queue. */
export interface DeliveryState {
  /** The outbox sequence of the last mirror delivered (0: none yet). Mirrors at or below it are done. */
  deliveredSeq: number;
  /** Mirrors enqueued and not yet delivered (a parked one included). */
  queued: number;
  /** Failed attempts at the head mirror since it last succeeded. */
  attempts: number;
  firstFailedAt: number | null;
  nextAttemptAt: number | null;
  /** The entry id of the parked head mirror, if parked. */
  parked: string | null;
  lastDeliveredAt: string | null;
  lastError: string | null;
  target: TargetState;
}

const EMPTY_STATE: DeliveryState = {
  deliveredSeq: 0,
  queued: 0,
  attempts: 0,
  firstFailedAt: null,
  nextAttemptAt: null,
  parked: null,
  lastDeliveredAt: null,
  lastError: null,
  target: { lineIds: {}, facts: {} },
};

/** gsi1 sort keys of due queues: the time to look (ms, zero-padded), then the pair. */
function dueKey(at: number, pair: DeliveryPair): string {
  return `${String(Math.max(0, Math.floor(at))).padStart(15, "0")}#${pair.tenantId}#${pair.side}#${pair.opportunityId}`;
}

const DUE_KEY = new RegExp(`^\\d{15}#(${TENANT_ID_PART})#(crm|cpq)#(.+)$`, "s");

function parseDueKey(key: string): DeliveryPair | null {
  const match = DUE_KEY.exec(key);
  if (!match) return null;
  return { tenantId: match[1] as string, side: match[2] as Source, opportunityId: match[3] as string };
}

/**
 * The delivery queues on the quotesync table (CONNECTORS §2 "Retries live in the table"). Per
 * pair and target side, a partition `T#<tenant>#D#<side>#<opportunity>` holds a state item and one
 * item per mirror waiting, keyed by its outbox sequence number so a query reads them in commit
 * order. A queue with anything to do carries `gsi1pk = DELIVERIES#DUE` and the time to look at it
 * in `gsi1sk`, so the retry pass pages through due queues only. One drainer at a time holds a
 * queue's lease; every write of a drainer is conditioned on it and on the delivered-up-to marker,
 * so a later mirror is never applied before an earlier one and a mirror is never marked twice.
 */
export class DeliveryQueue {
  private readonly auditSuffixes = new AuditSuffixes();

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  private stateKey(pair: DeliveryPair) {
    return {
      pk: keys.deliveryPartition(pair.tenantId, pair.opportunityId, pair.side),
      sk: keys.deliveryState,
    };
  }

  /**
   * Puts a mirror in its pair's queue. Returns false, writing nothing, when it is there already or
   * was delivered already (a redelivered stream record). The queue becomes due `lookAt`.
   */
  async enqueue(pair: DeliveryPair, entry: QueuedMirror, lookAt: number): Promise<EnqueueOutcome> {
    try {
      await this.doc.send(this.queueTransaction(pair, [entry], lookAt));
      return "queued";
    } catch (error) {
      if (!conditionFailed(error)) throw storageError(error);
      const reasons = (error as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons ?? [];
      // The entry's own item exists (queued, or a delivered tombstone): a redelivery.
      if (reasons[0]?.Code === "ConditionalCheckFailed") return "duplicate";
      // Never queued, yet a later mirror of the pair was delivered: it came out of order.
      return "late";
    }
  }

  /**
   * `enqueue` for several mirrors of one pair, in sequence order: each run of them goes in one
   * transaction (the queue items and one count), so a pair's mirrors from one stream batch cost
   * one write, not one each. A run refused (one of them queued or delivered before) is queued one by
   * one, which tells each outcome apart. Outcomes are in the order of `entries`.
   */
  async enqueueAll(pair: DeliveryPair, entries: QueuedMirror[], lookAt: number): Promise<EnqueueOutcome[]> {
    const outcomes: EnqueueOutcome[] = [];
    for (const run of enqueueRuns(entries)) {
      if (run.length > 1 && (await this.enqueueTogether(pair, run, lookAt))) {
        outcomes.push(...run.map(() => "queued" as const));
        continue;
      }
      for (const entry of run) outcomes.push(await this.enqueue(pair, entry, lookAt));
    }
    return outcomes;
  }

  /** One transaction queueing `run` (ascending sequences); false when a condition refused it. */
  private async enqueueTogether(pair: DeliveryPair, run: QueuedMirror[], lookAt: number): Promise<boolean> {
    try {
      await this.doc.send(this.queueTransaction(pair, run, lookAt));
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw storageError(error);
    }
  }

  /**
   * Queues `run` (ascending sequences) in one transaction: an item per mirror, then the state item
   * counting them and making the queue due `lookAt` (the last item, so a cancellation's first
   * reason is the first mirror's own).
   */
  private queueTransaction(pair: DeliveryPair, run: QueuedMirror[], lookAt: number): TransactWriteCommand {
    const pk = keys.deliveryPartition(pair.tenantId, pair.opportunityId, pair.side);
    return new TransactWriteCommand({
      TransactItems: [
        ...run.map((entry) => ({
          Put: {
            TableName: this.tableName,
            Item: queueItem(pk, entry),
            // The same outbox entry seen twice (stream redelivery, two shards) is queued once.
            ConditionExpression: "attribute_not_exists(pk)",
          },
        })),
        { Update: this.queuedStateUpdate(pair, run.length, run[0] as QueuedMirror, lookAt) },
      ],
    });
  }

  /** The state item's part of queueing `count` mirrors from `first` on: counted, and due `lookAt`. */
  private queuedStateUpdate(pair: DeliveryPair, count: number, first: QueuedMirror, lookAt: number) {
    return {
      TableName: this.tableName,
      Key: this.stateKey(pair),
      UpdateExpression:
        "ADD queued :count SET gsi1pk = :due, gsi1sk = if_not_exists(gsi1sk, :lookAt), tenantId = :tenant, opportunityId = :opportunity, side = :side",
      // A mirror at or below the delivered-up-to marker was delivered (and dequeued) before.
      ConditionExpression: "attribute_not_exists(deliveredSeq) OR deliveredSeq < :sequence",
      ExpressionAttributeValues: {
        ":count": count,
        ":due": keys.deliveriesDueIndex,
        ":lookAt": dueKey(lookAt, pair),
        ":sequence": first.sequence,
        ":tenant": pair.tenantId,
        ":opportunity": pair.opportunityId,
        ":side": pair.side,
      },
    };
  }

  /** One GetItem, its storage failures translated. */
  private async read(command: GetCommand): Promise<{ Item?: Record<string, unknown> | undefined }> {
    try {
      return await this.doc.send(command);
    } catch (error) {
      throw storageError(error);
    }
  }

  /** A drainer's write, conditioned on its lease: a refused condition means the lease was lost. */
  private async sendUnderLease(
    pair: DeliveryPair,
    command: UpdateCommand | TransactWriteCommand,
  ): Promise<void> {
    try {
      await (command instanceof UpdateCommand ? this.doc.send(command) : this.doc.send(command));
    } catch (error) {
      if (conditionFailed(error)) throw new LeaseLost(pair);
      throw storageError(error);
    }
  }

  /** The queue's state (an empty one when nothing was ever queued). */
  async state(pair: DeliveryPair): Promise<DeliveryState> {
    return stateOf(await this.stateItem(pair));
  }

  /** Whether anything was ever queued for the pair's side. */
  async exists(pair: DeliveryPair): Promise<boolean> {
    return (await this.stateItem(pair)) !== undefined;
  }

  /** The queue's state item as stored, read consistently (undefined when never queued). */
  private async stateItem(pair: DeliveryPair): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.read(
      new GetCommand({ TableName: this.tableName, Key: this.stateKey(pair), ConsistentRead: true }),
    );
    return Item;
  }

  /** Takes the queue's lease for `owner` until `until`; null when another drainer holds it. */
  async acquire(
    pair: DeliveryPair,
    owner: string,
    now: number,
    until: number,
  ): Promise<DeliveryState | null> {
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.stateKey(pair),
          UpdateExpression: "SET leaseOwner = :owner, leaseUntil = :until",
          // One drainer per queue: a lease nobody holds, or one whose holder died (expired).
          ConditionExpression:
            "attribute_exists(pk) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :owner)",
          ExpressionAttributeValues: { ":owner": owner, ":until": until, ":now": now },
          ReturnValues: "ALL_NEW",
        }),
      );
      return stateOf(Attributes);
    } catch (error) {
      if (conditionFailed(error)) return null;
      throw storageError(error);
    }
  }

  /**
   * Extends `owner`'s lease to `until`. False when the queue is no longer theirs: another drainer
   * took it, or took it and gave it back (a lapsed lease nobody took is still theirs to extend).
   */
  async renew(pair: DeliveryPair, owner: string, until: number): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.stateKey(pair),
          UpdateExpression: "SET leaseUntil = :until",
          ConditionExpression: "leaseOwner = :owner",
          ExpressionAttributeValues: { ":owner": owner, ":until": until },
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw storageError(error);
    }
  }

  /** Gives the lease back; returns the state as it is now (others may have queued meanwhile). */
  async release(pair: DeliveryPair, owner: string): Promise<DeliveryState> {
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.stateKey(pair),
          UpdateExpression: "REMOVE leaseOwner, leaseUntil",
          ConditionExpression: "leaseOwner = :owner",
          ExpressionAttributeValues: { ":owner": owner },
          ReturnValues: "ALL_NEW",
        }),
      );
      return stateOf(Attributes);
    } catch (error) {
      if (conditionFailed(error)) return this.state(pair);
      throw storageError(error);
    }
  }

  /** The first mirrors waiting after `afterSequence`, in commit order. */
  async head(pair: DeliveryPair, afterSequence: number, limit: number): Promise<QueuedMirror[]> {
    try {
      const { Items } = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
          ExpressionAttributeValues: {
            ":pk": keys.deliveryPartition(pair.tenantId, pair.opportunityId, pair.side),
            ":from": keys.deliveryEntry(afterSequence + 1),
            ":to": `${keys.deliveryEntryPrefix}\uffff`,
          },
          ConsistentRead: true,
          Limit: limit,
        }),
      );
      return (Items ?? []).map((item) => ({
        sequence: Number(item.sequence),
        entryId: String(item.entryId),
        cursor: String(item.cursor),
        at: String(item.at),
        mirror: item.payload as Mirror,
      }));
    } catch (error) {
      throw storageError(error);
    }
  }

  /** One queued mirror by its outbox sequence (null when not queued). */
  async entry(pair: DeliveryPair, sequence: number): Promise<QueuedMirror | null> {
    const { Item } = await this.read(
      new GetCommand({
        TableName: this.tableName,
        Key: {
          pk: keys.deliveryPartition(pair.tenantId, pair.opportunityId, pair.side),
          sk: keys.deliveryEntry(sequence),
        },
        ConsistentRead: true,
      }),
    );
    return Item
      ? {
          sequence: Number(Item.sequence),
          entryId: String(Item.entryId),
          cursor: String(Item.cursor),
          at: String(Item.at),
          mirror: Item.payload as Mirror,
        }
      : null;
  }

  /**
   * Records the head mirror as delivered, in one transaction: the queue item goes, the marker moves
   * to it, the target state takes the applier's changes, and the audit gets `mirror.delivered`.
   * Conditioned on the lease and on the marker being below it, so it happens once, in order.
   */
  async markDelivered(
    pair: DeliveryPair,
    owner: string,
    entry: QueuedMirror,
    target: TargetState,
    at: string,
    audit: AuditEntry,
    /** The head was failing before this delivery: the queue leaves the tenant's failing index. */
    endsFailure = false,
  ): Promise<void> {
    const delivered = { owner, entry, target, at, audit, endsFailure, release: false };
    await this.sendUnderLease(pair, this.deliveredTransaction(pair, delivered));
  }

  /**
   * `markDelivered` for the last mirror a drainer knows of, giving the lease back and leaving the
   * due index in the same write when no other mirror waits (`release` and `leaveDueIfEmpty` in one).
   * True when it did; false when another mirror was queued meanwhile: the mirror is then marked
   * delivered with the lease kept, and the drainer goes on as after `markDelivered`.
   */
  async markLastDelivered(...marked: Parameters<DeliveryQueue["markDelivered"]>): Promise<boolean> {
    const [pair, owner, entry, target, at, audit, endsFailure = false] = marked;
    const delivered = { owner, entry, target, at, audit, endsFailure, release: true };
    try {
      await this.doc.send(this.deliveredTransaction(pair, delivered));
      return true;
    } catch (error) {
      if (!conditionFailed(error)) throw storageError(error);
    }
    // Refused: a mirror queued since, or the lease lost (which the plain write finds out again).
    await this.markDelivered(pair, owner, entry, target, at, audit, endsFailure);
    return false;
  }

  /** A delivery's commit: the entry's tombstone, the state item, the audit entry (and the failing index). */
  private deliveredTransaction(
    pair: DeliveryPair,
    delivered: {
      owner: string;
      entry: QueuedMirror;
      target: TargetState;
      at: string;
      audit: AuditEntry;
      endsFailure: boolean;
      /** Also give the lease back and leave the due index: only if this mirror is the last queued. */
      release: boolean;
    },
  ): TransactWriteCommand {
    const { entry, at, audit, endsFailure } = delivered;
    const pk = keys.deliveryPartition(pair.tenantId, pair.opportunityId, pair.side);
    return new TransactWriteCommand({
      TransactItems: [
        ...(endsFailure ? [{ Delete: { TableName: this.tableName, Key: this.failingKey(pair) } }] : []),
        {
          // Kept a week as a tombstone (the stream keeps records 24 h): a redelivered record of
          // a delivered mirror finds it and is a no-op, and one that never came is told apart.
          Update: {
            TableName: this.tableName,
            Key: { pk, sk: keys.deliveryEntry(entry.sequence) },
            UpdateExpression: "SET delivered = :true, expiresAt = :expires REMOVE payload",
            ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(delivered)",
            ExpressionAttributeValues: {
              ":true": true,
              ":expires": Math.floor(Date.parse(at) / 1000) + TOMBSTONE_SECONDS,
            },
          },
        },
        { Update: this.deliveredStateUpdate(pk, delivered) },
        {
          Put: {
            TableName: this.tableName,
            Item: auditItem(pair.tenantId, pair.opportunityId, audit, this.auditSuffixes.next()),
          },
        },
      ],
    });
  }

  /** The state item's part of a delivery's commit (see `deliveredTransaction`). */
  private deliveredStateUpdate(
    pk: string,
    delivered: { owner: string; entry: QueuedMirror; target: TargetState; at: string; release: boolean },
  ) {
    const { owner, entry, target, at, release } = delivered;
    const cleared = "firstFailedAt, nextAttemptAt, parked, lastError";
    return {
      TableName: this.tableName,
      Key: { pk, sk: keys.deliveryState },
      UpdateExpression: `SET deliveredSeq = :sequence, lastDeliveredAt = :at, attempts = :zero, target = :target ADD queued :minusOne REMOVE ${
        release ? `${cleared}, leaseOwner, leaseUntil, gsi1pk, gsi1sk` : cleared
      }`,
      ConditionExpression: `leaseOwner = :owner AND (attribute_not_exists(deliveredSeq) OR deliveredSeq < :sequence)${
        release ? " AND queued = :one" : ""
      }`,
      ExpressionAttributeValues: {
        ":sequence": entry.sequence,
        ":at": at,
        ":zero": 0,
        ":minusOne": -1,
        ":target": target,
        ":owner": owner,
        ...(release ? { ":one": 1 } : {}),
      },
    };
  }

  /**
   * The head mirror failed and will be tried again at `nextAttemptAt` (or waits for its target):
   * its attempts, first failure and error are kept, with target state changes made before failing.
   */
  async markWaiting(
    pair: DeliveryPair,
    owner: string,
    update: {
      attempts: number;
      firstFailedAt: number | null;
      nextAttemptAt: number;
      lastError: string;
      target: TargetState;
    },
  ): Promise<void> {
    const state = {
      TableName: this.tableName,
      Key: this.stateKey(pair),
      UpdateExpression:
        "SET attempts = :attempts, firstFailedAt = :firstFailedAt, nextAttemptAt = :next, lastError = :error, target = :target, gsi1pk = :due, gsi1sk = :lookAt",
      ConditionExpression: "leaseOwner = :owner",
      ExpressionAttributeValues: {
        ":attempts": update.attempts,
        ":firstFailedAt": update.firstFailedAt,
        ":next": update.nextAttemptAt,
        ":error": update.lastError,
        ":target": update.target,
        ":due": keys.deliveriesDueIndex,
        ":lookAt": dueKey(update.nextAttemptAt, pair),
        ":owner": owner,
      },
    };
    // A head that has failed (attempts > 0) is in the tenant's failing index (a target that only
    // asked to wait is not failing). Put first, on its own: the queue's state keeps its single
    // conditioned write, and an index item whose write was followed by a lost lease only costs
    // the page a read of a state that says "not failing".
    if (update.attempts > 0) {
      try {
        await this.doc.send(new PutCommand({ TableName: this.tableName, Item: this.failingItem(pair) }));
      } catch (error) {
        throw storageError(error);
      }
    }
    await this.sendUnderLease(pair, new UpdateCommand(state));
  }

  /** The queue's item in the tenant's failing index. */
  private failingKey(pair: DeliveryPair) {
    return {
      pk: keys.deliveriesFailingPartition(pair.tenantId),
      sk: keys.deliveryFailing(pair.opportunityId, pair.side),
    };
  }

  private failingItem(pair: DeliveryPair): Record<string, unknown> {
    return { ...this.failingKey(pair), opportunityId: pair.opportunityId, side: pair.side };
  }

  /**
   * The tenant's failing delivery queues (a head retrying or parked), from its failing index: one
   * Query of a small partition, never a read of every queue. Eventually consistent (for display).
   */
  async failing(tenantId: string, limit = 1_000): Promise<DeliveryPair[]> {
    const pairs: DeliveryPair[] = [];
    let startKey: Record<string, unknown> | undefined;
    try {
      do {
        const result = await this.doc.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: "pk = :pk",
            ExpressionAttributeValues: { ":pk": keys.deliveriesFailingPartition(tenantId) },
            ProjectionExpression: "opportunityId, side",
            Limit: limit - pairs.length,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        );
        for (const item of result.Items ?? []) {
          if (typeof item.opportunityId !== "string" || (item.side !== "crm" && item.side !== "cpq"))
            continue;
          pairs.push({ tenantId, opportunityId: item.opportunityId, side: item.side });
        }
        startKey = result.LastEvaluatedKey;
      } while (startKey && pairs.length < limit);
      return pairs;
    } catch (error) {
      throw storageError(error);
    }
  }

  /**
   * The states of many queues (those never used are left out), batched and without their target
   * state: for display. Eventually consistent.
   */
  async states(pairs: DeliveryPair[]): Promise<Array<{ pair: DeliveryPair; state: DeliveryState }>> {
    const unique = [...new Map(pairs.map((pair) => [pairId(pair), pair])).values()];
    const found: Array<{ pair: DeliveryPair; state: DeliveryState }> = [];
    const byKey = new Map(unique.map((pair) => [this.stateKey(pair).pk, pair]));
    const chunks: DeliveryPair[][] = [];
    for (let index = 0; index < unique.length; index += 100) chunks.push(unique.slice(index, index + 100));
    try {
      await Promise.all(
        chunks.map(async (chunk) => {
          let request: Record<string, unknown>[] = chunk.map((pair) => this.stateKey(pair));
          for (let attempt = 0; request.length > 0; attempt++) {
            if (attempt > 0)
              await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** Math.min(attempt, 6)));
            const result = await this.doc.send(
              new BatchGetCommand({
                RequestItems: {
                  [this.tableName]: {
                    Keys: request,
                    ProjectionExpression:
                      "pk, deliveredSeq, queued, attempts, firstFailedAt, nextAttemptAt, parked, lastDeliveredAt, lastError",
                  },
                },
              }),
            );
            for (const item of result.Responses?.[this.tableName] ?? []) {
              const pair = byKey.get(String(item.pk));
              if (pair) found.push({ pair, state: stateOf(item) });
            }
            request = (result.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
          }
        }),
      );
      return found;
    } catch (error) {
      throw storageError(error);
    }
  }

  /**
   * Parks the head mirror: it stays queued (and its pair's later mirrors behind it), leaves the due
   * index, and the audit gets `mirror.failed`. Only the retry route sends it again.
   */
  async markParked(
    pair: DeliveryPair,
    owner: string,
    entry: QueuedMirror,
    update: { attempts: number; firstFailedAt: number | null; lastError: string; target: TargetState },
    audit: AuditEntry,
  ): Promise<void> {
    const pk = keys.deliveryPartition(pair.tenantId, pair.opportunityId, pair.side);
    await this.sendUnderLease(
      pair,
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: this.tableName,
              Key: { pk, sk: keys.deliveryState },
              UpdateExpression:
                "SET parked = :entryId, attempts = :attempts, firstFailedAt = :firstFailedAt, lastError = :error, target = :target REMOVE nextAttemptAt, gsi1pk, gsi1sk",
              ConditionExpression: "leaseOwner = :owner",
              ExpressionAttributeValues: {
                ":entryId": entry.entryId,
                ":attempts": update.attempts,
                ":firstFailedAt": update.firstFailedAt,
                ":error": update.lastError,
                ":target": update.target,
                ":owner": owner,
              },
            },
          },
          { Put: { TableName: this.tableName, Item: this.failingItem(pair) } },
          {
            Put: {
              TableName: this.tableName,
              Item: auditItem(pair.tenantId, pair.opportunityId, audit, this.auditSuffixes.next()),
            },
          },
        ],
      }),
    );
  }

  /**
   * Sends a parked mirror again: unparks it (only if `entryId` is the parked one), with a fresh
   * retry window, due now, out of the tenant's failing index until it fails again, with an audit
   * entry naming who asked. Returns false when that entry is not the pair's parked mirror.
   */
  async unpark(pair: DeliveryPair, entryId: string, now: number, audit: AuditEntry): Promise<boolean> {
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: this.stateKey(pair),
                UpdateExpression:
                  "SET attempts = :zero, gsi1pk = :due, gsi1sk = :lookAt REMOVE parked, firstFailedAt, nextAttemptAt",
                ConditionExpression: "parked = :entryId",
                ExpressionAttributeValues: {
                  ":zero": 0,
                  ":due": keys.deliveriesDueIndex,
                  ":lookAt": dueKey(now, pair),
                  ":entryId": entryId,
                },
              },
            },
            { Delete: { TableName: this.tableName, Key: this.failingKey(pair) } },
            {
              Put: {
                TableName: this.tableName,
                Item: auditItem(pair.tenantId, pair.opportunityId, audit, this.auditSuffixes.next()),
              },
            },
          ],
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw storageError(error);
    }
  }

  /** After a drain that emptied the queue: it leaves the due index (unless a mirror was queued since). */
  async leaveDueIfEmpty(pair: DeliveryPair): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.stateKey(pair),
          UpdateExpression: "REMOVE gsi1pk, gsi1sk",
          // A mirror queued since (queued > 0) or a drainer at work keeps the queue in the index.
          ConditionExpression: "queued <= :zero AND attribute_not_exists(leaseOwner)",
          ExpressionAttributeValues: { ":zero": 0 },
        }),
      );
    } catch (error) {
      if (!conditionFailed(error)) throw storageError(error);
    }
  }

  /**
   * A drainer ran out of time with mirrors left and nothing failing: the queue is due again at
   * `lookAt`, for the retry pass if nobody else drains it first.
   */
  async dueAgainAt(pair: DeliveryPair, lookAt: number): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.stateKey(pair),
          UpdateExpression: "SET gsi1pk = :due, gsi1sk = :lookAt",
          ConditionExpression:
            "queued > :zero AND attribute_not_exists(parked) AND attribute_not_exists(nextAttemptAt)",
          ExpressionAttributeValues: {
            ":zero": 0,
            ":due": keys.deliveriesDueIndex,
            ":lookAt": dueKey(lookAt, pair),
          },
        }),
      );
    } catch (error) {
      if (!conditionFailed(error)) throw storageError(error);
    }
  }

  /** A parked queue found in the due index (a mirror was queued behind it) leaves it again. */
  async dropFromDue(pair: DeliveryPair): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.stateKey(pair),
          UpdateExpression: "REMOVE gsi1pk, gsi1sk",
          ConditionExpression: "attribute_exists(parked)",
        }),
      );
    } catch (error) {
      if (!conditionFailed(error)) throw storageError(error);
    }
  }

  /** One page of queues due at `now`, oldest first (the sparse index: never a scan). */
  async due(
    now: number,
    limit: number,
    startKey?: Record<string, unknown>,
  ): Promise<{ pairs: DeliveryPair[]; next?: Record<string, unknown> }> {
    try {
      const result = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: "gsi1",
          KeyConditionExpression: "gsi1pk = :due AND gsi1sk <= :now",
          ExpressionAttributeValues: {
            ":due": keys.deliveriesDueIndex,
            ":now": `${String(now).padStart(15, "0")}#\uffff`,
          },
          Limit: limit,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      const pairs = (result.Items ?? [])
        .map((item) => parseDueKey(String(item.gsi1sk)))
        .filter((pair): pair is DeliveryPair => pair !== null);
      return { pairs, ...(result.LastEvaluatedKey ? { next: result.LastEvaluatedKey } : {}) };
    } catch (error) {
      throw storageError(error);
    }
  }
}

/** A mirror's item in its pair's queue. */
function queueItem(pk: string, entry: QueuedMirror): Record<string, unknown> {
  return {
    pk,
    sk: keys.deliveryEntry(entry.sequence),
    sequence: entry.sequence,
    entryId: entry.entryId,
    cursor: entry.cursor,
    at: entry.at,
    // Not `mirror`: the deliver function's stream filter takes items with a mirror as outbox entries.
    payload: entry.mirror,
  };
}

/** Mirrors queued together per transaction, at most, and their JSON size (items are at most 400 KB). */
const RUN_ITEMS = 25;
const RUN_CHARS = 1_000_000;

/** `entries` cut into runs that fit one transaction with room to spare (DynamoDB's limit is 4 MB). */
function enqueueRuns(entries: QueuedMirror[]): QueuedMirror[][] {
  const runs: QueuedMirror[][] = [];
  let run: QueuedMirror[] = [];
  let chars = 0;
  for (const entry of entries) {
    const size = JSON.stringify(entry.mirror).length;
    if (run.length > 0 && (run.length >= RUN_ITEMS || chars + size > RUN_CHARS)) {
      runs.push(run);
      run = [];
      chars = 0;
    }
    run.push(entry);
    chars += size;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** A drainer's lease was taken over (it ran past it): it stops; the new holder carries on. */
export class LeaseLost extends Error {
  constructor(
    readonly pair: DeliveryPair,
    options?: ErrorOptions,
  ) {
    super(`the delivery lease of ${pair.tenantId}/${pair.opportunityId}/${pair.side} was lost`, options);
    this.name = "LeaseLost";
  }
}

function conditionFailed(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  if (name === "ConditionalCheckFailedException") return true;
  if (name !== "TransactionCanceledException") return false;
  const reasons = (error as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons ?? [];
  return reasons.some((reason) => reason.Code === "ConditionalCheckFailed");
}

function stateOf(item: Record<string, unknown> | undefined): DeliveryState {
  if (!item) return structuredClone(EMPTY_STATE);
  const target = (item.target ?? {}) as Partial<TargetState>;
  return {
    deliveredSeq: Number(item.deliveredSeq ?? 0),
    queued: Number(item.queued ?? 0),
    attempts: Number(item.attempts ?? 0),
    firstFailedAt: item.firstFailedAt == null ? null : Number(item.firstFailedAt),
    nextAttemptAt: item.nextAttemptAt == null ? null : Number(item.nextAttemptAt),
    parked: typeof item.parked === "string" ? item.parked : null,
    lastDeliveredAt: typeof item.lastDeliveredAt === "string" ? item.lastDeliveredAt : null,
    lastError: typeof item.lastError === "string" ? item.lastError : null,
    target: { lineIds: { ...(target.lineIds ?? {}) }, facts: { ...(target.facts ?? {}) } },
  };
}

/** The target state after an applier's changes. */
export function applyTargetChanges(state: TargetState, changes: TargetStateChanges | undefined): TargetState {
  if (!changes) return state;
  const lineIds = { ...state.lineIds, ...(changes.lineIds?.set ?? {}) };
  for (const syncKey of changes.lineIds?.remove ?? []) delete lineIds[syncKey];
  const facts: Record<string, string> = { ...state.facts };
  for (const [name, value] of Object.entries(changes.facts ?? {})) {
    if (value === null) delete facts[name];
    else facts[name] = value;
  }
  return { lineIds, facts };
}

/** A tenant's outbox entry by sequence number (null when absent or void): what the retry route names. */
export async function readOutboxEntry(
  doc: DynamoDBDocumentClient,
  tableName: string,
  tenantId: string,
  sequence: number,
): Promise<{ at: string; mirror: Mirror } | null> {
  try {
    const { Item } = await doc.send(
      new GetCommand({
        TableName: tableName,
        Key: { pk: keys.outboxPartition(tenantId), sk: outboxSortKey(sequence) },
        ConsistentRead: true,
      }),
    );
    if (!Item || Item.void || !Item.mirror) return null;
    return { at: String(Item.at), mirror: Item.mirror as Mirror };
  } catch (error) {
    throw storageError(error);
  }
}

/**
 * A failure of the queue's storage that is not a refused condition: throttling, or a transaction
 * cancelled by a conflict or throttling, is busy storage (the drain is tried again later).
 */
function storageError(error: unknown): Error {
  if ((error as { name?: string } | null)?.name === "TransactionCanceledException") {
    return new StorageBusy(1, { cause: error });
  }
  return translateStorageError(error);
}

function pairId(pair: DeliveryPair): string {
  return `${pair.tenantId}\u0000${pair.side}\u0000${pair.opportunityId}`;
}
