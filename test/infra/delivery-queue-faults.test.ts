import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { StorageBusy } from "../../domain/errors.js";
import type { AuditEntry } from "../../domain/model.js";
import {
  type DeliveryPair,
  DeliveryQueue,
  LeaseLost,
  type QueuedMirror,
} from "../../infra/dynamodb/delivery-queue.js";
import { keys } from "../../infra/dynamodb/keys.js";
import { localDynamoClientConfig } from "../../infra/dynamodb-local.js";
import { createTestTable, dynamoEndpoint, type TestTable } from "../support/dynamo.js";

/**
 * The delivery queue when DynamoDB fails in ways other than a refused condition (middleware in
 * front of DynamoDB Local): a throttled or conflicting call is a storage error, never read as a
 * lost lease, a duplicate, an empty queue or a lease nobody holds. And its batched and paged
 * reads: many queues' states, a failing index with items it cannot read.
 */
let table: TestTable;
let client: DynamoDBClient;
let queue: DeliveryQueue;
/** What the next requests fail with, if anything: every command while set. */
let failure: (() => Error) | null = null;
/** Requests refused by `failure` since it was last reset. */
let refused = 0;
let batchGets = 0;

beforeAll(async () => {
  table = await createTestTable();
  client = new DynamoDBClient(localDynamoClientConfig(dynamoEndpoint()));
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (failure) {
        refused++;
        throw failure();
      }
      if (context.commandName === "BatchGetItemCommand") batchGets++;
      return next(args);
    },
    { step: "initialize", name: "failRequests" },
  );
  queue = new DeliveryQueue(
    DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
    table.tableName,
  );
});
beforeEach(() => {
  failure = null;
  batchGets = 0;
});
afterAll(async () => {
  client.destroy();
  await table.dispose();
});

const newPair = (tenantId = `t-${randomUUID().slice(0, 8)}`): DeliveryPair => ({
  tenantId,
  opportunityId: `opp-${randomUUID().slice(0, 6)}`,
  side: "crm",
});
const entry = (sequence: number): QueuedMirror => ({
  sequence,
  entryId: String(sequence),
  cursor: `cursor-${sequence}`,
  at: "2026-11-30T04:00:00.000Z",
  mirror: { target: "crm", opportunityId: "o", quoteId: "q", quote: { syncing: true } },
});
const audit: AuditEntry = { at: "2026-11-30T04:10:00.000Z", type: "mirror.failed", summary: "x" };
const target = { lineIds: {}, facts: {} };

/** Every call of the queue, on a queue that exists and is leased by `a`. */
function everyCall(pair: DeliveryPair): Array<[string, () => Promise<unknown>]> {
  const waiting = { attempts: 1, firstFailedAt: 1, nextAttemptAt: 2, lastError: "e", target };
  return [
    ["enqueue", () => queue.enqueue(pair, entry(2), 0)],
    ["enqueueAll", () => queue.enqueueAll(pair, [entry(2), entry(3)], 0)],
    ["state", () => queue.state(pair)],
    ["exists", () => queue.exists(pair)],
    ["acquire", () => queue.acquire(pair, "a", 0, 60_000)],
    ["renew", () => queue.renew(pair, "a", 60_000)],
    ["release", () => queue.release(pair, "a")],
    ["head", () => queue.head(pair, 0, 10)],
    ["entry", () => queue.entry(pair, 1)],
    ["markDelivered", () => queue.markDelivered(pair, "a", entry(1), target, audit.at, audit)],
    ["markLastDelivered", () => queue.markLastDelivered(pair, "a", entry(1), target, audit.at, audit)],
    ["markWaiting", () => queue.markWaiting(pair, "a", waiting)],
    ["markParked", () => queue.markParked(pair, "a", entry(1), waiting, audit)],
    ["unpark", () => queue.unpark(pair, "1", 0, audit)],
    ["failing", () => queue.failing(pair.tenantId)],
    ["states", () => queue.states([pair])],
    ["leaveDueIfEmpty", () => queue.leaveDueIfEmpty(pair)],
    ["dueAgainAt", () => queue.dueAgainAt(pair, 0)],
    ["dropFromDue", () => queue.dropFromDue(pair)],
    ["due", () => queue.due(0, 10)],
  ];
}

describe("the delivery queue when DynamoDB fails", () => {
  /** Each failure, and what every call answers: StorageBusy with its retry time, or the error as it is. */
  const failures: Array<[string, () => Error, string]> = [
    [
      "throttled",
      () => Object.assign(new Error("slow down"), { name: "ThrottlingException" }),
      "StorageBusy 2",
    ],
    [
      "a transaction cancelled by a conflict, not a condition",
      () =>
        Object.assign(new Error("cancelled"), {
          name: "TransactionCanceledException",
          CancellationReasons: [{ Code: "None" }, { Code: "TransactionConflict" }],
        }),
      "StorageBusy 1",
    ],
    [
      "a conflict",
      () => Object.assign(new Error("conflict"), { name: "TransactionConflictException" }),
      "StorageBusy 1",
    ],
    [
      "a refused request (not storage being busy)",
      () => Object.assign(new Error("bad request"), { name: "ValidationException" }),
      "ValidationException: bad request",
    ],
  ];

  it.each(failures)(
    "%s: every call answers it, none a refusal or an empty answer",
    async (_, make, expected) => {
      const pair = newPair();
      await queue.enqueue(pair, entry(1), 0);
      await queue.acquire(pair, "a", 0, 60_000);
      failure = make;
      const outcomes: Record<string, string> = {};
      const requests: Record<string, number> = {};
      for (const [name, call] of everyCall(pair)) {
        refused = 0;
        outcomes[name] = await call().then(
          (answer) => `answered ${JSON.stringify(answer)}`,
          (error: unknown) =>
            error instanceof StorageBusy
              ? `StorageBusy ${error.retryAfterSeconds}`
              : error instanceof LeaseLost
                ? "LeaseLost"
                : String(error),
        );
        requests[name] = refused;
      }
      expect(outcomes).toEqual(Object.fromEntries(everyCall(pair).map(([name]) => [name, expected])));
      // Each gives up at the first failure: nothing is sent again another way (one by one, say).
      expect(requests).toEqual(Object.fromEntries(everyCall(pair).map(([name]) => [name, 1])));
      // Nothing moved: the queue is as it was, still leased by a.
      failure = null;
      expect(await queue.state(pair)).toMatchObject({ queued: 1, deliveredSeq: 0, parked: null });
      expect(await queue.renew(pair, "a", 120_000)).toBe(true);
    },
  );
});

describe("the delivery queue's batched and paged reads", () => {
  it("the states of more queues than one batch takes, leaving out those never used", async () => {
    const tenantId = `t-${randomUUID().slice(0, 8)}`;
    const used = Array.from({ length: 103 }, () => newPair(tenantId));
    for (let start = 0; start < used.length; start += 25) {
      await Promise.all(used.slice(start, start + 25).map((pair) => queue.enqueue(pair, entry(1), 0)));
    }
    const never = [newPair(tenantId), newPair(tenantId)];
    batchGets = 0;
    const states = await queue.states([...used, ...never, used[0] as DeliveryPair]);
    expect(batchGets).toBe(2);
    expect(states.map((found) => found.pair.opportunityId).sort()).toEqual(
      used.map((pair) => pair.opportunityId).sort(),
    );
    expect(states.every((found) => found.state.queued === 1)).toBe(true);
  });

  it("the failing index skips items it cannot read and still answers as many queues as asked", async () => {
    const tenantId = `t-${randomUUID().slice(0, 8)}`;
    const partition = keys.deliveriesFailingPartition(tenantId);
    // Sorted first, an item without an opportunity; sorted last, one of an unknown side.
    await table.doc.send(new PutCommand({ TableName: table.tableName, Item: { pk: partition, sk: "a#1" } }));
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { pk: partition, sk: "zz#1", opportunityId: "o-x", side: "erp" },
      }),
    );
    const failing = ["o-1", "o-2", "o-3"].map((opportunityId) => ({
      tenantId,
      opportunityId,
      side: "crm" as const,
    }));
    for (const pair of failing) {
      await queue.enqueue(pair, entry(1), 0);
      await queue.acquire(pair, "a", 0, 60_000);
      await queue.markWaiting(pair, "a", {
        attempts: 1,
        firstFailedAt: 1,
        nextAttemptAt: 2,
        lastError: "HTTP 500",
        target,
      });
    }
    // Two asked: the first page (two items) gives one queue, the second asks for one more only.
    expect(await queue.failing(tenantId, 2)).toEqual(failing.slice(0, 2));
    expect(await queue.failing(tenantId)).toEqual(failing);
  });
});
