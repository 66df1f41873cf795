import { describe, expect, it, vi } from "vitest";
import type { OpportunityAggregate } from "../../domain/model.js";
import { TenantConfig } from "../../domain/tenant.js";
import { afterStart, engineHarness } from "../support/engine.js";
import {
  at,
  cpqEvent,
  line,
  opportunityLinesUpserted,
  opportunityUpserted,
  quoteLinesUpserted,
  quoteUpserted,
} from "../support/events.js";

/**
 * What a decision reads (docs/performance: a synced pair's line change is read by key, the rest
 * whole, with only the records the rule needs), and that reading less never decides differently
 * (SPEC §1.9, §1.11): through the engine's API on the in-memory store, its reads counted.
 */

type Harness = ReturnType<typeof engineHarness>;

/** A pair of opportunity `o` and quote `q` with lines q1 and q2; synced unless told otherwise. */
async function pair(
  o: string,
  q: string,
  options: { tenant?: TenantConfig; currency?: string; discount?: string; start?: boolean } = {},
) {
  const h = engineHarness(options.tenant ? { tenant: options.tenant } : {});
  await h.setup();
  const currency = options.currency ?? "USD";
  await h.crm(opportunityUpserted(o, { currency }, { occurredAt: at(1) }));
  await h.cpq(quoteUpserted(q, o, { currency }, { occurredAt: at(2) }));
  await h.cpq(
    quoteLinesUpserted(q, [line("q1", { discountPercent: options.discount ?? "0" }), line("q2")], {
      occurredAt: at(3),
    }),
  );
  if (options.start !== false) await h.start(q);
  return h;
}

function reads(h: Harness) {
  return {
    quote: vi.spyOn(h.store, "loadQuote"),
    opportunity: vi.spyOn(h.store, "loadOpportunity"),
    keyed: vi.spyOn(h.store, "loadPairLines"),
    processed: vi.spyOn(h.store, "findProcessedEvent"),
  };
}

async function storedOpportunity(h: Harness, id: string): Promise<OpportunityAggregate> {
  const stored = await h.store.loadOpportunity("demo", id);
  if (!stored) throw new Error(`no opportunity ${id}`);
  return stored;
}

describe("a synced pair's line change, read by key", () => {
  it("from the CRM, by sync key right after the start, then by the CRM's own line id once the lines were read", async () => {
    const h = await pair("rp-o1", "rp-q1");
    const [first] = [...(await storedOpportunity(h, "rp-o1")).lines.values()];
    const syncKey = first?.syncKey ?? "";
    const r = reads(h);
    const paired = await h.crm(
      opportunityLinesUpserted("rp-o1", [line("crm-1", { syncKey, quantity: "2" })], {
        occurredAt: afterStart(1),
      }),
    );
    expect(paired.response.status).toBe("applied");
    // Tried by key (the start told which quote the opportunity is synced with); the line's new
    // CRM id is not the one held, so it is read whole.
    expect(r.keyed).toHaveBeenCalledTimes(1);
    // A header report reads the pair whole, and with it the CRM's line ids.
    await h.crm(opportunityUpserted("rp-o1", { name: "Renamed" }, { occurredAt: afterStart(2) }));
    r.opportunity.mockClear();
    r.quote.mockClear();
    const byId = await h.crm(
      opportunityLinesUpserted("rp-o1", [line("crm-1", { quantity: "3" })], { occurredAt: afterStart(3) }),
    );
    expect(byId.response.status).toBe("applied");
    expect(r.keyed).toHaveBeenCalledTimes(2);
    expect(r.opportunity).not.toHaveBeenCalled();
    expect(r.quote).not.toHaveBeenCalled();
    expect((await h.status("rp-o1")).amount).toBe("400.00");
  });

  it("in a currency other than USD too", async () => {
    const h = await pair("rp-o2", "rp-q2", { currency: "EUR" });
    const r = reads(h);
    await h.cpq(quoteLinesUpserted("rp-q2", [line("q1", { quantity: "2" })], { occurredAt: afterStart(1) }));
    expect(r.keyed).toHaveBeenCalledTimes(1);
    expect(r.quote).not.toHaveBeenCalled();
    expect((await h.status("rp-o2")).amount).toBe("300.00");
  });

  it("not for a line quotesync does not know yet: that one is read whole", async () => {
    const h = await pair("rp-o3", "rp-q3");
    const r = reads(h);
    await h.cpq(quoteLinesUpserted("rp-q3", [line("q9")], { occurredAt: afterStart(1) }));
    expect(r.keyed).not.toHaveBeenCalled();
    expect(r.quote).toHaveBeenCalledTimes(1);
    expect((await h.status("rp-o3")).lines).toHaveLength(3);
  });

  it("read whole when the opportunity's summary is missing, and the summary written", async () => {
    const h = await pair("rp-o4", "rp-q4");
    const stored = (
      h.store as unknown as { opportunities: Map<string, OpportunityAggregate> }
    ).opportunities.get("demo/rp-o4");
    if (!stored) throw new Error("no opportunity");
    delete stored.header.lineSummary;
    const r = reads(h);
    const changed = await h.cpq(
      quoteLinesUpserted("rp-q4", [line("q2", { quantity: "3" })], { occurredAt: afterStart(1) }),
    );
    expect(changed.response.status).toBe("applied");
    expect(r.quote).toHaveBeenCalled();
    expect((await storedOpportunity(h, "rp-o4")).header.lineSummary).toMatchObject({ subtotal: "400.00" });
  });

  it("read whole after the tenant's discount limit changed: a line not read may now need approval (SPEC §1.9)", async () => {
    const base = engineHarness().tenant;
    const lenient = TenantConfig.parse({ ...base, approvals: { maxDiscountPercent: "30" } });
    const h = await pair("rp-o5", "rp-q5", { tenant: lenient, discount: "25" });
    expect((await h.status("rp-o5")).approval.required).toBe(false);
    const strict = TenantConfig.parse({ ...base, approvals: { maxDiscountPercent: "20" } });
    await h.store.putTenant(strict);
    const changed = await h.engine.handleCpqEvent(
      strict,
      (await import("../../domain/events.js")).CpqEvent.parse(
        quoteLinesUpserted("rp-q5", [line("q2", { quantity: "2" })], { occurredAt: afterStart(1) }),
      ),
    );
    expect(changed.response.status).toBe("applied");
    expect((await h.status("rp-o5")).approval).toEqual({
      required: true,
      reasons: ["line q1 (prod-q1) has a 25% discount, over the 20% allowed without approval"],
    });
  });

  it("a redelivered change on a store that cannot read by key is answered before anything is read", async () => {
    const h = await pair("rp-o6", "rp-q6");
    const change = quoteLinesUpserted("rp-q6", [line("q1", { quantity: "2" })], {
      eventId: "rp-6",
      occurredAt: afterStart(1),
    });
    (h.store as { loadPairLines?: unknown }).loadPairLines = undefined;
    const first = await h.cpq(change);
    const quote = vi.spyOn(h.store, "loadQuote");
    const processed = vi.spyOn(h.store, "findProcessedEvent");
    const commit = vi.spyOn(h.store, "commit");
    const again = await h.cpq(change);
    expect(again).toEqual({ replayed: true, response: first.response });
    expect(processed).toHaveBeenCalledTimes(1);
    expect(quote).not.toHaveBeenCalled();
    expect(commit).not.toHaveBeenCalled();
  });
});

describe("reads of the rest: only what the rule needs", () => {
  it("an unsynced quote's line change or report reads the quote alone", async () => {
    const h = await pair("rp-o7", "rp-q7", { start: false });
    const r = reads(h);
    await h.cpq(quoteLinesUpserted("rp-q7", [line("q1", { quantity: "2" })], { occurredAt: at(4) }));
    // Its lines are known by now, but there is no synced pair to read them from.
    await h.cpq(quoteLinesUpserted("rp-q7", [line("q1", { quantity: "3" })], { occurredAt: at(5) }));
    await h.cpq(quoteUpserted("rp-q7", "rp-o7", { name: "Renamed" }, { occurredAt: at(6) }));
    expect(r.keyed).not.toHaveBeenCalled();
    expect(r.opportunity).not.toHaveBeenCalled();
    expect(r.quote).toHaveBeenCalledTimes(3);
  });

  it("an unsynced opportunity's report reads the opportunity alone; a synced one's also its quote, once", async () => {
    const h = await pair("rp-o8", "rp-q8", { start: false });
    const r = reads(h);
    await h.crm(opportunityUpserted("rp-o8", { name: "Renamed" }, { occurredAt: at(4) }));
    expect(r.quote).not.toHaveBeenCalled();
    await h.start("rp-q8");
    r.quote.mockClear();
    r.opportunity.mockClear();
    await h.crm(opportunityUpserted("rp-o8", { name: "Again" }, { occurredAt: afterStart(1) }));
    expect(r.opportunity).toHaveBeenCalledTimes(1);
    expect(r.quote).toHaveBeenCalledTimes(1);
    await h.cpq(quoteUpserted("rp-q8", "rp-o8", { name: "Renamed" }, { occurredAt: afterStart(2) }));
    expect(r.opportunity).toHaveBeenCalledTimes(2);
    expect(r.quote).toHaveBeenCalledTimes(2);
  });

  it("a start reads the quote and its opportunity, and the quote it replaces only when there is one", async () => {
    const h = await pair("rp-o9", "rp-q9", { start: false });
    await h.cpq(quoteUpserted("rp-q9b", "rp-o9", {}, { occurredAt: at(4) }));
    await h.cpq(quoteLinesUpserted("rp-q9b", [line("b1")], { occurredAt: at(5) }));
    const r = reads(h);
    await h.start("rp-q9");
    expect(r.quote.mock.calls.map(([, id]) => id)).toEqual(["rp-q9"]);
    expect(r.opportunity).toHaveBeenCalledTimes(1);
    await h.start("rp-q9");
    expect(r.quote.mock.calls.map(([, id]) => id)).toEqual(["rp-q9", "rp-q9"]);
    const replaced = await h.start("rp-q9b");
    expect(replaced.response.status).toBe("started");
    expect(r.quote.mock.calls.map(([, id]) => id)).toEqual(["rp-q9", "rp-q9", "rp-q9b", "rp-q9"]);
    expect(r.opportunity).toHaveBeenCalledTimes(3);
  });

  it("a start of a quote whose opportunity quotesync has not heard of is not found", async () => {
    const h = engineHarness();
    await h.setup();
    await h.cpq(quoteUpserted("rp-q10", "rp-nowhere", {}, { occurredAt: at(1) }));
    await expect(h.start("rp-q10")).rejects.toMatchObject({
      name: "NotFound",
      message: "opportunity rp-nowhere not found",
    });
  });

  it("a quote's trigger reads like a start", async () => {
    const h = await pair("rp-o11", "rp-q11", { start: false });
    const r = reads(h);
    const fired = await h.cpq(cpqEvent("cart.finalized", { quoteId: "rp-q11" }, { occurredAt: at(4) }));
    expect(fired.response.status).toBe("started");
    expect(r.quote).toHaveBeenCalledTimes(1);
    expect(r.opportunity).toHaveBeenCalledTimes(1);
  });
});

describe("a container that did not see the start (its own read hints)", () => {
  it("learns the pair from its first whole reads, and reads by key from then on", async () => {
    const h = await pair("rp-o12", "rp-q12");
    const [first] = [...(await storedOpportunity(h, "rp-o12")).lines.values()];
    // Another container: the engine's modules loaded afresh, on the same store.
    vi.resetModules();
    const { SyncEngine } = await import("../../domain/engine/sync-engine.js");
    const { CpqEvent, CrmEvent } = await import("../../domain/events.js");
    let keys = 0;
    const fresh = new SyncEngine({
      store: h.store,
      clock: () => Date.parse(afterStart(0)),
      newSyncKey: () => `fresh-${++keys}`,
      sleep: async () => {},
    });
    const r = reads(h);
    const report = await fresh.handleCrmEvent(
      h.tenant,
      CrmEvent.parse(opportunityUpserted("rp-o12", { name: "Renamed" }, { occurredAt: afterStart(1) })),
    );
    expect(report.response.status).toBe("applied");
    expect(r.keyed).not.toHaveBeenCalled();
    const crmLine = await fresh.handleCrmEvent(
      h.tenant,
      CrmEvent.parse(
        opportunityLinesUpserted("rp-o12", [line("crm-a", { syncKey: first?.syncKey, quantity: "2" })], {
          occurredAt: afterStart(2),
        }),
      ),
    );
    expect(crmLine.response.status).toBe("applied");
    expect(r.keyed).toHaveBeenCalledTimes(1);
    const quoteReport = await fresh.handleCpqEvent(
      h.tenant,
      CpqEvent.parse(quoteUpserted("rp-q12", "rp-o12", { name: "Renamed" }, { occurredAt: afterStart(3) })),
    );
    expect(quoteReport.response.status).toBe("applied");
    r.quote.mockClear();
    await fresh.handleCpqEvent(
      h.tenant,
      CpqEvent.parse(
        quoteLinesUpserted("rp-q12", [line("q2", { quantity: "5" })], { occurredAt: afterStart(4) }),
      ),
    );
    expect(r.keyed).toHaveBeenCalledTimes(2);
    expect(r.quote).not.toHaveBeenCalled();
    expect((await h.status("rp-o12")).amount).toBe("700.00");
  });
});
