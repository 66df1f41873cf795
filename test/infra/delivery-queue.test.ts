import { randomUUID } from "node:crypto";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEntry, Mirror } from "../../domain/model.js";
import {
  applyTargetChanges,
  type DeliveryPair,
  DeliveryQueue,
  LeaseLost,
  type QueuedMirror,
  readOutboxEntry,
} from "../../infra/dynamodb/delivery-queue.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { callsOn, createTestTable, type TestTable } from "../support/dynamo.js";

/**
 * The delivery queues on DynamoDB Local, driven through `DeliveryQueue` alone: what each call
 * leaves in the table (the pair's state item, its queued mirrors, the due index, the audit) and
 * which calls it refuses. The delivery service's own tests run it end to end.
 */
let table: TestTable;
let queue: DeliveryQueue;
let store: DynamoSyncStore;

beforeAll(async () => {
  table = await createTestTable();
  queue = new DeliveryQueue(table.doc, table.tableName);
  store = new DynamoSyncStore({ doc: table.doc, tableName: table.tableName });
});
afterAll(async () => {
  await table.dispose();
});

/** A pair no other test uses (the due index is shared: each test reads its own pairs only). */
function newPair(side: "crm" | "cpq" = "crm"): DeliveryPair {
  return {
    tenantId: `t-${randomUUID().slice(0, 8)}`,
    opportunityId: `opp#${randomUUID().slice(0, 6)}`,
    side,
  };
}

function mirrorOf(pair: DeliveryPair, amount: string): Mirror {
  return {
    target: pair.side,
    opportunityId: pair.opportunityId,
    quoteId: "q-1",
    opportunity: { amount, amountLocked: true, syncedQuoteId: "q-1" },
  };
}

function queued(pair: DeliveryPair, sequence: number): QueuedMirror {
  return {
    sequence,
    entryId: String(sequence),
    cursor: `cursor-${sequence}`,
    at: `2026-11-30T04:00:${String(sequence % 60).padStart(2, "0")}.000Z`,
    mirror: mirrorOf(pair, `${sequence}.00`),
  };
}

function audit(type: AuditEntry["type"], summary: string): AuditEntry {
  return { at: "2026-11-30T04:10:00.000Z", type, source: "crm", summary };
}

async function rawState(pair: DeliveryPair): Promise<Record<string, unknown> | undefined> {
  const { Item } = await table.doc.send(
    new GetCommand({
      TableName: table.tableName,
      Key: { pk: `T#${pair.tenantId}#D#${pair.side}#${pair.opportunityId}`, sk: "STATE" },
      ConsistentRead: true,
    }),
  );
  return Item;
}

async function rawEntry(pair: DeliveryPair, sequence: number): Promise<Record<string, unknown> | undefined> {
  const { Item } = await table.doc.send(
    new GetCommand({
      TableName: table.tableName,
      Key: {
        pk: `T#${pair.tenantId}#D#${pair.side}#${pair.opportunityId}`,
        sk: `Q#${String(sequence).padStart(16, "0")}`,
      },
      ConsistentRead: true,
    }),
  );
  return Item;
}

function same(a: DeliveryPair, b: DeliveryPair): boolean {
  return a.tenantId === b.tenantId && a.opportunityId === b.opportunityId && a.side === b.side;
}

/** Whether the pair is in the due index at `now` (paging through every due queue). */
async function isDue(pair: DeliveryPair, now: number): Promise<boolean> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await queue.due(now, 100, startKey);
    if (page.pairs.some((due) => same(due, pair))) return true;
    startKey = page.next;
  } while (startKey);
  return false;
}

const TARGET = { lineIds: { "sk-1": "crm-line-1" }, facts: { dealId: "d-1" } };

describe("DeliveryQueue on DynamoDB Local", () => {
  it("starts empty: no state item, the empty state, nothing at the head, no lease to take", async () => {
    const pair = newPair();
    expect(await queue.exists(pair)).toBe(false);
    expect(await queue.state(pair)).toEqual({
      deliveredSeq: 0,
      queued: 0,
      attempts: 0,
      firstFailedAt: null,
      nextAttemptAt: null,
      parked: null,
      lastDeliveredAt: null,
      lastError: null,
      target: { lineIds: {}, facts: {} },
    });
    expect(await queue.head(pair, 0, 10)).toEqual([]);
    expect(await queue.entry(pair, 1)).toBeNull();
    expect(await queue.acquire(pair, "drainer-a", 1_000, 2_000)).toBeNull();
    expect(await rawState(pair)).toBeUndefined();
  });

  it("queues a mirror once, due at the time given, and reads the queue in commit order", async () => {
    const pair = newPair();
    expect(await queue.enqueue(pair, queued(pair, 7), 5_000)).toBe("queued");
    expect(await queue.enqueue(pair, queued(pair, 3), 9_000)).toBe("queued");
    expect(await queue.enqueue(pair, queued(pair, 7), 5_000)).toBe("duplicate");
    expect(await queue.exists(pair)).toBe(true);
    expect(await rawState(pair)).toMatchObject({
      queued: 2,
      gsi1pk: "DELIVERIES#DUE",
      // The first queueing sets the time; later ones keep it.
      gsi1sk: `000000000005000#${pair.tenantId}#crm#${pair.opportunityId}`,
      tenantId: pair.tenantId,
      opportunityId: pair.opportunityId,
      side: "crm",
    });
    // The entry is stored as `payload`, never `mirror` (the stream filter's outbox test).
    const item = await rawEntry(pair, 7);
    expect(item).toMatchObject({
      sequence: 7,
      entryId: "7",
      cursor: "cursor-7",
      payload: mirrorOf(pair, "7.00"),
    });
    expect(item).not.toHaveProperty("mirror");
    expect(await queue.head(pair, 0, 10)).toEqual([queued(pair, 3), queued(pair, 7)]);
    expect(await queue.head(pair, 0, 1)).toEqual([queued(pair, 3)]);
    expect(await queue.head(pair, 3, 10)).toEqual([queued(pair, 7)]);
    expect(await queue.head(pair, 7, 10)).toEqual([]);
    expect(await queue.entry(pair, 7)).toEqual(queued(pair, 7));
    expect(await queue.entry(pair, 4)).toBeNull();
    expect(await isDue(pair, 4_999)).toBe(false);
    expect(await isDue(pair, 5_000)).toBe(true);
    const state = await queue.state(pair);
    expect(state).toMatchObject({ queued: 2, deliveredSeq: 0, attempts: 0, parked: null });
  });

  it("one drainer at a time holds the lease; an expired lease passes to another", async () => {
    const pair = newPair();
    await queue.enqueue(pair, queued(pair, 1), 0);
    const taken = await queue.acquire(pair, "a", 1_000, 2_000);
    expect(taken).toMatchObject({ queued: 1, deliveredSeq: 0 });
    expect(await rawState(pair)).toMatchObject({ leaseOwner: "a", leaseUntil: 2_000 });
    expect(await queue.acquire(pair, "b", 1_500, 3_000)).toBeNull();
    expect(await queue.acquire(pair, "b", 2_000, 3_000)).toBeNull();
    // Its holder may renew it.
    expect(await queue.acquire(pair, "a", 1_900, 2_500)).not.toBeNull();
    expect(await rawState(pair)).toMatchObject({ leaseOwner: "a", leaseUntil: 2_500 });
    // Past its end, another drainer takes it; the old holder's release changes nothing.
    expect(await queue.acquire(pair, "b", 2_501, 4_000)).not.toBeNull();
    const afterStaleRelease = await queue.release(pair, "a");
    expect(afterStaleRelease.queued).toBe(1);
    expect(await rawState(pair)).toMatchObject({ leaseOwner: "b", leaseUntil: 4_000 });
    await queue.release(pair, "b");
    const free = await rawState(pair);
    expect(free).not.toHaveProperty("leaseOwner");
    expect(free).not.toHaveProperty("leaseUntil");
    expect(await queue.acquire(pair, "c", 0, 10)).not.toBeNull();
  });

  it("a holder extends its lease, lapsed or not, until another drainer has taken it, even if given back since", async () => {
    const pair = newPair();
    await queue.enqueue(pair, queued(pair, 1), 0);
    await queue.acquire(pair, "a", 1_000, 2_000);
    expect(await queue.renew(pair, "a", 3_000)).toBe(true);
    expect(await rawState(pair)).toMatchObject({ leaseOwner: "a", leaseUntil: 3_000 });
    // Lapsed, but nobody took it: still a's.
    expect(await queue.renew(pair, "a", 5_000)).toBe(true);
    expect(await queue.renew(pair, "b", 9_000)).toBe(false);
    expect(await rawState(pair)).toMatchObject({ leaseOwner: "a", leaseUntil: 5_000 });
    // Taken over, then given back: not a's any more.
    await queue.acquire(pair, "b", 5_001, 8_000);
    expect(await queue.renew(pair, "a", 9_000)).toBe(false);
    await queue.release(pair, "b");
    expect(await queue.renew(pair, "a", 9_000)).toBe(false);
    expect(await rawState(pair)).not.toHaveProperty("leaseUntil");
    // A queue that was never made has no lease to renew.
    expect(await queue.renew(newPair(), "a", 9_000)).toBe(false);
  });

  it("marks the head delivered once, in order, under the lease: tombstone, marker, target state, audit", async () => {
    const pair = newPair();
    await queue.enqueue(pair, queued(pair, 4), 0);
    await queue.enqueue(pair, queued(pair, 5), 0);
    await queue.acquire(pair, "a", 0, 60_000);
    const at = "2026-11-30T04:05:00.000Z";
    await queue.markDelivered(
      pair,
      "a",
      queued(pair, 4),
      TARGET,
      at,
      audit("mirror.delivered", "delivered 4"),
    );
    const tombstone = await rawEntry(pair, 4);
    expect(tombstone).toMatchObject({ delivered: true, expiresAt: Date.parse(at) / 1000 + 7 * 24 * 3600 });
    expect(tombstone).not.toHaveProperty("payload");
    expect(await queue.head(pair, 4, 10)).toEqual([queued(pair, 5)]);
    expect(await queue.state(pair)).toMatchObject({
      deliveredSeq: 4,
      queued: 1,
      attempts: 0,
      lastDeliveredAt: at,
      target: TARGET,
    });
    const trail = await store.readAudit(pair.tenantId, pair.opportunityId, null, 10);
    expect(trail.entries).toEqual([audit("mirror.delivered", "delivered 4")]);
    // Again, or an earlier one, or without the lease: refused, nothing changes.
    await expect(
      queue.markDelivered(pair, "a", queued(pair, 4), TARGET, at, audit("mirror.delivered", "again")),
    ).rejects.toBeInstanceOf(LeaseLost);
    await expect(
      queue.markDelivered(pair, "b", queued(pair, 5), TARGET, at, audit("mirror.delivered", "not mine")),
    ).rejects.toThrow(`the delivery lease of ${pair.tenantId}/${pair.opportunityId}/crm was lost`);
    expect((await store.readAudit(pair.tenantId, pair.opportunityId, null, 10)).entries).toHaveLength(1);
    // A redelivered record of the delivered mirror is a duplicate; one never queued below the marker is late.
    expect(await queue.enqueue(pair, queued(pair, 4), 0)).toBe("duplicate");
    expect(await queue.enqueue(pair, queued(pair, 2), 0)).toBe("late");
    expect(await queue.entry(pair, 2)).toBeNull();
    expect((await queue.state(pair)).queued).toBe(1);
  });

  it("marks the last mirror delivered and gives the lease back in one write, only when no other waits", async () => {
    const pair = newPair();
    const at = "2026-11-30T04:06:00.000Z";
    await queue.enqueue(pair, queued(pair, 1), 100);
    await queue.acquire(pair, "a", 0, 60_000);
    // A mirror queued while the drainer works: not the last after all. Marked with the lease kept.
    await queue.enqueue(pair, queued(pair, 2), 100);
    expect(
      await queue.markLastDelivered(pair, "a", queued(pair, 1), TARGET, at, audit("mirror.delivered", "1")),
    ).toBe(false);
    expect(await rawState(pair)).toMatchObject({ deliveredSeq: 1, queued: 1, leaseOwner: "a" });
    expect(await isDue(pair, 100)).toBe(true);
    // The last one: delivered, the lease given back and the due index left, in the same write.
    expect(
      await queue.markLastDelivered(pair, "a", queued(pair, 2), TARGET, at, audit("mirror.delivered", "2")),
    ).toBe(true);
    const state = await rawState(pair);
    expect(state).toMatchObject({ deliveredSeq: 2, queued: 0, lastDeliveredAt: at, target: TARGET });
    for (const gone of ["leaseOwner", "leaseUntil", "gsi1pk", "gsi1sk"])
      expect(state).not.toHaveProperty(gone);
    expect(await isDue(pair, Number.MAX_SAFE_INTEGER)).toBe(false);
    expect(await rawEntry(pair, 2)).toMatchObject({ delivered: true });
    const trail = await store.readAudit(pair.tenantId, pair.opportunityId, null, 10);
    expect(trail.entries.map((entry) => entry.summary).sort()).toEqual(["1", "2"]);
    // The next mirror makes the queue due again, for whoever takes its lease.
    await queue.enqueue(pair, queued(pair, 3), 200);
    expect(await isDue(pair, 200)).toBe(true);
    expect(await queue.acquire(pair, "b", 0, 60_000)).not.toBeNull();
    // Without the lease, or for a mirror delivered already: refused, nothing written.
    await expect(
      queue.markLastDelivered(pair, "a", queued(pair, 3), TARGET, at, audit("mirror.delivered", "not mine")),
    ).rejects.toBeInstanceOf(LeaseLost);
    await expect(
      queue.markLastDelivered(pair, "b", queued(pair, 2), TARGET, at, audit("mirror.delivered", "again")),
    ).rejects.toBeInstanceOf(LeaseLost);
    expect(await rawState(pair)).toMatchObject({ deliveredSeq: 2, queued: 1, leaseOwner: "b" });
    expect((await store.readAudit(pair.tenantId, pair.opportunityId, null, 10)).entries).toHaveLength(2);
  });

  it("queues a pair's mirrors together, a transaction per 25, and one by one when some were there before", async () => {
    const pair = newPair();
    let outcomes: string[] = [];
    const sent = await callsOn(table.client, async () => {
      outcomes = await queue.enqueueAll(
        pair,
        Array.from({ length: 26 }, (_, index) => queued(pair, index + 1)),
        100,
      );
    });
    expect(outcomes).toEqual(Array(26).fill("queued"));
    expect(sent).toEqual(["TransactWriteItems", "TransactWriteItems"]);
    expect((await queue.state(pair)).queued).toBe(26);
    expect((await queue.head(pair, 0, 100)).map((entry) => entry.sequence)).toEqual(
      Array.from({ length: 26 }, (_, index) => index + 1),
    );
    expect(await isDue(pair, 100)).toBe(true);
    // A redelivery overlapping what is queued: each told apart, the new one queued once.
    expect(await queue.enqueueAll(pair, [queued(pair, 25), queued(pair, 26), queued(pair, 27)], 100)).toEqual(
      ["duplicate", "duplicate", "queued"],
    );
    expect((await queue.state(pair)).queued).toBe(27);
    // A single mirror is queued as `enqueue` queues it: one request, whatever the outcome.
    let again: string[] = [];
    expect(
      await callsOn(
        table.client,
        async () => (again = await queue.enqueueAll(pair, [queued(pair, 27)], 100)),
      ),
    ).toEqual(["TransactWriteItems"]);
    expect(again).toEqual(["duplicate"]);
    // Below the delivered-up-to marker and never queued: late, and nothing counted for them.
    const other = newPair();
    await queue.enqueue(other, queued(other, 5), 0);
    await queue.acquire(other, "a", 0, 60_000);
    await queue.markDelivered(
      other,
      "a",
      queued(other, 5),
      TARGET,
      "2026-11-30T04:07:00.000Z",
      audit("mirror.delivered", "5"),
    );
    expect(await queue.enqueueAll(other, [queued(other, 3), queued(other, 4), queued(other, 6)], 0)).toEqual([
      "late",
      "late",
      "queued",
    ]);
    expect(await queue.state(other)).toMatchObject({ deliveredSeq: 5, queued: 1 });
    expect(await queue.entry(other, 3)).toBeNull();
  });

  it("queues large mirrors in transactions of at most about 1 MB of them", async () => {
    const pair = newPair();
    // Four mirrors of about 300 KB each (a field of the opportunity): three fit in one transaction.
    const large = (sequence: number): QueuedMirror => {
      const entry = queued(pair, sequence);
      const opportunity = { amount: "1.00", amountLocked: true, syncedQuoteId: "q-1" };
      return {
        ...entry,
        mirror: { ...entry.mirror, opportunity: { ...opportunity, fields: { note: "x".repeat(300_000) } } },
      };
    };
    let outcomes: string[] = [];
    const sent = await callsOn(table.client, async () => {
      outcomes = await queue.enqueueAll(pair, [1, 2, 3, 4].map(large), 0);
    });
    expect(outcomes).toEqual(["queued", "queued", "queued", "queued"]);
    expect(sent).toEqual(["TransactWriteItems", "TransactWriteItems"]);
    expect((await queue.head(pair, 0, 10)).map((entry) => entry.sequence)).toEqual([1, 2, 3, 4]);
  });

  it("a failure waits with its attempts, error and retry time; the queue is due then, not before", async () => {
    const pair = newPair();
    await queue.enqueue(pair, queued(pair, 1), 0);
    await queue.acquire(pair, "a", 0, 60_000);
    await queue.markWaiting(pair, "a", {
      attempts: 2,
      firstFailedAt: 1_000,
      nextAttemptAt: 31_000.6,
      lastError: "HTTP 500",
      target: TARGET,
    });
    expect(await queue.state(pair)).toMatchObject({
      attempts: 2,
      firstFailedAt: 1_000,
      nextAttemptAt: 31_000.6,
      lastError: "HTTP 500",
      target: TARGET,
      parked: null,
    });
    expect(await isDue(pair, 30_999)).toBe(false);
    expect(await isDue(pair, 31_000)).toBe(true);
    await expect(
      queue.markWaiting(pair, "b", {
        attempts: 3,
        firstFailedAt: 1_000,
        nextAttemptAt: 40_000,
        lastError: "x",
        target: TARGET,
      }),
    ).rejects.toBeInstanceOf(LeaseLost);
    expect((await queue.state(pair)).attempts).toBe(2);
    // Out of time with nothing failing: due again only when nothing waits for a retry.
    await queue.dueAgainAt(pair, 50_000);
    expect(await rawState(pair)).toMatchObject({
      gsi1sk: `000000000031000#${pair.tenantId}#crm#${pair.opportunityId}`,
    });
  });

  it("parks the head: it stays queued, leaves the due index, is audited; only its own id unparks it", async () => {
    const pair = newPair("cpq");
    await queue.enqueue(pair, queued(pair, 8), 0);
    await queue.acquire(pair, "a", 0, 60_000);
    await queue.markParked(
      pair,
      "a",
      queued(pair, 8),
      { attempts: 5, firstFailedAt: 100, lastError: "HTTP 400: bad line", target: TARGET },
      audit("mirror.failed", "parked 8"),
    );
    expect(await queue.state(pair)).toMatchObject({
      parked: "8",
      attempts: 5,
      firstFailedAt: 100,
      nextAttemptAt: null,
      lastError: "HTTP 400: bad line",
      target: TARGET,
      queued: 1,
    });
    expect(await rawState(pair)).not.toHaveProperty("gsi1pk");
    expect(await isDue(pair, Number.MAX_SAFE_INTEGER)).toBe(false);
    expect(await queue.head(pair, 0, 5)).toEqual([queued(pair, 8)]);
    expect((await store.readAudit(pair.tenantId, pair.opportunityId, null, 10)).entries).toEqual([
      audit("mirror.failed", "parked 8"),
    ]);
    await expect(
      queue.markParked(
        pair,
        "z",
        queued(pair, 8),
        { attempts: 6, firstFailedAt: 100, lastError: "y", target: TARGET },
        audit("mirror.failed", "not mine"),
      ),
    ).rejects.toBeInstanceOf(LeaseLost);
    // Queued behind a parked mirror: in the index again, and dropped from it.
    await queue.enqueue(pair, queued(pair, 9), 2_000);
    expect(await isDue(pair, 2_000)).toBe(true);
    await queue.dropFromDue(pair);
    expect(await isDue(pair, 2_000)).toBe(false);
    // The retry route.
    expect(await queue.unpark(pair, "9", 3_000, audit("mirror.retried", "again"))).toBe(false);
    expect((await queue.state(pair)).parked).toBe("8");
    expect(await queue.unpark(pair, "8", 3_000, audit("mirror.retried", "again"))).toBe(true);
    expect(await queue.state(pair)).toMatchObject({
      parked: null,
      attempts: 0,
      firstFailedAt: null,
      nextAttemptAt: null,
    });
    expect(await isDue(pair, 2_999)).toBe(false);
    expect(await isDue(pair, 3_000)).toBe(true);
    expect(await queue.unpark(pair, "8", 3_000, audit("mirror.retried", "again"))).toBe(false);
  });

  it("a queue leaves the due index only when empty and not being drained; dueAgainAt only with mirrors left", async () => {
    const pair = newPair();
    await queue.enqueue(pair, queued(pair, 1), 100);
    await queue.leaveDueIfEmpty(pair);
    expect(await isDue(pair, 100)).toBe(true);
    await queue.acquire(pair, "a", 0, 60_000);
    await queue.dueAgainAt(pair, 7_000);
    expect(await isDue(pair, 6_999)).toBe(false);
    expect(await isDue(pair, 7_000)).toBe(true);
    await queue.markDelivered(
      pair,
      "a",
      queued(pair, 1),
      TARGET,
      "2026-11-30T04:05:00.000Z",
      audit("mirror.delivered", "1"),
    );
    // Empty, but still leased: stays.
    await queue.leaveDueIfEmpty(pair);
    expect(await isDue(pair, 7_000)).toBe(true);
    await queue.release(pair, "a");
    await queue.leaveDueIfEmpty(pair);
    expect(await isDue(pair, Number.MAX_SAFE_INTEGER)).toBe(false);
    // Nothing queued: not due again. A parked queue is not due again either.
    await queue.dueAgainAt(pair, 8_000);
    expect(await isDue(pair, 8_000)).toBe(false);
    await queue.dropFromDue(pair);
    expect(await rawState(pair)).toMatchObject({ deliveredSeq: 1, queued: 0 });
  });

  it("pages through due queues oldest first, a negative time counting as zero", async () => {
    const base = 9_000_000_000_000 + Math.floor(Math.random() * 1_000_000) * 10;
    const pairs = [newPair(), newPair("cpq"), newPair()];
    await queue.enqueue(pairs[0] as DeliveryPair, queued(pairs[0] as DeliveryPair, 1), base + 2);
    await queue.enqueue(pairs[1] as DeliveryPair, queued(pairs[1] as DeliveryPair, 1), base + 1);
    await queue.enqueue(pairs[2] as DeliveryPair, queued(pairs[2] as DeliveryPair, 1), base + 3);
    const mine = (found: DeliveryPair[]) => found.filter((pair) => pairs.some((p) => same(p, pair)));
    const seen: DeliveryPair[] = [];
    let startKey: Record<string, unknown> | undefined;
    let pages = 0;
    do {
      const page = await queue.due(base + 3, 1, startKey);
      expect(page.pairs.length).toBeLessThanOrEqual(1);
      seen.push(...page.pairs);
      startKey = page.next;
      pages++;
    } while (startKey && pages < 10_000);
    expect(mine(seen)).toEqual([pairs[1], pairs[0], pairs[2]]);
    expect(mine((await queue.due(base + 2, 1_000)).pairs)).toEqual([pairs[1], pairs[0]]);
    const early = newPair();
    await queue.enqueue(early, queued(early, 1), -50);
    expect(await rawState(early)).toMatchObject({
      gsi1sk: `000000000000000#${early.tenantId}#crm#${early.opportunityId}`,
    });
    expect(await isDue(early, 0)).toBe(true);
  });
});

describe("applyTargetChanges", () => {
  it("sets and forgets line ids and facts; no changes keep the state", () => {
    const state = { lineIds: { a: "1", b: "2" }, facts: { x: "1", y: "2" } };
    expect(applyTargetChanges(state, undefined)).toBe(state);
    expect(
      applyTargetChanges(state, {
        lineIds: { set: { c: "3", a: "9" }, remove: ["b"] },
        facts: { x: null, z: "3" },
      }),
    ).toEqual({ lineIds: { a: "9", c: "3" }, facts: { y: "2", z: "3" } });
    expect(applyTargetChanges(state, {})).toEqual(state);
    expect(state).toEqual({ lineIds: { a: "1", b: "2" }, facts: { x: "1", y: "2" } });
  });
});

describe("readOutboxEntry", () => {
  it("reads an outbox entry by number; a void marker or a missing number is null", async () => {
    const tenantId = `t-${randomUUID().slice(0, 8)}`;
    const pair = { tenantId, opportunityId: "opp", side: "crm" as const };
    const pk = `T#${tenantId}#OUTBOX`;
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { pk, sk: "0000000000000001", at: "2026-11-30T04:00:00.000Z", mirror: mirrorOf(pair, "1.00") },
      }),
    );
    await table.doc.send(
      new PutCommand({ TableName: table.tableName, Item: { pk, sk: "0000000000000002", void: true } }),
    );
    expect(await readOutboxEntry(table.doc, table.tableName, tenantId, 1)).toEqual({
      at: "2026-11-30T04:00:00.000Z",
      mirror: mirrorOf(pair, "1.00"),
    });
    expect(await readOutboxEntry(table.doc, table.tableName, tenantId, 2)).toBeNull();
    expect(await readOutboxEntry(table.doc, table.tableName, tenantId, 3)).toBeNull();
  });
});
