import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StorageBusy } from "../../domain/errors.js";
import type { Mirror } from "../../domain/model.js";
import {
  DISPATCH_STALLED_INDEX,
  DispatchCursors,
  outboxSource,
} from "../../infra/dynamodb/dispatch-cursor.js";
import { OutboxLog } from "../../infra/dynamodb/outbox.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { localDynamoClientConfig } from "../../infra/dynamodb-local.js";
import { createTestTable, dynamoEndpoint, type TestTable } from "../support/dynamo.js";

/** Where dispatch stands in each tenant's outbox, on DynamoDB Local, through `DispatchCursors`. */
let table: TestTable;
let cursors: DispatchCursors;
let store: DynamoSyncStore;

beforeAll(async () => {
  table = await createTestTable();
  cursors = new DispatchCursors(table.doc, table.tableName);
  store = new DynamoSyncStore({ doc: table.doc, tableName: table.tableName });
});
afterAll(async () => {
  await table.dispose();
});

function newTenant(): string {
  return `t-${randomUUID().slice(0, 8)}`;
}

function mirror(opportunityId: string, amount: string): Mirror {
  return {
    target: "crm",
    opportunityId,
    quoteId: "q-1",
    opportunity: { amount, amountLocked: true, syncedQuoteId: "q-1" },
  };
}

async function cursorItem(tenantId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await table.doc.send(
    new GetCommand({
      TableName: table.tableName,
      Key: { pk: `T#${tenantId}#D#DISPATCH`, sk: "CURSOR" },
      ConsistentRead: true,
    }),
  );
  return Item;
}

async function allStalled(): Promise<string[]> {
  const found: string[] = [];
  let next: Record<string, unknown> | undefined;
  do {
    const page = await cursors.stalled(2, next);
    expect(page.tenantIds.length).toBeLessThanOrEqual(2);
    found.push(...page.tenantIds);
    next = page.next;
  } while (next);
  return found;
}

describe("DispatchCursors on DynamoDB Local", () => {
  it("has no cursor before the first delivery; advances it, never backwards", async () => {
    const tenantId = newTenant();
    expect(await cursors.get(tenantId)).toBeNull();
    await cursors.advance(tenantId, 5);
    expect(await cursors.get(tenantId)).toBe(5);
    expect(await cursorItem(tenantId)).toMatchObject({ seq: 5, tenantId });
    await cursors.advance(tenantId, 3);
    await cursors.advance(tenantId, 5);
    expect(await cursors.get(tenantId)).toBe(5);
    await cursors.advance(tenantId, 9);
    expect(await cursors.get(tenantId)).toBe(9);
  });

  it("starts a tenant after the last number its outbox handed out, unless it has a cursor", async () => {
    const fresh = newTenant();
    await cursors.startAtCounter(fresh);
    expect(await cursors.get(fresh)).toBe(0);

    const busy = newTenant();
    await store.commit({
      tenantId: busy,
      quotes: [],
      outbox: [mirror("o-1", "1.00"), mirror("o-2", "2.00")],
      audit: [],
    });
    const log = new OutboxLog(table.doc, table.tableName, Date.now);
    const handedOut = await log.counterValue(busy);
    expect(handedOut).toBeGreaterThanOrEqual(2);
    await cursors.startAtCounter(busy);
    expect(await cursors.get(busy)).toBe(handedOut);
    expect(await cursorItem(busy)).toMatchObject({ tenantId: busy });

    const started = newTenant();
    await cursors.advance(started, 4);
    await cursors.startAtCounter(started);
    expect(await cursors.get(started)).toBe(4);
  });

  it("marks and clears stalled tenants in a sparse index the retry pass pages through", async () => {
    const [a, b, c] = [newTenant(), newTenant(), newTenant()];
    await cursors.advance(a, 2);
    await cursors.markStalled(a);
    await cursors.markStalled(b);
    await cursors.markStalled(c);
    expect(await cursorItem(a)).toMatchObject({
      seq: 2,
      gsi1pk: DISPATCH_STALLED_INDEX,
      gsi1sk: a,
      tenantId: a,
    });
    expect(await cursorItem(b)).toMatchObject({ gsi1pk: "DELIVERIES#DISPATCH", gsi1sk: b, tenantId: b });
    const stalled = await allStalled();
    expect(stalled).toEqual(expect.arrayContaining([a, b, c]));
    await cursors.clearStalled(b);
    const item = await cursorItem(b);
    expect(item).not.toHaveProperty("gsi1pk");
    expect(item).not.toHaveProperty("gsi1sk");
    const after = await allStalled();
    expect(after).toEqual(expect.arrayContaining([a, c]));
    expect(after).not.toContain(b);
    expect(await cursors.get(a)).toBe(2);
    // Clearing a tenant that never had a cursor writes nothing.
    const none = newTenant();
    await cursors.clearStalled(none);
    expect(await cursorItem(none)).toBeUndefined();
  });
});

describe("outboxSource: the outbox as dispatch reads it", () => {
  it("reads entries by number after a position, and says how far it read", async () => {
    const tenantId = newTenant();
    await store.commit({
      tenantId,
      quotes: [],
      outbox: [mirror("o-1", "1.00"), mirror("o-2", "2.00"), mirror("o-3", "3.00")],
      audit: [],
    });
    const log = new OutboxLog(table.doc, table.tableName, Date.now);
    const source = outboxSource(log);
    const all = await source.readAfter(tenantId, 0, 10);
    expect(all.entries.map((entry) => entry.mirror.opportunity?.amount)).toEqual(["1.00", "2.00", "3.00"]);
    const numbers = all.entries.map((entry) => entry.sequence);
    expect(numbers).toEqual([...numbers].sort((x, y) => x - y));
    for (const entry of all.entries) {
      expect(entry.tenantId).toBe(tenantId);
      expect(entry.entryId).toBe(String(entry.sequence));
      expect(typeof entry.cursor).toBe("string");
      expect(Number.isNaN(Date.parse(entry.at))).toBe(false);
    }
    const [first, second, third] = numbers as [number, number, number];
    const page = await source.readAfter(tenantId, first, 1);
    expect(page.entries.map((entry) => entry.sequence)).toEqual([second]);
    expect(page.last).toBe(second);
    const rest = await source.readAfter(tenantId, second, 10);
    expect(rest.entries.map((entry) => entry.sequence)).toEqual([third]);
    const empty = await source.readAfter(tenantId, third, 10);
    expect(empty.entries).toEqual([]);
    expect(empty.last).toBeGreaterThanOrEqual(third);
    expect(await source.lastHandedOut(tenantId)).toBe(await log.counterValue(tenantId));
    expect(await source.lastHandedOut(tenantId)).toBeGreaterThanOrEqual(third);
  });
});

describe("DispatchCursors when DynamoDB throttles (faults by middleware)", () => {
  it("every call answers StorageBusy; a throttle is not taken for a refused condition", async () => {
    const client = new DynamoDBClient(localDynamoClientConfig(dynamoEndpoint()));
    client.middlewareStack.add(
      () => async () => {
        throw Object.assign(new Error("slow down"), { name: "ThrottlingException" });
      },
      { step: "initialize", name: "throttleAll" },
    );
    try {
      const throttled = new DispatchCursors(DynamoDBDocumentClient.from(client), table.tableName);
      const tenantId = newTenant();
      const calls: Array<[string, () => Promise<unknown>]> = [
        ["get", () => throttled.get(tenantId)],
        ["advance", () => throttled.advance(tenantId, 3)],
        ["startAtCounter", () => throttled.startAtCounter(tenantId)],
        ["markStalled", () => throttled.markStalled(tenantId)],
        ["clearStalled", () => throttled.clearStalled(tenantId)],
        ["stalled", () => throttled.stalled(10)],
      ];
      for (const [name, call] of calls) {
        const outcome = await call().then(
          () => "resolved",
          (error: unknown) => (error instanceof StorageBusy ? "StorageBusy" : String(error)),
        );
        expect([name, outcome]).toEqual([name, "StorageBusy"]);
      }
      expect(await cursors.get(tenantId)).toBeNull();
    } finally {
      client.destroy();
    }
  });
});

describe("DispatchCursors' reads (DynamoDB Local, requests watched by middleware)", () => {
  it("reads the cursor and the outbox counter consistently; an empty outbox read from 0 stays at 0", async () => {
    const client = new DynamoDBClient(localDynamoClientConfig(dynamoEndpoint()));
    const reads: unknown[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "GetItemCommand")
          reads.push((args.input as { ConsistentRead?: boolean }).ConsistentRead);
        return next(args);
      },
      { step: "initialize", name: "watchReads" },
    );
    try {
      const watched = new DispatchCursors(DynamoDBDocumentClient.from(client), table.tableName);
      const tenantId = newTenant();
      await watched.get(tenantId);
      await watched.startAtCounter(tenantId);
      expect(reads).toEqual([true, true]);
      const source = outboxSource(new OutboxLog(table.doc, table.tableName, Date.now));
      expect(await source.readAfter(newTenant(), 0, 10)).toEqual({ entries: [], last: 0 });
    } finally {
      client.destroy();
    }
  });
});
