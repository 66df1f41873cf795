import { describe, expect, it } from "vitest";
import { auditSyncedPair } from "../../domain/engine/pair-audit.js";
import type { QuoteAggregate } from "../../domain/model.js";
import { engineHarness } from "../support/engine.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";

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

const afterStart = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 12) + seconds * 1000).toISOString();

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
