import { DynamoDBClient, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StorageBusy } from "../../domain/errors.js";
import type { OpportunityRecord } from "../../domain/model.js";
import { placeholderOpportunity } from "../../domain/records.js";
import { type BackfillReport, backfillPipelineList } from "../../infra/dynamodb/pipeline-backfill.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { localDynamoClientConfig } from "../../infra/dynamodb-local.js";
import { createTestTable, dynamoEndpoint, scanAll, type TestTable } from "../support/dynamo.js";

/**
 * `backfillPipelineList` on DynamoDB Local: pages of the scan, the report after each page, a
 * header a decision wrote meanwhile left to that decision, storage faults (made by middleware).
 */
let table: TestTable;
let client: DynamoDBClient;
let doc: DynamoDBDocumentClient;
let store: DynamoSyncStore;
/** Runs before each TransactWriteItems sent through `doc`; may throw in its place. */
let beforeTransaction: (() => Promise<void>) | null = null;
let throttleScans = false;

beforeAll(async () => {
  table = await createTestTable();
  client = new DynamoDBClient(localDynamoClientConfig(dynamoEndpoint()));
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === "ScanCommand" && throttleScans) {
        throw Object.assign(new Error("slow down"), { name: "ThrottlingException" });
      }
      if (context.commandName === "TransactWriteItemsCommand" && beforeTransaction) await beforeTransaction();
      return next(args);
    },
    { step: "initialize", name: "backfillFaults" },
  );
  doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  store = new DynamoSyncStore({ doc: table.doc, tableName: table.tableName });
});
afterAll(async () => {
  client.destroy();
  await table.dispose();
});

const opportunity = (tenantId: string, id: string, overrides: Partial<OpportunityRecord> = {}) => ({
  ...placeholderOpportunity(tenantId, id),
  known: true,
  stage: "Proposal",
  amount: "5.00",
  currency: "EUR",
  ...overrides,
});

/** Stores the opportunities as if before the list existed: no `listing`, no list item. */
async function olderOpportunities(tenantId: string, records: OpportunityRecord[]): Promise<void> {
  for (const record of records) {
    await store.commit({ tenantId, opportunity: { record }, quotes: [], outbox: [], audit: [] });
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { pk: `T#${tenantId}#O#${record.id}`, sk: "H" },
        UpdateExpression: "REMOVE listing",
      }),
    );
    await table.doc.send(
      new DeleteCommand({ TableName: table.tableName, Key: { pk: `T#${tenantId}#OPPS`, sk: record.id } }),
    );
  }
}

describe("backfillPipelineList (DynamoDB Local)", () => {
  it("pages the scan, reports after each page, lists only known undeleted opportunities", async () => {
    await olderOpportunities("bf1", [
      opportunity("bf1", "o-1"),
      opportunity("bf1", "o-2", { stage: "Closed Won" }),
      opportunity("bf1", "o-3", { deleted: true }),
      { ...placeholderOpportunity("bf1", "o-4") },
    ]);
    const items = (await scanAll(table.tableName)).length;
    const pages: BackfillReport[] = [];
    const report = await backfillPipelineList(doc, table.tableName, "bf1", {
      pageSize: 2,
      onPage: (page) => pages.push(page),
    });
    expect(report).toEqual({ scanned: items, headers: 4, listed: 2, written: 2, skipped: 0 });
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.at(-1)).toEqual(report);
    // Each page's report counts what was done so far: never more than the end's.
    for (const [index, page] of pages.entries()) {
      expect(page.scanned).toBeLessThanOrEqual(2 * (index + 1));
      expect(page.headers).toBeLessThanOrEqual(report.headers);
    }
    expect((await store.listPipelineEntries("bf1")).map((entry) => [entry.id, entry.stage])).toEqual([
      ["o-1", "Proposal"],
      ["o-2", "Closed Won"],
    ]);
  });

  it("leaves a header a decision wrote meanwhile to that decision (skipped, not overwritten)", async () => {
    await olderOpportunities("bf2", [opportunity("bf2", "o-1"), opportunity("bf2", "o-2")]);
    beforeTransaction = async () => {
      beforeTransaction = null;
      const loaded = await store.loadOpportunity("bf2", "o-1");
      await store.commit({
        tenantId: "bf2",
        opportunity: { record: { ...(loaded?.header as OpportunityRecord), stage: "Negotiation" } },
        quotes: [],
        outbox: [],
        audit: [],
      });
    };
    const report = await backfillPipelineList(doc, table.tableName, "bf2");
    expect(report).toMatchObject({ headers: 2, listed: 2, written: 1, skipped: 1 });
    expect((await store.listPipelineEntries("bf2")).map((entry) => [entry.id, entry.stage])).toEqual([
      ["o-1", "Negotiation"],
      ["o-2", "Proposal"],
    ]);
  });

  it("a throttled scan or write → StorageBusy", async () => {
    await olderOpportunities("bf3", [opportunity("bf3", "o-1")]);
    throttleScans = true;
    try {
      await expect(backfillPipelineList(doc, table.tableName, "bf3")).rejects.toBeInstanceOf(StorageBusy);
    } finally {
      throttleScans = false;
    }
    beforeTransaction = async () => {
      throw Object.assign(new Error("slow down"), { name: "ThrottlingException" });
    };
    try {
      await expect(backfillPipelineList(doc, table.tableName, "bf3")).rejects.toBeInstanceOf(StorageBusy);
    } finally {
      beforeTransaction = null;
    }
    expect(await store.listPipelineEntries("bf3")).toEqual([]);
  });

  it("a write cancelled for another reason than its condition is surfaced, not counted as skipped", async () => {
    await olderOpportunities("bf4", [opportunity("bf4", "o-1")]);
    beforeTransaction = async () => {
      beforeTransaction = null;
      throw new TransactionCanceledException({
        message: "Transaction cancelled",
        $metadata: {},
        CancellationReasons: [{ Code: "None" }, { Code: "TransactionConflict" }],
      });
    };
    await expect(backfillPipelineList(doc, table.tableName, "bf4")).rejects.toBeInstanceOf(
      TransactionCanceledException,
    );
    expect(await store.listPipelineEntries("bf4")).toEqual([]);
  });
});
