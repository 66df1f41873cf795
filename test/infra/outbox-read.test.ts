import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { InvalidCursor } from "../../domain/errors.js";
import type { Mirror, MirrorLine } from "../../domain/model.js";
import { encodeOutboxCursor } from "../../domain/page-cursors.js";
import { keys, outboxSortKey } from "../../infra/dynamodb/keys.js";
import { entryCount, GAP_GRACE_MS, OutboxLog, splitMirror } from "../../infra/dynamodb/outbox.js";
import { localDynamoClientConfig } from "../../infra/dynamodb-local.js";
import { createTestTable, dynamoEndpoint, type TestTable } from "../support/dynamo.js";

/**
 * The tenant outbox as a connector polls it (`OutboxLog.read`), on DynamoDB Local with entries,
 * voids and gaps written by the test and a clock it sets: order, paging, what a cursor means, and
 * where a read stops before a number still being committed. And how a large mirror is split.
 */
let table: TestTable;
let client: DynamoDBClient;
let outbox: OutboxLog;
const now = Date.UTC(2026, 10, 30, 12, 0, 0);
let queries = 0;

beforeAll(async () => {
  table = await createTestTable();
  client = new DynamoDBClient(localDynamoClientConfig(dynamoEndpoint()));
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === "QueryCommand") queries++;
      return next(args);
    },
    { step: "initialize", name: "countQueries" },
  );
  outbox = new OutboxLog(DynamoDBDocumentClient.from(client), table.tableName, () => now);
});
beforeEach(() => {
  queries = 0;
});
afterAll(async () => {
  client.destroy();
  await table.dispose();
});

const mirror = (tag: string): Mirror => ({
  target: "crm",
  opportunityId: "o",
  quoteId: "q",
  quote: { syncing: true, fields: { tag } },
});

/** A tenant whose outbox holds `items` (an entry tagged, a void, or nothing: a gap) and counter `counter`. */
async function tenantWith(
  items: Array<{ sequence: number; tag?: string; void?: true; ageMs?: number }>,
  counter = Math.max(0, ...items.map((item) => item.sequence)),
): Promise<string> {
  const tenantId = `t-${randomUUID().slice(0, 8)}`;
  for (const item of items) {
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          pk: keys.outboxPartition(tenantId),
          sk: outboxSortKey(item.sequence),
          at: new Date(now - (item.ageMs ?? 1_000)).toISOString(),
          ...(item.void ? { void: true } : { mirror: mirror(item.tag ?? String(item.sequence)) }),
        },
      }),
    );
  }
  await table.doc.send(
    new PutCommand({ TableName: table.tableName, Item: { ...keys.outboxCounter(tenantId), seq: counter } }),
  );
  return tenantId;
}

const tags = (page: { entries: Array<{ mirror: Mirror }> }) =>
  page.entries.map((entry) => entry.mirror.quote?.fields?.tag);
const cursor = encodeOutboxCursor;

describe("reading the outbox", () => {
  it("pages in number order, skipping voids but moving past them", async () => {
    const tenantId = await tenantWith([
      { sequence: 1, tag: "a" },
      { sequence: 2, void: true },
      { sequence: 3, tag: "b" },
      { sequence: 4, tag: "c" },
      { sequence: 5, void: true },
    ]);
    const first = await outbox.read(tenantId, null, 2);
    expect(tags(first)).toEqual(["a", "b"]);
    expect(first.entries.map((entry) => entry.cursor)).toEqual([cursor(tenantId, 1), cursor(tenantId, 3)]);
    expect(first.next).toBe(cursor(tenantId, 3));
    const rest = await outbox.read(tenantId, first.next, 2);
    expect(tags(rest)).toEqual(["c"]);
    // The trailing void is passed too: the next poll starts after it.
    expect(rest.next).toBe(cursor(tenantId, 5));
    queries = 0;
    const idle = await outbox.read(tenantId, rest.next, 2);
    expect(idle).toEqual({ entries: [], next: cursor(tenantId, 5) });
    // An idle poll is one query: its cursor's own entry and nothing after it.
    expect(queries).toBe(1);
  });

  it("a cursor's own entry is not read again, written or void", async () => {
    const tenantId = await tenantWith([
      { sequence: 1, tag: "a" },
      { sequence: 2, void: true },
      { sequence: 3, tag: "b" },
    ]);
    expect(tags(await outbox.read(tenantId, cursor(tenantId, 1), 10))).toEqual(["b"]);
    expect(tags(await outbox.read(tenantId, cursor(tenantId, 2), 10))).toEqual(["b"]);
    expect(tags(await outbox.read(tenantId, cursor(tenantId, 3), 10))).toEqual([]);
    // A cursor at a number whose entry is missing: what follows it is read, not taken for the cursor.
    const holed = await tenantWith([
      { sequence: 1, tag: "a" },
      { sequence: 3, tag: "c", ageMs: GAP_GRACE_MS },
    ]);
    expect(tags(await outbox.read(holed, cursor(holed, 2), 10))).toEqual(["c"]);
  });

  it("many voids between entries: as many entries as asked, however many queries that takes", async () => {
    const items = [
      { sequence: 1, tag: "a" },
      ...Array.from({ length: 6 }, (_, index) => ({ sequence: index + 2, void: true as const })),
      { sequence: 8, tag: "b" },
      { sequence: 9, tag: "c" },
    ];
    const tenantId = await tenantWith(items);
    const page = await outbox.read(tenantId, null, 2);
    expect(tags(page)).toEqual(["a", "b"]);
    expect(page.next).toBe(cursor(tenantId, 8));
    expect(queries).toBeGreaterThan(1);
  });

  it("stops before a gap a writer may still fill, and passes it once the grace period is over", async () => {
    const recent = await tenantWith([
      { sequence: 1, tag: "a" },
      { sequence: 3, tag: "c", ageMs: 1_000 },
    ]);
    const stopped = await outbox.read(recent, null, 10);
    expect(tags(stopped)).toEqual(["a"]);
    expect(stopped.next).toBe(cursor(recent, 1));
    // The entry after the gap was written just under the grace period ago: still waited for.
    const edge = await tenantWith([
      { sequence: 1, tag: "a" },
      { sequence: 3, tag: "c", ageMs: GAP_GRACE_MS - 1 },
    ]);
    expect(tags(await outbox.read(edge, null, 10))).toEqual(["a"]);
    const old = await tenantWith([
      { sequence: 1, tag: "a" },
      { sequence: 3, tag: "c", ageMs: GAP_GRACE_MS },
    ]);
    const passed = await outbox.read(old, null, 10);
    expect(tags(passed)).toEqual(["a", "c"]);
    expect(passed.next).toBe(cursor(old, 3));
    // A gap right after the cursor is waited for too.
    expect(await outbox.read(recent, cursor(recent, 1), 10)).toEqual({
      entries: [],
      next: cursor(recent, 1),
    });
  });

  it("a cursor no number was given for is refused; one at the counter with nothing written yet is idle", async () => {
    const tenantId = await tenantWith([{ sequence: 1, tag: "a" }], 4);
    // 2 to 4 were handed out and are still being written: a cursor there is this outbox's.
    expect(await outbox.read(tenantId, cursor(tenantId, 4), 10)).toEqual({
      entries: [],
      next: cursor(tenantId, 4),
    });
    const past = outbox.read(tenantId, cursor(tenantId, 5), 10);
    await expect(past).rejects.toBeInstanceOf(InvalidCursor);
    await expect(past).rejects.toThrow("the cursor is past the end of this tenant's outbox");
    // An empty outbox read from the beginning is idle, with no cursor to give back.
    const empty = await tenantWith([], 0);
    expect(await outbox.read(empty, null, 10)).toEqual({ entries: [], next: null });
  });
});

describe("splitting a large mirror into entries", () => {
  const lines = (count: number): MirrorLine[] =>
    Array.from({ length: count }, (_, index) => ({ syncKey: `k${index}` }) as unknown as MirrorLine);

  it("keeps a mirror of up to 400 upserts whole", () => {
    const whole: Mirror = { ...mirror("w"), lines: { upsert: lines(400), delete: ["d1"] } };
    expect(splitMirror(whole)).toEqual([whole]);
    expect(entryCount([whole, mirror("x")])).toBe(2);
  });

  it("splits more into entries of 400, deletes and headers in the first only", () => {
    const large: Mirror = {
      ...mirror("l"),
      opportunity: { amount: "1.00", amountLocked: true, syncedQuoteId: "q" },
      lines: { upsert: lines(900), delete: ["d1", "d2"] },
    };
    const parts = splitMirror(large);
    expect(parts.map((part) => part.lines?.upsert.length)).toEqual([400, 400, 100]);
    expect(parts.map((part) => part.lines?.delete)).toEqual([["d1", "d2"], [], []]);
    expect(parts.map((part) => [part.opportunity !== undefined, part.quote !== undefined])).toEqual([
      [true, true],
      [false, false],
      [false, false],
    ]);
    expect(parts.flatMap((part) => part.lines?.upsert.map((line) => line.syncKey))).toEqual(
      lines(900).map((line) => line.syncKey),
    );
    expect(parts.every((part) => part.target === "crm" && part.opportunityId === "o")).toBe(true);
    expect(entryCount([large, mirror("x")])).toBe(4);
    // A large mirror without deletes gets empty ones.
    const noDeletes: Mirror = { ...mirror("n"), lines: { upsert: lines(401) } as Mirror["lines"] };
    expect(splitMirror(noDeletes).map((part) => part.lines?.delete)).toEqual([[], []]);
  });
});
