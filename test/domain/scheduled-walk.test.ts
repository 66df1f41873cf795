import { describe, expect, it } from "vitest";
import type { ScheduledRunLimits } from "../../domain/engine/scheduled-run.js";
import type { ChangeSet } from "../../domain/store.js";
import { demoTenant, TenantConfig } from "../../domain/tenant.js";
import { engineHarness, tamper } from "../support/engine.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";

/**
 * The scheduled run's report of its walk (SPEC §1.8): the index pages it read against its page
 * budget, the pairs it examined, a pair that fails left for the next cycle while the others go on,
 * a deadline that stops it with nothing lost, and findings kept across a tenant's walk split over
 * runs. In memory: the index pages are the store's, so every count is exact.
 */

const SECRETS = { crm: "crm-secret-0001", cpq: "cpq-secret-0001" };

/** `count` pairs of the demo tenant in scheduled mode, each with one pending change. */
async function pendingPairs(count: number) {
  const h = engineHarness({ tenant: demoTenant(SECRETS) });
  await h.setup();
  for (let i = 0; i < count; i++) {
    await h.crm(opportunityUpserted(`o${i}`, {}, { occurredAt: at(1) }));
    await h.cpq(quoteUpserted(`q${i}`, `o${i}`, { syncMode: "scheduled" }, { occurredAt: at(2) }));
    await h.start(`q${i}`);
    h.advance(1000);
    const change = await h.cpq(quoteLinesUpserted(`q${i}`, [line(`l${i}`)], { occurredAt: at(10 + i) }));
    expect(change.response.status).toBe("pending");
  }
  return h;
}

const limits = (overrides: Partial<ScheduledRunLimits> = {}): ScheduledRunLimits => ({
  pairsPerPass: 100,
  pagesPerPass: 50,
  pageSize: 2,
  ...overrides,
});

describe("the scheduled run's walk, as its report tells it", () => {
  it("counts every index page it reads: the tenant list, and each page of the tenant's index", async () => {
    const h = await pendingPairs(3);
    const run = await h.engine.runScheduled({ limits: limits() });
    // Push: the tenant list's first entry, pages [q0, q1] and [q2], then the tenant after demo
    // (none) and the first tenant again (demo: every tenant served).
    expect(run.push.examined).toBe(3);
    expect(run.push.indexPages).toBe(5);
    expect(run.push.pushed.map((p) => p.quoteId)).toEqual(["q0", "q1", "q2"]);
    expect(run.push.failures).toEqual([]);
    expect(run.push.cycleCompleted).toBe(true);
    expect(run.audit.examined).toBe(3);
    expect(run.audit.indexPages).toBe(5);
    expect(run.stoppedEarly).toBe(false);
  });

  it("reads no more index pages than pagesPerPass, and the next run goes on from where it stopped", async () => {
    const h = await pendingPairs(5);
    const first = await h.engine.runScheduled({ limits: limits({ pagesPerPass: 2 }) });
    // The tenant list, then one page of two quotes: the budget is spent.
    expect(first.push.indexPages).toBe(2);
    expect(first.push.pushed.map((p) => p.quoteId)).toEqual(["q0", "q1"]);
    expect(first.push.cycleCompleted).toBe(false);
    expect(first.push.resumeAt).toMatchObject({ tenantId: "demo", after: "q1" });
    // From the checkpoint, no tenant-list read: pages [q2, q3] and [q4] end demo's index. The walk
    // then reads the tenant list past the budget, once for the tenant after demo and once wrapping
    // to the first, so the next run starts one tenant later rather than at a tenant served.
    const second = await h.engine.runScheduled({ limits: limits({ pagesPerPass: 2 }) });
    expect(second.push.pushed.map((p) => p.quoteId)).toEqual(["q2", "q3", "q4"]);
    expect(second.push.indexPages).toBe(4);
    expect(second.push.cycleCompleted).toBe(true);
    const third = await h.engine.runScheduled({ limits: limits({ pagesPerPass: 2 }) });
    expect(third.push.pushed).toEqual([]);
  });

  it("records a pair that fails and goes on with the others; the failed one is pushed by a later run", async () => {
    const h = await pendingPairs(3);
    const commit = h.store.commit.bind(h.store);
    let failing = true;
    h.store.commit = async (changes: ChangeSet) => {
      if (failing && changes.quotes.some(({ record }) => record.id === "q1")) throw new Error("disk on fire");
      return commit(changes);
    };
    const run = await h.engine.runScheduled({ limits: limits() });
    expect(run.push.failures).toEqual([{ tenantId: "demo", id: "q1", error: "disk on fire" }]);
    expect(run.push.examined).toBe(3);
    expect(run.push.pushed.map((p) => p.quoteId)).toEqual(["q0", "q2"]);
    failing = false;
    const next = await h.engine.runScheduled({ limits: limits() });
    expect(next.push.pushed.map((p) => p.quoteId)).toEqual(["q1"]);
    expect(next.push.failures).toEqual([]);
  });

  it("stops at its deadline between pairs, says so, and the next run pushes the rest once", async () => {
    const h = await pendingPairs(4);
    let visits = 0;
    const list = h.store.listPendingQuoteIds.bind(h.store);
    h.store.listPendingQuoteIds = async (...args) => {
      const page = await list(...args);
      visits += page.entries.length;
      return page;
    };
    const stopped = await h.engine.runScheduled({ limits: limits(), shouldStop: () => visits >= 2 });
    expect(stopped.stoppedEarly).toBe(true);
    expect(stopped.push.pushed.length).toBeLessThan(4);
    expect(stopped.push.cycleCompleted).toBe(false);
    expect(stopped.audit.examined).toBe(0);
    const rest = await h.engine.runScheduled({ limits: limits() });
    expect(rest.stoppedEarly).toBe(false);
    const all = [...stopped.push.pushed, ...rest.push.pushed].map((p) => p.quoteId);
    expect(all.sort()).toEqual(["q0", "q1", "q2", "q3"]);
  });

  it("keeps a finding recorded early in a tenant's walk that runs split, and drops one not found again", async () => {
    const h = await pendingPairs(0);
    const tenant = TenantConfig.parse({
      tenantId: "demo",
      secrets: { crm: [SECRETS.crm], cpq: [SECRETS.cpq] },
    });
    await h.store.putTenant(tenant);
    for (let i = 0; i < 4; i++) {
      await h.crm(opportunityUpserted(`o${i}`, {}, { occurredAt: at(1) }));
      await h.cpq(quoteUpserted(`q${i}`, `o${i}`, {}, { occurredAt: at(2) }));
      await h.cpq(quoteLinesUpserted(`q${i}`, [line(`l${i}`, { quantity: "2" })], { occurredAt: at(3) }));
      await h.start(`q${i}`);
    }

    await tamper(h.store, "demo", { opportunityId: "o0" }, { amount: "1.00" });
    await tamper(h.store, "demo", { opportunityId: "o3" }, { amount: "3.00" });
    // One walk of demo's synced index over three runs: o0 and o1, then o2 and o3, then the empty
    // last page that ends the walk and prunes the findings the walk did not check again.
    h.advance(1000);
    const first = await h.engine.runScheduled({ limits: limits({ pairsPerPass: 2 }) });
    expect(first.audit.drifting.map((d) => d.opportunityId)).toEqual(["o0"]);
    h.advance(1000);
    const second = await h.engine.runScheduled({ limits: limits({ pairsPerPass: 2 }) });
    expect(second.audit.drifting.map((d) => d.opportunityId)).toEqual(["o3"]);
    expect(second.audit.resumeAt).toMatchObject({ tenantId: "demo", after: "o3" });
    h.advance(1000);
    const third = await h.engine.runScheduled({ limits: limits({ pairsPerPass: 2 }) });
    expect(third.audit.examined).toBe(0);
    expect(third.audit.cycleCompleted).toBe(true);
    // o0 was checked by this walk, two runs before it ended: its finding stays.
    expect(await h.store.loadDriftFinding("demo", "o0")).not.toBeNull();
    expect(await h.store.loadDriftFinding("demo", "o3")).not.toBeNull();
    // o0 mended behind the engine's back: the next walk finds it in step and drops its finding.
    await tamper(h.store, "demo", { opportunityId: "o0" }, { amount: "200.00" });
    h.advance(1000);
    const fourth = await h.engine.runScheduled({ limits: limits() });
    expect(fourth.audit.drifting.map((d) => d.opportunityId)).toEqual(["o3"]);
    expect(await h.store.loadDriftFinding("demo", "o0")).toBeNull();
    expect(await h.store.loadDriftFinding("demo", "o3")).not.toBeNull();
  });
});
