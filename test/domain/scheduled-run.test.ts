import { describe, expect, it } from "vitest";
import { auditSyncedPair } from "../../domain/engine/pair-audit.js";
import type { QuoteAggregate } from "../../domain/model.js";
import { afterStart, engineHarness } from "../support/engine.js";
import {
  at,
  crmEvent,
  line,
  opportunityUpserted,
  quoteLinesUpserted,
  quoteUpserted,
} from "../support/events.js";

/** A synced pair on the in-memory store; its quote in `mode`, changes stamped after the start. */
async function syncedPair(mode: "live" | "scheduled" | "manual", id = "p") {
  const h = engineHarness();
  await h.setup();
  await h.crm(opportunityUpserted(`${id}-opp`, { stage: "Prospecting" }, { occurredAt: at(1) }));
  await h.cpq(quoteUpserted(`${id}-q`, `${id}-opp`, { syncMode: mode }, { occurredAt: at(2) }));
  await h.cpq(quoteLinesUpserted(`${id}-q`, [line(`${id}-l1`, { quantity: "2" })], { occurredAt: at(3) }));
  await h.start(`${id}-q`);
  h.advance(1000);
  return h;
}

describe("the scheduled run on the in-memory store", () => {
  it("pushes a scheduled-mode quote's pending changes as one mirror and resets its pending count", async () => {
    const h = await syncedPair("scheduled");
    const change = await h.cpq(
      quoteLinesUpserted("p-q", [line("p-l1", { quantity: "7" })], { occurredAt: afterStart(5) }),
    );
    expect(change.response.status).toBe("pending");
    const report = await h.engine.runScheduled();
    expect(report.push.pushed).toEqual([{ tenantId: "demo", quoteId: "p-q", mirrors: 1 }]);
    const status = await h.status("p-opp");
    expect(status.quotes[0]?.pendingChanges).toBe(0);
    expect(status.amount).toBe("700.00");
    expect((await h.store.readOutbox("demo", null, 100)).entries.at(-1)?.mirror).toMatchObject({
      target: "crm",
      lines: { upsert: [expect.objectContaining({ quantity: "7" })], delete: [] },
    });
  });

  for (const mode of ["scheduled", "manual"] as const) {
    it(`keeps the amount at what was pushed while ${mode} line changes wait, whatever else settles the pair`, async () => {
      const h = await syncedPair(mode, `w${mode}`);
      const id = `w${mode}`;
      const waiting = await h.cpq(
        quoteLinesUpserted(`${id}-q`, [line(`${id}-l2`, { unitPrice: "5" })], { occurredAt: afterStart(5) }),
      );
      expect(waiting.response.status).toBe("pending");
      // A CRM header report and a CPQ header change both settle the pair's header.
      const stage = await h.crm(
        opportunityUpserted(`${id}-opp`, { stage: "Proposal" }, { occurredAt: afterStart(6) }),
      );
      const header = await h.cpq(
        quoteUpserted(
          `${id}-q`,
          `${id}-opp`,
          { syncMode: mode, name: "Renamed" },
          { occurredAt: afterStart(7) },
        ),
      );
      for (const { response } of [stage, header]) {
        const amount = response.mirrors.find((m) => m.target === "crm")?.opportunity?.amount;
        expect(amount === undefined || amount === "200.00").toBe(true);
      }
      const status = await h.status(`${id}-opp`);
      expect(status.amount).toBe("200.00"); // the pushed line: 2 × 100
      expect(status.lines).toHaveLength(1);
      // Pushed (by the schedule, or a re-sync in manual mode): lines and amount move together.
      if (mode === "scheduled") await h.engine.runScheduled();
      else await h.start(`${id}-q`);
      const pushed = await h.status(`${id}-opp`);
      expect(pushed.amount).toBe("205.00");
      expect(pushed.lines).toHaveLength(2);
    });
  }

  it("flags approval at once when a manual-mode line needs it, while the line and the amount wait", async () => {
    const h = await syncedPair("manual", "ap");
    const discounted = await h.cpq(
      quoteLinesUpserted("ap-q", [line("ap-l1", { quantity: "2", discountPercent: "30" })], {
        occurredAt: afterStart(5),
      }),
    );
    expect(discounted.response.status).toBe("pending");
    const toCrm = discounted.response.mirrors.find((m) => m.target === "crm");
    expect(toCrm?.opportunity?.approval?.required).toBe(true);
    expect(toCrm?.opportunity?.amount).toBe("200.00");
    expect(toCrm?.lines).toBeUndefined();
    const status = await h.status("ap-opp");
    expect(status.approval.required).toBe(true);
    expect(status.amount).toBe("200.00");
    expect(status.quotes[0]?.pendingChanges).toBe(1);
  });

  it("leaves a manual-mode quote's changes pending and flags them once the stage is a milestone", async () => {
    const h = await syncedPair("manual");
    await h.cpq(quoteLinesUpserted("p-q", [line("p-l1", { quantity: "7" })], { occurredAt: afterStart(5) }));
    let report = await h.engine.runScheduled();
    expect(report.push.pushed).toEqual([]);
    expect(report.audit.drifting).toEqual([]);
    await h.crm(opportunityUpserted("p-opp", { stage: "Closed Won" }, { occurredAt: afterStart(6) }));
    report = await h.engine.runScheduled();
    expect(report.audit.drifting).toEqual([
      { tenantId: "demo", opportunityId: "p-opp", issues: ["milestone_pending"] },
    ]);
    expect(report.audit.recorded).toBe(1);
    expect((await h.engine.runScheduled()).audit.recorded).toBe(0);
    const audit = await h.store.readAudit("demo", "p-opp", null, 1);
    expect(audit.entries[0]).toMatchObject({ type: "audit.milestone_pending", source: "schedule" });
    expect((await h.store.readDriftReport("demo", null, 10)).entries).toHaveLength(1);
  });

  it("resumes where the previous run stopped when a pass runs out of budget", async () => {
    const h = engineHarness();
    await h.setup();
    for (let i = 0; i < 5; i++) {
      await h.crm(opportunityUpserted(`o${i}`, {}, { occurredAt: at(1) }));
      await h.cpq(quoteUpserted(`q${i}`, `o${i}`, { syncMode: "scheduled" }, { occurredAt: at(2) }));
      await h.start(`q${i}`);
      await h.cpq(quoteLinesUpserted(`q${i}`, [line(`l${i}`)], { occurredAt: afterStart(10 + i) }));
    }
    const limits = { pairsPerPass: 2, pagesPerPass: 10, pageSize: 10 };
    const pushed: string[][] = [];
    for (let run = 0; run < 3; run++) {
      pushed.push((await h.engine.runScheduled({ limits })).push.pushed.map((p) => p.quoteId));
    }
    expect(pushed).toEqual([["q0", "q1"], ["q2", "q3"], ["q4"]]);
  });
});

describe("auditing a synced pair", () => {
  it("reports lines that differ on mapped fields, an amount that is not the subtotal, and a second syncing quote", async () => {
    const h = await syncedPair("live");
    const opportunity = await h.store.loadOpportunity("demo", "p-opp");
    const quote = (await h.store.loadQuote("demo", "p-q")) as QuoteAggregate;
    const quotes = await h.store.listQuotesOfOpportunity("demo", "p-opp");
    if (!opportunity) throw new Error("no opportunity");
    expect(auditSyncedPair(h.tenant, opportunity, quotes, quote)).toEqual([]);

    // An unmapped field differing is not drift (Term_Months__c has different types on each side).
    for (const l of opportunity.lines.values()) l.fields = { ...l.fields, Term_Months__c: "12" };
    expect(auditSyncedPair(h.tenant, opportunity, quotes, quote)).toEqual([]);

    for (const l of opportunity.lines.values()) l.quantity = "3";
    opportunity.header.amount = "1.00";
    const second = { ...quotes[0], id: "other-q", syncing: true } as (typeof quotes)[number];
    const kinds = auditSyncedPair(h.tenant, opportunity, [...quotes, second], quote).map(
      (issue) => issue.kind,
    );
    expect(kinds).toEqual(["multiple_synced_quotes", "lines_differ", "amount_mismatch"]);

    quote.header.syncing = false;
    expect(auditSyncedPair(h.tenant, opportunity, quotes, quote).map((issue) => issue.kind)).toEqual([
      "no_synced_quote",
    ]);
  });
});

describe("a CRM snapshot taken before lines reached the CRM, delivered after", () => {
  const snapshotAt = (seconds: number) => ({ occurredAt: afterStart(seconds) });

  it("does not delete the lines a start copied to the opportunity", async () => {
    const h = engineHarness();
    await h.setup();
    await h.crm(opportunityUpserted("s-opp", {}, { occurredAt: at(1) }));
    await h.crm(
      crmEvent(
        "opportunity.lines.upserted",
        { opportunityId: "s-opp", lines: [line("o1")] },
        { occurredAt: at(2) },
      ),
    );
    await h.cpq(quoteUpserted("s-q", "s-opp", {}, { occurredAt: at(3) }));
    await h.cpq(quoteLinesUpserted("s-q", [line("q1", { quantity: "2" })], { occurredAt: at(4) }));
    await h.start("s-q"); // at 12:00:00 (the harness clock); the quote line dates from 00:00:04
    // The CRM's snapshot of 11:59:59 still holds o1 and not yet the copy of q1.
    const late = await h.crm(
      crmEvent("opportunity.lines.replaced", { opportunityId: "s-opp", lines: [line("o1")] }, snapshotAt(-1)),
    );
    expect(late.response.mirrors.find((m) => m.target === "cpq")?.lines?.delete ?? []).toEqual([]);
    const status = await h.status("s-opp");
    expect(status.lines.map((l) => l.productId)).toEqual(["prod-q1"]);
    expect(status.amount).toBe("200.00");
    const quote = await h.store.loadQuote("demo", "s-q");
    expect([...(quote?.lines.values() ?? [])].filter((l) => !l.deleted)).toHaveLength(1);
  });

  it("does not delete a line the scheduled run pushed after the snapshot was taken", async () => {
    const h = await syncedPair("scheduled", "sp");
    await h.cpq(quoteLinesUpserted("sp-q", [line("sp-l2")], { occurredAt: afterStart(1) }));
    h.advance(5 * 60_000);
    await h.engine.runScheduled(); // pushes sp-l2 at 12:05:01
    // The CRM at 12:01 holds the line copied at the start (under its own id), not yet sp-l2.
    const copied = (await h.status("sp-opp")).lines.find((l) => l.productId === "prod-sp-l1");
    const late = await h.crm(
      crmEvent(
        "opportunity.lines.replaced",
        {
          opportunityId: "sp-opp",
          lines: [line("crm-l1", { productId: "prod-sp-l1", quantity: "2", syncKey: copied?.syncKey })],
        },
        snapshotAt(60),
      ),
    );
    // Older than the push: sp-l2 is sent back to the CRM rather than deleted from the quote.
    expect(late.response.mirrors.find((m) => m.target === "cpq")).toBeUndefined();
    expect(late.response.mirrors.find((m) => m.target === "crm")?.lines?.upsert).toEqual([
      expect.objectContaining({ productId: "prod-sp-l2" }),
    ]);
    h.advance(5 * 60_000);
    await h.engine.runScheduled();
    const quote = await h.store.loadQuote("demo", "sp-q");
    expect(
      [...(quote?.lines.values() ?? [])]
        .filter((l) => !l.deleted)
        .map((l) => l.productId)
        .sort(),
    ).toEqual(["prod-sp-l1", "prod-sp-l2"]);
  });
});
