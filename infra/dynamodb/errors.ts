import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { ConcurrentModification, DuplicateEvent, StorageBusy } from "../../domain/errors.js";

const THROTTLING = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "InternalServerError",
  "ServiceUnavailable",
  "TimeoutError",
]);

const THROTTLING_REASONS = new Set([
  "ThrottlingError",
  "ProvisionedThroughputExceeded",
  "RequestLimitExceeded",
]);

/** Failures after which a write may or may not have been applied: only a retry with the same ClientRequestToken is safe. */
const AMBIGUOUS = new Set([
  "TimeoutError",
  "InternalServerError",
  "ServiceUnavailable",
  "TransactionInProgressException",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
]);

/** True when a write failed in a way that does not tell whether DynamoDB applied it. */
export function isAmbiguousWriteFailure(error: unknown): boolean {
  const named = error as { name?: string; code?: string } | null;
  return AMBIGUOUS.has(named?.name ?? "") || AMBIGUOUS.has(named?.code ?? "");
}

/** What each item of a transaction stands for, so a cancellation can say what conflicted. */
export type TransactionRole =
  | { kind: "header"; label: string }
  | { kind: "processed"; eventKey: string }
  | { kind: "other" };

/**
 * Turns a failed TransactWriteItems into a domain error by reading its CancellationReasons:
 * a failed header condition or a transaction conflict → ConcurrentModification (reload, decide
 * again); the processed-event condition → DuplicateEvent; throttling → StorageBusy (surfaced,
 * not retried here: the SDK already retried it).
 */
export function translateTransactionError(error: unknown, roles: TransactionRole[]): Error {
  if (error instanceof TransactionCanceledException) {
    const reasons = error.CancellationReasons ?? [];
    const conflicted: string[] = [];
    let throttled = false;
    for (const [index, reason] of reasons.entries()) {
      const role = roles[index];
      if (!reason.Code || reason.Code === "None") continue;
      if (reason.Code === "ConditionalCheckFailed" && role?.kind === "processed") {
        return new DuplicateEvent(role.eventKey, { cause: error });
      }
      if (THROTTLING_REASONS.has(reason.Code)) throttled = true;
      conflicted.push(role?.kind === "header" ? role.label : `item ${index} (${reason.Code})`);
    }
    if (throttled) return new StorageBusy(2, { cause: error });
    return new ConcurrentModification(
      { items: conflicted.length > 0 ? conflicted : ["transaction"] },
      { cause: error },
    );
  }
  return translateStorageError(error);
}

/** Throttling and server faults that outlived the SDK's own retries become StorageBusy (503). */
export function translateStorageError(error: unknown): Error {
  const name = (error as { name?: string } | null)?.name ?? "";
  if (
    THROTTLING.has(name) ||
    name === "TransactionConflictException" ||
    name === "TransactionInProgressException"
  ) {
    return new StorageBusy(name === "ThrottlingException" || name.startsWith("Provisioned") ? 2 : 1, {
      cause: error,
    });
  }
  return error instanceof Error ? error : new Error(String(error));
}
