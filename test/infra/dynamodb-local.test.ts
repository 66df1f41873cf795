import {
  ConditionalCheckFailedException,
  DescribeTableCommand,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTable } from "../../infra/create-table.js";
import { TABLE_DEFINITION } from "../../infra/table.js";
import { createTestTable, scanAll, type TestTable } from "../support/dynamo.js";

describe("DynamoDB Local (shared by the run)", () => {
  let table: TestTable;
  beforeAll(async () => {
    table = await createTestTable();
  });
  afterAll(async () => {
    await table?.dispose();
  });

  it("creates the table from TABLE_DEFINITION, ACTIVE, and ensureTable is idempotent", async () => {
    await ensureTable(table.client, table.tableName);
    const { Table } = await table.client.send(new DescribeTableCommand({ TableName: table.tableName }));
    expect(Table?.TableStatus).toBe("ACTIVE");
    expect(Table?.KeySchema).toEqual(TABLE_DEFINITION.KeySchema);
    expect(Table?.BillingModeSummary?.BillingMode).toBe("PAY_PER_REQUEST");
    expect(Table?.GlobalSecondaryIndexes?.map((index) => [index.IndexName, index.KeySchema])).toEqual([
      ["gsi1", TABLE_DEFINITION.GlobalSecondaryIndexes?.[0]?.KeySchema],
    ]);
    expect(Table?.GlobalSecondaryIndexes?.[0]?.Projection?.ProjectionType).toBe("KEYS_ONLY");
  });

  it("conditional put succeeds once, then raises ConditionalCheckFailedException and writes nothing", async () => {
    const put = (value: number) =>
      table.doc.send(
        new PutCommand({
          TableName: table.tableName,
          Item: { pk: "t#demo#quote#Q1", sk: "meta", value },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    await put(1);
    await expect(put(2)).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    const { Item } = await table.doc.send(
      new GetCommand({ TableName: table.tableName, Key: { pk: "t#demo#quote#Q1", sk: "meta" } }),
    );
    expect(Item).toEqual({ pk: "t#demo#quote#Q1", sk: "meta", value: 1 });
  });

  it("cancels a transaction atomically with CancellationReasons", async () => {
    const error = await table.doc
      .send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: table.tableName, Item: { pk: "t#demo#x", sk: "a" } } },
            {
              Put: {
                TableName: table.tableName,
                Item: { pk: "t#demo#quote#Q1", sk: "meta", value: 3 },
                ConditionExpression: "attribute_not_exists(pk)",
              },
            },
          ],
        }),
      )
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect((error as TransactionCanceledException).CancellationReasons?.map((reason) => reason.Code)).toEqual(
      ["None", "ConditionalCheckFailed"],
    );
    expect(await scanAll(table.tableName)).toEqual([{ pk: "t#demo#quote#Q1", sk: "meta", value: 1 }]);
  });

  it("isolates test files: another test table starts empty", async () => {
    const other = await createTestTable();
    try {
      expect(other.tableName).not.toBe(table.tableName);
      expect(await scanAll(other.tableName)).toEqual([]);
    } finally {
      await other.dispose();
    }
  });
});
