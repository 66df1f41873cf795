import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ScheduledRunReport } from "../../domain/engine/scheduled-run.js";
import { demoTenant, TenantConfig } from "../../domain/tenant.js";
import { runtime } from "../../functions/lib/runtime.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";
import { DEMO_SECRETS, handlerHarness } from "../support/handlers.js";

type Harness = Awaited<ReturnType<typeof handlerHarness>>;

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

describe("the scheduled function's bounded, resumable passes (DynamoDB Local)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await handlerHarness({ tenants: [demoTenant(DEMO_SECRETS), acme] });
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
    expect(runs.at(-1)?.push.resumeAt).toEqual({ tenantId: null, after: null, tenantPassStartedAt: null });
    for (const id of ["d0", "d4"]) {
      expect((await h.status(`${id}-opp`)).body.quotes[0].pendingChanges).toBe(0);
    }
    expect((await h.status("a1-opp", "acme")).body.lines).toHaveLength(1);

    // The audit pass pages the synced index the same way, three pairs a run.
    expect(runs.map((run) => run.audit.examined)).toEqual([3, 3, 2]);
    expect(runs.flatMap((run) => run.audit.drifting)).toEqual([]);
  });
});
