import { describe, expect, it } from "vitest";
import { InMemorySyncStore } from "../../domain/memory-store.js";
import type { ChangeSet } from "../../domain/store.js";
import { demoTenant, TenantConfig } from "../../domain/tenant.js";
import { engineHarness } from "../support/engine.js";
import {
  at,
  cpqEvent,
  line,
  opportunityUpserted,
  quoteLinesUpserted,
  quoteUpserted,
} from "../support/events.js";

/**
 * What one decision commits (SPEC §1.1, §1.11, §1.12, §1.13, §5): a decision rests on every
 * record it read, so a change landing meanwhile makes it decide again; a report that changes
 * nothing writes no record; a mirror names each line once; audit entries carry what they know.
 * Through the engine's API over an in-memory store that records each commit and can let another
 * decision land just before one.
 */

class WatchedStore extends InMemorySyncStore {
  committed: ChangeSet[] = [];
  /** Runs once, just before the next commit is applied. */
  beforeNextCommit: (() => Promise<unknown>) | undefined;

  override async commit(changes: ChangeSet): Promise<void> {
    const race = this.beforeNextCommit;
    this.beforeNextCommit = undefined;
    await race?.();
    await super.commit(changes);
    this.committed.push(changes);
  }
}

async function setup(tenant = demoTenant({ crm: "crm-secret-0001", cpq: "cpq-secret-0001" })) {
  const h = engineHarness({ tenant, store: (clock) => new WatchedStore(clock) });
  await h.setup();
  const { store, engine, crm, cpq } = h;
  await crm(opportunityUpserted("opp", {}, { occurredAt: at(1) }));
  await cpq(quoteUpserted("q", "opp", {}, { occurredAt: at(2) }));
  await cpq(quoteLinesUpserted("q", [line("q1"), line("q2")], { occurredAt: at(3) }));
  store.committed = [];
  return { store, tenant, engine, crm, cpq };
}

describe("a decision and the records it read (SPEC §1.1)", () => {
  it("a stop decided on an unsynced quote while a start lands is decided again, and stops", async () => {
    const s = await setup();
    s.store.beforeNextCommit = () => s.engine.startSync(s.tenant, "q", {});
    const stop = await s.engine.stopSync(s.tenant, "q", {});
    expect(stop.response.status).toBe("stopped");
    const status = await s.engine.status(s.tenant, "opp");
    expect(status.syncedQuoteId).toBeNull();
    expect(status.quotes[0]?.syncing).toBe(false);
  });
});

describe("a report that changes nothing (SPEC §1.12)", () => {
  it("writes no record: only its processed-event record, resting on the records it read", async () => {
    const s = await setup();
    await s.engine.startSync(s.tenant, "q", {});
    s.store.committed = [];
    const echo = await s.crm(opportunityUpserted("opp", { amount: "200" }, { occurredAt: at(10) }));
    expect(echo.response).toEqual({ status: "no_change", mirrors: [] });
    const quoteEcho = await s.cpq(quoteUpserted("q", "opp", {}, { occurredAt: at(11) }));
    expect(quoteEcho.response).toEqual({ status: "no_change", mirrors: [] });
    expect(s.store.committed).toHaveLength(2);
    for (const commit of s.store.committed) {
      expect(commit.opportunity).toBeUndefined();
      expect(commit.quotes).toEqual([]);
      expect(commit.outbox).toEqual([]);
      expect(commit.audit).toEqual([]);
      expect(commit.processedEvent?.response.status).toBe("no_change");
    }
    expect(s.store.committed[0]?.unchanged).toEqual([
      { kind: "opportunity", id: "opp", version: expect.any(Number) },
      { kind: "quote", id: "q", version: expect.any(Number) },
    ]);
  });
});

describe("a mirror names each line once (SPEC §5)", () => {
  it("a re-sync that copies a pending quote line and then sends every line lists it once, as copied", async () => {
    const tenant = TenantConfig.parse({
      ...demoTenant({ crm: "crm-secret-0001", cpq: "cpq-secret-0001" }),
      policy: { mode: "manual" },
    });
    const s = await setup(tenant);
    await s.engine.startSync(s.tenant, "q", {});
    const pending = await s.cpq(
      quoteLinesUpserted("q", [line("q2", { quantity: "4" })], { occurredAt: at(20) }),
    );
    expect(pending.response.status).toBe("pending");
    const resync = await s.engine.startSync(s.tenant, "q", {});
    const toCrm = resync.response.mirrors.find((mirror) => mirror.target === "crm");
    const keys = toCrm?.lines?.upsert.map((upserted) => upserted.syncKey) ?? [];
    expect(keys).toHaveLength(2);
    expect(new Set(keys).size).toBe(2);
    expect(toCrm?.lines?.upsert.filter((upserted) => upserted.quantity === "4")).toHaveLength(1);
  });
});

describe("audit entries carry what they know (SPEC §1.13)", () => {
  it("a command without an event id or actor, and a change without values, leave those out", async () => {
    const s = await setup();
    await s.engine.startSync(s.tenant, "q", {});
    const [started] = (await s.store.readAudit("demo", "opp", null, 1)).entries;
    expect(started).toMatchObject({ type: "sync.started", source: "command", quoteId: "q" });
    expect(started).not.toHaveProperty("eventId");
    expect(started).not.toHaveProperty("actor");
    expect(started).not.toHaveProperty("changes");
  });

  it("a trigger for a quote quotesync has not heard of is audited nowhere and stores nothing", async () => {
    const base = demoTenant({ crm: "crm-secret-0001", cpq: "cpq-secret-0001" });
    const s = await setup(TenantConfig.parse({ ...base, policy: { ...base.policy, triggers: [] } }));
    const fired = await s.cpq(cpqEvent("cart.finalized", { quoteId: "unknown" }, { occurredAt: at(30) }));
    expect(fired.response.status).toBe("no_change");
    const [commit] = s.store.committed.slice(-1);
    expect(commit?.audit).toEqual([]);
    // Nor is the quote stored: nothing was heard of it but this trigger.
    expect(commit?.quotes).toEqual([]);
    expect(await s.store.loadQuote("demo", "unknown")).toBeNull();
  });
});
