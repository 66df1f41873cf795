import { describe, expect, it } from "vitest";
import { NotFound, PreconditionFailed } from "../../domain/errors.js";
import { demoTenant } from "../../domain/tenant.js";
import { engineHarness } from "../support/engine.js";
import {
  at,
  cpqEvent,
  crmEvent,
  line,
  opportunityLinesUpserted,
  opportunityUpserted,
  quoteLinesUpserted,
  quoteUpserted,
} from "../support/events.js";

async function syncedPair(lines = [line("q1", { quantity: "1.5", unitPrice: "133.33" })]) {
  // Started right after the setup's events (at(1)–at(4)); the tests' later events follow the start.
  const h = engineHarness({ now: Date.parse(at(5)) });
  await h.setup();
  await h.crm(opportunityUpserted("opp-1", {}, { occurredAt: at(1) }));
  await h.crm(opportunityLinesUpserted("opp-1", [line("o1", { productId: "old" })], { occurredAt: at(2) }));
  await h.cpq(quoteUpserted("quote-1", "opp-1", {}, { occurredAt: at(3) }));
  await h.cpq(quoteLinesUpserted("quote-1", lines, { occurredAt: at(4) }));
  const started = await h.start("quote-1");
  return { h, started };
}

describe("starting sync", () => {
  it("replaces the opportunity's lines by the quote's and locks the amount at the subtotal", async () => {
    const { h, started } = await syncedPair();
    expect(started.response.status).toBe("started");
    const toCrm = started.response.mirrors.find((mirror) => mirror.target === "crm");
    expect(toCrm?.lines?.delete).toEqual(["o1"]);
    expect(toCrm?.lines?.upsert).toHaveLength(1);
    expect(toCrm?.lines?.upsert[0]).toMatchObject({
      id: null,
      productId: "prod-q1",
      quantity: "1.5",
      unitPrice: "133.33",
    });
    expect(toCrm?.opportunity).toMatchObject({
      amount: "200.00",
      amountLocked: true,
      syncedQuoteId: "quote-1",
    });
    const status = await h.status("opp-1");
    expect(status).toMatchObject({ syncedQuoteId: "quote-1", amount: "200.00", amountLocked: true });
    expect(status.lines.map((l) => l.productId)).toEqual(["prod-q1"]);
  });

  it("replaces the previously synced quote, leaving exactly one quote syncing", async () => {
    const { h } = await syncedPair();
    await h.cpq(quoteUpserted("quote-2", "opp-1", {}, { occurredAt: at(10) }));
    await h.cpq(
      quoteLinesUpserted("quote-2", [line("q2a", { unitPrice: "10" }), line("q2b", { unitPrice: "5" })], {
        occurredAt: at(11),
      }),
    );
    const second = await h.start("quote-2");
    expect(second.response.mirrors.find((m) => m.target === "cpq" && m.quoteId === "quote-1")?.quote).toEqual(
      { syncing: false },
    );
    const status = await h.status("opp-1");
    expect(status.quotes.filter((quote) => quote.syncing).map((quote) => quote.quoteId)).toEqual(["quote-2"]);
    expect(status.lines.map((l) => l.productId).sort()).toEqual(["prod-q2a", "prod-q2b"]);
    expect(status.amount).toBe("15.00");
  });

  it("refuses a start when currencies differ, changing nothing", async () => {
    const h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("opp-1", { currency: "EUR" }));
    await h.cpq(quoteUpserted("quote-1", "opp-1"));
    const before = await h.status("opp-1");
    await expect(h.start("quote-1")).rejects.toBeInstanceOf(PreconditionFailed);
    expect(await h.status("opp-1")).toEqual(before);
  });

  it("refuses an expired quote and a price book mismatch with their codes", async () => {
    const h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("opp-1", { pricebookId: "pb-1" }));
    await h.cpq(quoteUpserted("q-expired", "opp-1", { expiresAt: "2025-12-31" }));
    await h.cpq(quoteUpserted("q-pricebook", "opp-1", { pricebookId: "pb-2" }));
    await expect(h.start("q-expired")).rejects.toMatchObject({ code: "quote_expired" });
    await expect(h.start("q-pricebook")).rejects.toMatchObject({ code: "pricebook_mismatch" });
    await expect(h.start("unknown")).rejects.toBeInstanceOf(NotFound);
  });
});

describe("while synced", () => {
  it("mirrors a CPQ line change to the CRM and moves the amount", async () => {
    const { h } = await syncedPair();
    const result = await h.cpq(
      quoteLinesUpserted(
        "quote-1",
        [line("q1", { quantity: "3", unitPrice: "19.99", discountPercent: 10 })],
        { occurredAt: at(20) },
      ),
    );
    expect(result.response.status).toBe("applied");
    const toCrm = result.response.mirrors[0];
    expect(toCrm?.target).toBe("crm");
    expect(toCrm?.lines?.upsert[0]).toMatchObject({
      quantity: "3",
      unitPrice: "19.99",
      discountPercent: "10",
    });
    expect(toCrm?.opportunity?.amount).toBe("53.97");
  });

  it("pairs the CRM's echo by syncKey, learns its id and produces no further mirror", async () => {
    const { h, started } = await syncedPair();
    const mirrored = started.response.mirrors.find((m) => m.target === "crm")?.lines?.upsert[0];
    const echo = await h.crm(
      opportunityLinesUpserted(
        "opp-1",
        [{ ...line("crm-line-9"), ...mirrored, id: "crm-line-9", unitPrice: 133.3300001 }],
        { occurredAt: at(30) },
      ),
    );
    expect(echo.response).toEqual({ status: "no_change", mirrors: [] });
    const status = await h.status("opp-1");
    expect(status.lines[0]?.id).toBe("crm-line-9");
  });

  it("mirrors a CRM line added from empty to the CPQ", async () => {
    const { h } = await syncedPair([]);
    const added = await h.crm(
      opportunityLinesUpserted("opp-1", [line("crm-new", { unitPrice: "42" })], { occurredAt: at(40) }),
    );
    expect(added.response.status).toBe("applied");
    const toCpq = added.response.mirrors.find((m) => m.target === "cpq");
    expect(toCpq?.lines?.upsert[0]).toMatchObject({ id: null, productId: "prod-crm-new", unitPrice: "42" });
    expect(toCpq?.lines?.upsert[0]?.syncKey).toBeTruthy();
  });

  it("maps custom fields only when name and type match on both sides", async () => {
    const { h } = await syncedPair();
    const result = await h.cpq(
      quoteLinesUpserted(
        "quote-1",
        [
          line("q1", {
            quantity: "1.5",
            unitPrice: "133.33",
            fields: { Color__c: "red", Term_Months__c: 12 },
          }),
        ],
        { occurredAt: at(50) },
      ),
    );
    const upsert = result.response.mirrors[0]?.lines?.upsert[0];
    expect(upsert?.fields).toEqual({ Color__c: "red" });
  });

  it("restores the locked amount when the CRM edits it", async () => {
    const { h } = await syncedPair();
    const edited = await h.crm(opportunityUpserted("opp-1", { amount: "999" }, { occurredAt: at(60) }));
    const correction = edited.response.mirrors.find((m) => m.target === "crm");
    expect(correction?.opportunity).toMatchObject({ amount: "200.00", amountLocked: true });
    expect((await h.status("opp-1")).amount).toBe("200.00");
  });

  it("deletes on the other side and keeps a tombstone against a late, older upsert", async () => {
    const { h } = await syncedPair();
    const deleted = await h.cpq(
      cpqEvent("quote.lines.deleted", { quoteId: "quote-1", lineIds: ["q1"] }, { occurredAt: at(70) }),
    );
    const toCrm = deleted.response.mirrors.find((m) => m.target === "crm");
    expect(toCrm?.lines?.delete).toHaveLength(1);
    expect(toCrm?.opportunity?.amount).toBe("0.00");
    const late = await h.cpq(
      quoteLinesUpserted("quote-1", [line("q1", { quantity: "7" })], { occurredAt: at(65) }),
    );
    expect(late.response.status).toBe("stale");
    expect((await h.status("opp-1")).lines).toHaveLength(0);
  });

  it("answers an older change with the winning values", async () => {
    const { h } = await syncedPair();
    await h.cpq(
      quoteLinesUpserted("quote-1", [line("q1", { quantity: "2", unitPrice: "10" })], { occurredAt: at(80) }),
    );
    const older = await h.cpq(
      quoteLinesUpserted("quote-1", [line("q1", { quantity: "9", unitPrice: "10" })], { occurredAt: at(75) }),
    );
    expect(older.response.status).toBe("stale");
    expect(older.response.mirrors[0]).toMatchObject({ target: "cpq" });
    expect(older.response.mirrors[0]?.lines?.upsert[0]).toMatchObject({ id: "q1", quantity: "2" });
  });

  it("replays a redelivered event's original response and writes nothing", async () => {
    const { h } = await syncedPair();
    const event = quoteLinesUpserted("quote-1", [line("q1", { quantity: "4" })], {
      eventId: "dup-1",
      occurredAt: at(90),
    });
    const first = await h.cpq(event);
    const commits = h.store.commits;
    const second = await h.cpq(event);
    expect(second).toEqual({ response: first.response, replayed: true });
    expect(h.store.commits).toBe(commits);
  });
});

describe("stopping sync", () => {
  it("keeps the opportunity's lines and unlocks the amount", async () => {
    const { h } = await syncedPair();
    const stopped = await h.stop("quote-1");
    expect(stopped.response.status).toBe("stopped");
    const status = await h.status("opp-1");
    expect(status).toMatchObject({ syncedQuoteId: null, amountLocked: false, amount: "200.00" });
    expect(status.lines).toHaveLength(1);
    const after = await h.cpq(
      quoteLinesUpserted("quote-1", [line("q1", { quantity: "5" })], { occurredAt: at(100) }),
    );
    expect(after.response).toEqual({ status: "not_synced", mirrors: [] });
  });

  it("stops when the synced quote is deleted or the opportunity's currency changes", async () => {
    const { h } = await syncedPair();
    const changed = await h.crm(opportunityUpserted("opp-1", { currency: "EUR" }, { occurredAt: at(110) }));
    expect(changed.response.status).toBe("stopped");
    expect((await h.status("opp-1")).syncedQuoteId).toBeNull();
    const again = await syncedPair();
    const gone = await again.h.cpq(
      cpqEvent("quote.deleted", { quoteId: "quote-1" }, { occurredAt: at(120) }),
    );
    expect(gone.response.status).toBe("stopped");
    expect((await again.h.status("opp-1")).amountLocked).toBe(false);
  });

  it("stops and tells the CPQ when the opportunity is deleted", async () => {
    const { h } = await syncedPair();
    const gone = await h.crm(
      crmEvent("opportunity.deleted", { opportunityId: "opp-1" }, { occurredAt: at(130) }),
    );
    expect(gone.response.mirrors).toEqual([
      { target: "cpq", opportunityId: "opp-1", quoteId: "quote-1", quote: { syncing: false } },
    ]);
  });
});

describe("echoes of in-flight mirrors", () => {
  it("answers a late echo of a superseded mirror with the current values instead of applying it", async () => {
    const { h } = await syncedPair([line("q1", { quantity: "1", unitPrice: "10" })]);
    const toCrm = (await h.status("opp-1")).lines[0];
    // The CRM applied the start's mirror as crm-9; then the CPQ changes the line twice.
    await h.crm(
      opportunityLinesUpserted("opp-1", [{ ...line("crm-9"), ...toCrm, id: "crm-9" }], {
        occurredAt: at(20),
      }),
    );
    await h.cpq(
      quoteLinesUpserted("quote-1", [line("q1", { quantity: "2", unitPrice: "10" })], { occurredAt: at(21) }),
    );
    await h.cpq(
      quoteLinesUpserted("quote-1", [line("q1", { quantity: "3", unitPrice: "10" })], { occurredAt: at(22) }),
    );
    // The mirror of quantity 2 reaches the CRM last: it reports 2, later than quotesync's 3.
    const late = await h.crm(
      opportunityLinesUpserted("opp-1", [{ ...line("crm-9"), ...toCrm, id: "crm-9", quantity: "2" }], {
        occurredAt: at(23),
      }),
    );
    expect(late.response.status).toBe("stale");
    expect(late.response.mirrors).toHaveLength(1);
    expect(late.response.mirrors[0]).toMatchObject({ target: "crm" });
    expect(late.response.mirrors[0]?.lines?.upsert[0]).toMatchObject({ id: "crm-9", quantity: "3" });
    expect((await h.status("opp-1")).amount).toBe("30.00");
  });

  it("applies a user's return to a value they typed themselves", async () => {
    const { h } = await syncedPair([line("q1", { quantity: "1", unitPrice: "10" })]);
    const synced = (await h.status("opp-1")).lines[0];
    const crmLine = (quantity: string) => ({ ...line("crm-9"), ...synced, id: "crm-9", quantity });
    await h.crm(opportunityLinesUpserted("opp-1", [crmLine("1")], { occurredAt: at(20) }));
    for (const [second, quantity] of [
      [21, "5"],
      [22, "6"],
      [23, "5"],
    ] as const) {
      const edited = await h.crm(
        opportunityLinesUpserted("opp-1", [crmLine(quantity)], { occurredAt: at(second) }),
      );
      expect(edited.response.status).toBe("applied");
      expect(edited.response.mirrors.find((m) => m.target === "cpq")?.lines?.upsert[0]?.quantity).toBe(
        quantity,
      );
    }
  });
});

describe("the audit trail of changes (SPEC §1.13)", () => {
  const trail = async (h: Awaited<ReturnType<typeof syncedPair>>["h"]) =>
    (await h.store.readAudit("demo", "opp-1", null, 50)).entries;

  it("records a quote header change mirrored to the CRM, and a CRM report answered with the synced fields", async () => {
    const { h } = await syncedPair();
    const mirrored = await h.cpq(
      quoteUpserted("quote-1", "opp-1", { fields: { Region__c: "EMEA" } }, { occurredAt: at(20) }),
    );
    expect(mirrored.response.mirrors.find((m) => m.target === "crm")?.opportunity?.fields).toEqual({
      Region__c: "EMEA",
    });
    expect((await trail(h))[0]).toMatchObject({
      type: "change.mirrored",
      summary: expect.stringContaining("mapped fields"),
    });
    const corrected = await h.crm(
      opportunityUpserted("opp-1", { fields: { Region__c: "APAC" } }, { occurredAt: at(21) }),
    );
    expect(corrected.response.mirrors.find((m) => m.target === "crm")?.opportunity?.fields).toEqual({
      Region__c: "EMEA",
    });
    expect((await trail(h))[0]).toMatchObject({ type: "change.corrected" });
  });

  it("records a line change of fields the other side does not share as applied, not mirrored", async () => {
    const { h } = await syncedPair();
    const synced = (await h.status("opp-1")).lines[0];
    const note = await h.crm(
      opportunityLinesUpserted(
        "opp-1",
        [{ ...line("crm-1"), ...synced, id: "crm-1", fields: { Internal_Note__c: "call back" } }],
        { occurredAt: at(30) },
      ),
    );
    expect(note.response).toEqual({ status: "applied", mirrors: [] });
    expect((await trail(h))[0]).toMatchObject({
      type: "change.applied",
      summary: expect.stringContaining("nothing to mirror"),
    });
  });
});

describe("the CRM's echo of the locked amount", () => {
  it("answers an older report with another amount by the locked amount, though the report is stale", async () => {
    const { h } = await syncedPair([line("q1", { quantity: "2", unitPrice: "100" })]);
    await h.crm(opportunityUpserted("opp-1", { name: "Newer" }, { occurredAt: at(50) }));
    const stale = await h.crm(opportunityUpserted("opp-1", { amount: "999" }, { occurredAt: at(40) }));
    expect(stale.response.status).toBe("stale");
    expect(stale.response.mirrors.find((m) => m.target === "crm")?.opportunity).toMatchObject({
      amount: "200.00",
      amountLocked: true,
    });
    const status = await h.status("opp-1");
    expect(status.amount).toBe("200.00");
    // A stale report that agrees with the locked amount needs no answer.
    const agreeing = await h.crm(opportunityUpserted("opp-1", { amount: "200" }, { occurredAt: at(41) }));
    expect(agreeing.response).toEqual({ status: "stale", mirrors: [] });
  });

  it("is no change when it reports the amount in its own notation", async () => {
    const { h } = await syncedPair();
    for (const amount of ["200", 200, "200.000"]) {
      const echo = await h.crm(opportunityUpserted("opp-1", { amount }, { occurredAt: at(140) }));
      expect(echo.response).toEqual({ status: "no_change", mirrors: [] });
    }
  });
});

describe("late review findings", () => {
  it("stops sync when a synced opportunity gets a price book for the first time that differs from the quote's", async () => {
    const h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("opp-1", {}, { occurredAt: at(1) }));
    await h.cpq(quoteUpserted("quote-1", "opp-1", { pricebookId: "pb-1" }, { occurredAt: at(2) }));
    await h.start("quote-1");
    const changed = await h.crm(opportunityUpserted("opp-1", { pricebookId: "pb-2" }, { occurredAt: at(3) }));
    expect(changed.response.status).toBe("stopped");
    expect((await h.status("opp-1")).syncedQuoteId).toBeNull();
  });

  it("clears the approval flag when a synced quote is accepted though the trigger is disabled", async () => {
    const base = demoTenant({ crm: "crm-secret-0001", cpq: "cpq-secret-0001" });
    const h = engineHarness({ tenant: { ...base, policy: { ...base.policy, triggers: [] } } });
    await h.setup();
    await h.crm(opportunityUpserted("opp-1", {}, { occurredAt: at(1) }));
    await h.cpq(quoteUpserted("quote-1", "opp-1", {}, { occurredAt: at(2) }));
    await h.cpq(
      quoteLinesUpserted("quote-1", [line("q1", { discountPercent: "30" })], { occurredAt: at(3) }),
    );
    await h.start("quote-1");
    expect((await h.status("opp-1")).approval.required).toBe(true);
    const accepted = await h.cpq(cpqEvent("quote.accepted", { quoteId: "quote-1" }, { occurredAt: at(4) }));
    expect(accepted.response.status).toBe("applied");
    expect(accepted.response.mirrors[0]?.opportunity?.approval).toEqual({ required: false, reasons: [] });
    expect((await h.status("opp-1")).approval.required).toBe(false);
  });

  it("keeps a quote accepted when a quote report dated before the acceptance arrives late", async () => {
    const h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("opp-1", {}, { occurredAt: at(1) }));
    await h.cpq(quoteUpserted("quote-1", "opp-1", {}, { occurredAt: at(2) }));
    await h.cpq(
      quoteLinesUpserted("quote-1", [line("q1", { discountPercent: "40" })], { occurredAt: at(3) }),
    );
    await h.start("quote-1");
    await h.cpq(cpqEvent("quote.accepted", { quoteId: "quote-1" }, { occurredAt: at(100) }));
    const late = await h.cpq(
      quoteUpserted("quote-1", "opp-1", { status: "presented", name: "Renamed" }, { occurredAt: at(50) }),
    );
    expect(late.response.status).toBe("applied"); // its name applies; its status is older than the acceptance
    expect((await h.store.loadQuote("demo", "quote-1"))?.header.name).toBe("Renamed");
    const status = await h.status("opp-1");
    expect(status.quotes[0]?.status).toBe("accepted");
    expect(status.approval.required).toBe(false);
  });

  it("keeps the stage an accepted quote set when an older CRM report of the opportunity arrives late", async () => {
    const h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("opp-1", { stage: "Negotiation" }, { occurredAt: at(1) }));
    await h.cpq(quoteUpserted("quote-1", "opp-1", {}, { occurredAt: at(2) }));
    await h.start("quote-1");
    const accepted = await h.cpq(cpqEvent("quote.accepted", { quoteId: "quote-1" }, { occurredAt: at(10) }));
    expect(accepted.response.mirrors.find((m) => m.target === "crm")?.opportunity?.stage).toBe("Closed Won");
    // Sent by the CRM before it applied the acceptance's mirror, delivered after it: a new name, the old stage.
    const late = await h.crm(
      opportunityUpserted("opp-1", { stage: "Negotiation", name: "Renamed" }, { occurredAt: at(5) }),
    );
    expect(late.response.status).not.toBe("stale");
    const opportunity = await h.store.loadOpportunity("demo", "opp-1");
    expect(opportunity?.header).toMatchObject({ stage: "Closed Won", name: "Renamed" });
    // Reported as of the acceptance's own millisecond: the CPQ side wins the tie.
    await h.crm(
      opportunityUpserted("opp-1", { stage: "Negotiation", name: "Renamed" }, { occurredAt: at(10) }),
    );
    expect((await h.store.loadOpportunity("demo", "opp-1"))?.header.stage).toBe("Closed Won");
    // A stage the CRM reports after the acceptance is the CRM's to set.
    await h.crm(
      opportunityUpserted("opp-1", { stage: "Closed Lost", name: "Renamed" }, { occurredAt: at(11) }),
    );
    expect((await h.store.loadOpportunity("demo", "opp-1"))?.header.stage).toBe("Closed Lost");
  });
});

describe("optional line fields a system leaves out", () => {
  const detailed = line("q1", {
    name: "Seats",
    position: 3,
    serviceDate: "2027-01-01",
    discountPercent: "10",
  });

  it("keep what quotesync holds: a CRM echo without them is no change, and nothing is cleared on the quote", async () => {
    const { h, started } = await syncedPair([detailed]);
    const mirrored = started.response.mirrors.find((mirror) => mirror.target === "crm")?.lines?.upsert[0];
    expect(mirrored).toMatchObject({ position: 3, serviceDate: "2027-01-01", discountPercent: "10" });
    // The CRM applied the mirror (learning the sync key) and reports its line without those fields.
    const echo = await h.crm(
      opportunityLinesUpserted(
        "opp-1",
        [{ id: "crm-1", syncKey: mirrored?.syncKey, productId: "prod-q1", quantity: "1", unitPrice: "100" }],
        { occurredAt: at(20) },
      ),
    );
    expect(echo.response.mirrors.filter((mirror) => mirror.target === "cpq")).toEqual([]);
    const quote = await h.store.loadQuote("demo", "quote-1");
    expect([...(quote?.lines.values() ?? [])][0]).toMatchObject({
      name: "Seats",
      position: 3,
      serviceDate: "2027-01-01",
      discountPercent: "10",
    });
  });

  it("are cleared by an explicit null, which is mirrored like any change", async () => {
    const { h, started } = await syncedPair([detailed]);
    const mirrored = started.response.mirrors.find((mirror) => mirror.target === "crm")?.lines?.upsert[0];
    const cleared = await h.crm(
      opportunityLinesUpserted(
        "opp-1",
        [
          {
            id: "crm-1",
            syncKey: mirrored?.syncKey,
            productId: "prod-q1",
            quantity: "1",
            unitPrice: "100",
            position: null,
            discountPercent: "10",
          },
        ],
        { occurredAt: at(20) },
      ),
    );
    const toCpq = cleared.response.mirrors.find((mirror) => mirror.target === "cpq");
    expect(toCpq?.lines?.upsert[0]).toMatchObject({
      position: null,
      serviceDate: "2027-01-01",
      name: "Seats",
    });
  });
});
