import { describe, expect, it } from "vitest";
import { InMemorySyncStore } from "../../domain/memory-store.js";
import type { OpportunityAggregate, OpportunityRecord } from "../../domain/model.js";
import type { Page } from "../../domain/store.js";
import { afterStart, engineHarness, HARNESS_START, tamper } from "../support/engine.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";

/**
 * SPEC §1.13: what the scheduled audit counts as drift of a synced pair — one synced quote, lines
 * equal on mapped fields, the amount equal to the subtotal, the headers' line summaries true to
 * their lines — through the engine's scheduled run on the in-memory store. Drift is made by
 * writing records through the store port behind the engine's back, as a lost write would leave them.
 */

type Harness = ReturnType<typeof engineHarness>;

async function syncedPair(lines = [line("l1", { quantity: "2" })]) {
  const h = engineHarness();
  await h.setup();
  await h.crm(opportunityUpserted("opp", {}, { occurredAt: at(1) }));
  await h.cpq(quoteUpserted("q", "opp", {}, { occurredAt: at(2) }));
  await h.cpq(quoteLinesUpserted("q", lines, { occurredAt: at(3) }));
  await h.start("q");
  h.advance(1000);
  return h;
}

/** The issues the scheduled audit finds on `opp`, as stored in the drift report. */
async function issues(h: Harness) {
  await h.engine.runScheduled();
  return (await h.store.loadDriftFinding("demo", "opp"))?.issues ?? [];
}

describe("one synced quote (SPEC §1.1)", () => {
  it("other quotes of the opportunity, unsynced or synced elsewhere since, are no drift", async () => {
    const h = await syncedPair();
    await h.cpq(quoteUpserted("q-idle", "opp", {}, { occurredAt: afterStart(1) }));
    // q-moved was a quote of opp, then moved to opp-2 and synced there.
    await h.cpq(quoteUpserted("q-moved", "opp", {}, { occurredAt: afterStart(1) }));
    await h.crm(opportunityUpserted("opp-2", {}, { occurredAt: afterStart(2) }));
    await h.cpq(quoteUpserted("q-moved", "opp-2", {}, { occurredAt: afterStart(3) }));
    expect((await h.start("q-moved")).response.status).toBe("started");
    expect(await issues(h)).toEqual([]);
  });

  it("a second quote syncing with the opportunity is drift, named with both ids", async () => {
    const h = await syncedPair();
    await h.cpq(quoteUpserted("q2", "opp", {}, { occurredAt: afterStart(1) }));
    await tamper(h.store, "demo", { quoteId: "q2" }, { syncing: true });
    expect(await issues(h)).toEqual([
      { kind: "multiple_synced_quotes", detail: "2 quotes are syncing with the opportunity: q, q2" },
    ]);
  });

  it("an opportunity naming a quote that is not syncing is drift", async () => {
    const h = await syncedPair();
    await tamper(h.store, "demo", { quoteId: "q" }, { syncing: false });
    expect(await issues(h)).toEqual([
      {
        kind: "no_synced_quote",
        detail: "the opportunity names quote q as synced, but that quote is not syncing with it",
      },
    ]);
  });
});

describe("one synced quote: the quote's side (SPEC §1.1)", () => {
  it("a synced quote that names another opportunity is not this opportunity's synced quote", async () => {
    const h = await syncedPair();
    await tamper(h.store, "demo", { quoteId: "q" }, { opportunityId: "opp-2" });
    expect((await issues(h)).map((issue) => issue.kind)).toEqual(["no_synced_quote"]);
  });
});

describe("lines and amount (SPEC §1.13)", () => {
  it("names up to five differing lines in sync key order without an ellipsis", async () => {
    const h = await syncedPair([]);
    const lines = Array.from({ length: 5 }, (_, index) => line(`x${index}`));
    await h.cpq(quoteLinesUpserted("q", lines, { occurredAt: afterStart(5) }));
    const opportunity = await h.store.loadOpportunity("demo", "opp");
    if (!opportunity) throw new Error("no opportunity");
    // The opportunity loses sk-2..sk-5 and gains sk-0, a line the quote never had.
    const all = new Map(
      [...opportunity.lines.values()].map((stored) => [
        stored.syncKey,
        { ...stored, deleted: stored.syncKey !== "sk-1" },
      ]),
    );
    const sk1 = all.get("sk-1");
    if (!sk1) throw new Error("no sk-1");
    all.set("sk-0", { ...sk1, syncKey: "sk-0", id: "extra" });
    await h.store.commit({
      tenantId: "demo",
      opportunity: {
        record: { ...opportunity.header, lineSummary: undefined },
        lines: { all, changed: new Set(all.keys()) },
      },
      quotes: [],
      outbox: [],
      audit: [],
    });
    const found = await issues(h);
    expect(found.find((issue) => issue.kind === "lines_differ")).toEqual({
      kind: "lines_differ",
      detail: "5 line(s) differ between quote and opportunity (sync keys sk-0, sk-2, sk-3, sk-4, sk-5)",
    });
  });

  it("a pair in a currency without minor units adds up in it: no drift", async () => {
    const h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("opp", { currency: "JPY" }, { occurredAt: at(1) }));
    await h.cpq(quoteUpserted("q", "opp", { currency: "JPY" }, { occurredAt: at(2) }));
    await h.cpq(quoteLinesUpserted("q", [line("l1", { unitPrice: "100.5" })], { occurredAt: at(3) }));
    await h.start("q");
    expect((await h.status("opp")).amount).toBe("101");
    expect(await issues(h)).toEqual([]);
  });

  it("the subtotal is the quote's, in the quote's currency", async () => {
    const h = await syncedPair([line("l1", { quantity: "2", unitPrice: "0.5" })]);
    // An opportunity header written in another currency does not change what the quote adds up to.
    await tamper(h.store, "demo", { opportunityId: "opp" }, { currency: "JPY" });
    expect(await issues(h)).toEqual([]);
  });
});

describe("line summaries (what decisions about a few lines trust)", () => {
  it("a header whose summary disagrees with its lines is drift, on either side", async () => {
    const h = await syncedPair();
    const opportunity = await h.store.loadOpportunity("demo", "opp");
    const summary = opportunity?.header.lineSummary;
    if (!summary) throw new Error("no line summary");
    await tamper(h.store, "demo", { opportunityId: "opp" }, { lineSummary: { ...summary, live: 3 } });
    expect(await issues(h)).toEqual([
      {
        kind: "line_summary_mismatch",
        detail:
          "the opportunity header says its 3 live line(s) add up to 200.00 USD; its 1 line(s) add up to 200.00",
      },
    ]);
    // Ids no longer unique by the header's word, the count right: still drift.
    await tamper(
      h.store,
      "demo",
      { opportunityId: "opp" },
      { lineSummary: { ...summary, uniqueIds: !summary.uniqueIds } },
    );
    expect((await issues(h)).map((issue) => issue.kind)).toEqual(["line_summary_mismatch"]);
    // The opportunity's subtotal is not what decisions read there: no drift.
    await tamper(
      h.store,
      "demo",
      { opportunityId: "opp" },
      { lineSummary: { ...summary, subtotal: "1.00" } },
    );
    expect(await issues(h)).toEqual([]);

    const quote = await h.store.loadQuote("demo", "q");
    const quoteSummary = quote?.header.lineSummary;
    if (!quoteSummary) throw new Error("no quote line summary");
    await tamper(h.store, "demo", { quoteId: "q" }, { lineSummary: { ...quoteSummary, subtotal: "1.00" } });
    expect(await issues(h)).toEqual([
      {
        kind: "line_summary_mismatch",
        detail: "the quote header says its 1 live line(s) add up to 1.00 USD; its 1 line(s) add up to 200.00",
      },
    ]);
  });
});

/**
 * The store as the scheduled audit may find it: a synced index that lags behind the records, and
 * a read that lands in the middle of a change (the first read of `opp` shows `firstRead`).
 */
class ShiftingStore extends InMemorySyncStore {
  lagging: string[] = [];
  firstRead: Partial<OpportunityRecord> | null = null;

  override async listSyncedOpportunityIds(
    tenantId: string,
    after: string | null,
    limit: number,
  ): Promise<Page<string>> {
    const page = await super.listSyncedOpportunityIds(tenantId, after, limit);
    return after === null ? { ...page, entries: [...this.lagging, ...page.entries] } : page;
  }

  override async loadOpportunity(
    tenantId: string,
    opportunityId: string,
  ): Promise<OpportunityAggregate | null> {
    const loaded = await super.loadOpportunity(tenantId, opportunityId);
    if (!loaded || opportunityId !== "opp" || !this.firstRead) return loaded;
    const shown = { ...loaded, header: { ...loaded.header, ...this.firstRead } };
    this.firstRead = null;
    return shown;
  }
}

async function shiftingPair() {
  const h = engineHarness({ store: (clock) => new ShiftingStore(clock) });
  await h.setup();
  const { store, engine, crm, cpq } = h;
  await crm(opportunityUpserted("opp", {}, { occurredAt: at(1) }));
  await cpq(quoteUpserted("q", "opp", {}, { occurredAt: at(2) }));
  await cpq(quoteLinesUpserted("q", [line("l1", { quantity: "2" })], { occurredAt: at(3) }));
  await engine.startSync(h.tenant, "q", {});
  h.advance(1000);
  return { store, engine, crm, cpq };
}

describe("what the audit reads (SPEC §1.13 under a lagging index and concurrent changes)", () => {
  it("opportunities the synced index still names but that are gone, deleted or no longer synced are skipped", async () => {
    const { store, engine, crm, cpq } = await shiftingPair();
    await crm(opportunityUpserted("opp-deleted", {}, { occurredAt: at(4) }));
    await crm({
      eventId: "del-1",
      type: "opportunity.deleted",
      occurredAt: at(5),
      data: { opportunityId: "opp-deleted" },
    });
    await crm(opportunityUpserted("opp-idle", {}, { occurredAt: at(4) }));
    await cpq(quoteUpserted("q-idle", "opp-idle", {}, { occurredAt: at(4) }));
    // A deleted opportunity whose header still names its synced quote, its amount off too.
    const opp = await store.loadOpportunity("demo", "opp");
    if (!opp) throw new Error("no opportunity");
    await store.commit({
      tenantId: "demo",
      opportunity: { record: { ...opp.header, deleted: true, amount: "1.00" } },
      quotes: [],
      outbox: [],
      audit: [],
    });
    store.lagging = ["opp-deleted", "opp-gone", "opp-idle", "opp"];
    const report = await engine.runScheduled();
    expect(report.audit.failures).toEqual([]);
    expect(report.audit.drifting).toEqual([]);
    expect((await store.readDriftReport("demo", null, 10)).entries).toEqual([]);
  });

  it("a drift seen on the first read only is a change that landed in between: not reported", async () => {
    const { store, engine } = await shiftingPair();
    store.firstRead = { amount: "1.00" };
    const report = await engine.runScheduled();
    expect(report.audit.drifting).toEqual([]);
    expect(await store.loadDriftFinding("demo", "opp")).toBeNull();
  });
});

describe("the finding kept for a drift", () => {
  it("a finding that loses one of its issues is a new finding: found anew, nothing audited", async () => {
    const h = await syncedPair();
    const summary = (await h.store.loadOpportunity("demo", "opp"))?.header.lineSummary;
    if (!summary) throw new Error("no line summary");
    await tamper(
      h.store,
      "demo",
      { opportunityId: "opp" },
      { amount: "1.00", lineSummary: { ...summary, live: 3 } },
    );
    await h.engine.runScheduled();
    const first = await h.store.loadDriftFinding("demo", "opp");
    expect(first?.issues.map((issue) => issue.kind)).toEqual(["line_summary_mismatch", "amount_mismatch"]);
    h.advance(60_000);
    await tamper(h.store, "demo", { opportunityId: "opp" }, { lineSummary: summary });
    const report = await h.engine.runScheduled();
    expect(report.audit.recorded).toBe(0);
    const shrunk = await h.store.loadDriftFinding("demo", "opp");
    expect(shrunk?.issues.map((issue) => issue.kind)).toEqual(["amount_mismatch"]);
    expect(shrunk?.detectedAt).toBe(new Date(HARNESS_START + 61_000).toISOString());
    expect(first?.detectedAt).toBe(new Date(HARNESS_START + 1000).toISOString());
  });
});
