import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ScheduledRunReport } from "../../domain/engine/scheduled-run.js";
import { demoTenant, TenantConfig } from "../../domain/tenant.js";
import { runtime } from "../../functions/lib/runtime.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "./events.js";
import { DEMO_SECRETS, handlerHarness, memoryHandlerHarness } from "./handlers.js";

type Harness = Pick<
  Awaited<ReturnType<typeof memoryHandlerHarness>>,
  "crm" | "cpq" | "start" | "status" | "dispose"
>;
type Store = "DynamoDB Local" | "in memory";

const harnessOn = (store: Store, tenants: TenantConfig[]): Promise<Harness> =>
  store === "in memory" ? memoryHandlerHarness({ tenants }) : handlerHarness({ tenants });

/** A second tenant whose policy mode is `scheduled` (same secrets as demo, to keep signing simple). */
const acme = TenantConfig.parse({
  tenantId: "acme",
  secrets: { crm: [DEMO_SECRETS.crm], cpq: [DEMO_SECRETS.cpq] },
  policy: { mode: "scheduled" },
});

let tick = 0;
const later = () => new Date(Date.now() + ++tick).toISOString();

async function scheduledPairWithPendingChange(h: Harness, tenantId: string, id: string) {
  const quote = tenantId === "demo" ? { syncMode: "scheduled" } : {};
  expect(
    (await h.crm(opportunityUpserted(`${id}-opp`, {}, { occurredAt: at(1) }), tenantId)).statusCode,
  ).toBe(200);
  expect(
    (await h.cpq(quoteUpserted(`${id}-q`, `${id}-opp`, quote, { occurredAt: at(2) }), tenantId)).statusCode,
  ).toBe(200);
  expect((await h.start(`${id}-q`, {}, tenantId)).statusCode).toBe(200);
  const change = await h.cpq(
    quoteLinesUpserted(`${id}-q`, [line(`${id}-l`)], { occurredAt: later() }),
    tenantId,
  );
  expect(change.body.status).toBe("pending");
}

/**
 * The scheduled function's paging over the pairs index, on either store: the passes' limits, the
 * checkpoint, the rotation between tenants. Run on DynamoDB Local (test/integration) and in memory
 * (test/domain, where the engine's mutation run reaches it).
 */
export function scheduledPagingSuite(store: Store): void {
  describe(`the scheduled function's bounded, resumable passes (${store})`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await harnessOn(store, [demoTenant(DEMO_SECRETS), acme]);
      for (let i = 0; i < 3; i++) await scheduledPairWithPendingChange(h, "acme", `a${i}`);
      for (let i = 0; i < 5; i++) await scheduledPairWithPendingChange(h, "demo", `d${i}`);
    });
    afterAll(async () => {
      await h.dispose();
    });

    it("pushes at most pairsPerPass quotes a run, resumes at the checkpoint across tenants, and pushes each once", async () => {
      const limits = { pairsPerPass: 3, pagesPerPass: 10, pageSize: 2 };
      const runs: ScheduledRunReport[] = [];
      do {
        runs.push(await runtime().engine.runScheduled({ limits }));
      } while (!runs.at(-1)?.push.cycleCompleted && runs.length < 10);

      expect(runs.map((run) => run.push.examined)).toEqual([3, 3, 2]);
      expect(runs.every((run) => run.checkpointSaved)).toBe(true);
      const pushed = runs.flatMap((run) => run.push.pushed.map((p) => `${p.tenantId}/${p.quoteId}`));
      expect(pushed).toEqual([
        "acme/a0-q",
        "acme/a1-q",
        "acme/a2-q",
        "demo/d0-q",
        "demo/d1-q",
        "demo/d2-q",
        "demo/d3-q",
        "demo/d4-q",
      ]);
      // Every tenant served and none with a backlog: the next run starts one tenant later (rotation).
      expect(runs.at(-1)?.push.resumeAt).toEqual({
        tenantId: "demo",
        after: null,
        tenantPassStartedAt: null,
      });
      for (const id of ["d0", "d4"]) {
        expect((await h.status(`${id}-opp`)).body.quotes[0].pendingChanges).toBe(0);
      }
      expect((await h.status("a1-opp", "acme")).body.lines).toHaveLength(1);

      // The audit pass pages the synced index the same way, three pairs a run.
      expect(runs.map((run) => run.audit.examined)).toEqual([3, 3, 2]);
      expect(runs.flatMap((run) => run.audit.drifting)).toEqual([]);
    });
  });

  /** A tenant whose policy mode is `scheduled` (demo's secrets, to keep signing simple). */
  const scheduledTenant = (tenantId: string) =>
    TenantConfig.parse({
      tenantId,
      secrets: { crm: [DEMO_SECRETS.crm], cpq: [DEMO_SECRETS.cpq] },
      policy: { mode: "scheduled" },
    });

  describe(`fairness between a large and a small tenant (${store})`, () => {
    let h: Harness;
    beforeAll(async () => {
      // "big" sorts before "small": walking tenants in order with a global cap served big first.
      h = await harnessOn(store, [scheduledTenant("big"), scheduledTenant("small")]);
      for (let i = 0; i < 12; i++)
        await scheduledPairWithPendingChange(h, "big", `b${String(i).padStart(2, "0")}`);
      for (let i = 0; i < 2; i++) await scheduledPairWithPendingChange(h, "small", `s${i}`);
    });
    afterAll(async () => {
      await h.dispose();
    });

    const pushedBy = (run: ScheduledRunReport, tenantId: string) =>
      run.push.pushed.filter((p) => p.tenantId === tenantId).map((p) => p.quoteId);

    it("gives each tenant its quota per run and rotates the start, so the small tenant waits at most one run", async () => {
      // Room for one tenant's quota a run: the worst case for the tenant that comes second.
      const limits = { pairsPerPass: 3, pagesPerPass: 20, pageSize: 2, pairsPerTenant: 3 };
      const runs: ScheduledRunReport[] = [];
      for (let i = 0; i < 6; i++) runs.push(await runtime().engine.runScheduled({ limits }));

      expect(pushedBy(runs[0] as ScheduledRunReport, "big")).toEqual(["b00-q", "b01-q", "b02-q"]);
      // The next run starts at the tenant the first one did not reach.
      expect(pushedBy(runs[1] as ScheduledRunReport, "small")).toEqual(["s0-q", "s1-q"]);
      for (const run of runs) expect(pushedBy(run, "big").length).toBeLessThanOrEqual(3);
      const all = runs.flatMap((run) => run.push.pushed.map((p) => `${p.tenantId}/${p.quoteId}`));
      expect(new Set(all).size).toBe(all.length); // each pushed once
      expect(all).toHaveLength(14); // 6 runs of 3 cover both backlogs
      // The audit pass shares the rotation: small's two synced pairs are audited by the second run.
      expect(runs[1]?.audit.examined).toBe(3);
      // Once nothing is pending every run serves both tenants, and the start rotates between them.
      const lastStarts = runs.slice(-2).map((run) => run.push.resumeAt.tenantId);
      expect(runs.at(-1)?.push.cycleCompleted).toBe(true);
      expect(new Set(lastStarts)).toEqual(new Set(["big", "small"]));
    });
  });
}
