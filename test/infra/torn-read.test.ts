import { type DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keys } from "../../infra/dynamodb/keys.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { scanAll } from "../support/dynamo.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";
import { handlerHarness } from "../support/handlers.js";

/** More lines than one transaction holds (100 items): every start below switches the line generation. */
const LINES = 120;
/** Page size forced on the paused reader's queries, so a read of the opportunity takes several pages. */
const PAGE = 25;

describe("a multi-page read of a line set during a generation switch (DynamoDB Local)", () => {
  let h: Awaited<ReturnType<typeof handlerHarness>>;
  beforeAll(async () => {
    h = await handlerHarness();
  });
  afterAll(async () => {
    await h.dispose();
  });

  it("re-reads when the switch and its cleanup ran between its pages: the whole new set, never a torn one", async () => {
    expect((await h.crm(opportunityUpserted("torn-opp", {}, { occurredAt: at(1) }))).statusCode).toBe(200);
    for (const [quoteId, price] of [
      ["torn-q1", "2"],
      ["torn-q2", "3"],
    ] as const) {
      expect((await h.cpq(quoteUpserted(quoteId, "torn-opp", {}, { occurredAt: at(2) }))).statusCode).toBe(
        200,
      );
      const lines = Array.from({ length: LINES }, (_, i) => line(`${quoteId}-${i}`, { unitPrice: price }));
      expect((await h.cpq(quoteLinesUpserted(quoteId, lines, { occurredAt: at(3) }))).statusCode).toBe(200);
    }
    expect((await h.start("torn-q1")).statusCode).toBe(200);
    const partition = keys.opportunityPartition("demo", "torn-opp");
    const generations = async () =>
      new Set(
        (await scanAll(h.table.tableName))
          .filter((item) => item.pk === partition && String(item.sk).startsWith("L#"))
          .map((item) => String(item.sk).split("#")[1]),
      );
    const before = await generations();
    expect(before.size).toBe(1);

    // A reader whose second page waits until told to go on.
    let pausedAt: () => void = () => {};
    const paused = new Promise<void>((resolve) => {
      pausedAt = resolve;
    });
    let resume: () => void = () => {};
    const resumed = new Promise<void>((resolve) => {
      resume = resolve;
    });
    const queries: Array<{ page: number }> = [];
    const pausing = Object.create(h.doc) as DynamoDBDocumentClient;
    pausing.send = (async (command: unknown, ...rest: unknown[]) => {
      if (command instanceof QueryCommand && command.input.ExpressionAttributeValues?.[":pk"] === partition) {
        command.input.Limit = PAGE;
        queries.push({ page: command.input.ExclusiveStartKey ? 2 : 1 });
        if (queries.length === 2) {
          pausedAt();
          await resumed;
        }
      }
      return (h.doc.send as (...args: unknown[]) => unknown)(command, ...rest);
    }) as DynamoDBDocumentClient["send"];
    const reader = new DynamoSyncStore({ doc: pausing, tableName: h.table.tableName });

    const reading = reader.loadOpportunity("demo", "torn-opp");
    await paused;
    // The switch to torn-q2's lines and the deletion of torn-q1's generation run between the pages.
    expect((await h.start("torn-q2")).statusCode).toBe(200);
    const after = await generations();
    expect(after.size).toBe(1);
    expect([...after][0]).not.toBe([...before][0]);
    resume();
    const read = await reading;

    expect(queries.map((query) => query.page).slice(0, 2)).toEqual([1, 2]);
    const live = [...(read?.lines.values() ?? [])].filter((stored) => !stored.deleted);
    expect(live).toHaveLength(LINES);
    expect(read?.header.syncedQuoteId).toBe("torn-q2");
    expect(new Set(live.map((stored) => stored.unitPrice))).toEqual(new Set(["3"]));
  });
});
