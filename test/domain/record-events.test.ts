import { describe, expect, it } from "vitest";
import { afterStart, engineHarness } from "../support/engine.js";
import {
  at,
  cpqEvent,
  crmEvent,
  line,
  opportunityUpserted,
  quoteLinesUpserted,
  quoteUpserted,
} from "../support/events.js";

/**
 * SPEC §1.5, §1.6, §1.10, §1.11 and §5 for the header events (`opportunity.upserted|deleted`,
 * `quote.upserted|deleted`), through the engine's public API on the in-memory store: what counts as
 * a change, late and repeated reports, deletes, and the terms whose change stops a synced pair.
 */

async function harness() {
  const h = engineHarness();
  await h.setup();
  return h;
}

/** An opportunity with a quote of one 100.00 line; `quote` and `opportunity` add header values. */
async function pair(values: { quote?: Record<string, unknown>; opportunity?: Record<string, unknown> } = {}) {
  const h = await harness();
  await h.crm(opportunityUpserted("opp", { amount: "5", ...values.opportunity }, { occurredAt: at(1) }));
  await h.cpq(quoteUpserted("q", "opp", { ...values.quote }, { occurredAt: at(2) }));
  await h.cpq(quoteLinesUpserted("q", [line("q1")], { occurredAt: at(3) }));
  return h;
}

async function auditTypes(h: Awaited<ReturnType<typeof harness>>, opportunityId = "opp") {
  const audit = await h.store.readAudit("demo", opportunityId, null, 50);
  return audit.entries.map((entry) => entry.type);
}

describe("an opportunity report (SPEC §1.11, §5)", () => {
  it.each([
    ["the account", { accountId: "acc-1" }, { accountId: "acc-2" }],
    ["the close date", { closeDate: "2026-03-01" }, { closeDate: "2026-03-31" }],
    ["a custom field", { fields: { Region__c: "US" } }, { fields: { Region__c: "EU" } }],
  ])("that changes only %s is a change; the same report again is no change", async (_what, first, next) => {
    const h = await pair({ opportunity: first });
    const changed = await h.crm(opportunityUpserted("opp", { amount: "5", ...next }, { occurredAt: at(4) }));
    expect(changed.response).toEqual({ status: "not_synced", mirrors: [] });
    const again = await h.crm(opportunityUpserted("opp", { amount: "5", ...next }, { occurredAt: at(5) }));
    expect(again.response).toEqual({ status: "no_change", mirrors: [] });
  });

  it("keeps the custom fields a report leaves out", async () => {
    const h = await pair({ opportunity: { fields: { Region__c: "EU" } } });
    await h.crm(
      opportunityUpserted("opp", { amount: "5", fields: { Other__c: "x" } }, { occurredAt: at(4) }),
    );
    const both = await h.crm(
      opportunityUpserted(
        "opp",
        { amount: "5", fields: { Region__c: "EU", Other__c: "x" } },
        { occurredAt: at(5) },
      ),
    );
    expect(both.response).toEqual({ status: "no_change", mirrors: [] });
  });

  it("gives an opportunity first reported without an amount the amount of a later report", async () => {
    const h = await harness();
    await h.crm(opportunityUpserted("opp", {}, { occurredAt: at(1) }));
    expect((await h.status("opp")).amount).toBeNull();
    const priced = await h.crm(opportunityUpserted("opp", { amount: "42.5" }, { occurredAt: at(2) }));
    expect(priced.response).toEqual({ status: "not_synced", mirrors: [] });
    expect((await h.status("opp")).amount).toBe("42.5");
  });

  it("on a synced opportunity without an amount changes no amount: nothing to correct", async () => {
    const h = await pair();
    await h.start("q");
    const renamed = await h.crm(
      opportunityUpserted("opp", { name: "Renamed" }, { occurredAt: afterStart(1) }),
    );
    expect(renamed.response).toEqual({ status: "applied", mirrors: [] });
    expect(await auditTypes(h)).not.toContain("amount.corrected");
    expect(await h.status("opp")).toMatchObject({ amount: "100.00", amountLocked: true, syncedQuoteId: "q" });
  });

  it("on a deleted opportunity is stale and answered with nothing", async () => {
    const h = await pair();
    await h.crm(crmEvent("opportunity.deleted", { opportunityId: "opp" }, { occurredAt: at(4) }));
    const late = await h.crm(opportunityUpserted("opp", { name: "Back" }, { occurredAt: at(5) }));
    expect(late.response).toEqual({ status: "stale", mirrors: [] });
    await expect(h.status("opp")).rejects.toMatchObject({ name: "NotFound" });
  });
});

describe("a synced opportunity's report with its synced values changed (SPEC §1.5, §1.13)", () => {
  it("is answered with the locked amount and the quote's mapped field, each audited", async () => {
    const h = await pair({
      quote: { fields: { Region__c: "EU" } },
      opportunity: { fields: { Region__c: "EU" } },
    });
    await h.start("q");
    const edit = await h.crm(
      opportunityUpserted(
        "opp",
        { amount: "120", fields: { Region__c: "US" } },
        { occurredAt: afterStart(1) },
      ),
    );
    expect(edit.response.status).toBe("applied");
    expect(edit.response.mirrors).toEqual([
      {
        target: "crm",
        opportunityId: "opp",
        quoteId: "q",
        opportunity: {
          amount: "100.00",
          amountLocked: true,
          syncedQuoteId: "q",
          approval: { required: false, reasons: [] },
          stage: "Prospecting",
          fields: { Region__c: "EU" },
        },
      },
    ]);
    const audit = await h.store.readAudit("demo", "opp", null, 2);
    expect(audit.entries.map(({ type, summary }) => ({ type, summary }))).toEqual([
      {
        type: "change.corrected",
        summary: "opportunity reported by crm answered with the synced mapped fields",
      },
      { type: "amount.corrected", summary: "CRM amount 120 restored to the locked 100.00" },
    ]);
  });
});

describe("price books of a synced pair (SPEC §1.10)", () => {
  it("the same price book reported again, or cleared, keeps the pair synced; another one stops it", async () => {
    const h = await pair({ quote: { pricebookId: "pb-1" }, opportunity: { pricebookId: "pb-1" } });
    await h.start("q");
    const same = await h.crm(
      opportunityUpserted("opp", { pricebookId: "pb-1", name: "Renamed" }, { occurredAt: afterStart(1) }),
    );
    expect(same.response.status).toBe("applied");
    const sameQuote = await h.cpq(
      quoteUpserted("q", "opp", { pricebookId: "pb-1", name: "Renamed" }, { occurredAt: afterStart(2) }),
    );
    expect(sameQuote.response.status).toBe("applied");
    const cleared = await h.crm(
      opportunityUpserted("opp", { name: "No book" }, { occurredAt: afterStart(3) }),
    );
    expect(cleared.response.status).toBe("applied");
    const clearedQuote = await h.cpq(
      quoteUpserted("q", "opp", { name: "No book" }, { occurredAt: afterStart(4) }),
    );
    expect(clearedQuote.response.status).toBe("applied");
    expect((await h.status("opp")).syncedQuoteId).toBe("q");
    const other = await h.crm(
      opportunityUpserted("opp", { pricebookId: "pb-2" }, { occurredAt: afterStart(5) }),
    );
    expect(other.response.status).toBe("stopped");
    expect((await h.status("opp")).syncedQuoteId).toBeNull();
  });
});

describe("deleting an opportunity (SPEC §1.6, §1.11)", () => {
  it("an unsynced one: not synced, then gone; a repeat is no change, a later report stale", async () => {
    const h = await pair();
    const deleted = await h.crm(
      crmEvent("opportunity.deleted", { opportunityId: "opp" }, { occurredAt: at(4) }),
    );
    expect(deleted.response).toEqual({ status: "not_synced", mirrors: [] });
    await expect(h.status("opp")).rejects.toMatchObject({ name: "NotFound" });
    const again = await h.crm(
      crmEvent("opportunity.deleted", { opportunityId: "opp" }, { occurredAt: at(5) }),
    );
    expect(again.response).toEqual({ status: "no_change", mirrors: [] });
  });

  it("a delete older than the last report is stale and deletes nothing", async () => {
    const h = await pair();
    await h.crm(opportunityUpserted("opp", { amount: "5", name: "Newer" }, { occurredAt: at(10) }));
    const late = await h.crm(
      crmEvent("opportunity.deleted", { opportunityId: "opp" }, { occurredAt: at(9) }),
    );
    expect(late.response).toEqual({ status: "stale", mirrors: [] });
    expect((await h.status("opp")).opportunityId).toBe("opp");
  });
});

describe("a quote report (SPEC §1.11, §5)", () => {
  it.each([
    ["terms", { terms: "Net 15" }, { terms: "Net 30" }],
    ["customer", { customer: "Acme" }, { customer: "Globex" }],
    ["seller", { seller: "Jane" }, { seller: "John" }],
    ["tax", { tax: "7.50" }, { tax: "8.00" }],
    ["fees", { fees: "12.00" }, { fees: "15.00" }],
  ])(
    "that changes only its %s is a change; the same report again is no change",
    async (_what, first, next) => {
      const h = await pair({ quote: first });
      const changed = await h.cpq(quoteUpserted("q", "opp", next, { occurredAt: at(4) }));
      expect(changed.response).toEqual({ status: "not_synced", mirrors: [] });
      const again = await h.cpq(quoteUpserted("q", "opp", next, { occurredAt: at(5) }));
      expect(again.response).toEqual({ status: "no_change", mirrors: [] });
    },
  );

  it("older than the last one applied is stale and changes nothing", async () => {
    const h = await pair();
    await h.cpq(quoteUpserted("q", "opp", { status: "presented" }, { occurredAt: at(10) }));
    const late = await h.cpq(quoteUpserted("q", "opp", { status: "rejected" }, { occurredAt: at(9) }));
    expect(late.response).toEqual({ status: "stale", mirrors: [] });
    expect((await h.status("opp")).quotes[0]?.status).toBe("presented");
  });

  it("of a deleted quote is stale, however late", async () => {
    const h = await pair();
    await h.cpq(cpqEvent("quote.deleted", { quoteId: "q" }, { occurredAt: at(4) }));
    const late = await h.cpq(quoteUpserted("q", "opp", { name: "Back" }, { occurredAt: at(50) }));
    expect(late.response).toEqual({ status: "stale", mirrors: [] });
    expect((await h.status("opp")).quotes).toEqual([]);
  });

  it("with a status as of the acceptance's very time applies it (only an older one is outdated)", async () => {
    const h = await pair();
    await h.cpq(cpqEvent("quote.accepted", { quoteId: "q" }, { occurredAt: afterStart(5) }));
    await h.cpq(
      quoteUpserted("q", "opp", { status: "presented", name: "N1" }, { occurredAt: afterStart(5) }),
    );
    expect((await h.status("opp")).quotes[0]?.status).toBe("presented");
  });
});

describe("deleting a quote (SPEC §1.6, §1.11)", () => {
  it("an unsynced one: not synced, then gone from the status; a repeat is no change", async () => {
    const h = await pair();
    const deleted = await h.cpq(cpqEvent("quote.deleted", { quoteId: "q" }, { occurredAt: at(4) }));
    expect(deleted.response).toEqual({ status: "not_synced", mirrors: [] });
    expect((await h.status("opp")).quotes).toEqual([]);
    const again = await h.cpq(cpqEvent("quote.deleted", { quoteId: "q" }, { occurredAt: at(5) }));
    expect(again.response).toEqual({ status: "no_change", mirrors: [] });
  });

  it("a delete older than the last report is stale and deletes nothing", async () => {
    const h = await pair();
    await h.cpq(quoteUpserted("q", "opp", { name: "Newer" }, { occurredAt: at(10) }));
    const late = await h.cpq(cpqEvent("quote.deleted", { quoteId: "q" }, { occurredAt: at(9) }));
    expect(late.response).toEqual({ status: "stale", mirrors: [] });
    expect((await h.status("opp")).quotes.map((quote) => quote.quoteId)).toEqual(["q"]);
  });
});
