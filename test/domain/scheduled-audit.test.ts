import { describe, expect, it } from "vitest";
import { afterStart, engineHarness, tamper } from "../support/engine.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";

/**
 * SPEC §1.8 and §1.13 through the engine's scheduled run: what it pushes and audits, the drift
 * report it keeps (a lasting drift is audited once), and what it prunes. Drift is made by writing
 * the opportunity through the store port behind the engine's back, as a lost write would leave it.
 */

async function syncedPair(mode: "live" | "scheduled" | "manual" = "live") {
  const h = engineHarness();
  await h.setup();
  await h.crm(opportunityUpserted("opp", { stage: "Prospecting" }, { occurredAt: at(1) }));
  await h.cpq(quoteUpserted("q", "opp", { syncMode: mode }, { occurredAt: at(2) }));
  await h.cpq(quoteLinesUpserted("q", [line("l1", { quantity: "2" })], { occurredAt: at(3) }));
  await h.start("q");
  h.advance(1000);
  return h;
}

type Harness = Awaited<ReturnType<typeof syncedPair>>;

async function driftEntries(h: Harness) {
  const page = await h.store.readAudit("demo", "opp", null, 100);
  return page.entries
    .filter((entry) => entry.source === "schedule")
    .reverse()
    .map(({ type, summary, quoteId }) => ({ type, summary, quoteId }));
}

describe("the scheduled audit's drift report", () => {
  it("audits a drift once, keeps when it was first found, re-audits what changes, and drops it once resolved", async () => {
    const h = await syncedPair();
    const clean = await h.engine.runScheduled();
    expect(clean.audit.drifting).toEqual([]);
    expect(clean.audit.recorded).toBe(0);
    expect(await h.store.loadDriftFinding("demo", "opp")).toBeNull();

    await tamper(h.store, "demo", { opportunityId: "opp" }, { amount: "1.00" });
    const first = await h.engine.runScheduled();
    expect(first.audit.drifting).toEqual([
      { tenantId: "demo", opportunityId: "opp", issues: ["amount_mismatch"] },
    ]);
    expect(first.audit.recorded).toBe(1);
    const detectedAt = new Date(Date.UTC(2026, 0, 1, 12, 0, 1)).toISOString();
    expect(await h.store.loadDriftFinding("demo", "opp")).toEqual({
      opportunityId: "opp",
      quoteId: "q",
      issues: [
        { kind: "amount_mismatch", detail: "the opportunity amount is 1.00, the quote subtotal 200.00" },
      ],
      detectedAt,
      checkedAt: detectedAt,
    });

    h.advance(60_000);
    const lasting = await h.engine.runScheduled();
    expect(lasting.audit.recorded).toBe(0);
    expect(lasting.audit.drifting).toHaveLength(1);
    const kept = await h.store.loadDriftFinding("demo", "opp");
    expect(kept?.detectedAt).toBe(detectedAt);
    expect(kept?.checkedAt).toBe(new Date(Date.UTC(2026, 0, 1, 12, 1, 1)).toISOString());

    // Unlocked as well: another issue text, audited as new, found anew.
    await tamper(h.store, "demo", { opportunityId: "opp" }, { amountLocked: false });
    h.advance(60_000);
    const changed = await h.engine.runScheduled();
    expect(changed.audit.recorded).toBe(1);
    const moved = await h.store.loadDriftFinding("demo", "opp");
    expect(moved?.issues).toEqual([
      {
        kind: "amount_mismatch",
        detail: "the opportunity amount is 1.00 (unlocked), the quote subtotal 200.00",
      },
    ]);
    expect(moved?.detectedAt).toBe(new Date(Date.UTC(2026, 0, 1, 12, 2, 1)).toISOString());

    await tamper(h.store, "demo", { opportunityId: "opp" }, { amount: "200.00", amountLocked: true });
    const resolved = await h.engine.runScheduled();
    expect(resolved.audit.drifting).toEqual([]);
    expect(resolved.audit.recorded).toBe(0);
    expect(await h.store.loadDriftFinding("demo", "opp")).toBeNull();
    expect((await h.store.readDriftReport("demo", null, 10)).entries).toEqual([]);

    expect(await driftEntries(h)).toEqual([
      {
        type: "audit.drift",
        summary: "the opportunity amount is 1.00, the quote subtotal 200.00",
        quoteId: "q",
      },
      {
        type: "audit.drift",
        summary: "the opportunity amount is 1.00 (unlocked), the quote subtotal 200.00",
        quoteId: "q",
      },
    ]);
  });

  it("names the lines that differ, five at most, with their count", async () => {
    const h = await syncedPair();
    const lines = Array.from({ length: 7 }, (_, index) => line(`x${index}`));
    await h.cpq(quoteLinesUpserted("q", lines, { occurredAt: afterStart(5) }));
    // The opportunity loses its lines behind the engine's back: 8 lines live on the quote only.
    const opportunity = await h.store.loadOpportunity("demo", "opp");
    if (!opportunity) throw new Error("no opportunity");
    const all = new Map(
      [...opportunity.lines.values()].map((stored) => [stored.syncKey, { ...stored, deleted: true }]),
    );
    await h.store.commit({
      tenantId: "demo",
      // Written as a header of before line summaries, so only the lines themselves differ.
      opportunity: {
        record: { ...opportunity.header, lineSummary: undefined },
        lines: { all, changed: new Set(all.keys()) },
      },
      quotes: [],
      outbox: [],
      audit: [],
    });
    const report = await h.engine.runScheduled();
    expect(report.audit.drifting).toEqual([
      { tenantId: "demo", opportunityId: "opp", issues: ["lines_differ"] },
    ]);
    const finding = await h.store.loadDriftFinding("demo", "opp");
    expect(finding?.issues).toEqual([
      {
        kind: "lines_differ",
        detail: "8 line(s) differ between quote and opportunity (sync keys sk-1, sk-2, sk-3, sk-4, sk-5, …)",
      },
    ]);
  });

  it("flags pending manual-mode changes at a milestone stage only; prunes the finding once the pair is stopped", async () => {
    const h = await syncedPair("manual");
    await h.cpq(
      quoteLinesUpserted("q", [line("l1", { syncKey: "sk-1", quantity: "5" })], {
        occurredAt: afterStart(5),
      }),
    );
    await h.crm(opportunityUpserted("opp", { stage: "Qualification" }, { occurredAt: afterStart(6) }));
    expect((await h.engine.runScheduled()).audit.drifting).toEqual([]);
    await h.crm(opportunityUpserted("opp", { stage: "Negotiation" }, { occurredAt: afterStart(7) }));
    const report = await h.engine.runScheduled();
    expect(report.audit.drifting).toEqual([
      { tenantId: "demo", opportunityId: "opp", issues: ["milestone_pending"] },
    ]);
    expect(await driftEntries(h)).toEqual([
      {
        type: "audit.milestone_pending",
        summary: "the opportunity reached Negotiation with 1 change(s) of manual-mode quote q not pushed",
        quoteId: "q",
      },
    ]);
    expect(report.push.pushed).toEqual([]);
    await h.stop("q");
    h.advance(1000);
    const after = await h.engine.runScheduled();
    expect(after.audit.drifting).toEqual([]);
    expect(await h.store.loadDriftFinding("demo", "opp")).toBeNull();
  });

  it("pushes a scheduled-mode pair's pending changes, audited with their count", async () => {
    const h = await syncedPair("scheduled");
    await h.cpq(
      quoteLinesUpserted("q", [line("l1", { syncKey: "sk-1", quantity: "3" })], {
        occurredAt: afterStart(5),
      }),
    );
    await h.cpq(quoteLinesUpserted("q", [line("l2")], { occurredAt: afterStart(6) }));
    expect((await h.status("opp")).quotes[0]?.pendingChanges).toBe(2);
    const report = await h.engine.runScheduled();
    expect(report.push.pushed).toEqual([{ tenantId: "demo", quoteId: "q", mirrors: 1 }]);
    expect(report.audit.drifting).toEqual([]);
    const entries = await driftEntries(h);
    expect(entries).toEqual([
      {
        type: "change.pushed",
        summary: "2 pending change(s) pushed by the schedule: 2 line(s) copied",
        quoteId: "q",
      },
    ]);
    const status = await h.status("opp");
    expect(status.amount).toBe("400.00");
    expect(status.lastSyncedAt).toBe(new Date(Date.UTC(2026, 0, 1, 12, 0, 1)).toISOString());
    expect((await h.engine.runScheduled()).push.pushed).toEqual([]);
  });
});
