import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { deliverBatch } from "../../functions/deliver.js";
import { retryDueDeliveries } from "../../functions/deliver-retry.js";
import type { DeliveryRuntime } from "../../functions/lib/delivery-runtime.js";
import { DeliveryQueue } from "../../infra/dynamodb/delivery-queue.js";
import { startRetryTimer, startStreamReader } from "../../local/stream-reader.js";

/**
 * How often an idle shard is read: Lambda's rate for a stream (four times a second). Not less: on
 * DynamoDB Local each GetRecords costs CPU in proportion to every stream record of the run (kept
 * after their tables are deleted; ~15 ms at 10,000), on its one SQLite thread that every test file
 * shares. A test that waits for delivery calls `idle()`, which polls at once instead.
 */
export const STREAM_POLL_MS = 250;

/** A queue due this soon is waited for before delivery counts as idle (backoffs in tests are shorter). */
export const DUE_HORIZON_MS = 2_500;

export interface StreamDelivery {
  stop(): Promise<void>;
  /**
   * Resolves once delivery has nothing to do before `horizonMs` from now: every stream record
   * written so far handed to `deliver` and handled, no retry pass running, and no queue due within
   * the horizon (a retry after a transient failure is waited for; a target that asked for longer,
   * a locked quote say, is not).
   */
  idle(horizonMs?: number): Promise<void>;
}

/**
 * `deliver` on DynamoDB Local's stream and the retry pass on a short timer, as `npm start` runs
 * them, with a way to wait until delivery is done instead of for a fixed time.
 */
export async function startStreamDelivery(options: {
  client: DynamoDBClient;
  rt: DeliveryRuntime;
  /** The delivery runtime's clock (default `Date.now`): what "due" is measured against. */
  now?: () => number;
  pollMs?: number;
  retryEveryMs?: number;
  filter?: (record: DynamoDBRecord) => boolean;
  /** Sees each stream batch before `deliver` does. */
  onBatch?: (event: DynamoDBStreamEvent) => void;
}): Promise<StreamDelivery> {
  const { rt } = options;
  const now = options.now ?? Date.now;
  const reader = await startStreamReader({
    client: options.client,
    tableName: rt.tableName,
    pollMs: options.pollMs ?? STREAM_POLL_MS,
    ...(options.filter ? { filter: options.filter } : {}),
    handle: (event) => {
      options.onBatch?.(event);
      return deliverBatch(event, () => Number.POSITIVE_INFINITY, rt);
    },
    onError: (error) => console.error("stream reader", error),
  });
  // The retry pass in progress, if any (a pass that finds a queue due drains it).
  let pass: Promise<unknown> | null = null;
  const retries = startRetryTimer(() => {
    const current = retryDueDeliveries(() => Number.POSITIVE_INFINITY, rt);
    pass = current;
    return current.finally(() => {
      if (pass === current) pass = null;
    });
  }, options.retryEveryMs ?? 100);
  const queue = new DeliveryQueue(rt.doc, rt.tableName);
  return {
    async stop() {
      await reader.stop();
      await retries.stop();
    },
    async idle(horizonMs = DUE_HORIZON_MS) {
      for (;;) {
        await reader.caughtUp();
        await pass?.catch(() => {});
        const soon = await queue.due(now() + horizonMs, 1);
        if (soon.pairs.length === 0) return;
        // A retry is due soon: look again once the retry pass had a chance to run.
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
  };
}
