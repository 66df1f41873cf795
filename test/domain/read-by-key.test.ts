import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import type { OpportunityAggregate, QuoteAggregate } from "../../domain/model.js";
import { engineHarness } from "../support/engine.js";
import {
  at,
  cpqEvent,
  crmEvent,
  line,
  opportunityUpserted,
  quoteLinesUpserted,
  quoteUpserted,
} from "../support/events.js";

/** Seconds after the harness clock (12:00): changes newer than the start. */
const AFTER_START = 12 * 3600;

type Step =
  | { kind: "cpq-upsert"; id: string; quantity: string; discount: string }
  | { kind: "cpq-delete"; id: string }
  | { kind: "crm-upsert"; pick: number; quantity: string; withSyncKey: boolean }
  | { kind: "crm-delete"; pick: number }
  | { kind: "cpq-replace"; ids: string[] };

const quoteLineId = fc.constantFrom("q1", "q2", "q3", "q4", "q5");
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant("cpq-upsert" as const),
    id: quoteLineId,
    quantity: fc.constantFrom("1", "2", "3.5", "7"),
    // The demo tenant allows 20 % without approval: some discounts need it.
    discount: fc.constantFrom("0", "5", "25"),
  }),
  fc.record({ kind: fc.constant("cpq-delete" as const), id: quoteLineId }),
  fc.record({
    kind: fc.constant("crm-upsert" as const),
    pick: fc.nat(9),
    quantity: fc.constantFrom("4", "9", "11.25"),
    withSyncKey: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("crm-delete" as const), pick: fc.nat(9) }),
  fc.record({ kind: fc.constant("cpq-replace" as const), ids: fc.subarray(["q1", "q2", "q3", "q4", "q5"]) }),
);

async function syncedPair(readByKey: boolean) {
  const h = engineHarness();
  if (!readByKey) (h.store as { loadPairLines?: unknown }).loadPairLines = undefined;
  await h.setup();
  await h.crm(opportunityUpserted("rk-o", {}, { occurredAt: at(1) }));
  await h.cpq(quoteUpserted("rk-q", "rk-o", {}, { occurredAt: at(2) }));
  await h.cpq(
    quoteLinesUpserted("rk-q", [line("q1"), line("q2", { discountPercent: "5" }), line("q3")], {
      occurredAt: at(3),
    }),
  );
  await h.start("rk-q");
  return h;
}

/** The event a step sends, the same for both harnesses (the CRM's ids derive from sync keys). */
function eventOf(
  s: Step,
  opportunity: OpportunityAggregate | null,
  seconds: number,
): { crm?: unknown; cpq?: unknown } {
  const envelope = { eventId: `rk-${seconds}`, occurredAt: at(AFTER_START + seconds) };
  const crmLines = [...(opportunity?.lines.values() ?? [])];
  const picked =
    crmLines.length > 0
      ? crmLines[s.kind === "crm-upsert" || s.kind === "crm-delete" ? s.pick % crmLines.length : 0]
      : undefined;
  switch (s.kind) {
    case "cpq-upsert":
      return {
        cpq: cpqEvent(
          "quote.lines.upserted",
          { quoteId: "rk-q", lines: [line(s.id, { quantity: s.quantity, discountPercent: s.discount })] },
          envelope,
        ),
      };
    case "cpq-delete":
      return { cpq: cpqEvent("quote.lines.deleted", { quoteId: "rk-q", lineIds: [s.id] }, envelope) };
    case "cpq-replace":
      return {
        cpq: cpqEvent(
          "quote.lines.replaced",
          { quoteId: "rk-q", lines: s.ids.map((id) => line(id)) },
          envelope,
        ),
      };
    case "crm-upsert": {
      if (!picked) return {};
      const crmLine = {
        ...line(`c-${picked.syncKey}`, { quantity: s.quantity }),
        ...(s.withSyncKey ? { syncKey: picked.syncKey } : {}),
      };
      return {
        crm: crmEvent("opportunity.lines.upserted", { opportunityId: "rk-o", lines: [crmLine] }, envelope),
      };
    }
    case "crm-delete":
      return picked
        ? {
            crm: crmEvent(
              "opportunity.lines.deleted",
              { opportunityId: "rk-o", lineIds: [picked.id ?? `c-${picked.syncKey}`] },
              envelope,
            ),
          }
        : {};
  }
}

const state = (aggregate: QuoteAggregate | OpportunityAggregate | null) =>
  aggregate && {
    header: aggregate.header,
    lines: [...aggregate.lines.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
  };

describe("a line change read by key", () => {
  it("decides exactly as with the whole line sets read: same answers, same stored pair", async () => {
    let readsByKey = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        const byKey = await syncedPair(true);
        const whole = await syncedPair(false);
        const keyed = vi.spyOn(byKey.store, "loadPairLines");
        for (const [index, s] of steps.entries()) {
          const opportunity = await byKey.store.loadOpportunity("demo", "rk-o");
          const event = eventOf(s, opportunity, 10 + index);
          const send = (h: typeof byKey) =>
            event.crm ? h.crm(event.crm) : event.cpq ? h.cpq(event.cpq) : Promise.resolve(null);
          const [a, b] = await Promise.all([
            send(byKey).catch((error: Error) => error.name),
            send(whole).catch((error: Error) => error.name),
          ]);
          expect(a).toEqual(b);
        }
        expect(state(await byKey.store.loadQuote("demo", "rk-q"))).toEqual(
          state(await whole.store.loadQuote("demo", "rk-q")),
        );
        expect(state(await byKey.store.loadOpportunity("demo", "rk-o"))).toEqual(
          state(await whole.store.loadOpportunity("demo", "rk-o")),
        );
        readsByKey += keyed.mock.calls.length;
      }),
      { numRuns: 60 },
    );
    // The property is about the reads by key: most changes of a run are decided on them.
    expect(readsByKey).toBeGreaterThan(60);
  });

  it("reads by key once the pair has been read, and keeps the amount the exact subtotal", async () => {
    const h = await syncedPair(true);
    const whole = vi.spyOn(h.store, "loadQuote");
    const keyed = vi.spyOn(h.store, "loadPairLines");
    await h.cpq(
      quoteLinesUpserted("rk-q", [line("q1", { quantity: "3" })], { occurredAt: at(AFTER_START + 1) }),
    );
    await h.cpq(
      quoteLinesUpserted("rk-q", [line("q3", { unitPrice: "0.10" })], { occurredAt: at(AFTER_START + 2) }),
    );
    expect(keyed).toHaveBeenCalledTimes(2);
    expect(whole).not.toHaveBeenCalled();
    const opportunity = await h.store.loadOpportunity("demo", "rk-o");
    // 3 × 100 + 100 × 0.95 + 0.10
    expect(opportunity?.header.amount).toBe("395.10");
    expect((await h.store.loadQuote("demo", "rk-q"))?.header.lineSummary).toMatchObject({
      subtotal: "395.10",
      live: 3,
    });
  });

  it("falls back to whole reads for a header stored without a summary, and writes it", async () => {
    const h = await syncedPair(true);
    const stored = (h.store as unknown as { quotes: Map<string, QuoteAggregate> }).quotes.get("demo/rk-q");
    if (!stored) throw new Error("no quote");
    delete stored.header.lineSummary;
    const whole = vi.spyOn(h.store, "loadQuote");
    const changed = await h.cpq(
      quoteLinesUpserted("rk-q", [line("q2", { quantity: "2" })], { occurredAt: at(AFTER_START + 1) }),
    );
    expect(changed.response.status).toBe("applied");
    expect(whole).toHaveBeenCalled();
    expect((await h.store.loadQuote("demo", "rk-q"))?.header.lineSummary).toMatchObject({
      subtotal: "390.00",
      live: 3,
    });
  });
});
