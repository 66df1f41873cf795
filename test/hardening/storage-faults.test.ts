import "aws-sdk-client-mock-vitest/extend";
import {
  DynamoDBClient,
  InternalServerError,
  ProvisionedThroughputExceededException,
  ThrottlingException,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { demoTenant } from "../../domain/tenant.js";
import { createRuntime, setRuntime } from "../../functions/lib/runtime.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { localDynamoClientConfig } from "../../infra/dynamodb-local.js";
import { createTestTable, dynamoEndpoint, outboxGaps, partition, type TestTable } from "../support/dynamo.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";
import { DEMO_SECRETS, handlerHarness } from "../support/handlers.js";

// biome-ignore lint/suspicious/noExplicitAny: the command classes differ in their input types
type AnyCommand = new (input: any) => any;
const COMMANDS: Record<string, AnyCommand> = {
  GetItem: GetCommand,
  PutItem: PutCommand,
  Query: QueryCommand,
  UpdateItem: UpdateCommand,
  TransactWriteItems: TransactWriteCommand,
  BatchWriteItem: BatchWriteCommand,
  BatchGetItem: BatchGetCommand,
};
type Operation = keyof typeof COMMANDS;

/** A fault replaces one call; `pass` sends that call to DynamoDB Local for real. */
type Fault = (pass: () => Promise<unknown>) => Promise<unknown>;
const rejects =
  (error: () => Error): Fault =>
  async () => {
    throw error();
  };
/** The call reaches DynamoDB and succeeds, but the caller only sees a timeout. */
const succeedsThenTimesOut: Fault = async (pass) => {
  await pass();
  throw Object.assign(new Error("socket timed out after the request was sent"), { name: "TimeoutError" });
};

const meta = { $metadata: { httpStatusCode: 400 } };
const ERRORS = {
  ProvisionedThroughputExceededException: () =>
    new ProvisionedThroughputExceededException({ message: "throughput exceeded", ...meta }),
  ThrottlingException: () => new ThrottlingException({ message: "rate exceeded", ...meta }),
  InternalServerError: () => new InternalServerError({ message: "internal server error", $metadata: {} }),
  TransactionConflict: (items = 4) =>
    new TransactionCanceledException({
      message:
        "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
      ...meta,
      CancellationReasons: Array.from({ length: items }, (_, index) =>
        index === 0
          ? { Code: "TransactionConflict", Message: "Transaction is ongoing for the item" }
          : { Code: "None" },
      ),
    }),
};

describe("storage faults injected at every DynamoDB call the handlers make (aws-sdk-client-mock over DynamoDB Local)", () => {
  let h: Awaited<ReturnType<typeof handlerHarness>>;
  let table: TestTable;
  let real: DynamoDBDocumentClient;
  let faulty: DynamoDBDocumentClient;
  let mock: ReturnType<typeof mockClient>;
  const plan = new Map<Operation, Fault[]>();
  let scenario = 0;

  beforeAll(async () => {
    // The harness signs requests; its table is replaced by one whose client we can break.
    h = await handlerHarness();
    table = await createTestTable();
    real = DynamoDBDocumentClient.from(table.client, { marshallOptions: { removeUndefinedValues: true } });
    faulty = DynamoDBDocumentClient.from(new DynamoDBClient(localDynamoClientConfig(dynamoEndpoint())), {
      marshallOptions: { removeUndefinedValues: true },
    });
    mock = mockClient(faulty);
    for (const [operation, Command] of Object.entries(COMMANDS)) {
      mock.on(Command).callsFake((input: unknown) => {
        const pass = () => real.send(new Command(input));
        const fault = plan.get(operation as Operation)?.shift();
        return fault ? fault(pass) : pass();
      });
    }
    const store = new DynamoSyncStore({ doc: faulty, tableName: table.tableName });
    await store.putTenant(demoTenant(DEMO_SECRETS));
    setRuntime(createRuntime(store, { tenantCacheMs: 0 }));
    expect((await h.crm(opportunityUpserted("o-f", {}, { occurredAt: at(1) }))).statusCode).toBe(200);
    expect((await h.cpq(quoteUpserted("q-f", "o-f", {}, { occurredAt: at(2) }))).statusCode).toBe(200);
    expect((await h.start("q-f")).statusCode).toBe(200);
  });
  beforeEach(() => {
    plan.clear();
    mock.resetHistory();
  });
  afterAll(async () => {
    await h.dispose();
    await table.dispose();
    faulty.destroy();
  });

  const inject_ = (operation: Operation, ...faults: Fault[]) => plan.set(operation, faults);

  /** A fresh line event on the synced pair; its effect is one line on the opportunity. */
  function nextLineEvent(lineCount = 1) {
    scenario++;
    const lines = Array.from({ length: lineCount }, (_, i) => line(`f${scenario}-l${i}`));
    return {
      tag: `f${scenario}-l`,
      eventId: `fault-${scenario}`,
      event: quoteLinesUpserted("q-f", lines, {
        eventId: `fault-${scenario}`,
        occurredAt: at(100 + scenario),
      }),
    };
  }

  /** What the table holds of one event: never half of it. */
  async function effectOf(eventId: string, tag: string) {
    // The partitions an event on the pair writes to, read whole (not the whole table: it grows).
    const items = (
      await Promise.all(
        ["T#demo#O#o-f", "T#demo#Q#q-f", "T#demo#OUTBOX", `T#demo#E#cpq#${eventId}`].map((pk) =>
          partition(table.tableName, pk),
        ),
      )
    ).flat();
    const header = items.find((item) => item.pk === "T#demo#O#o-f" && item.sk === "H") as {
      record: { lineGeneration: string };
    };
    const current = `L#${header.record.lineGeneration}#`;
    const oppLines = items.filter(
      (item) =>
        item.pk === "T#demo#O#o-f" &&
        String(item.sk).startsWith(current) &&
        String((item.line as { id?: string })?.id ?? JSON.stringify(item.line)).length > 0 &&
        JSON.stringify(item.line).includes(tag),
    ).length;
    const quoteLines = items.filter(
      (item) => item.pk === "T#demo#Q#q-f" && JSON.stringify(item.line ?? "").includes(tag),
    ).length;
    const outbox = items.filter(
      (item) => item.pk === "T#demo#OUTBOX" && !item.void && JSON.stringify(item.mirror).includes(tag),
    ).length;
    const processed = items.some((item) => item.pk === `T#demo#E#cpq#${eventId}`);
    return { oppLines, quoteLines, outbox, processed };
  }

  async function expectAllOrNothing(eventId: string, tag: string, lines: number) {
    const effect = await effectOf(eventId, tag);
    if (effect.processed) expect(effect).toMatchObject({ oppLines: lines, quoteLines: lines });
    else expect(effect).toEqual({ oppLines: 0, quoteLines: 0, outbox: 0, processed: false });
    expect(effect.outbox).toBeLessThanOrEqual(effect.processed ? Math.max(1, Math.ceil(lines / 400)) : 0);
    return effect;
  }

  /** Sends the event under a fault, checks the table, then retries like a sender and checks one effect. */
  async function underFault(
    operation: Operation,
    faults: Fault[],
    options: { lines?: number; outcomeUnknown?: boolean } = {},
  ) {
    const lines = options.lines ?? 1;
    const { event, eventId, tag } = nextLineEvent(lines);
    const gapsBefore = await outboxGaps(table.tableName);
    inject_(operation, ...faults);
    const first = await h.cpq(event);
    expect(plan.get(operation) ?? []).toHaveLength(0); // every planned fault was hit
    // Every outbox number taken is written or voided, so no reader waits out a gap — unless the
    // counter's own answer was lost (a timeout after it counted): nobody knows that number.
    const numbersLost =
      operation === "UpdateItem" ? faults.filter((f) => f === succeedsThenTimesOut).length : 0;
    const gapsAfter = await outboxGaps(table.tableName);
    expect(gapsAfter.slice(0, gapsBefore.length)).toEqual(gapsBefore);
    expect(gapsAfter.length - gapsBefore.length).toBe(numbersLost);
    expect([200, 503]).toContain(first.statusCode);
    if (first.statusCode === 503) {
      expect(first.body.error.code).toBe("retry_later");
      expect(Number(first.headers["retry-after"])).toBeGreaterThan(0);
    }
    const afterFirst = await expectAllOrNothing(eventId, tag, lines);
    // A 503 after an unknown outcome may sit on a commit that did happen; every other 503 wrote nothing.
    expect(afterFirst.processed).toBe(first.statusCode === 200 || options.outcomeUnknown === true);

    const retry = await h.cpq(event);
    expect(retry.statusCode).toBe(200);
    if (first.statusCode === 200) {
      expect(retry.headers["x-quotesync-replayed"]).toBe("true");
      expect(retry.body).toEqual(first.body);
    }
    const afterRetry = await expectAllOrNothing(eventId, tag, lines);
    expect(afterRetry.processed).toBe(true);
    return { first, retry, afterRetry };
  }

  const THROTTLES = ["ProvisionedThroughputExceededException", "ThrottlingException"] as const;

  // The outbox counter's UpdateItem is first sent ahead of the reads; a failed one is sent again at
  // commit. So a fault on UpdateItem surfaces only when both calls fail.
  const faultsOn = (operation: Operation, fault: Fault): Fault[] =>
    operation === "UpdateItem" ? [fault, fault] : [fault];

  for (const operation of ["GetItem", "Query", "UpdateItem", "TransactWriteItems"] as const) {
    for (const name of THROTTLES) {
      it(`${name} on ${operation} → 503 retry_later with Retry-After, nothing half-written, the sender's retry has one effect`, async () => {
        const { first } = await underFault(operation, faultsOn(operation, rejects(ERRORS[name])));
        expect(first.statusCode).toBe(503);
      });
    }
  }

  for (const operation of ["GetItem", "Query", "UpdateItem"] as const) {
    it(`InternalServerError on ${operation} → 503 retry_later, and the sender's retry has one effect`, async () => {
      const { first } = await underFault(operation, faultsOn(operation, rejects(ERRORS.InternalServerError)));
      expect(first.statusCode).toBe(503);
    });

    it(`a timeout after a successful ${operation} → 503 retry_later, and the sender's retry has one effect`, async () => {
      const { first } = await underFault(operation, faultsOn(operation, succeedsThenTimesOut));
      expect(first.statusCode).toBe(503);
    });
  }

  for (const [label, fault] of [
    ["ThrottlingException", rejects(ERRORS.ThrottlingException)],
    ["a timeout after success", succeedsThenTimesOut],
  ] as const) {
    it(`${label} on the outbox number taken ahead of the reads → taken again at commit → 200, one effect`, async () => {
      const { first, afterRetry } = await underFault("UpdateItem", [fault]);
      expect(first.statusCode).toBe(200);
      expect(afterRetry).toMatchObject({ oppLines: 1, quoteLines: 1, outbox: 1 });
    });
  }

  it("a throttled commit whose void is throttled too → 503, and the void is retried: no gap holds outbox readers", async () => {
    inject_("PutItem", rejects(ERRORS.ThrottlingException));
    const { first } = await underFault("TransactWriteItems", [rejects(ERRORS.ThrottlingException)]);
    expect(first.statusCode).toBe(503);
    expect(plan.get("PutItem")).toHaveLength(0); // the void met its fault, and was sent again
  });

  it("InternalServerError on TransactWriteItems → retried with the same ClientRequestToken → 200", async () => {
    const { first } = await underFault("TransactWriteItems", [rejects(ERRORS.InternalServerError)]);
    expect(first.statusCode).toBe(200);
    expect(first.headers["x-quotesync-replayed"]).toBeUndefined();
    const tokens = mock
      .commandCalls(TransactWriteCommand)
      .slice(0, 2)
      .map((call) => call.args[0].input.ClientRequestToken);
    expect(tokens[0]).toEqual(expect.any(String));
    expect(tokens[1]).toBe(tokens[0]);
  });

  it("a timeout after a successful commit → the same-token retry is answered by DynamoDB as done → 200, applied once", async () => {
    const { first, afterRetry } = await underFault("TransactWriteItems", [succeedsThenTimesOut]);
    expect(first.statusCode).toBe(200);
    expect(first.headers["x-quotesync-replayed"]).toBeUndefined();
    expect(afterRetry).toMatchObject({ oppLines: 1, outbox: 1 });
    expect(mock).toHaveReceivedCommandWith(TransactWriteCommand, { ClientRequestToken: expect.any(String) });
  });

  it("timeouts after a successful commit on every attempt → 503, and the sender's retry gets the original response replayed", async () => {
    const { first, retry, afterRetry } = await underFault(
      "TransactWriteItems",
      [succeedsThenTimesOut, succeedsThenTimesOut, succeedsThenTimesOut],
      { outcomeUnknown: true },
    );
    expect(first.statusCode).toBe(503);
    expect(retry.headers["x-quotesync-replayed"]).toBe("true");
    expect(retry.body.status).toBe("applied");
    expect(afterRetry).toMatchObject({ oppLines: 1, outbox: 1 });
  });

  it("TransactionCanceledException with TransactionConflict reasons → decided again after jittered backoff → 200", async () => {
    const { first } = await underFault("TransactWriteItems", [
      rejects(() => ERRORS.TransactionConflict()),
      rejects(() => ERRORS.TransactionConflict()),
      rejects(() => ERRORS.TransactionConflict()),
    ]);
    expect(first.statusCode).toBe(200);
    expect(mock.commandCalls(TransactWriteCommand).length).toBeGreaterThanOrEqual(4);
  });

  it("TransactionConflict on every attempt → 503 retry_later after the bounded retries, nothing written", async () => {
    const { first } = await underFault(
      "TransactWriteItems",
      Array.from({ length: 12 }, () => rejects(() => ERRORS.TransactionConflict())),
    );
    expect(first.statusCode).toBe(503);
    expect(mock.commandCalls(TransactWriteCommand)).toHaveLength(12 + 1); // 12 refused, then the retry
  });

  // 60 lines: one set switches, its batches go in one wave and the outbox numbers are taken beside
  // them; 120: both sets switch, in more than one wave, and the numbers are taken after them.
  describe.each([60, 120])(
    "a line set too large for one transaction (%i lines, written under a new generation by BatchWriteItem)",
    (LINES) => {
      for (const name of THROTTLES) {
        it(`${name} on BatchWriteItem → 503, the opportunity keeps its old lines, the retry has one effect`, async () => {
          const { first } = await underFault("BatchWriteItem", [rejects(ERRORS[name])], { lines: LINES });
          expect(first.statusCode).toBe(503);
        });
      }

      it("a timeout after a successful BatchWriteItem → 503, nothing switched, the retry has one effect", async () => {
        const { first } = await underFault("BatchWriteItem", [succeedsThenTimesOut], { lines: LINES });
        expect(first.statusCode).toBe(503);
      });

      it("timeouts after a successful switch on every attempt → 503 without deleting the live lines; the retry is replayed", async () => {
        const { first, afterRetry } = await underFault(
          "TransactWriteItems",
          [succeedsThenTimesOut, succeedsThenTimesOut, succeedsThenTimesOut],
          { lines: LINES, outcomeUnknown: true },
        );
        expect(first.statusCode).toBe(503);
        expect(afterRetry.oppLines).toBe(LINES);
        const status = (await h.status("o-f")).body;
        expect(
          status.lines.filter((l: { productId: string }) => l.productId.includes(`f${scenario}-l`)),
        ).toHaveLength(LINES);
      });
    },
  );

  describe("faults during start, replace and stop (the opportunity's header and amount checked)", () => {
    const QUOTES = {
      "q-s1": { lines: 2, price: "10", amount: "20.00" },
      "q-s2": { lines: 3, price: "20", amount: "60.00" },
    };
    type QuoteId = keyof typeof QUOTES;
    let command = 0;

    /** The pair as the status shows it: which quote is synced, the amount and its lock, the lines. */
    async function pairState() {
      const status = (await h.status("o-s")).body;
      return {
        syncedQuoteId: status.syncedQuoteId,
        amount: status.amount,
        amountLocked: status.amountLocked,
        lines: status.lines.map((l: { productId: string }) => l.productId).sort(),
        syncing: status.quotes
          .filter((quote: { syncing: boolean }) => quote.syncing)
          .map((quote: { quoteId: string }) => quote.quoteId),
      };
    }
    const syncedTo = (quoteId: QuoteId) => ({
      syncedQuoteId: quoteId,
      amount: QUOTES[quoteId].amount,
      amountLocked: true,
      lines: Array.from({ length: QUOTES[quoteId].lines }, (_, i) => `prod-${quoteId}-${i}`).sort(),
      syncing: [quoteId],
    });

    /**
     * Sends a start or stop under a fault; the pair is then exactly as before or exactly as the
     * command leaves it, never between; the sender's retry (same eventId) leaves it as the command does.
     */
    async function commandUnderFault(
      action: "start" | "stop",
      quoteId: QuoteId,
      operation: Operation,
      faults: Fault[],
      expected: Awaited<ReturnType<typeof pairState>>,
    ) {
      const before = await pairState();
      const gapsBefore = await outboxGaps(table.tableName);
      const body = { eventId: `cmd-fault-${++command}` };
      inject_(operation, ...faults);
      const first = await (action === "start" ? h.start(quoteId, body) : h.stop(quoteId, body));
      expect(plan.get(operation) ?? []).toHaveLength(0);
      expect([200, 503]).toContain(first.statusCode);
      const afterFirst = await pairState();
      if (first.statusCode === 200) expect(afterFirst).toEqual(expected);
      else expect([before, expected]).toContainEqual(afterFirst);
      expect(await outboxGaps(table.tableName)).toEqual(gapsBefore);
      const retry = await (action === "start" ? h.start(quoteId, body) : h.stop(quoteId, body));
      expect(retry.statusCode).toBe(200);
      expect(await pairState()).toEqual(expected);
      return { first, afterFirst, before, retry };
    }

    beforeAll(async () => {
      expect((await h.crm(opportunityUpserted("o-s", {}, { occurredAt: at(1) }))).statusCode).toBe(200);
      for (const [quoteId, { lines, price }] of Object.entries(QUOTES)) {
        expect((await h.cpq(quoteUpserted(quoteId, "o-s", {}, { occurredAt: at(2) }))).statusCode).toBe(200);
        const quoteLines = Array.from({ length: lines }, (_, i) =>
          line(`${quoteId}-${i}`, { unitPrice: price }),
        );
        expect((await h.cpq(quoteLinesUpserted(quoteId, quoteLines, { occurredAt: at(3) }))).statusCode).toBe(
          200,
        );
      }
    });

    it("a throttled commit of the first start → 503, the opportunity unsynced with no amount; the retry starts it", async () => {
      const { first, afterFirst } = await commandUnderFault(
        "start",
        "q-s1",
        "TransactWriteItems",
        [rejects(ERRORS.ThrottlingException)],
        syncedTo("q-s1"),
      );
      expect(first.statusCode).toBe(503);
      expect(afterFirst).toEqual({
        syncedQuoteId: null,
        amount: null,
        amountLocked: false,
        lines: [],
        syncing: [],
      });
    });

    it("a throttled read during a replace → 503, the first quote still synced at its amount; the retry replaces it", async () => {
      const { first, afterFirst } = await commandUnderFault(
        "start",
        "q-s2",
        "Query",
        [rejects(ERRORS.ThrottlingException)],
        syncedTo("q-s2"),
      );
      expect(first.statusCode).toBe(503);
      expect(afterFirst).toEqual(syncedTo("q-s1"));
    });

    it("timeouts after a successful replace on every attempt → 503, the replace whole; the retry is replayed", async () => {
      const { first, afterFirst, retry } = await commandUnderFault(
        "start",
        "q-s1",
        "TransactWriteItems",
        [succeedsThenTimesOut, succeedsThenTimesOut, succeedsThenTimesOut],
        syncedTo("q-s1"),
      );
      expect(first.statusCode).toBe(503);
      expect(afterFirst).toEqual(syncedTo("q-s1"));
      expect(retry.headers["x-quotesync-replayed"]).toBe("true");
    });

    it("an internal error on the stop's commit → retried with the same token → 200: unlocked, lines and amount kept", async () => {
      const stopped = { ...syncedTo("q-s1"), syncedQuoteId: null, amountLocked: false, syncing: [] };
      const { first } = await commandUnderFault(
        "stop",
        "q-s1",
        "TransactWriteItems",
        [rejects(ERRORS.InternalServerError)],
        stopped,
      );
      expect(first.statusCode).toBe(200);
    });

    it("a throttled read during a stop → 503, still synced and locked; the retry stops it", async () => {
      expect((await h.start("q-s2")).statusCode).toBe(200);
      const stopped = { ...syncedTo("q-s2"), syncedQuoteId: null, amountLocked: false, syncing: [] };
      const { first, afterFirst } = await commandUnderFault(
        "stop",
        "q-s2",
        "GetItem",
        [rejects(ERRORS.ThrottlingException)],
        stopped,
      );
      expect(first.statusCode).toBe(503);
      expect(afterFirst).toEqual(syncedTo("q-s2"));
    });
  });
});
