import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConcurrentModification, StorageBusy } from "../../domain/errors.js";
import type { Mirror, QuoteRecord, StoredLine } from "../../domain/model.js";
import { placeholderQuote } from "../../domain/records.js";
import type { ChangeSet, LineSetChange } from "../../domain/store.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { localDynamoClientConfig } from "../../infra/dynamodb-local.js";
import { createTestTable, dynamoEndpoint, outboxGaps, partition, type TestTable } from "../support/dynamo.js";
import { aStoredLine } from "../support/stored-line.js";

/**
 * How a commit numbers its outbox entries on DynamoDB Local: with the numbers `beginCommit` took
 * ahead (beside line batches that go in one wave), or with fresh ones after longer batches; what
 * a begun commit may and may not do; and the generations a switched line set leaves behind.
 */
let table: TestTable;
let client: DynamoDBClient;
/** The commands the store sent, by name, since the last `calls.length = 0`. */
const calls: string[] = [];
let store: DynamoSyncStore;
/** Run around the store's calls, when set: before each transaction, after each counter update. */
const hooks: { beforeTransaction?: () => Promise<void>; afterCounter?: () => void } = {};
let tenantCount = 0;

beforeAll(async () => {
  table = await createTestTable();
  client = new DynamoDBClient(localDynamoClientConfig(dynamoEndpoint()));
  client.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(String(context.commandName));
      if (context.commandName === "TransactWriteItemsCommand" && hooks.beforeTransaction) {
        await hooks.beforeTransaction();
      }
      const result = await next(args);
      if (context.commandName === "UpdateItemCommand") hooks.afterCounter?.();
      return result;
    },
    { step: "initialize", name: "countCalls" },
  );
  store = new DynamoSyncStore({
    doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
    tableName: table.tableName,
  });
});
afterEach(() => {
  hooks.beforeTransaction = undefined;
  hooks.afterCounter = undefined;
});
afterAll(async () => {
  client.destroy();
  await table.dispose();
});

/** A tenant of its own per test: its own outbox and counter. */
function tenant(): string {
  return `num${++tenantCount}`;
}

const storedLine = (syncKey: string, name = `Line ${syncKey}`): StoredLine => aStoredLine(syncKey, { name });

function lineSet(count: number, prefix = "k", name?: string): LineSetChange {
  const all = new Map(
    Array.from({ length: count }, (_, index) => {
      const key = `${prefix}${String(index).padStart(3, "0")}`;
      return [key, storedLine(key, name)] as const;
    }),
  );
  return { all, changed: new Set(all.keys()) };
}

const mirror = (tag: string): Mirror => ({
  target: "crm",
  opportunityId: "o-1",
  quoteId: "q-1",
  quote: { syncing: true, fields: { tag } },
});

function quoteRecord(tenantId: string, version: number | null, lineGeneration = "0"): QuoteRecord {
  return { ...placeholderQuote(tenantId, "q-1"), known: true, version, lineGeneration };
}

/** A commit of quote q-1 with `lines` and one outbox entry. */
function quoteCommit(
  tenantId: string,
  lines: LineSetChange,
  record = quoteRecord(tenantId, null),
): ChangeSet {
  return { tenantId, quotes: [{ record, lines }], outbox: [mirror("lines")], audit: [] };
}

/** The tenant's outbox: entries' numbers and tags, void numbers, the counter. */
async function outbox(tenantId: string) {
  const items = await partition(table.tableName, `T#${tenantId}#OUTBOX`);
  const counter = await partition(table.tableName, `T#${tenantId}#OUTBOX#SEQ`);
  return {
    entries: items
      .filter((item) => !item.void)
      .map((item) => [Number(item.sk), (item.mirror as Mirror).quote?.fields?.tag]),
    voids: items.filter((item) => item.void).map((item) => Number(item.sk)),
    counter: Number(counter[0]?.seq ?? 0),
  };
}

/** The line generations present in q-1's partition, with how many lines each holds. */
async function generations(tenantId: string): Promise<Record<string, number>> {
  const items = await partition(table.tableName, `T#${tenantId}#Q#q-1`);
  const counts: Record<string, number> = {};
  for (const item of items) {
    const sk = String(item.sk);
    if (!sk.startsWith("L#")) continue;
    const generation = sk.split("#")[1] as string;
    counts[generation] = (counts[generation] ?? 0) + 1;
  }
  return counts;
}

const count = (name: string) => calls.filter((call) => call === name).length;

describe("numbering a commit whose line set switches generation (DynamoDB Local)", () => {
  it("a set that goes in one wave (100 lines): its entry takes the number reserved ahead, nothing voided", async () => {
    const tenantId = tenant();
    const pending = store.beginCommit(tenantId, "big"); // a kind's first commit: one number ahead
    await pending.commit(quoteCommit(tenantId, lineSet(100)));
    expect(await outbox(tenantId)).toEqual({ entries: [[1, "lines"]], voids: [], counter: 1 });
    const loaded = await store.loadQuote(tenantId, "q-1");
    expect(loaded?.lines.size).toBe(100);
    expect(loaded?.header.lineGeneration).not.toBe("0");
  });

  it("a longer set (101 lines): the reserved number is voided and the entry numbered after the batches", async () => {
    const tenantId = tenant();
    const pending = store.beginCommit(tenantId, "big");
    await pending.commit(quoteCommit(tenantId, lineSet(101)));
    expect(await outbox(tenantId)).toEqual({ entries: [[2, "lines"]], voids: [1], counter: 2 });
    expect(await outboxGaps(table.tableName, tenantId)).toEqual([]);
    expect((await store.loadQuote(tenantId, "q-1"))?.lines.size).toBe(101);
  });

  it("a replaced set leaves only its new generation; a refused one leaves only the old", async () => {
    const tenantId = tenant();
    await store.commit(quoteCommit(tenantId, lineSet(120, "a")));
    const first = await store.loadQuote(tenantId, "q-1");
    const firstGeneration = first?.header.lineGeneration as string;
    expect(await generations(tenantId)).toEqual({ [firstGeneration]: 120 });

    // Refused (the header is not at version 7): the lines written under the new generation go.
    const renamed = lineSet(120, "a", "renamed");
    const refused = await store
      .commit(quoteCommit(tenantId, renamed, quoteRecord(tenantId, 7, firstGeneration)))
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ConcurrentModification);
    // The refused item named by the header it stands for.
    expect((refused as ConcurrentModification).context.items).toEqual(["quote q-1"]);
    expect(await generations(tenantId)).toEqual({ [firstGeneration]: 120 });

    // Written at the version read: the old generation goes.
    const version = first?.header.version as number;
    await store.commit(quoteCommit(tenantId, renamed, quoteRecord(tenantId, version, firstGeneration)));
    const second = await store.loadQuote(tenantId, "q-1");
    const secondGeneration = second?.header.lineGeneration as string;
    expect(secondGeneration).not.toBe(firstGeneration);
    expect(await generations(tenantId)).toEqual({ [secondGeneration]: 120 });
    expect([...(second?.lines.values() ?? [])].every((line) => line.name === "renamed")).toBe(true);
  });
});

describe("the numbers a decision takes ahead (DynamoDB Local)", () => {
  /**
   * A commit begun (its number reserved) in `tenantId`, then another writer's entry committed on
   * quote q-1 with the next number: the begun commit's reservation is older than that entry.
   */
  async function reservedBeforeAnotherWriter(tenantId: string) {
    const reserved = new Promise<void>((resolve) => {
      hooks.afterCounter = resolve;
    });
    const pending = store.beginCommit(tenantId, "relying");
    await reserved;
    hooks.afterCounter = undefined;
    const other = new DynamoSyncStore({ doc: table.doc, tableName: table.tableName });
    const read = await other.loadQuote(tenantId, "q-1");
    await other.commit({ ...quoteCommit(tenantId, lineSet(1), read?.header), outbox: [mirror("other")] });
    return pending;
  }

  it("a reservation it can see is older than a header's newest entry is replaced before the transaction", async () => {
    const tenantId = tenant();
    await store.commit(quoteCommit(tenantId, lineSet(1)));
    // The reservation is taken (number 2) before another writer commits an entry on the quote (3).
    const pending = await reservedBeforeAnotherWriter(tenantId);
    const loaded = await store.loadQuote(tenantId, "q-1"); // sees the header's number 3
    calls.length = 0;
    await pending.commit({
      tenantId,
      quotes: [],
      unchanged: [{ kind: "quote", id: "q-1", version: loaded?.header.version as number }],
      outbox: [mirror("relying")],
      audit: [],
    });
    // Known stale: voided and renumbered first, so one transaction, not a refused one and a retry.
    expect(count("TransactWriteItemsCommand")).toBe(1);
    expect(await outbox(tenantId)).toEqual({
      entries: [
        [1, "lines"],
        [3, "other"],
        [4, "relying"],
      ],
      voids: [2],
      counter: 4,
    });
  });

  it("a header read without any entry's number does not hide another header's newer one", async () => {
    const tenantId = tenant();
    // q-2: a header no entry was ever written with (no number on it).
    await store.commit({
      tenantId,
      quotes: [{ record: { ...placeholderQuote(tenantId, "q-2"), known: true } }],
      outbox: [],
      audit: [],
    });
    await store.commit(quoteCommit(tenantId, lineSet(1))); // q-1 holds number 1
    // The reservation is taken (2) before another writer commits an entry on q-1 (3).
    const pending = await reservedBeforeAnotherWriter(tenantId);
    const q1 = await store.loadQuote(tenantId, "q-1");
    const q2 = await store.loadQuote(tenantId, "q-2");
    calls.length = 0;
    await pending.commit({
      tenantId,
      quotes: [],
      unchanged: [
        { kind: "quote", id: "q-1", version: q1?.header.version as number },
        { kind: "quote", id: "q-2", version: q2?.header.version as number },
      ],
      outbox: [mirror("relying")],
      audit: [],
    });
    expect(count("TransactWriteItemsCommand")).toBe(1);
    expect((await outbox(tenantId)).entries.at(-1)).toEqual([4, "relying"]);
  });

  it("a kind expected to write no entry takes no number: no counter call before the commit", async () => {
    const tenantId = tenant();
    const nothing: ChangeSet = { tenantId, quotes: [], outbox: [], audit: [] };
    // Shares of commits with entries: 1 → 0.8 → 0.64 → 0.51 → 0.41.
    for (let index = 0; index < 4; index++) await store.beginCommit(tenantId, "echo").commit(nothing);
    const before = await outbox(tenantId);
    expect(before.counter).toBe(4);
    calls.length = 0;
    const pending = store.beginCommit(tenantId, "echo");
    await pending.abandon();
    expect(calls).toEqual([]);
    expect(await outbox(tenantId)).toEqual(before);
  });

  it("a begun commit ends once: a second commit or an abandon after it is refused", async () => {
    const tenantId = tenant();
    const pending = store.beginCommit(tenantId, "once");
    await pending.commit({ tenantId, quotes: [], outbox: [mirror("once")], audit: [] });
    await expect(
      pending.commit({ tenantId, quotes: [], outbox: [mirror("twice")], audit: [] }),
    ).rejects.toThrow("a begun commit ends once");
    await expect(pending.abandon()).rejects.toThrow("a begun commit ends once");
    const abandoned = store.beginCommit(tenantId, "once");
    await abandoned.abandon();
    await expect(abandoned.abandon()).rejects.toThrow("a begun commit ends once");
    const { entries } = await outbox(tenantId);
    expect(entries.map(([, tag]) => tag)).toEqual(["once"]);
  });

  it("a begun commit stays in its tenant: another tenant's changes are refused, its numbers voided", async () => {
    const tenantId = tenant();
    const elsewhere = tenant();
    const pending = store.beginCommit(tenantId, "tenant");
    await expect(
      pending.commit({ tenantId: elsewhere, quotes: [], outbox: [mirror("elsewhere")], audit: [] }),
    ).rejects.toThrow("a begun commit stays in its tenant");
    expect(await outbox(tenantId)).toEqual({ entries: [], voids: [1], counter: 1 });
    expect(await outbox(elsewhere)).toEqual({ entries: [], voids: [], counter: 0 });
  });

  it("numbers older than another writer's entry on every attempt: three transactions, then ConcurrentModification", async () => {
    const tenantId = tenant();
    await store.commit(quoteCommit(tenantId, lineSet(1)));
    const loaded = await store.loadQuote(tenantId, "q-1");
    const other = new DynamoSyncStore({ doc: table.doc, tableName: table.tableName });
    const relying = (tag: string): ChangeSet => ({
      tenantId,
      quotes: [],
      unchanged: [{ kind: "quote", id: "q-1", version: loaded?.header.version as number }],
      outbox: [mirror(tag)],
      audit: [],
    });
    // Before each of this store's transactions, another writer relying on the same version
    // commits an entry with a newer number: every attempt's numbers are older than it.
    let others = 0;
    hooks.beforeTransaction = async () => {
      await other.commit(relying(`other-${++others}`));
    };
    calls.length = 0;
    const error = await store.commit(relying("mine")).catch((caught: unknown) => caught);
    hooks.beforeTransaction = undefined;
    expect(error).toBeInstanceOf(ConcurrentModification);
    expect((error as ConcurrentModification).context.items).toEqual(["outbox sequence"]);
    expect(count("TransactWriteItemsCommand")).toBe(3);
    const { entries } = await outbox(tenantId);
    expect(entries.map(([, tag]) => tag)).toEqual(["lines", "other-1", "other-2", "other-3"]);
    expect(await outboxGaps(table.tableName, tenantId)).toEqual([]);
  });

  it("numbers that outlast the write deadline on every attempt: voided, no transaction, then StorageBusy", async () => {
    const tenantId = tenant();
    let now = Date.now();
    const clocked = new DynamoSyncStore({
      doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
      tableName: table.tableName,
      clock: () => now,
    });
    // Every counter update takes 25 s by the store's clock: past the 20 s write deadline.
    hooks.afterCounter = () => {
      now += 25_000;
    };
    calls.length = 0;
    const error = await clocked.commit(quoteCommit(tenantId, lineSet(1))).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StorageBusy);
    expect((error as StorageBusy).retryAfterSeconds).toBe(1);
    expect(count("UpdateItemCommand")).toBe(3);
    expect(count("TransactWriteItemsCommand")).toBe(0);
    expect(await outbox(tenantId)).toEqual({ entries: [], voids: [1, 2, 3], counter: 3 });
    expect(await clocked.loadQuote(tenantId, "q-1")).toBeNull();
  });
});
