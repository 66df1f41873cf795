import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { ConcurrentModification, DuplicateEvent, StorageBusy } from "../../domain/errors.js";
import {
  isAmbiguousWriteFailure,
  type TransactionRole,
  translateStorageError,
  translateTransactionError,
} from "../../infra/dynamodb/errors.js";

/** A TransactWriteItems refusal as the SDK raises it: one reason per item, in item order. */
function cancelled(...codes: Array<string | undefined>): TransactionCanceledException {
  return new TransactionCanceledException({
    message: "Transaction cancelled",
    $metadata: {},
    CancellationReasons: codes.map((Code) => (Code === undefined ? {} : { Code })),
  });
}

function named(name: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} happened`), { name, ...extra });
}

const ROLES: TransactionRole[] = [
  { kind: "header", label: "opportunity opp-1" },
  { kind: "header", label: "quote q-1" },
  { kind: "processed", eventKey: "crm#evt-1" },
  { kind: "other" },
];

describe("translateTransactionError: what a refused transaction means to the engine", () => {
  it("a refused processed-event condition is a duplicate of that event, whatever else conflicted", () => {
    const error = translateTransactionError(
      cancelled("None", "None", "ConditionalCheckFailed", "None"),
      ROLES,
    );
    expect(error).toBeInstanceOf(DuplicateEvent);
    expect((error as DuplicateEvent).eventKey).toBe("crm#evt-1");
    expect(error.cause).toBeInstanceOf(TransactionCanceledException);
  });

  it("a refused header condition is a concurrent modification naming that header only", () => {
    const error = translateTransactionError(
      cancelled("None", "ConditionalCheckFailed", "None", "None"),
      ROLES,
    );
    expect(error).toBeInstanceOf(ConcurrentModification);
    expect((error as ConcurrentModification).context.items).toEqual(["quote q-1"]);
    expect(error.message).toBe("concurrent modification of quote q-1");
    expect(error.cause).toBeInstanceOf(TransactionCanceledException);
  });

  it("names items that are not headers by position and reason; reasons without a code are skipped", () => {
    const error = translateTransactionError(
      cancelled("TransactionConflict", undefined, "None", "TransactionConflict"),
      ROLES,
    );
    expect((error as ConcurrentModification).context.items).toEqual([
      "opportunity opp-1",
      "item 3 (TransactionConflict)",
    ]);
    const beyondRoles = translateTransactionError(
      cancelled("None", "None", "None", "None", "ValidationError"),
      ROLES,
    );
    expect((beyondRoles as ConcurrentModification).context.items).toEqual(["item 4 (ValidationError)"]);
    // A refused condition on an item without a role is a conflict too, not a crash.
    const unnamed = translateTransactionError(
      cancelled("None", "None", "None", "None", "ConditionalCheckFailed"),
      ROLES,
    );
    expect((unnamed as ConcurrentModification).context.items).toEqual(["item 4 (ConditionalCheckFailed)"]);
  });

  it("a conflict on the processed-event item that is not its condition is a conflict, not a duplicate", () => {
    const error = translateTransactionError(cancelled("None", "None", "TransactionConflict", "None"), ROLES);
    expect(error).toBeInstanceOf(ConcurrentModification);
    expect((error as ConcurrentModification).context.items).toEqual(["item 2 (TransactionConflict)"]);
  });

  it("a refusal without reasons is a conflict of the transaction as a whole", () => {
    const none = new TransactionCanceledException({ message: "cancelled", $metadata: {} });
    expect((translateTransactionError(none, ROLES) as ConcurrentModification).context.items).toEqual([
      "transaction",
    ]);
    expect(
      (translateTransactionError(cancelled("None", "None"), ROLES) as ConcurrentModification).context.items,
    ).toEqual(["transaction"]);
  });

  for (const reason of ["ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"]) {
    it(`a ${reason} reason makes the refusal StorageBusy (retry after 2 s), even beside a conflict`, () => {
      const error = translateTransactionError(cancelled("TransactionConflict", reason), ROLES);
      expect(error).toBeInstanceOf(StorageBusy);
      expect((error as StorageBusy).retryAfterSeconds).toBe(2);
      expect(error.cause).toBeInstanceOf(TransactionCanceledException);
    });
  }

  it("any other failure goes through translateStorageError", () => {
    const throttled = translateTransactionError(named("ThrottlingException"), ROLES);
    expect(throttled).toBeInstanceOf(StorageBusy);
    const other = named("ValidationException");
    expect(translateTransactionError(other, ROLES)).toBe(other);
  });
});

describe("translateStorageError: faults that outlived the SDK's retries", () => {
  const busy: Array<[string, number]> = [
    ["ProvisionedThroughputExceededException", 2],
    ["ThrottlingException", 2],
    ["RequestLimitExceeded", 1],
    ["InternalServerError", 1],
    ["ServiceUnavailable", 1],
    ["TimeoutError", 1],
    ["TransactionConflictException", 1],
    ["TransactionInProgressException", 1],
  ];
  for (const [name, seconds] of busy) {
    it(`${name} → StorageBusy, Retry-After ${seconds} s, with the fault as its cause`, () => {
      const fault = named(name);
      const error = translateStorageError(fault);
      expect(error).toBeInstanceOf(StorageBusy);
      expect((error as StorageBusy).retryAfterSeconds).toBe(seconds);
      expect(error.cause).toBe(fault);
    });
  }

  it("leaves other errors as they are and wraps what is not an Error", () => {
    const validation = named("ValidationException");
    expect(translateStorageError(validation)).toBe(validation);
    const conditional = named("ConditionalCheckFailedException");
    expect(translateStorageError(conditional)).toBe(conditional);
    const wrapped = translateStorageError("socket hang up");
    expect(wrapped).toBeInstanceOf(Error);
    expect(wrapped).not.toBeInstanceOf(StorageBusy);
    expect(wrapped.message).toBe("socket hang up");
    expect(translateStorageError(null).message).toBe("null");
    expect(translateStorageError({ name: "Nameless" })).not.toBeInstanceOf(StorageBusy);
  });
});

describe("isAmbiguousWriteFailure: failures after which a write may or may not have happened", () => {
  for (const name of [
    "TimeoutError",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
  ]) {
    it(`${name} is ambiguous`, () => {
      expect(isAmbiguousWriteFailure(named(name))).toBe(true);
    });
  }
  for (const code of ["ECONNRESET", "EPIPE", "ETIMEDOUT"]) {
    it(`a socket error ${code} is ambiguous (by its code)`, () => {
      expect(isAmbiguousWriteFailure(named("Error", { code }))).toBe(true);
    });
  }
  it("a refused condition, a conflict, throttling or nothing at all is not", () => {
    for (const name of [
      "ConditionalCheckFailedException",
      "TransactionCanceledException",
      "ThrottlingException",
      "ProvisionedThroughputExceededException",
      "ValidationException",
    ]) {
      expect(isAmbiguousWriteFailure(named(name))).toBe(false);
    }
    expect(isAmbiguousWriteFailure(null)).toBe(false);
    expect(isAmbiguousWriteFailure(undefined)).toBe(false);
    expect(isAmbiguousWriteFailure({})).toBe(false);
  });
});
