import { gzipSync } from "node:zlib";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { OpportunityRecord, QuoteRecord, StoredLine, SyncResponse } from "../../domain/model.js";
import { placeholderOpportunity, placeholderQuote } from "../../domain/records.js";
import { demoTenant, TenantConfig } from "../../domain/tenant.js";
import { keys } from "../../infra/dynamodb/keys.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { localDynamoClientConfig } from "../../infra/dynamodb-local.js";
import { createTestTable, dynamoEndpoint, type TestTable } from "../support/dynamo.js";
import { aStoredLine } from "../support/stored-line.js";

/**
 * The adapter's reads on DynamoDB Local, call by call (a middleware records every command): the
 * targeted pair read (`loadPairLines`) with its generation hints, whole-partition reads, a
 * opportunity's quotes, audit pages, and what registering a tenant starts.
 */
let table: TestTable;
let client: DynamoDBClient;
let doc: DynamoDBDocumentClient;
/** A page size forced on every Query while set, so a partition read takes several pages. */
let pageLimit: number | null = null;
const sent: Array<{ command: string; input: Record<string, unknown> }> = [];
const TENANT = "pr";

/** A store with nothing remembered (no generation, header or listing hints), on the recording client. */
const freshStore = () => new DynamoSyncStore({ doc, tableName: table.tableName });

const calls = (command?: string) =>
  sent.filter((call) => command === undefined || call.command === command).map((call) => call.input);

const quoteLine = (syncKey: string, quantity: string): StoredLine =>
  aStoredLine(syncKey, { quantity, changedBy: "cpq" });
const crmLine = (syncKey: string, quantity: string): StoredLine =>
  aStoredLine(syncKey, { id: `crm-${syncKey}`, quantity, changedBy: "crm" });

/** Opportunity `opportunityId` and its quote `quoteId`, each with lines k1..k`count` (different quantities per side). */
async function pair(opportunityId: string, quoteId: string, count = 3): Promise<void> {
  const syncKeys = Array.from({ length: count }, (_, index) => `k${index + 1}`);
  const opportunity: OpportunityRecord = {
    ...placeholderOpportunity(TENANT, opportunityId),
    known: true,
    stage: "S",
  };
  const quote: QuoteRecord = { ...placeholderQuote(TENANT, quoteId), known: true, opportunityId };
  const all = (line: (key: string, quantity: string) => StoredLine, quantity: string) =>
    new Map(syncKeys.map((key) => [key, line(key, quantity)]));
  await freshStore().commit({
    tenantId: TENANT,
    opportunity: {
      record: opportunity,
      lines: { all: all(crmLine, "2"), changed: new Set(syncKeys) },
    },
    quotes: [
      {
        record: quote,
        linked: true,
        lines: { all: all(quoteLine, "1"), changed: new Set(syncKeys) },
      },
    ],
    outbox: [],
    audit: [],
  });
}

/**
 * A replace switched the quote in `partition` to generation 1 holding k1 (quantity 9) alone, and
 * its cleanup has not run: generation 0's lines are still there.
 */
async function switchToGenerationOne(partition: string): Promise<void> {
  await doc.send(
    new UpdateCommand({
      TableName: table.tableName,
      Key: { pk: partition, sk: keys.header },
      UpdateExpression: "SET #record.lineGeneration = :generation, #version = #version + :one",
      ExpressionAttributeNames: { "#record": "record", "#version": "version" },
      ExpressionAttributeValues: { ":generation": "1", ":one": 1 },
    }),
  );
  await doc.send(
    new PutCommand({
      TableName: table.tableName,
      Item: { pk: partition, sk: keys.line("1", "k1"), line: quoteLine("k1", "9") },
    }),
  );
}

beforeAll(async () => {
  table = await createTestTable();
  client = new DynamoDBClient(localDynamoClientConfig(dynamoEndpoint()));
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (pageLimit !== null && context.commandName === "QueryCommand")
        (args.input as { Limit?: number }).Limit = pageLimit;
      sent.push({
        command: String(context.commandName).replace(/Command$/, ""),
        input: structuredClone(args.input as Record<string, unknown>),
      });
      return next(args);
    },
    { step: "initialize", name: "recordCommands" },
  );
  doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
});
beforeEach(() => {
  sent.length = 0;
  pageLimit = null;
});
afterAll(async () => {
  client.destroy();
  await table.dispose();
});

describe("the targeted pair read", () => {
  it("reads the headers first, then the lines under the generations they name; once known, in one call", async () => {
    await pair("o-1", "q-1");
    const store = freshStore();
    sent.length = 0;
    const first = await store.loadPairLines(TENANT, {
      quoteId: "q-1",
      opportunityId: "o-1",
      syncKeys: ["k2"],
    });
    // Nothing known yet: one call for the two headers (no guessed line keys), one for k2 on each side.
    expect(calls().map((input) => keysOf(input))).toEqual([
      [`T#${TENANT}#Q#q-1 H`, `T#${TENANT}#O#o-1 H`],
      [`T#${TENANT}#Q#q-1 L#0#k2`, `T#${TENANT}#O#o-1 L#0#k2`],
    ]);
    // Each side gets its own line, and only the one asked for.
    expect([...(first.quote?.lines.values() ?? [])]).toEqual([quoteLine("k2", "1")]);
    expect([...(first.opportunity?.lines.values() ?? [])]).toEqual([crmLine("k2", "2")]);
    expect(first.quote?.header).toMatchObject({ id: "q-1", opportunityId: "o-1", version: 1 });
    expect(first.opportunity?.header).toMatchObject({ id: "o-1", version: 1 });
    expect(first).not.toHaveProperty("processed");

    // The generations are now known: headers and lines in one call.
    sent.length = 0;
    const again = await store.loadPairLines(TENANT, {
      quoteId: "q-1",
      opportunityId: "o-1",
      syncKeys: ["k3", "k1"],
    });
    expect(calls().map((input) => keysOf(input))).toEqual([
      [
        `T#${TENANT}#Q#q-1 H`,
        `T#${TENANT}#Q#q-1 L#0#k3`,
        `T#${TENANT}#Q#q-1 L#0#k1`,
        `T#${TENANT}#O#o-1 H`,
        `T#${TENANT}#O#o-1 L#0#k3`,
        `T#${TENANT}#O#o-1 L#0#k1`,
      ],
    ]);
    // In key order, whatever order they were asked or answered in.
    expect([...(again.quote?.lines.keys() ?? [])]).toEqual(["k1", "k3"]);
    expect([...(again.opportunity?.lines.values() ?? [])]).toEqual([crmLine("k1", "2"), crmLine("k3", "2")]);
    // Every read of it is strongly consistent.
    expect(calls("BatchGetItem").every((input) => consistent(input))).toBe(true);
  });

  it("answers the event's stored response when it was processed, null when not; the key is read with the pair", async () => {
    await pair("o-2", "q-2");
    const response: SyncResponse = { status: "applied", mirrors: [], opportunityId: "o-2", quoteId: "q-2" };
    await doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...keys.processedEvent(TENANT, "cpq#e-1"), response: JSON.stringify(response) },
      }),
    );
    const store = freshStore();
    const read = (eventKey: string) =>
      store.loadPairLines(TENANT, { quoteId: "q-2", opportunityId: "o-2", syncKeys: ["k1"], eventKey });
    sent.length = 0;
    const seen = await read("cpq#e-1");
    expect(seen.processed).toEqual(response);
    // The event's key goes with the headers, in the first call.
    expect(keysOf(calls()[0] ?? {})).toEqual([
      `T#${TENANT}#E#cpq#e-1 E`,
      `T#${TENANT}#Q#q-2 H`,
      `T#${TENANT}#O#o-2 H`,
    ]);
    // The processed item is neither a header nor a line.
    expect(seen.quote?.header).toMatchObject({ id: "q-2", opportunityId: "o-2" });
    expect(seen.opportunity?.header).toMatchObject({ id: "o-2" });
    expect([...(seen.quote?.lines.keys() ?? [])]).toEqual(["k1"]);
    const unseen = await read("cpq#e-2");
    expect(unseen).toHaveProperty("processed", null);
  });

  it("a side whose generation moved since it was last seen has its lines read again under the new one", async () => {
    await pair("o-3", "q-3");
    const store = freshStore();
    await store.loadPairLines(TENANT, { quoteId: "q-3", opportunityId: "o-3", syncKeys: ["k1"] });
    const partition = keys.quotePartition(TENANT, "q-3");
    await switchToGenerationOne(partition);
    sent.length = 0;
    const read = await store.loadPairLines(TENANT, {
      quoteId: "q-3",
      opportunityId: "o-3",
      syncKeys: ["k1", "k2"],
    });
    // Guessed generation 0 for both sides; the quote's header says 1: its keys are read again.
    expect(calls().map((input) => keysOf(input))).toEqual([
      [
        `${partition} H`,
        `${partition} L#0#k1`,
        `${partition} L#0#k2`,
        `T#${TENANT}#O#o-3 H`,
        `T#${TENANT}#O#o-3 L#0#k1`,
        `T#${TENANT}#O#o-3 L#0#k2`,
      ],
      [`${partition} L#1#k1`, `${partition} L#1#k2`],
    ]);
    // Only generation 1's lines: k2 of generation 0 is gone with the replace.
    expect([...(read.quote?.lines.values() ?? [])]).toEqual([quoteLine("k1", "9")]);
    expect(read.quote?.header).toMatchObject({ lineGeneration: "1", version: 2 });
    expect([...(read.opportunity?.lines.keys() ?? [])]).toEqual(["k1", "k2"]);
  });

  it("more keys than one BatchGetItem takes are read in batches of 100", async () => {
    await pair("o-6", "q-6", 60);
    const syncKeys = Array.from({ length: 60 }, (_, index) => `k${index + 1}`);
    sent.length = 0;
    const read = await freshStore().loadPairLines(TENANT, { quoteId: "q-6", opportunityId: "o-6", syncKeys });
    expect(read.quote?.lines.size).toBe(60);
    expect(read.opportunity?.lines.size).toBe(60);
    expect(calls("BatchGetItem").map((input) => keysOf(input).length)).toEqual([2, 100, 20]);
  });

  it("a side that does not exist is null, and no line of it is read", async () => {
    await pair("o-4", "q-4");
    const store = freshStore();
    sent.length = 0;
    const read = await store.loadPairLines(TENANT, {
      quoteId: "q-none",
      opportunityId: "o-4",
      syncKeys: ["k1"],
    });
    expect(read.quote).toBeNull();
    expect(read.opportunity?.lines.size).toBe(1);
    expect(calls().map((input) => keysOf(input))).toEqual([
      [`T#${TENANT}#Q#q-none H`, `T#${TENANT}#O#o-4 H`],
      [`T#${TENANT}#O#o-4 L#0#k1`],
    ]);
  });
});

describe("whole reads", () => {
  it("a partition read in one page is one consistent Query, with no version re-check", async () => {
    await pair("o-5", "q-5");
    sent.length = 0;
    const quote = await freshStore().loadQuote(TENANT, "q-5");
    expect(quote?.lines.size).toBe(3);
    expect(sent.map((call) => call.command)).toEqual(["Query"]);
    expect(consistent(calls()[0] ?? {})).toBe(true);
  });

  it("a read of several pages checks the header's version once, consistently, when nothing changed meanwhile", async () => {
    await pair("o-7", "q-7", 5);
    pageLimit = 2;
    sent.length = 0;
    const quote = await freshStore().loadQuote(TENANT, "q-7");
    expect([...(quote?.lines.keys() ?? [])]).toEqual(["k1", "k2", "k3", "k4", "k5"]);
    const commands = sent.map((call) => call.command);
    expect(commands.filter((command) => command === "Query").length).toBeGreaterThan(1);
    expect(commands.at(-1)).toBe("GetItem");
    expect(commands.filter((command) => command === "GetItem")).toHaveLength(1);
    expect(calls().every((input) => consistent(input))).toBe(true);
  });

  it("a partition read keeps the lines of the header's generation only (another's left by an interrupted switch)", async () => {
    await pair("o-8", "q-8", 2);
    const partition = keys.quotePartition(TENANT, "q-8");
    await switchToGenerationOne(partition);
    const quote = await freshStore().loadQuote(TENANT, "q-8");
    expect([...(quote?.lines.values() ?? [])]).toEqual([quoteLine("k1", "9")]);
  });

  it("an opportunity's quotes: every one, however many, sorted by id, read consistently", async () => {
    const opportunityId = "o-many";
    const ids = Array.from({ length: 105 }, (_, index) => `q-${String(104 - index).padStart(3, "0")}`);
    const store = freshStore();
    for (let start = 0; start < ids.length; start += 20) {
      await Promise.all(
        ids.slice(start, start + 20).map((quoteId) =>
          store.commit({
            tenantId: TENANT,
            quotes: [
              {
                record: { ...placeholderQuote(TENANT, quoteId), known: true, opportunityId },
                linked: true,
              },
            ],
            outbox: [],
            audit: [],
          }),
        ),
      );
    }
    sent.length = 0;
    const quotes = await freshStore().listQuotesOfOpportunity(TENANT, opportunityId);
    expect(quotes.map((quote) => quote.id)).toEqual([...ids].sort());
    expect(quotes.every((quote) => quote.version === 1)).toBe(true);
    // The references in one Query, the headers in batches of at most 100 keys.
    expect(sent.map((call) => call.command)).toEqual(["Query", "BatchGetItem", "BatchGetItem"]);
    expect(calls("BatchGetItem").map((input) => keysOf(input).length)).toEqual([100, 5]);
    expect(calls().every((input) => consistent(input))).toBe(true);
  });

  it("a processed event's response is read consistently, compressed or not; an unknown one is null", async () => {
    const response: SyncResponse = { status: "no_change", mirrors: [] };
    await doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...keys.processedEvent(TENANT, "crm#e-9"), response: JSON.stringify(response) },
      }),
    );
    // A large response is stored gzip-compressed (binary).
    const large: SyncResponse = { status: "applied", mirrors: [], opportunityId: "ö".repeat(2_000) };
    await doc.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...keys.processedEvent(TENANT, "crm#e-11"), response: gzipSync(JSON.stringify(large)) },
      }),
    );
    sent.length = 0;
    expect(await freshStore().findProcessedEvent(TENANT, "crm#e-11")).toEqual(large);
    expect(await freshStore().findProcessedEvent(TENANT, "crm#e-9")).toEqual(response);
    expect(await freshStore().findProcessedEvent(TENANT, "crm#e-10")).toBeNull();
    expect(calls().every((input) => consistent(input))).toBe(true);
  });

  it("the audit's last page has no next cursor, even when it is full", async () => {
    const store = freshStore();
    const entries = [1, 2, 3].map((n) => ({
      opportunityId: "o-audit",
      entry: { at: `2026-11-30T10:00:0${n}.000Z`, type: "sync.started" as const, summary: `entry ${n}` },
    }));
    await store.commit({ tenantId: TENANT, quotes: [], outbox: [], audit: entries });
    const all = await store.readAudit(TENANT, "o-audit", null, 10);
    expect(all.entries.map((entry) => entry.summary)).toEqual(["entry 3", "entry 2", "entry 1"]);
    expect(all.next).toBeNull();
    const first = await store.readAudit(TENANT, "o-audit", null, 2);
    expect(first.entries).toHaveLength(2);
    expect(first.next).not.toBeNull();
    const rest = await store.readAudit(TENANT, "o-audit", first.next, 2);
    expect(rest.entries.map((entry) => entry.summary)).toEqual(["entry 1"]);
    expect(rest.next).toBeNull();
  });
});

describe("registering a tenant", () => {
  const cursor = async (tenantId: string) =>
    (
      await doc.send(
        new GetCommand({
          TableName: table.tableName,
          Key: { pk: `T#${tenantId}#D#DISPATCH`, sk: "CURSOR" },
          ConsistentRead: true,
        }),
      )
    ).Item;
  const webhook = { kind: "webhook", url: "https://hooks.example.com/in", secret: "s".repeat(32) };
  const tenant = (tenantId: string, crm: object, cpq: object) =>
    TenantConfig.parse({
      ...demoTenant({ crm: "c".repeat(16), cpq: "q".repeat(16) }),
      tenantId,
      connectors: { crm, cpq },
    });

  it("starts the dispatch cursor when either side delivers, and not when neither does", async () => {
    const store = freshStore();
    await store.putTenant(tenant("t-none", { kind: "native" }, { kind: "native" }));
    await store.putTenant(tenant("t-crm", { kind: "native", delivery: webhook }, { kind: "native" }));
    await store.putTenant(tenant("t-cpq", { kind: "native" }, { kind: "native", delivery: webhook }));
    expect(await cursor("t-none")).toBeUndefined();
    expect(await cursor("t-crm")).toBeDefined();
    expect(await cursor("t-cpq")).toBeDefined();
  });
});

/** `pk sk` of each key a BatchGetItem asked for, in its order. */
function keysOf(input: Record<string, unknown>): string[] {
  const request = input.RequestItems as Record<string, { Keys: Array<{ pk: string; sk: string }> }>;
  return Object.values(request).flatMap((table) => table.Keys.map((key) => `${key.pk} ${key.sk}`));
}

/** Whether a read asked for strong consistency (BatchGetItem: per table). */
function consistent(input: Record<string, unknown>): boolean {
  if ("ConsistentRead" in input) return input.ConsistentRead === true;
  const request = input.RequestItems as Record<string, { ConsistentRead?: boolean }> | undefined;
  return request !== undefined && Object.values(request).every((table) => table.ConsistentRead === true);
}
