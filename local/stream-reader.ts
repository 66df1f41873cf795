import { DescribeTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from "@aws-sdk/client-dynamodb-streams";
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";

/**
 * What Lambda's event source mapping does for the deployed `deliver` function, for DynamoDB Local:
 * reads the table's stream (DescribeStream, GetShardIterator, GetRecords) shard by shard and hands
 * each batch, as a genuine `DynamoDBStreamEvent`, to the handler. Records the handler reports as
 * failed are read again from there, as Lambda does with `ReportBatchItemFailures`. Not used deployed.
 */
export interface StreamReaderOptions {
  client: DynamoDBClient;
  tableName: string;
  region?: string;
  /** The handler, as Lambda would invoke it. */
  handle(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse | undefined>;
  /** Pause between polls of an idle shard (default 200 ms). */
  pollMs?: number;
  batchSize?: number;
  /**
   * Which records the handler gets, as the event source mapping's filter criteria decide deployed
   * (records that do not match are dropped without an invocation). Default: every record.
   */
  filter?: (record: DynamoDBRecord) => boolean;
  /** Start at the stream's end (`LATEST`, default) or its beginning (`TRIM_HORIZON`). */
  from?: "LATEST" | "TRIM_HORIZON";
  onError?(error: unknown): void;
}

export interface StreamReader {
  /** Stops polling and waits for the batch in progress. */
  stop(): Promise<void>;
  /**
   * Resolves once a round of polls that began after the call found no record in any shard: every
   * record written before the call has been handed to the handler, and the handler has returned.
   * (Resolves at once when the reader is stopped.)
   */
  caughtUp(): Promise<void>;
}

/** Starts reading the table's stream; resolves once every shard has an iterator. */
export async function startStreamReader(options: StreamReaderOptions): Promise<StreamReader> {
  const { Table } = await options.client.send(new DescribeTableCommand({ TableName: options.tableName }));
  const streamArn = Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`table ${options.tableName} has no stream`);
  const reading: Reading = {
    options,
    streamArn,
    streams: await streamsClientFor(options),
    iterators: new Map(),
    lastSequence: new Map(),
    stopped: false,
    rounds: 0,
    waiters: [],
  };
  await discoverShards(reading);
  const loop = pollUntilStopped(reading);
  return {
    async stop() {
      reading.stopped = true;
      reading.wake?.();
      await loop;
      reading.streams.destroy();
      for (const waiter of reading.waiters.splice(0)) waiter.resolve();
    },
    caughtUp() {
      if (reading.stopped) return Promise.resolve();
      return new Promise<void>((resolve) => {
        reading.waiters.push({ after: reading.rounds, resolve });
        // No need to sit out the pause between polls: the next round starts now (or as soon as the
        // round in progress ends).
        reading.hurry = true;
        reading.wake?.();
      });
    },
  };
}

/** One reader's state. */
interface Reading {
  options: StreamReaderOptions;
  streamArn: string;
  streams: DynamoDBStreamsClient;
  /** Shard id → the iterator to read next (null: the shard is closed and read to its end). */
  iterators: Map<string, string | null>;
  /** Shard id → the sequence number of the last record read and done with. */
  lastSequence: Map<string, string>;
  stopped: boolean;
  /** Ends the pause between polls early (set while pausing). */
  wake?: () => void;
  /** Skip the next pause between polls (a `caughtUp()` caller is waiting for a round). */
  hurry?: boolean;
  /** Rounds of polls begun so far. */
  rounds: number;
  /** `caughtUp()` callers: each waits for an idle round numbered above `after`. */
  waiters: Array<{ after: number; resolve: () => void }>;
}

/** A Streams client on the table client's endpoint, region and credentials. */
async function streamsClientFor(options: StreamReaderOptions): Promise<DynamoDBStreamsClient> {
  const endpoint = await options.client.config.endpoint?.();
  return new DynamoDBStreamsClient({
    region: options.region ?? (await options.client.config.region()),
    credentials: options.client.config.credentials,
    ...(endpoint
      ? { endpoint: `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}${endpoint.path}` }
      : {}),
  });
}

async function discoverShards(reading: Reading): Promise<void> {
  const { streams, streamArn, iterators } = reading;
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  for (const shard of StreamDescription?.Shards ?? []) {
    const shardId = shard.ShardId as string;
    if (iterators.has(shardId)) continue;
    // A shard that appears after the reader started holds records written since: read it whole.
    const type =
      iterators.size === 0 && (reading.options.from ?? "LATEST") === "LATEST" ? "LATEST" : "TRIM_HORIZON";
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: type }),
    );
    iterators.set(shardId, ShardIterator ?? null);
  }
}

/**
 * A fresh iterator for a shard whose iterator can no longer be read, as Lambda's poller gets one:
 * after the last record read when the iterator only expired, from the oldest record kept when the
 * records it pointed to were trimmed (or nothing was read yet). Undefined for any other error.
 */
async function iteratorAfterLoss(
  reading: Reading,
  shardId: string,
  error: unknown,
): Promise<string | null | undefined> {
  const name = (error as { name?: string } | null)?.name;
  if (name !== "ExpiredIteratorException" && name !== "TrimmedDataAccessException") return undefined;
  const last = reading.lastSequence.get(shardId);
  const { ShardIterator } = await reading.streams.send(
    new GetShardIteratorCommand({
      StreamArn: reading.streamArn,
      ShardId: shardId,
      ...(name === "ExpiredIteratorException" && last !== undefined
        ? { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", SequenceNumber: last }
        : { ShardIteratorType: "TRIM_HORIZON" }),
    }),
  );
  return ShardIterator ?? null;
}

/** Reads one batch of a shard and hands it over; true when the shard had records (or must be read again at once). */
async function pollShard(reading: Reading, shardId: string, iterator: string): Promise<boolean> {
  const { streams, streamArn, options } = reading;
  let answer: GetRecordsCommandOutput;
  try {
    answer = await streams.send(
      new GetRecordsCommand({ ShardIterator: iterator, Limit: options.batchSize ?? 100 }),
    );
  } catch (error) {
    // Retrying a dead iterator would fail for ever (and `caughtUp()` never resolve): take a new one.
    const fresh = await iteratorAfterLoss(reading, shardId, error);
    if (fresh === undefined) throw error;
    options.onError?.(error);
    reading.iterators.set(shardId, fresh);
    return true;
  }
  const records = answer.Records ?? [];
  let nextIterator = answer.NextShardIterator ?? null;
  const handed = records
    .map((record) => lambdaRecord(record, streamArn))
    .filter((record) => options.filter?.(record) ?? true);
  let failed: string | undefined;
  if (handed.length > 0) {
    const result = await options.handle({ Records: handed });
    failed = result?.batchItemFailures?.[0]?.itemIdentifier;
    if (failed) {
      // Read again from the failed record, as Lambda does with ReportBatchItemFailures.
      const { ShardIterator } = await streams.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shardId,
          ShardIteratorType: "AT_SEQUENCE_NUMBER",
          SequenceNumber: failed,
        }),
      );
      nextIterator = ShardIterator ?? null;
    }
  }
  const last = records.at(-1)?.dynamodb?.SequenceNumber;
  if (!failed && last !== undefined) reading.lastSequence.set(shardId, last);
  reading.iterators.set(shardId, nextIterator);
  return records.length > 0;
}

/** Polls every open shard in turn, pausing when none had records, until stopped. */
async function pollUntilStopped(reading: Reading): Promise<void> {
  while (!reading.stopped) {
    let busy = false;
    let failed = false;
    const round = ++reading.rounds;
    try {
      if (round % 25 === 0) await discoverShards(reading);
      for (const [shardId, iterator] of reading.iterators) {
        if (iterator === null || reading.stopped) continue;
        if (await pollShard(reading, shardId, iterator)) busy = true;
      }
    } catch (error) {
      failed = true;
      reading.options.onError?.(error);
    }
    if (!busy && !failed) {
      const waiting = reading.waiters;
      reading.waiters = waiting.filter((waiter) => waiter.after >= round);
      for (const waiter of waiting) if (waiter.after < round) waiter.resolve();
    }
    // Someone waits for an idle round (after a failed one, say): poll again soon.
    const pollMs = reading.options.pollMs ?? 200;
    if (!busy && !reading.stopped)
      await pause(reading, reading.waiters.length > 0 ? Math.min(pollMs, 100) : pollMs);
  }
}

function pause(reading: Reading, ms: number): Promise<void> {
  if (reading.hurry) {
    reading.hurry = false;
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    reading.wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}

/** A Streams API record as Lambda hands it to a function (the same shape, plus the source ARN). */
function lambdaRecord(record: StreamRecord, streamArn: string): DynamoDBRecord {
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion,
    eventSource: "aws:dynamodb",
    awsRegion: record.awsRegion,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(record.dynamodb?.ApproximateCreationDateTime
        ? { ApproximateCreationDateTime: record.dynamodb.ApproximateCreationDateTime.getTime() / 1000 }
        : {}),
      Keys: record.dynamodb?.Keys as never,
      NewImage: record.dynamodb?.NewImage as never,
      SequenceNumber: record.dynamodb?.SequenceNumber,
      SizeBytes: record.dynamodb?.SizeBytes,
      StreamViewType: record.dynamodb?.StreamViewType,
    },
  } as DynamoDBRecord;
}

/**
 * serverless.yml's filter of the deliver function's event source mapping, as a predicate:
 * `{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"mirror": {"M": [{"exists": true}]}}}}`.
 */
export function outboxInsertFilter(record: DynamoDBRecord): boolean {
  return record.eventName === "INSERT" && record.dynamodb?.NewImage?.mirror?.M !== undefined;
}

/** Runs the retry pass every `intervalMs` until stopped (the deployed schedule's stand-in). */
export function startRetryTimer(
  run: () => Promise<unknown>,
  intervalMs: number,
  onError?: (error: unknown) => void,
): {
  stop(): Promise<void>;
} {
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    if (stopped) return;
    running = running.then(run).catch((error: unknown) => onError?.(error));
  }, intervalMs);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/**
 * `npm start`'s delivery: the table's stream read into the deployed `deliver` handler, and the
 * retry pass every `retryEveryMs`. Function modules load here, after the server set the environment.
 */
export async function startLocalDelivery(options: {
  client: DynamoDBClient;
  tableName: string;
  pollMs?: number;
  retryEveryMs?: number;
}): Promise<{ stop(): Promise<void> }> {
  const { deliverBatch } = await import("../functions/deliver.js");
  const { retryDueDeliveries } = await import("../functions/deliver-retry.js");
  const budget = () => 60_000;
  const reader = await startStreamReader({
    client: options.client,
    tableName: options.tableName,
    pollMs: options.pollMs ?? 200,
    filter: outboxInsertFilter,
    handle: (event) => deliverBatch(event, budget),
    onError: (error) => console.error("quotesync: local stream reader", error),
  });
  const retries = startRetryTimer(
    () => retryDueDeliveries(budget),
    options.retryEveryMs ?? 1_000,
    (error) => console.error("quotesync: local retry pass", error),
  );
  return {
    async stop() {
      await reader.stop();
      await retries.stop();
    },
  };
}
