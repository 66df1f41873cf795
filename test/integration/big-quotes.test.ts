import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  at,
  line,
  nextEventId,
  opportunityLinesUpserted,
  opportunityUpserted,
  quoteLinesUpserted,
  quoteUpserted,
} from "../support/events.js";
import { handlerHarness } from "../support/handlers.js";

const BIG = Number(process.env.BIG_QUOTE_LINES ?? 2000);
/**
 * The starts' time limit. Run alone, this test takes about 10 s; in the whole suite it shares two
 * cores with the rest, and a start can then reach the deployed limit of 30 s and answer 503 "ran
 * out of time", as it should. What this file tests is that no reader ever sees a partial line set,
 * not how fast a start is (that is `npm run bench`), so its starts get more time.
 */
const START_TIMEOUT_MS = 180_000;

describe("quotes beyond one transaction (DynamoDB Local, through the handlers)", () => {
  let h: Awaited<ReturnType<typeof handlerHarness>>;
  beforeAll(async () => {
    h = await handlerHarness();
  });
  afterAll(async () => {
    await h.dispose();
  });

  it(`starts and replaces sync with ${BIG} lines while a concurrent reader only ever sees a whole line set`, async () => {
    expect((await h.crm(opportunityUpserted("big-opp", {}, { occurredAt: at(1) }))).statusCode).toBe(200);
    const crmLines = Array.from({ length: 300 }, (_, i) => line(`crm-${i}`, { unitPrice: "1" }));
    expect(
      (await h.crm(opportunityLinesUpserted("big-opp", crmLines, { occurredAt: at(2) }))).statusCode,
    ).toBe(200);
    for (const [quoteId, price] of [
      ["big-q1", "2"],
      ["big-q2", "3"],
    ] as const) {
      expect((await h.cpq(quoteUpserted(quoteId, "big-opp", {}, { occurredAt: at(3) }))).statusCode).toBe(
        200,
      );
      const lines = Array.from({ length: BIG }, (_, i) =>
        line(`${quoteId}-${i}`, { unitPrice: price, position: i }),
      );
      const stored = await h.cpq(quoteLinesUpserted(quoteId, lines, { occurredAt: at(4) }));
      expect(stored.statusCode).toBe(200);
    }

    const seen = new Set<string>();
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const status = (await h.status("big-opp")).body;
        const prices = new Set(status.lines.map((l: { unitPrice: string }) => l.unitPrice));
        seen.add(`${status.lines.length} lines at ${[...prices].join("/")}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const start = (quoteId: string) =>
      h.request("POST", `/sync/demo/quotes/${quoteId}/start`, {
        body: { eventId: nextEventId("start") },
        timeoutMs: START_TIMEOUT_MS,
      });

    try {
      const first = await start("big-q1");
      expect(first.statusCode).toBe(200);
      const toCrm = first.body.mirrors.find((mirror: { target: string }) => mirror.target === "crm");
      expect(toCrm.lines.upsert).toHaveLength(BIG);
      expect(toCrm.lines.delete).toHaveLength(300);
      expect(toCrm.opportunity.amount).toBe(`${BIG * 2}.00`);

      const second = await start("big-q2");
      expect(second.statusCode).toBe(200);
    } finally {
      // Stopped whatever happened: a reader left polling would outlive this file in its worker.
      reading = false;
      await reader;
    }

    const status = (await h.status("big-opp")).body;
    expect(status.syncedQuoteId).toBe("big-q2");
    expect(status.lines).toHaveLength(BIG);
    expect(status.amount).toBe(`${BIG * 3}.00`);
    // Every observation is one of the three whole sets, never a mixture or a partial set.
    for (const observation of seen) {
      expect(["300 lines at 1", `${BIG} lines at 2`, `${BIG} lines at 3`]).toContain(observation);
    }

    // A redelivered start command with an event id replays even a large response.
    const replayed = await h.start("big-q2", { eventId: "cmd-1" });
    const again = await h.start("big-q2", { eventId: "cmd-1" });
    expect(again.headers["x-quotesync-replayed"]).toBe("true");
    expect(again.body).toEqual(replayed.body);

    // The outbox carries the big mirror in entries that each fit a DynamoDB item.
    const outbox = await h.request("GET", "/sync/demo/outbox?limit=500");
    const upserts = outbox.body.entries
      .filter(
        (entry: { mirror: { target: string; quoteId: string } }) =>
          entry.mirror.target === "crm" && entry.mirror.quoteId === "big-q1",
      )
      .reduce(
        (sum: number, entry: { mirror: { lines?: { upsert: unknown[] } } }) =>
          sum + (entry.mirror.lines?.upsert.length ?? 0),
        0,
      );
    expect(upserts).toBe(BIG);
  }, 300_000);
});
