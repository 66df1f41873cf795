import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoTenant } from "../../domain/tenant.js";
import { runtime } from "../../functions/lib/runtime.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";
import { DEMO_SECRETS, handlerHarness } from "../support/handlers.js";

type Harness = Awaited<ReturnType<typeof handlerHarness>>;

/**
 * The scheduled function has no reserved concurrency by default (docs/deploy.md): two runs may
 * overlap. The checkpoint does not serialise them; each push is a conditioned decision, so the
 * overlap costs reads, not effects.
 */
describe("two scheduled runs at once (DynamoDB Local)", () => {
  let h: Harness;
  const ids = ["o0", "o1", "o2", "o3"];
  beforeAll(async () => {
    h = await handlerHarness({ tenants: [demoTenant(DEMO_SECRETS)] });
    for (const [index, id] of ids.entries()) {
      expect((await h.crm(opportunityUpserted(`${id}-opp`, {}, { occurredAt: at(1) }))).statusCode).toBe(200);
      const quote = quoteUpserted(`${id}-q`, `${id}-opp`, { syncMode: "scheduled" }, { occurredAt: at(2) });
      expect((await h.cpq(quote)).statusCode).toBe(200);
      expect((await h.start(`${id}-q`)).statusCode).toBe(200);
      const change = await h.cpq(
        quoteLinesUpserted(`${id}-q`, [line(`${id}-l`)], { occurredAt: at(10 + index) }),
      );
      expect(change.body.status).toBe("pending");
    }
  });
  afterAll(async () => {
    await h.dispose();
  });

  it("push each pending quote once between them; only one moves the checkpoint", async () => {
    const runs = await Promise.all([runtime().engine.runScheduled(), runtime().engine.runScheduled()]);

    // Both read the same checkpoint and did their passes: the checkpoint did not keep them apart.
    // The first to list the pending quotes sees them all; the other sees fewer if it lists after
    // the first pushed some (on a slow machine).
    expect(Math.max(...runs.map((run) => run.push.examined))).toBe(ids.length);
    expect(runs.map((run) => run.checkpointSaved).sort()).toEqual([false, true]);
    // Each quote's pending change was pushed by exactly one of them.
    const pushed = runs.flatMap((run) => run.push.pushed.map((entry) => entry.quoteId)).sort();
    expect(pushed).toEqual(ids.map((id) => `${id}-q`));
    expect(runs.flatMap((run) => [...run.push.failures, ...run.audit.failures])).toEqual([]);

    for (const id of ids) {
      const status = await h.status(`${id}-opp`);
      expect(status.body.quotes[0].pendingChanges).toBe(0);
      expect(status.body.lines).toHaveLength(1);
      const audit = await h.request("GET", `/sync/demo/opportunities/${id}-opp/audit?limit=100`);
      const pushes = audit.body.entries.filter((entry: { type: string }) => entry.type === "change.pushed");
      expect(pushes).toHaveLength(1);
    }
  });
});
