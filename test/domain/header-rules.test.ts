import { describe, expect, it } from "vitest";
import { TenantConfig } from "../../domain/tenant.js";
import { afterStart, engineHarness } from "../support/engine.js";
import {
  at,
  cpqEvent,
  line,
  opportunityUpserted,
  quoteLinesUpserted,
  quoteUpserted,
} from "../support/events.js";

/**
 * SPEC §1.5, §1.7, §1.9, §1.11 and §5 for headers, through the engine's public API on the
 * in-memory store: the locked amount, late header reports, acceptance's stage and status,
 * approval and the status the engine reports.
 */

async function pair(options: { tenant?: TenantConfig; discount?: string } = {}) {
  const h = engineHarness(options.tenant ? { tenant: options.tenant } : {});
  await h.setup();
  await h.crm(opportunityUpserted("opp", { amount: "5" }, { occurredAt: at(1) }));
  await h.cpq(quoteUpserted("q", "opp", {}, { occurredAt: at(2) }));
  await h.cpq(
    quoteLinesUpserted("q", [line("q1", { discountPercent: options.discount ?? "0" })], {
      occurredAt: at(3),
    }),
  );
  return h;
}

describe("the opportunity amount (SPEC §1.5)", () => {
  it("is the CRM's own while unsynced: changed by a report, kept when a report leaves it out or repeats it", async () => {
    const h = await pair();
    expect((await h.status("opp")).amount).toBe("5");
    const edited = await h.crm(opportunityUpserted("opp", { amount: "7.5" }, { occurredAt: at(4) }));
    expect(edited.response).toEqual({ status: "not_synced", mirrors: [] });
    expect((await h.status("opp")).amount).toBe("7.5");
    const same = await h.crm(opportunityUpserted("opp", { amount: "7.50" }, { occurredAt: at(5) }));
    expect(same.response).toEqual({ status: "no_change", mirrors: [] });
    expect((await h.status("opp")).amount).toBe("7.5");
    await h.crm(opportunityUpserted("opp", { name: "Renamed" }, { occurredAt: at(6) }));
    expect((await h.status("opp")).amount).toBe("7.5");
    expect((await h.status("opp")).amountLocked).toBe(false);
  });

  it("is locked while synced: a CRM edit is answered with the locked amount; an equal amount in another notation is no change", async () => {
    const h = await pair();
    await h.start("q");
    const echo = await h.crm(opportunityUpserted("opp", { amount: "100" }, { occurredAt: afterStart(2) }));
    expect(echo.response).toEqual({ status: "no_change", mirrors: [] });
    const edit = await h.crm(opportunityUpserted("opp", { amount: "120" }, { occurredAt: afterStart(3) }));
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
        },
      },
    ]);
    const status = await h.status("opp");
    expect(status).toMatchObject({ amount: "100.00", amountLocked: true, syncedQuoteId: "q" });
  });

  it("a late CRM report with another amount is stale and still answered with the locked amount", async () => {
    const h = await pair();
    await h.start("q");
    await h.crm(opportunityUpserted("opp", { name: "Newer" }, { occurredAt: afterStart(10) }));
    const late = await h.crm(
      opportunityUpserted("opp", { amount: "3", name: "Older" }, { occurredAt: afterStart(5) }),
    );
    expect(late.response.status).toBe("stale");
    expect(late.response.mirrors).toEqual([
      expect.objectContaining({
        target: "crm",
        opportunity: expect.objectContaining({ amount: "100.00", amountLocked: true }),
      }),
    ]);
    const lateSame = await h.crm(
      opportunityUpserted("opp", { amount: "100.0", name: "Older" }, { occurredAt: afterStart(6) }),
    );
    expect(lateSame.response).toEqual({ status: "stale", mirrors: [] });
    const lateNone = await h.crm(
      opportunityUpserted("opp", { name: "Older" }, { occurredAt: afterStart(7) }),
    );
    expect(lateNone.response).toEqual({ status: "stale", mirrors: [] });
    const audit = await h.store.readAudit("demo", "opp", null, 1);
    expect(audit.entries[0]).toMatchObject({
      type: "amount.corrected",
      summary: "CRM amount 3 restored to the locked 100.00",
    });
  });

  it("an unsynced opportunity's late report is stale and answered with nothing", async () => {
    const h = await pair();
    await h.crm(opportunityUpserted("opp", { amount: "9" }, { occurredAt: at(10) }));
    const late = await h.crm(opportunityUpserted("opp", { amount: "3" }, { occurredAt: at(5) }));
    expect(late.response).toEqual({ status: "stale", mirrors: [] });
    expect((await h.status("opp")).amount).toBe("9");
  });
});

describe("acceptance and stage (SPEC §1.7, §1.11)", () => {
  it("quote.accepted moves the opportunity to the tenant's stage; a CRM stage reported as of before it is not applied", async () => {
    const tenant = TenantConfig.parse({
      ...engineHarness().tenant,
      policy: { acceptedStage: "Negotiation" },
    });
    const h = await pair({ tenant });
    const accepted = await h.cpq(cpqEvent("quote.accepted", { quoteId: "q" }, { occurredAt: afterStart(5) }));
    expect(accepted.response.status).toBe("started");
    expect(accepted.response.mirrors[0]?.opportunity).toMatchObject({
      stage: "Negotiation",
      amountLocked: true,
    });
    expect((await h.status("opp")).stage).toBe("Negotiation");
    expect((await h.status("opp")).quotes[0]?.status).toBe("accepted");
    // Reported by the CRM with a time before the acceptance (12:00:00 < 12:00:05): the stage stays.
    await h.crm(
      opportunityUpserted("opp", { stage: "Prospecting", name: "Renamed" }, { occurredAt: afterStart(0) }),
    );
    expect((await h.status("opp")).stage).toBe("Negotiation");
    // At the acceptance's very time the CPQ wins too; after it, the CRM's stage applies.
    await h.crm(
      opportunityUpserted("opp", { stage: "Prospecting", name: "Again" }, { occurredAt: afterStart(5) }),
    );
    expect((await h.status("opp")).stage).toBe("Negotiation");
    await h.crm(opportunityUpserted("opp", { stage: "Closed Won" }, { occurredAt: afterStart(6) }));
    expect((await h.status("opp")).stage).toBe("Closed Won");
  });

  it("a quote status reported as of before the acceptance does not undo it; a later one does", async () => {
    const h = await pair();
    await h.cpq(cpqEvent("quote.accepted", { quoteId: "q" }, { occurredAt: afterStart(5) }));
    await h.cpq(
      quoteUpserted("q", "opp", { status: "presented", name: "N1" }, { occurredAt: afterStart(4) }),
    );
    expect((await h.status("opp")).quotes[0]?.status).toBe("accepted");
    await h.cpq(quoteUpserted("q", "opp", { status: "denied", name: "N2" }, { occurredAt: afterStart(6) }));
    expect((await h.status("opp")).quotes[0]?.status).toBe("denied");
    // A report without a status keeps the one held.
    await h.cpq(quoteUpserted("q", "opp", { status: undefined, name: "N3" }, { occurredAt: afterStart(7) }));
    expect((await h.status("opp")).quotes[0]?.status).toBe("denied");
  });
});

describe("approval (SPEC §1.9)", () => {
  it("flags a synced quote over the discount limit, with reasons; approval or acceptance clears it", async () => {
    const h = await pair({ discount: "20.5" });
    const started = await h.start("q");
    const approval = {
      required: true,
      reasons: ["line q1 (prod-q1) has a 20.5% discount, over the 20% allowed without approval"],
    };
    expect(started.response.mirrors[0]?.opportunity?.approval).toEqual(approval);
    expect((await h.status("opp")).approval).toEqual(approval);
    const approved = await h.cpq(
      quoteUpserted("q", "opp", { status: "approved" }, { occurredAt: afterStart(5) }),
    );
    expect(approved.response.mirrors[0]?.opportunity?.approval).toEqual({ required: false, reasons: [] });
    expect((await h.status("opp")).approval).toEqual({ required: false, reasons: [] });
    const audit = await h.store.readAudit("demo", "opp", null, 1);
    expect(audit.entries[0]).toMatchObject({
      type: "approval.changed",
      summary: "approval no longer required",
    });
  });

  it("exactly at the limit needs no approval; a tenant without a limit never flags", async () => {
    const h = await pair({ discount: "20" });
    await h.start("q");
    expect((await h.status("opp")).approval.required).toBe(false);
    const tenant = TenantConfig.parse({ ...engineHarness().tenant, approvals: { maxDiscountPercent: null } });
    const free = await pair({ tenant, discount: "90" });
    await free.start("q");
    expect((await free.status("opp")).approval).toEqual({ required: false, reasons: [] });
  });
});

describe("status (SPEC §5)", () => {
  it("lists the opportunity's own live quotes with their mode; unknown and deleted opportunities are not found", async () => {
    const h = await pair();
    await h.cpq(
      quoteUpserted("q-sched", "opp", { syncMode: "scheduled", status: undefined }, { occurredAt: at(4) }),
    );
    await h.cpq(quoteUpserted("q-gone", "opp", {}, { occurredAt: at(4) }));
    await h.cpq(cpqEvent("quote.deleted", { quoteId: "q-gone" }, { occurredAt: at(5) }));
    await h.cpq(quoteUpserted("q-moved", "opp", {}, { occurredAt: at(4) }));
    await h.cpq(quoteUpserted("q-moved", "opp-2", {}, { occurredAt: at(5) }));
    const status = await h.status("opp");
    expect(status.quotes.sort((a, b) => (a.quoteId < b.quoteId ? -1 : 1))).toEqual([
      { quoteId: "q", syncing: false, status: "draft", mode: "live", pendingChanges: 0 },
      // A quote reported without a status has none in the status.
      { quoteId: "q-sched", syncing: false, mode: "scheduled", pendingChanges: 0 },
    ]);
    expect(status).toMatchObject({
      opportunityId: "opp",
      syncedQuoteId: null,
      lastSyncedAt: null,
      stage: "Prospecting",
    });
    await expect(h.status("nope")).rejects.toMatchObject({
      name: "NotFound",
      message: "opportunity nope not found",
    });
    await h.crm(opportunityUpserted("no-stage", { stage: undefined }, { occurredAt: at(6) }));
    expect(await h.status("no-stage")).not.toHaveProperty("stage");
  });
});
