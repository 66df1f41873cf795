import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";
import { handlerHarness } from "../support/handlers.js";

const QUOTES = 8;
const REQUESTS = 40;
const ROUNDS = 5;

describe("the single-synced-quote rule under concurrency (DynamoDB Local, through the handlers)", () => {
  let h: Awaited<ReturnType<typeof handlerHarness>>;
  beforeAll(async () => {
    h = await handlerHarness();
  });
  afterAll(async () => {
    await h.dispose();
  });

  for (let round = 1; round <= ROUNDS; round++) {
    it(`round ${round}: ${REQUESTS} concurrent starts over ${QUOTES} quotes end with exactly one synced quote whose lines the opportunity holds`, async () => {
      const opportunityId = `race-opp-${round}`;
      expect((await h.crm(opportunityUpserted(opportunityId, {}, { occurredAt: at(1) }))).statusCode).toBe(
        200,
      );
      for (let q = 0; q < QUOTES; q++) {
        const quoteId = `race-${round}-q${q}`;
        expect(
          (await h.cpq(quoteUpserted(quoteId, opportunityId, {}, { occurredAt: at(2) }))).statusCode,
        ).toBe(200);
        const lines = Array.from({ length: q + 1 }, (_, i) =>
          line(`${quoteId}-l${i}`, { unitPrice: String(q + 1) }),
        );
        expect((await h.cpq(quoteLinesUpserted(quoteId, lines, { occurredAt: at(3) }))).statusCode).toBe(200);
      }
      const responses = await Promise.all(
        Array.from({ length: REQUESTS }, (_, i) => h.start(`race-${round}-q${i % QUOTES}`)),
      );
      for (const response of responses) {
        expect([200, 503]).toContain(response.statusCode);
      }
      const started = responses.filter((response) => response.statusCode === 200);
      expect(started.length).toBeGreaterThan(0);
      console.info(
        `race round ${round}: ${started.length} started, ${REQUESTS - started.length} answered 503 retry_later`,
      );

      const status = (await h.status(opportunityId)).body;
      const syncing = status.quotes.filter((quote: { syncing: boolean }) => quote.syncing);
      expect(syncing).toHaveLength(1);
      expect(status.syncedQuoteId).toBe(syncing[0].quoteId);
      const winner = Number(String(status.syncedQuoteId).split("-q")[1]);
      expect(status.lines.map((l: { productId: string }) => l.productId).sort()).toEqual(
        Array.from({ length: winner + 1 }, (_, i) => `prod-race-${round}-q${winner}-l${i}`).sort(),
      );
      expect(status.amount).toBe(`${(winner + 1) * (winner + 1)}.00`);
    });
  }
});
