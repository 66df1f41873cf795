import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OpportunityRecord } from "../../domain/model.js";
import { placeholderOpportunity } from "../../domain/records.js";
import type { ChangeSet } from "../../domain/store.js";
import { ListingHints } from "../../infra/dynamodb/listing-hints.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { localDynamoClientConfig } from "../../infra/dynamodb-local.js";
import { createTestTable, dynamoEndpoint, type TestTable } from "../support/dynamo.js";

/**
 * When a commit writes an opportunity's pipeline list item (DynamoDB Local): only when its listing
 * changes from what this store read at the version the commit is conditioned on; otherwise (read
 * elsewhere, or at another version) always. And what the list holds: known, undeleted opportunities.
 */
let table: TestTable;
let client: DynamoDBClient;
let store: DynamoSyncStore;
/** The pipeline list items each TransactWriteItems the store sent put or deleted. */
const listWrites: string[][] = [];
let tenantCount = 0;

beforeAll(async () => {
  table = await createTestTable();
  client = new DynamoDBClient(localDynamoClientConfig(dynamoEndpoint()));
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === "TransactWriteItemsCommand") {
        const items = (
          args.input as {
            TransactItems: Array<
              Record<string, { Item?: { pk: { S: string } }; Key?: { pk: { S: string } } }>
            >;
          }
        ).TransactItems;
        listWrites.push(
          items.flatMap((item) =>
            Object.entries(item)
              .filter(([, body]) => (body.Item ?? body.Key)?.pk.S.endsWith("#OPPS"))
              .map(([operation]) => operation),
          ),
        );
      }
      return next(args);
    },
    { step: "serialize", name: "listWrites", priority: "low" },
  );
  store = new DynamoSyncStore({
    doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
    tableName: table.tableName,
  });
});
afterAll(async () => {
  client.destroy();
  await table.dispose();
});

function tenant(): string {
  return `lst${++tenantCount}`;
}

function commitOf(record: OpportunityRecord): ChangeSet {
  return { tenantId: record.tenantId, opportunity: { record }, quotes: [], outbox: [], audit: [] };
}

/** Commits `record` and returns the pipeline list writes its transaction held. */
async function commit(record: OpportunityRecord): Promise<string[]> {
  listWrites.length = 0;
  await store.commit(commitOf(record));
  expect(listWrites).toHaveLength(1);
  return listWrites[0] as string[];
}

async function read(tenantId: string): Promise<OpportunityRecord> {
  const loaded = await store.loadOpportunity(tenantId, "o-1");
  if (!loaded) throw new Error("not stored");
  return loaded.header;
}

const known = (tenantId: string): OpportunityRecord => ({
  ...placeholderOpportunity(tenantId, "o-1"),
  known: true,
  stage: "Prospecting",
  amount: "10.00",
  currency: "EUR",
});

describe("the pipeline list item, written with the header when its listing changes (DynamoDB Local)", () => {
  it("not rewritten when the listing is as this store read it at the version committed on", async () => {
    const tenantId = tenant();
    expect(await commit(known(tenantId))).toEqual(["Put"]);
    const header = await read(tenantId);
    expect(await commit({ ...header, name: "renamed" })).toEqual([]);
    // Version 2 was never read here: the listing it holds is not known, so the item is written.
    expect(await commit({ ...header, name: "again", version: 2 })).toEqual(["Put"]);
    // A stage move changes the listing.
    expect(await commit({ ...(await read(tenantId)), stage: "Closed Won" })).toEqual(["Put"]);
    expect(await store.listPipelineEntries(tenantId)).toEqual([
      expect.objectContaining({ id: "o-1", stage: "Closed Won", amount: "10.00", currency: "EUR" }),
    ]);
  });

  it("written by a store that did not read the header, though the listing is unchanged", async () => {
    const tenantId = tenant();
    await commit(known(tenantId));
    const header = await read(tenantId);
    // Another container (no hints of its own) on the same client, so its transaction is seen.
    const fresh = new DynamoSyncStore({
      doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
      tableName: table.tableName,
    });
    listWrites.length = 0;
    await fresh.commit(commitOf({ ...header, name: "elsewhere" }));
    expect(listWrites).toEqual([["Put"]]);
    expect(await store.listPipelineEntries(tenantId)).toEqual([expect.objectContaining({ id: "o-1" })]);
  });

  it("an opportunity not known yet is not listed, and its header writes leave the list alone", async () => {
    const tenantId = tenant();
    const placeholder = placeholderOpportunity(tenantId, "o-1");
    expect(await commit(placeholder)).toEqual([]);
    expect(await commit({ ...(await read(tenantId)), name: "still unknown" })).toEqual([]);
    expect(await store.listPipelineEntries(tenantId)).toEqual([]);
    expect(await commit({ ...(await read(tenantId)), known: true, stage: "S" })).toEqual(["Put"]);
    expect(await store.listPipelineEntries(tenantId)).toEqual([
      expect.objectContaining({ id: "o-1", stage: "S" }),
    ]);
  });

  it("a deleted opportunity leaves the list", async () => {
    const tenantId = tenant();
    await commit(known(tenantId));
    expect(await commit({ ...(await read(tenantId)), deleted: true })).toEqual(["Delete"]);
    expect(await store.listPipelineEntries(tenantId)).toEqual([]);
    expect(await store.listOpportunityIds(tenantId, null, 10)).toEqual({ entries: [], next: null });
  });
});

describe("the listings a store remembers (at most 2,000 headers, the least recently read forgotten first)", () => {
  const partition = (index: number) => `T#t#O#o-${index}`;

  it("keeps 2,000 headers; the 2,001st read forgets the one read longest ago, and only it", () => {
    const hints = new ListingHints();
    for (let index = 0; index < 2_000; index++) hints.note(partition(index), 1, `L${index}`);
    expect(hints.at(partition(0), 1)).toBe("L0");
    expect(hints.at(partition(1_999), 1)).toBe("L1999");

    hints.note(partition(2_000), 1, "L2000");
    expect(hints.at(partition(0), 1)).toBeUndefined();
    expect(hints.at(partition(1), 1)).toBe("L1");
    expect(hints.at(partition(2_000), 1)).toBe("L2000");
  });

  it("a header read again counts as read last: the next one forgotten is the oldest after it", () => {
    const hints = new ListingHints();
    for (let index = 0; index < 2_000; index++) hints.note(partition(index), 1, null);
    hints.note(partition(0), 2, "again");
    hints.note(partition(2_000), 1, null);
    expect(hints.at(partition(0), 2)).toBe("again");
    expect(hints.at(partition(1), 1)).toBeUndefined();
    expect(hints.at(partition(2), 1)).toBeNull();
  });

  it("answers the listing only at the version it was read at; a header not yet written has none", () => {
    const hints = new ListingHints();
    hints.note(partition(0), 3, "L");
    hints.note(partition(1), 1, 42);
    expect(hints.at(partition(0), 3)).toBe("L");
    expect(hints.at(partition(0), 2)).toBeUndefined();
    expect(hints.at(partition(1), 1)).toBeNull();
    expect(hints.at(partition(9), 1)).toBeUndefined();
    expect(hints.at(partition(9), null)).toBeNull();
  });
});
