import type { ConsumedCapacity } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/** Capacity one DynamoDB call consumed, as DynamoDB reported it (`ReturnConsumedCapacity: TOTAL`). */
export interface CapacityReport {
  /** The command, e.g. `QueryCommand`, `TransactWriteItemsCommand`. */
  operation: string;
  /** Read or write units, by what the operation does (DynamoDB reports only `CapacityUnits`). */
  kind: "read" | "write";
  units: number;
}

const READS = new Set([
  "GetItemCommand",
  "QueryCommand",
  "ScanCommand",
  "BatchGetItemCommand",
  "TransactGetItemsCommand",
]);
const WRITES = new Set([
  "PutItemCommand",
  "UpdateItemCommand",
  "DeleteItemCommand",
  "BatchWriteItemCommand",
  "TransactWriteItemsCommand",
]);

/**
 * Asks DynamoDB for the capacity of every data-plane call made through `doc` (and the client it
 * wraps, whose middleware stack it shares) and hands each figure to `report`. Used to measure
 * what a decision costs; production leaves it off, as the figures add bytes to every response.
 */
export function reportConsumedCapacity(
  doc: DynamoDBDocumentClient,
  report: (capacity: CapacityReport) => void,
): void {
  doc.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName ?? "");
      const kind = READS.has(operation) ? "read" : WRITES.has(operation) ? "write" : null;
      if (kind) (args.input as Record<string, unknown>).ReturnConsumedCapacity = "TOTAL";
      const result = await next(args);
      if (kind) {
        const reported = (result.output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] })
          .ConsumedCapacity;
        const list = Array.isArray(reported) ? reported : reported ? [reported] : [];
        const units = list.reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
        report({ operation, kind, units });
      }
      return result;
    },
    { step: "initialize", name: "quotesyncConsumedCapacity", override: true },
  );
}
