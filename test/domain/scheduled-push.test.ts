import { describe, expect, it } from "vitest";
import { InMemorySyncStore } from "../../domain/memory-store.js";
import type { Page } from "../../domain/store.js";
import { afterStart, engineHarness } from "../support/engine.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";

/**
 * SPEC §1.8: the scheduled push of a quote's pending changes when something else got to the pair
 * between the run listing the quote and pushing it — a stop, a delete or a re-sync. The push is
 * decided on what it reads then: nothing is left to push, so nothing is mirrored or audited.
 */

/** The in-memory store; `beforePush` runs once, after the run has listed the quotes to push. */
class RacedStore extends InMemorySyncStore {
  beforePush: (() => Promise<unknown>) | undefined;

  override async listPendingQuoteIds(
    tenantId: string,
    after: string | null,
    limit: number,
  ): Promise<Page<string>> {
    const page = await super.listPendingQuoteIds(tenantId, after, limit);
    const race = this.beforePush;
    this.beforePush = undefined;
    await race?.();
    return page;
  }
}

async function scheduledPairWithPendingChange() {
  const h = engineHarness({ store: (clock) => new RacedStore(clock) });
  await h.setup();
  const { store, tenant, engine, crm, cpq } = h;
  await crm(opportunityUpserted("opp", {}, { occurredAt: at(1) }));
  await cpq(quoteUpserted("q", "opp", { syncMode: "scheduled" }, { occurredAt: at(2) }));
  await cpq(quoteLinesUpserted("q", [line("q1")], { occurredAt: at(3) }));
  await engine.startSync(tenant, "q", {});
  h.advance(1000);
  const change = await cpq(
    quoteLinesUpserted("q", [line("q1", { quantity: "3" })], { occurredAt: afterStart(1) }),
  );
  expect(change.response.status).toBe("pending");
  h.advance(1000);
  const outboxLength = async () => (await store.readOutbox("demo", null, 1000)).entries.length;
  const auditTypes = async () =>
    (await store.readAudit("demo", "opp", null, 100)).entries.map((entry) => entry.type);
  return { store, tenant, engine, cpq, outboxLength, auditTypes, advance: h.advance };
}

describe("a scheduled push raced by another change to the pair (SPEC §1.8)", () => {
  it("pushes nothing after a stop", async () => {
    const s = await scheduledPairWithPendingChange();
    s.store.beforePush = () => s.engine.stopSync(s.tenant, "q", {});
    const before = await s.outboxLength();
    const report = await s.engine.runScheduled();
    expect(report.push.examined).toBe(1);
    expect(report.push.failures).toEqual([]);
    expect(report.push.pushed).toEqual([]);
    // The stop's two mirrors only (the CPQ's quote, the CRM's unlocked amount).
    expect(await s.outboxLength()).toBe(before + 2);
    expect(await s.auditTypes()).not.toContain("change.pushed");
  });

  it("pushes nothing after the quote's delete", async () => {
    const s = await scheduledPairWithPendingChange();
    s.store.beforePush = () =>
      s.cpq({ eventId: "del", type: "quote.deleted", occurredAt: at(10_000), data: { quoteId: "q" } });
    const report = await s.engine.runScheduled();
    expect(report.push.failures).toEqual([]);
    expect(report.push.pushed).toEqual([]);
    expect(await s.auditTypes()).not.toContain("change.pushed");
  });

  it("pushes nothing after a re-sync already pushed the changes", async () => {
    const s = await scheduledPairWithPendingChange();
    s.store.beforePush = () => s.engine.startSync(s.tenant, "q", {});
    const report = await s.engine.runScheduled();
    expect(report.push.failures).toEqual([]);
    expect(report.push.pushed).toEqual([]);
    const types = await s.auditTypes();
    expect(types).toContain("sync.resynced");
    expect(types).not.toContain("change.pushed");
  });
});
