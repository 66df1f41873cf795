import {
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb";
import type { StoredLine } from "../../domain/model.js";
import { translateStorageError } from "./errors.js";
import { keys } from "./keys.js";

const BATCH_SIZE = 25;
const PARALLEL_BATCHES = 4;
/** Items `batchWrite` sends in one wave of parallel batches. */
export const LINES_PER_WAVE = BATCH_SIZE * PARALLEL_BATCHES;

export function lineItem(partition: string, generation: string, line: StoredLine): Record<string, unknown> {
  return { pk: partition, sk: keys.line(generation, line.syncKey), line };
}

/**
 * Writes (or deletes) many items outside a transaction, 25 at a time, retrying unprocessed
 * items with backoff. Used only for line sets under a generation no reader looks at yet, or
 * that no reader looks at any more, so partial progress is never visible.
 */
export async function batchWrite(
  doc: DynamoDBDocumentClient,
  tableName: string,
  requests: Array<
    { PutRequest: { Item: Record<string, unknown> } } | { DeleteRequest: { Key: Record<string, unknown> } }
  >,
): Promise<void> {
  const batches: (typeof requests)[] = [];
  for (let index = 0; index < requests.length; index += BATCH_SIZE)
    batches.push(requests.slice(index, index + BATCH_SIZE));
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < batches.length && !failed) {
      const batch = batches[next++] ?? [];
      let pending = batch;
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 8)
          throw translateStorageError(
            Object.assign(new Error("unprocessed items"), { name: "ThrottlingException" }),
          );
        if (attempt > 0)
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 50 * 2 ** attempt));
        let result: BatchWriteCommandOutput;
        try {
          result = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
        } catch (error) {
          throw translateStorageError(error);
        }
        pending = (result.UnprocessedItems?.[tableName] ?? []) as typeof pending;
      }
    }
  };
  // After a failure no new batch starts, and the call returns once the batches in flight have
  // ended: a caller cleaning up what was written must not race a write still under way.
  const outcomes = await Promise.allSettled(
    Array.from({ length: Math.min(PARALLEL_BATCHES, batches.length) }, () =>
      worker().catch((error: unknown) => {
        failed = true;
        throw error;
      }),
    ),
  );
  const failure = outcomes.find((outcome) => outcome.status === "rejected");
  if (failure) throw failure.reason;
}

/** Deletes every item of one generation of a line set (best effort, after it was switched away). */
export async function deleteGeneration(
  doc: DynamoDBDocumentClient,
  tableName: string,
  partition: string,
  generation: string,
  syncKeys: Iterable<string>,
): Promise<void> {
  const requests = [...syncKeys].map((syncKey) => ({
    DeleteRequest: { Key: { pk: partition, sk: keys.line(generation, syncKey) } },
  }));
  await batchWrite(doc, tableName, requests);
}
