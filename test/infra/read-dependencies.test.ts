import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConcurrentModification } from "../../domain/errors.js";
import type { Mirror } from "../../domain/model.js";
import { at, opportunityUpserted } from "../support/events.js";
import { handlerHarness } from "../support/handlers.js";

const correction: Mirror = {
  target: "crm",
  opportunityId: "dep-opp",
  quoteId: "q",
  lines: { upsert: [], delete: ["x"] },
};

describe("mirrors computed from headers a decision did not write (DynamoDB Local)", () => {
  let h: Awaited<ReturnType<typeof handlerHarness>>;
  beforeAll(async () => {
    h = await handlerHarness();
    expect((await h.crm(opportunityUpserted("dep-opp", {}, { occurredAt: at(1) }))).statusCode).toBe(200);
  });
  afterAll(async () => {
    await h.dispose();
  });

  it("are not committed when such a header changed since it was read", async () => {
    const loaded = await h.store.loadOpportunity("demo", "dep-opp");
    const stale = { kind: "opportunity" as const, id: "dep-opp", version: (loaded?.header.version ?? 0) - 1 };
    await expect(
      h.store.commit({ tenantId: "demo", quotes: [], outbox: [correction], audit: [], unchanged: [stale] }),
    ).rejects.toBeInstanceOf(ConcurrentModification);
    expect((await h.store.readOutbox("demo", null, 10)).entries).toEqual([]);
  });

  it("are committed when every such header is still as read", async () => {
    const loaded = await h.store.loadOpportunity("demo", "dep-opp");
    const current = { kind: "opportunity" as const, id: "dep-opp", version: loaded?.header.version ?? null };
    await h.store.commit({
      tenantId: "demo",
      quotes: [],
      outbox: [correction],
      audit: [],
      unchanged: [current],
    });
    expect((await h.store.readOutbox("demo", null, 10)).entries.map((entry) => entry.mirror)).toEqual([
      correction,
    ]);
  });
});
