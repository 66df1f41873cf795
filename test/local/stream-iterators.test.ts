import { DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
} from "@aws-sdk/client-dynamodb-streams";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type StreamReader, startStreamReader } from "../../local/stream-reader.js";

/**
 * The local stream reader when an iterator dies: DynamoDB Local answered `TrimmedDataAccessException`
 * to a reader under load (four test workers), and the reader retried the same iterator until its
 * test timed out. Faults DynamoDB Local does not make on demand, so the Streams API is mocked here.
 */

const ARN = "arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/2026-11-30T00:00:00.000";

function record(sequence: string) {
  return {
    eventID: `e-${sequence}`,
    eventName: "INSERT" as const,
    dynamodb: { Keys: { pk: { S: "p" }, sk: { S: sequence } }, SequenceNumber: sequence },
  };
}

describe("the local stream reader when an iterator can no longer be read", () => {
  const table = mockClient(DynamoDBClient);
  const streams = mockClient(DynamoDBStreamsClient);
  const handled: string[] = [];
  const errors: string[] = [];
  let reader: StreamReader | undefined;

  beforeEach(() => {
    table.reset();
    streams.reset();
    handled.length = 0;
    errors.length = 0;
    table.on(DescribeTableCommand).resolves({ Table: { LatestStreamArn: ARN } });
    streams.on(DescribeStreamCommand).resolves({ StreamDescription: { Shards: [{ ShardId: "shard-1" }] } });
    streams
      .on(GetShardIteratorCommand, { ShardIteratorType: "LATEST" })
      .resolves({ ShardIterator: "latest" });
  });
  afterEach(async () => {
    await reader?.stop();
    reader = undefined;
  });

  const start = async () => {
    reader = await startStreamReader({
      client: new DynamoDBClient({ region: "us-east-1", endpoint: "http://127.0.0.1:9" }),
      tableName: "t",
      pollMs: 10_000,
      handle: async (event) => {
        for (const r of event.Records) handled.push(String(r.dynamodb?.SequenceNumber));
        return { batchItemFailures: [] };
      },
      onError: (error) => errors.push((error as Error).name),
    });
    return reader;
  };

  /** `caughtUp()`, or a failure after `ms` instead of the test's own long timeout. */
  const caughtUpWithin = (r: StreamReader, ms: number) =>
    Promise.race([
      r.caughtUp().then(() => "caught up"),
      new Promise((resolve) => setTimeout(() => resolve("still waiting"), ms)),
    ]);

  it("reads a trimmed shard again from its oldest record", async () => {
    streams
      .on(GetRecordsCommand, { ShardIterator: "latest" })
      .rejects(
        new TrimmedDataAccessException({ message: "read past the oldest stream record", $metadata: {} }),
      );
    streams
      .on(GetShardIteratorCommand, { ShardIteratorType: "TRIM_HORIZON" })
      .resolves({ ShardIterator: "oldest" });
    streams
      .on(GetRecordsCommand, { ShardIterator: "oldest" })
      .resolves({ Records: [record("101"), record("102")], NextShardIterator: "next" });
    streams
      .on(GetRecordsCommand, { ShardIterator: "next" })
      .resolves({ Records: [], NextShardIterator: "next" });

    expect(await caughtUpWithin(await start(), 5_000)).toBe("caught up");
    expect(handled).toEqual(["101", "102"]);
    expect(errors).toEqual(["TrimmedDataAccessException"]);
  });

  it("reads an expired iterator's shard again after the last record it handled", async () => {
    streams
      .on(GetRecordsCommand, { ShardIterator: "latest" })
      .resolves({ Records: [record("201")], NextShardIterator: "stale" });
    streams
      .on(GetRecordsCommand, { ShardIterator: "stale" })
      .rejects(new ExpiredIteratorException({ message: "iterator expired", $metadata: {} }));
    streams
      .on(GetShardIteratorCommand, { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", SequenceNumber: "201" })
      .resolves({ ShardIterator: "after-201" });
    streams
      .on(GetRecordsCommand, { ShardIterator: "after-201" })
      .resolves({ Records: [record("202")], NextShardIterator: "end" });
    streams
      .on(GetRecordsCommand, { ShardIterator: "end" })
      .resolves({ Records: [], NextShardIterator: "end" });

    expect(await caughtUpWithin(await start(), 5_000)).toBe("caught up");
    expect(handled).toEqual(["201", "202"]);
    expect(errors).toEqual(["ExpiredIteratorException"]);
  });

  it("keeps retrying the same iterator after any other error", async () => {
    let calls = 0;
    streams.on(GetRecordsCommand, { ShardIterator: "latest" }).callsFake(() => {
      calls++;
      if (calls === 1) throw Object.assign(new Error("busy"), { name: "InternalServerError" });
      return { Records: [record("301")], NextShardIterator: "done" };
    });
    streams
      .on(GetRecordsCommand, { ShardIterator: "done" })
      .resolves({ Records: [], NextShardIterator: "done" });

    expect(await caughtUpWithin(await start(), 5_000)).toBe("caught up");
    expect(handled).toEqual(["301"]);
    expect(errors).toEqual(["InternalServerError"]);
    expect(streams.commandCalls(GetShardIteratorCommand)).toHaveLength(1);
  });
});
