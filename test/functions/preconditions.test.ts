import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scanAll, writesBeyondVoidedNumbers } from "../support/dynamo.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";
import { handlerHarness } from "../support/handlers.js";

/** SPEC §1.10 over HTTP: a refused start answers 409 with its code, audits the refusal and changes nothing else. */
describe("start preconditions and a quote moved away, through the handlers (DynamoDB Local)", () => {
  let h: Awaited<ReturnType<typeof handlerHarness>>;
  beforeAll(async () => {
    h = await handlerHarness();
  });
  afterAll(async () => {
    await h.dispose();
  });

  const audit = async (opportunityId: string) =>
    (await h.request("GET", `/sync/demo/opportunities/${opportunityId}/audit?limit=50`)).body
      .entries as Array<{
      type: string;
      quoteId?: string;
      eventId?: string;
      summary: string;
    }>;

  const cases = [
    {
      code: "currency_mismatch",
      opportunity: { currency: "USD" },
      quote: { currency: "EUR" },
      details: [{ quoteCurrency: "EUR", opportunityCurrency: "USD" }],
    },
    {
      code: "pricebook_mismatch",
      opportunity: { pricebookId: "pb-standard" },
      quote: { pricebookId: "pb-partner" },
      details: [{ quotePricebookId: "pb-partner", opportunityPricebookId: "pb-standard" }],
    },
    {
      code: "quote_expired",
      opportunity: {},
      quote: { expiresAt: "2020-06-30" },
      details: [{ expiresAt: "2020-06-30" }],
    },
  ] as const;

  for (const refusal of cases) {
    it(`answers 409 ${refusal.code}, audits start.refused and writes nothing else`, async () => {
      const opp = `pre-opp-${refusal.code}`;
      const quote = `pre-q-${refusal.code}`;
      expect(
        (await h.crm(opportunityUpserted(opp, refusal.opportunity, { occurredAt: at(1) }))).statusCode,
      ).toBe(200);
      expect((await h.cpq(quoteUpserted(quote, opp, refusal.quote, { occurredAt: at(2) }))).statusCode).toBe(
        200,
      );
      expect(
        (await h.cpq(quoteLinesUpserted(quote, [line(`${quote}-l1`)], { occurredAt: at(3) }))).statusCode,
      ).toBe(200);
      const before = await scanAll(h.table.tableName);

      const refused = await h.start(quote, { eventId: `cmd-${refusal.code}` });
      expect(refused.statusCode).toBe(409);
      expect(refused.body.error).toMatchObject({ code: refusal.code, details: refusal.details });

      // Over every item of the table: the audit entry, and the outbox numbers the start took ahead
      // of its reads, voided.
      const written = writesBeyondVoidedNumbers(before, await scanAll(h.table.tableName));
      expect(written.map((item) => String(item.pk))).toEqual([`T#demo#A#${opp}`]);
      const entries = await audit(opp);
      expect(entries[0]).toMatchObject({
        type: "start.refused",
        quoteId: quote,
        eventId: `cmd-${refusal.code}`,
        source: "command",
      });
      expect(entries[0]?.summary).toContain(refusal.code === "quote_expired" ? "expired" : "refused");
      const status = (await h.status(opp)).body;
      expect(status).toMatchObject({ syncedQuoteId: null, amountLocked: false, amount: null });
      expect(status.lines).toEqual([]);
    });
  }

  it("stops syncing a synced quote moved to another opportunity (audited), and mirrors nothing more to the first", async () => {
    for (const opp of ["mv-opp-1", "mv-opp-2"])
      expect((await h.crm(opportunityUpserted(opp, {}, { occurredAt: at(1) }))).statusCode).toBe(200);
    expect((await h.cpq(quoteUpserted("mv-q", "mv-opp-1", {}, { occurredAt: at(2) }))).statusCode).toBe(200);
    expect((await h.cpq(quoteLinesUpserted("mv-q", [line("mv-l1")], { occurredAt: at(3) }))).statusCode).toBe(
      200,
    );
    expect((await h.start("mv-q")).statusCode).toBe(200);
    expect((await h.status("mv-opp-1")).body).toMatchObject({ syncedQuoteId: "mv-q", amountLocked: true });

    const moved = await h.cpq(quoteUpserted("mv-q", "mv-opp-2", {}, { occurredAt: at(4_000_000_000) }));
    expect(moved.statusCode).toBe(200);
    expect(moved.body.status).toBe("stopped");
    const first = (await h.status("mv-opp-1")).body;
    expect(first).toMatchObject({ syncedQuoteId: null, amountLocked: false, amount: "100.00" });
    expect((await h.status("mv-opp-2")).body).toMatchObject({ syncedQuoteId: null, amountLocked: false });
    const entries = await audit("mv-opp-1");
    expect(entries.find((entry) => entry.type === "sync.stopped")?.summary).toContain(
      "moved to another opportunity",
    );

    const later = await h.cpq(
      quoteLinesUpserted("mv-q", [line("mv-l1", { quantity: "5" })], { occurredAt: at(4_000_000_001) }),
    );
    expect(later.statusCode).toBe(200);
    expect(later.body).toEqual({ status: "not_synced", mirrors: [] });
    expect((await h.status("mv-opp-1")).body.lines).toMatchObject([
      { quantity: "1", productId: "prod-mv-l1" },
    ]);
  });
});
