import { randomUUID } from "node:crypto";
import { type CancellationReason, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { GetCommand, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type HeaderWrite, headerWrite, onlyOrderRefused } from "../../infra/dynamodb/header-writes.js";
import type { SequenceRange } from "../../infra/dynamodb/outbox.js";
import { createTestTable, type TestTable } from "../support/dynamo.js";

/**
 * A header's conditional write, run on DynamoDB Local: what it leaves in the table, and which
 * writes it refuses (the optimistic concurrency and the outbox ordering rest on these conditions).
 */
let table: TestTable;

beforeAll(async () => {
  table = await createTestTable();
});
afterAll(async () => {
  await table.dispose();
});

function partition(): string {
  return `T#hw#O#${randomUUID()}`;
}

async function write(header: HeaderWrite, range: SequenceRange | null = null): Promise<void> {
  await table.doc.send(
    new TransactWriteCommand({ TransactItems: [headerWrite(table.tableName, header, range)] }),
  );
}

async function refusal(header: HeaderWrite, range: SequenceRange | null = null): Promise<unknown> {
  try {
    await write(header, range);
  } catch (error) {
    return error;
  }
  throw new Error("the write was not refused");
}

async function stored(pk: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await table.doc.send(
    new GetCommand({ TableName: table.tableName, Key: { pk, sk: "H" }, ConsistentRead: true }),
  );
  return Item;
}

const index = { gsi1pk: "T#hw#SYNCED", gsi1sk: "opp-1" };

describe("headerWrite on DynamoDB Local", () => {
  it("creates a header only if absent: version 1, the record without its version, index and listing", async () => {
    const pk = partition();
    const header: HeaderWrite = {
      partition: pk,
      label: "opportunity opp-1",
      readVersion: null,
      stored: { version: null, name: "first" } as HeaderWrite["stored"] & { name: string },
      index,
      listing: "Prospecting",
    };
    await write(header);
    expect(await stored(pk)).toEqual({
      pk,
      sk: "H",
      version: 1,
      record: { name: "first" },
      gsi1pk: "T#hw#SYNCED",
      gsi1sk: "opp-1",
      listing: "Prospecting",
    });
    const error = await refusal({
      ...header,
      stored: { version: null, name: "second" } as HeaderWrite["stored"],
    });
    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect(onlyOrderRefused(error, [header])).toBe(false);
    expect((await stored(pk))?.record).toEqual({ name: "first" });
  });

  it("updates only at the version read: the next version; leaving the index and the listing removes them", async () => {
    const pk = partition();
    const created = { version: null, name: "v1" } as HeaderWrite["stored"];
    await write({
      partition: pk,
      label: "h",
      readVersion: null,
      stored: created,
      index,
      listing: "Prospecting",
    });
    await write({
      partition: pk,
      label: "h",
      readVersion: 1,
      stored: { version: 1, name: "v2" } as HeaderWrite["stored"],
      listing: null,
    });
    expect(await stored(pk)).toEqual({ pk, sk: "H", version: 2, record: { name: "v2" } });
    const stale = await refusal({
      partition: pk,
      label: "h",
      readVersion: 1,
      stored: { version: 1, name: "lost" } as HeaderWrite["stored"],
    });
    expect(stale).toBeInstanceOf(TransactionCanceledException);
    expect((await stored(pk))?.record).toEqual({ name: "v2" });
    // An update that names an index and a listing sets them; one that names no listing keeps it.
    await write({
      partition: pk,
      label: "h",
      readVersion: 2,
      stored: { version: 2, name: "v3" } as HeaderWrite["stored"],
      index,
      listing: "Closed Won",
    });
    await write({
      partition: pk,
      label: "h",
      readVersion: 3,
      stored: { version: 3, name: "v4" } as HeaderWrite["stored"],
      index: { gsi1pk: "T#hw#SYNCED", gsi1sk: "opp-2" },
    });
    expect(await stored(pk)).toEqual({
      pk,
      sk: "H",
      version: 4,
      record: { name: "v4" },
      gsi1pk: "T#hw#SYNCED",
      gsi1sk: "opp-2",
      listing: "Closed Won",
    });
  });

  it("a header the decision only relied on is checked, not written", async () => {
    const pk = partition();
    await write({ partition: pk, label: "h", readVersion: null, stored: { version: null } });
    const before = await stored(pk);
    const check = headerWrite(table.tableName, { partition: pk, label: "h", readVersion: 1 }, null);
    expect(check).toHaveProperty("ConditionCheck");
    expect(check).not.toHaveProperty("Update");
    await write({ partition: pk, label: "h", readVersion: 1 });
    expect(await stored(pk)).toEqual(before);
    expect(await refusal({ partition: pk, label: "h", readVersion: 2 })).toBeInstanceOf(
      TransactionCanceledException,
    );
    // "Must not exist yet", for a header that does exist, is refused too.
    expect(await refusal({ partition: pk, label: "h", readVersion: null })).toBeInstanceOf(
      TransactionCanceledException,
    );
    const absent = partition();
    await write({ partition: absent, label: "h", readVersion: null });
    expect(await stored(absent)).toBeUndefined();
  });

  it("records the last outbox number of the commit and refuses numbers not above it", async () => {
    const pk = partition();
    const first = { partition: pk, label: "h", readVersion: null, stored: { version: null } } as HeaderWrite;
    await write(first, { first: 5, last: 7 });
    expect((await stored(pk))?.outboxSeq).toBe(7);
    // Only relied on, with entries: the number moves too (a pair's entries follow its commits).
    await write({ partition: pk, label: "h", readVersion: 1 }, { first: 8, last: 9 });
    expect(await stored(pk)).toMatchObject({ version: 1, outboxSeq: 9 });
    // A commit whose numbers were taken before the header's last: refused on order alone.
    const behind: HeaderWrite = { partition: pk, label: "h", readVersion: 1, stored: { version: 1 } };
    const error = await refusal(behind, { first: 9, last: 10 });
    expect(onlyOrderRefused(error, [behind])).toBe(true);
    expect(await stored(pk)).toMatchObject({ version: 1, outboxSeq: 9 });
    // The same at a version that moved on: a real conflict, not only the order.
    const moved: HeaderWrite = { partition: pk, label: "h", readVersion: 0, stored: { version: 0 } };
    expect(onlyOrderRefused(await refusal(moved, { first: 20, last: 20 }), [moved])).toBe(false);
    // Numbers above it pass, and a commit without entries leaves the number as it is.
    await write(behind, { first: 10, last: 12 });
    expect(await stored(pk)).toMatchObject({ version: 2, outboxSeq: 12 });
    await write({ partition: pk, label: "h", readVersion: 2, stored: { version: 2 } }, null);
    expect(await stored(pk)).toMatchObject({ version: 3, outboxSeq: 12 });
    // A header that does not exist and is not written takes no number.
    const absent = partition();
    const check = headerWrite(
      table.tableName,
      { partition: absent, label: "h", readVersion: null },
      { first: 1, last: 1 },
    );
    expect(check).toHaveProperty("ConditionCheck");
    await write({ partition: absent, label: "h", readVersion: null }, { first: 1, last: 1 });
    expect(await stored(absent)).toBeUndefined();
  });
});

describe("onlyOrderRefused", () => {
  const headers: HeaderWrite[] = [
    { partition: "a", label: "a", readVersion: 3 },
    { partition: "b", label: "b", readVersion: null },
  ];
  const cancelled = (...reasons: Array<{ Code?: string; Item?: Record<string, unknown> }>) =>
    new TransactionCanceledException({
      message: "cancelled",
      $metadata: {},
      // Unmarshalled (`{ version: 3 }`) as well as raw (`{ version: { N: "3" } }`): both occur.
      CancellationReasons: reasons as CancellationReason[],
    });

  it("is true only when every refused item is a header still at the version read", () => {
    expect(
      onlyOrderRefused(cancelled({ Code: "ConditionalCheckFailed", Item: { version: { N: "3" } } }), headers),
    ).toBe(true);
    expect(
      onlyOrderRefused(
        cancelled({ Code: "ConditionalCheckFailed", Item: { version: 3 } }, { Code: "None" }),
        headers,
      ),
    ).toBe(true);
    expect(
      onlyOrderRefused(cancelled({ Code: "ConditionalCheckFailed", Item: { version: { N: "4" } } }), headers),
    ).toBe(false);
    expect(onlyOrderRefused(cancelled({ Code: "ConditionalCheckFailed" }), headers)).toBe(false);
    expect(onlyOrderRefused(cancelled({ Code: "TransactionConflict", Item: { version: 3 } }), headers)).toBe(
      false,
    );
    expect(
      onlyOrderRefused(
        cancelled(
          { Code: "ConditionalCheckFailed", Item: { version: 3 } },
          { Code: "ConditionalCheckFailed" },
        ),
        headers,
      ),
    ).toBe(false);
    expect(
      onlyOrderRefused(
        cancelled(
          { Code: "None" },
          { Code: "None" },
          { Code: "ConditionalCheckFailed", Item: { version: 3 } },
        ),
        headers,
      ),
    ).toBe(false);
    expect(onlyOrderRefused(cancelled({ Code: "None" }, {}), headers)).toBe(false);
    expect(onlyOrderRefused(new Error("ConditionalCheckFailed"), headers)).toBe(false);
  });
});

describe("onlyOrderRefused on answers that are not an order refusal", () => {
  const header: HeaderWrite = { partition: "T#hw#O#x", label: "opportunity x", readVersion: 3 };

  it("an error shaped like a cancellation but not one is not taken for it", () => {
    const lookalike = {
      name: "TransactionCanceledException",
      CancellationReasons: [{ Code: "ConditionalCheckFailed", Item: { version: { N: "3" } } }],
    };
    expect(onlyOrderRefused(lookalike, [header])).toBe(false);
  });

  it("a version that is neither a number nor DynamoDB's {N} is not the version read", () => {
    const error = new TransactionCanceledException({
      message: "Transaction cancelled",
      $metadata: {},
      CancellationReasons: [{ Code: "ConditionalCheckFailed", Item: { version: "3" as never } }],
    });
    expect(onlyOrderRefused(error, [header])).toBe(false);
  });
});
