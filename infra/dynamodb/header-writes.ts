import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import type { TransactWriteCommandInput } from "@aws-sdk/lib-dynamodb";
import { keys } from "./keys.js";
import type { SequenceRange } from "./outbox.js";

type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

/**
 * A header in a commit: `stored` is the record to write (absent: the decision only relied on it);
 * `readVersion` is the version the decision read (null: it must not exist yet).
 */
export interface HeaderWrite {
  partition: string;
  label: string;
  readVersion: number | null;
  stored?: { version: number | null };
  index?: Record<string, string>;
  /** The opportunity's pipeline listing to record on the header (null: none). */
  listing?: string | null;
}

/**
 * A header's write. A header the decision wrote is updated only if still at the version the
 * decision read, or created only if absent (optimistic concurrency: the single-synced-quote rule
 * rests on this condition); one it only relied on must still be at that version. When the
 * decision adds outbox entries, every header of the pair records the last of their numbers and
 * accepts only numbers above the one it holds, so a pair's entries are ordered as its commits.
 * An update, never a put, so the recorded number survives the writes that add no entries.
 */
export function headerWrite(
  tableName: string,
  header: HeaderWrite,
  range: SequenceRange | null,
): TransactItem {
  const Key = { pk: header.partition, sk: keys.header };
  const { readVersion } = header;
  const conditions = [readVersion === null ? "attribute_not_exists(pk)" : "#version = :readVersion"];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  if (readVersion !== null) {
    names["#version"] = "version";
    values[":readVersion"] = readVersion;
  }
  const set: string[] = [];
  const remove: string[] = [];
  if (header.stored) {
    const { version: _ignored, ...record } = header.stored;
    names["#version"] = "version";
    names["#record"] = "record";
    values[":version"] = (readVersion ?? 0) + 1;
    values[":record"] = record;
    set.push("#version = :version", "#record = :record");
    if (header.index?.gsi1pk) {
      set.push("gsi1pk = :gsi1pk", "gsi1sk = :gsi1sk");
      values[":gsi1pk"] = header.index.gsi1pk;
      values[":gsi1sk"] = header.index.gsi1sk;
    } else if (readVersion !== null) {
      remove.push("gsi1pk", "gsi1sk");
    }
    if (typeof header.listing === "string") {
      names["#listing"] = "listing";
      values[":listing"] = header.listing;
      set.push("#listing = :listing");
    } else if (header.listing === null && readVersion !== null) {
      names["#listing"] = "listing";
      remove.push("#listing");
    }
  }
  // A header that does not exist yet has no entries to order after: it needs no number.
  if (range && (header.stored || readVersion !== null)) {
    names["#outboxSeq"] = "outboxSeq";
    values[":lastSeq"] = range.last;
    set.push("#outboxSeq = :lastSeq");
    if (readVersion !== null) {
      values[":firstSeq"] = range.first;
      conditions.push("(attribute_not_exists(#outboxSeq) OR #outboxSeq < :firstSeq)");
    }
  }
  const condition = {
    ConditionExpression: conditions.join(" AND "),
    // The header as it was, if refused: says whether its version or only the number failed.
    ...(values[":firstSeq"] === undefined ? {} : { ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const }),
    ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
    ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
  };
  if (set.length === 0) return { ConditionCheck: { TableName: tableName, Key, ...condition } };
  const update = `SET ${set.join(", ")}${remove.length > 0 ? ` REMOVE ${remove.join(", ")}` : ""}`;
  return { Update: { TableName: tableName, Key, UpdateExpression: update, ...condition } };
}

/**
 * True when a transaction was refused only by the outbox-number clause of header conditions:
 * every refused item is a header (they come first) still at the version the decision read.
 */
export function onlyOrderRefused(error: unknown, headers: HeaderWrite[]): boolean {
  if (!(error instanceof TransactionCanceledException)) return false;
  const refused = (error.CancellationReasons ?? [])
    .map((reason, index) => ({ reason, index }))
    .filter(({ reason }) => reason.Code && reason.Code !== "None");
  return (
    refused.length > 0 &&
    refused.every(({ reason, index }) => {
      const header = headers[index];
      return (
        reason.Code === "ConditionalCheckFailed" &&
        header !== undefined &&
        header.readVersion !== null &&
        numberOf(reason.Item?.version) === header.readVersion
      );
    })
  );
}

/** A number attribute as DynamoDB returns it in an error (raw `{N: "3"}`) or unmarshalled. */
function numberOf(value: unknown): number | null {
  if (typeof value === "number") return value;
  if (value && typeof value === "object" && "N" in value) return Number((value as { N: string }).N);
  return null;
}
