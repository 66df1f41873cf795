import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { type DeliveryRuntime, deliveryRuntime, outboxInsertsOf } from "./lib/delivery-runtime.js";
import { functionStack, remainingTimeOf } from "./lib/function-stack.js";
import { logger } from "./lib/logger.js";
import { failureLog } from "./lib/middleware/failure-log.js";

/**
 * Takes a stream batch of outbox INSERTs: queues each mirror whose target side delivers, in its
 * pair's queue in the table, and delivers what it can now. A target that is down never fails the
 * batch (its mirrors wait in the table for the retry pass); only a record that could not be queued
 * is reported, so the stream hands it, and those after it, again.
 */
export async function deliverBatch(
  event: DynamoDBStreamEvent,
  remainingMs: () => number,
  rt: DeliveryRuntime = deliveryRuntime(),
): Promise<DynamoDBBatchResponse> {
  const found = outboxInsertsOf(event.Records);
  const failed = await rt.service.handleInserts(
    found.map(({ insert }) => insert),
    remainingMs,
  );
  if (failed === null) return { batchItemFailures: [] };
  const record = event.Records[(found[failed] as { index: number }).index];
  logger.error("could not queue an outbox entry; the stream will hand it again", {
    entryId: found[failed]?.insert.entryId,
    tenantId: found[failed]?.insert.tenantId,
  });
  return { batchItemFailures: [{ itemIdentifier: record?.dynamodb?.SequenceNumber ?? "" }] };
}

/** The deliver function, on the outbox stream: a batch that fails is handed again by the stream. */
export const handler = functionStack<DynamoDBStreamEvent, DynamoDBBatchResponse>()
  .use(failureLog("delivery batch failed; the stream will hand it again"))
  .handler((event, context) => deliverBatch(event, remainingTimeOf(context)));
