import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StreamReader, startStreamReader } from "../../local/stream-reader.js";
import { createTestTable, type TestTable } from "../support/dynamo.js";

/** The local stream reader's `caughtUp()`, which tests wait on instead of sleeping (DynamoDB Local). */
describe("the local stream reader's caughtUp()", () => {
  let table: TestTable;
  let reader: StreamReader;
  /** Keys handed to the handler, recorded once the handler is done with them. */
  const handled: string[] = [];

  beforeAll(async () => {
    table = await createTestTable({ stream: true });
    reader = await startStreamReader({
      client: table.client,
      tableName: table.tableName,
      // Longer than a prompt answer takes: caughtUp() does not sit out the pause between polls.
      pollMs: 10_000,
      batchSize: 2,
      handle: async (event) => {
        // A slow handler: caughtUp() waits for it to return, not only for the records to be read.
        await new Promise((resolve) => setTimeout(resolve, 50));
        for (const record of event.Records) handled.push(String(record.dynamodb?.Keys?.sk?.S));
        return { batchItemFailures: [] };
      },
      onError: (error) => console.error("stream reader", error),
    });
  });
  afterAll(async () => {
    await reader?.stop();
    await table?.dispose();
  });

  it("resolves once every record written before the call has been handled, over several batches", async () => {
    for (const sk of ["a", "b", "c", "d", "e"]) {
      await table.doc.send(new PutCommand({ TableName: table.tableName, Item: { pk: "reader", sk } }));
    }
    await reader.caughtUp();
    expect(handled).toEqual(["a", "b", "c", "d", "e"]);

    await table.doc.send(new PutCommand({ TableName: table.tableName, Item: { pk: "reader", sk: "f" } }));
    await reader.caughtUp();
    expect(handled).toEqual(["a", "b", "c", "d", "e", "f"]);
  });

  it("resolves at once when nothing was written, and once the reader is stopped", async () => {
    await reader.caughtUp();
    await reader.stop();
    await reader.caughtUp();
    expect(handled).toHaveLength(6);
  });
});
