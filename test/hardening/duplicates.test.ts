import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { scanState } from "../support/dynamo.js";
import {
  at,
  cpqEvent,
  line,
  opportunityUpserted,
  quoteLinesUpserted,
  quoteUpserted,
} from "../support/events.js";
import { handlerHarness } from "../support/handlers.js";

const COPIES = 30;

describe(`${COPIES} concurrent copies of one event (DynamoDB Local, through the handlers)`, () => {
  let h: Awaited<ReturnType<typeof handlerHarness>>;
  beforeAll(async () => {
    h = await handlerHarness();
    expect((await h.crm(opportunityUpserted("o-dup", {}, { occurredAt: at(1) }))).statusCode).toBe(200);
    expect((await h.cpq(quoteUpserted("q-dup", "o-dup", {}, { occurredAt: at(2) }))).statusCode).toBe(200);
    expect((await h.start("q-dup")).statusCode).toBe(200);
  });
  afterAll(async () => {
    await h.dispose();
  });

  it("have exactly one effect: one outbox entry, one audit entry, one un-replayed answer, identical bodies", async () => {
    const before = await scanState(h.table.tableName);
    const event = quoteLinesUpserted("q-dup", [line("dup-l1", { quantity: "3", unitPrice: "7.5" })], {
      eventId: "storm-1",
      occurredAt: at(10),
    });
    const responses = await Promise.all(Array.from({ length: COPIES }, () => h.cpq(event)));

    expect(responses.map((response) => response.statusCode)).toEqual(Array(COPIES).fill(200));
    const original = responses.filter((response) => response.headers["x-quotesync-replayed"] !== "true");
    expect(original).toHaveLength(1);
    expect(responses.filter((response) => response.headers["x-quotesync-replayed"] === "true")).toHaveLength(
      COPIES - 1,
    );
    for (const response of responses) expect(response.body).toEqual(original[0]?.body);
    expect(original[0]?.body.status).toBe("applied");
    expect(original[0]?.body.mirrors).toHaveLength(1);

    const after = await scanState(h.table.tableName);
    const added = after.filter((item) => !before.some((old) => old.pk === item.pk && old.sk === item.sk));
    const outboxEntries = added.filter((item) => item.pk === "T#demo#OUTBOX" && !item.void);
    const audit = added.filter((item) => String(item.pk).startsWith("T#demo#A#"));
    const processed = added.filter((item) => String(item.pk).startsWith("T#demo#E#"));
    expect(outboxEntries).toHaveLength(1);
    expect(audit).toHaveLength(1);
    expect(processed).toHaveLength(1);

    const status = (await h.status("o-dup")).body;
    expect(status.lines).toHaveLength(1);
    expect(status.amount).toBe("22.50");

    // Sequence numbers the losers allocated are voided, so a connector's cursor passes them at once.
    const outbox = await h.request("GET", "/sync/demo/outbox?limit=100");
    expect(
      outbox.body.entries.filter((entry: { mirror: { lines?: { upsert: unknown[] } } }) =>
        JSON.stringify(entry.mirror).includes("dup-l1"),
      ),
    ).toHaveLength(1);
  });

  it("answers a later redelivery with the same body, marked replayed, and writes nothing", async () => {
    const event = quoteLinesUpserted("q-dup", [line("dup-l2")], { eventId: "storm-2", occurredAt: at(20) });
    const first = await h.cpq(event);
    const before = await scanState(h.table.tableName);
    const again = await h.cpq(event);
    expect(again.statusCode).toBe(200);
    expect(again.headers["x-quotesync-replayed"]).toBe("true");
    expect(again.body).toEqual(first.body);
    expect(await scanState(h.table.tableName)).toEqual(before);
  });

  it("answers a redelivery of a 1,500-line replace with one GetItem of its processed-event record, deciding nothing", async () => {
    // Its own pair, so the other tests' outbox counts stay small.
    expect((await h.crm(opportunityUpserted("o-dup-big", {}, { occurredAt: at(1) }))).statusCode).toBe(200);
    expect((await h.cpq(quoteUpserted("q-dup-big", "o-dup-big", {}, { occurredAt: at(2) }))).statusCode).toBe(
      200,
    );
    const lines = Array.from({ length: 1500 }, (_, i) => line(`dup-big-${i}`));
    const event = cpqEvent("quote.lines.replaced", { quoteId: "q-dup-big", lines }, { occurredAt: at(30) });
    const first = await h.cpq(event);
    expect(first.statusCode).toBe(200);
    const send = vi.spyOn(h.doc, "send");
    try {
      const again = await h.cpq(event);
      expect(again.headers["x-quotesync-replayed"]).toBe("true");
      expect(again.body).toEqual(first.body);
      // Besides the tenant's configuration (not cached in this harness): one GetItem, nothing else.
      const calls = send.mock.calls
        .map(([command]) => ({
          name: command.constructor.name,
          input: command.input as { Key?: { pk?: string } },
        }))
        .filter((call) => !String(call.input.Key?.pk).startsWith("TENANT#"));
      expect(calls.map((call) => call.name)).toEqual(["GetCommand"]);
      expect(String(calls[0]?.input.Key?.pk)).toMatch(/^T#demo#E#/);
    } finally {
      send.mockRestore();
    }
  });

  it(`gives ${COPIES} concurrent start commands with one eventId one effect too`, async () => {
    const before = await scanState(h.table.tableName);
    const responses = await Promise.all(
      Array.from({ length: COPIES }, () => h.start("q-dup", { eventId: "start-storm-1" })),
    );
    expect(responses.map((response) => response.statusCode)).toEqual(Array(COPIES).fill(200));
    expect(responses.filter((response) => response.headers["x-quotesync-replayed"] !== "true")).toHaveLength(
      1,
    );
    for (const response of responses) expect(response.body).toEqual(responses[0]?.body);
    const after = await scanState(h.table.tableName);
    const added = after.filter((item) => !before.some((old) => old.pk === item.pk && old.sk === item.sk));
    // One outbox entry per mirror of the one answer (a start mirrors to both sides), not per copy.
    const mirrors = responses[0]?.body.mirrors.length;
    expect(mirrors).toBeGreaterThan(0);
    expect(added.filter((item) => item.pk === "T#demo#OUTBOX" && !item.void)).toHaveLength(mirrors);
    expect(added.filter((item) => String(item.pk).startsWith("T#demo#E#"))).toHaveLength(1);
  });
});
