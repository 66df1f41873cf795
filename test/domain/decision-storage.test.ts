import { describe, expect, it, vi } from "vitest";
import type { EngineDeps } from "../../domain/engine/decision.js";
import { SyncEngine } from "../../domain/engine/sync-engine.js";
import { ConcurrentModification } from "../../domain/errors.js";
import { CpqEvent, CrmEvent } from "../../domain/events.js";
import { InMemorySyncStore } from "../../domain/memory-store.js";
import type { ChangeSet, PendingCommit } from "../../domain/store.js";
import { demoTenant } from "../../domain/tenant.js";
import { HARNESS_START } from "../support/engine.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";

/**
 * How a decision meets storage faults and concurrent copies (SPEC §1.11, §2): a fault that is not
 * a lost race is passed on, not retried; a failed read abandons the commit begun beside it; a copy
 * of the event committed while this one was being decided answers with its response, even where
 * this copy alone would have failed; the engine runs with its own backoff and no conflict
 * listener. Driven through the engine's API over the in-memory store with faults the test sets.
 */

class FaultyStore extends InMemorySyncStore {
  commitFaults: Array<() => void> = [];
  /** Runs once, after the next quote read (whose result is returned as read before it). */
  afterNextQuoteRead: (() => Promise<unknown>) | undefined;
  quoteReadFault: Error | undefined;
  commitAttempts = 0;
  abandoned = 0;

  override async commit(changes: ChangeSet): Promise<void> {
    this.commitAttempts++;
    this.commitFaults.shift()?.();
    await super.commit(changes);
  }

  override async loadQuote(tenantId: string, quoteId: string) {
    if (this.quoteReadFault) throw this.quoteReadFault;
    const read = await super.loadQuote(tenantId, quoteId);
    const hook = this.afterNextQuoteRead;
    this.afterNextQuoteRead = undefined;
    await hook?.();
    return read;
  }

  beginCommit(_tenantId: string, _kind: string): PendingCommit {
    return {
      commit: (changes) => this.commit(changes),
      abandon: async () => {
        this.abandoned++;
      },
    };
  }
}

function setup(extra: Partial<EngineDeps> = {}) {
  const store = new FaultyStore(() => HARNESS_START);
  const tenant = demoTenant({ crm: "crm-secret-0001", cpq: "cpq-secret-0001" });
  let keys = 0;
  const engine = new SyncEngine({
    store,
    clock: () => HARNESS_START,
    newSyncKey: () => `sk-${++keys}`,
    ...extra,
  });
  const crm = (event: unknown) => engine.handleCrmEvent(tenant, CrmEvent.parse(event));
  const cpq = (event: unknown) => engine.handleCpqEvent(tenant, CpqEvent.parse(event));
  return { store, tenant, engine, crm, cpq };
}

async function pairReady(s: ReturnType<typeof setup>) {
  await s.store.putTenant(s.tenant);
  await s.crm(opportunityUpserted("opp", {}, { occurredAt: at(1) }));
  await s.cpq(quoteUpserted("q", "opp", {}, { occurredAt: at(2) }));
  await s.cpq(quoteLinesUpserted("q", [line("q1")], { occurredAt: at(3) }));
  s.store.commitAttempts = 0;
}

describe("storage faults meeting a decision", () => {
  it("a commit fault that is not a lost race is passed on at once, not retried", async () => {
    const s = setup({ sleep: async () => {} });
    await pairReady(s);
    s.store.commitFaults.push(() => {
      throw new Error("disk on fire");
    });
    await expect(s.crm(opportunityUpserted("opp", { name: "N" }, { occurredAt: at(4) }))).rejects.toThrow(
      "disk on fire",
    );
    expect(s.store.commitAttempts).toBe(1);
  });

  it("a read fault is passed on as it is, and the commit begun beside the reads is abandoned", async () => {
    const s = setup({ sleep: async () => {} });
    await pairReady(s);
    const fault = new Error("read timed out");
    s.store.quoteReadFault = fault;
    const abandonedBefore = s.store.abandoned;
    await expect(s.engine.startSync(s.tenant, "q", { eventId: "e-1" })).rejects.toBe(fault);
    expect(s.store.abandoned).toBe(abandonedBefore + 1);
    expect(s.store.commitAttempts).toBe(0);
  });

  it("without a sleep or a conflict listener, a lost race is decided again after the engine's own backoff", async () => {
    const s = setup();
    await pairReady(s);
    s.store.commitFaults.push(() => {
      throw new ConcurrentModification({ items: ["opportunity opp"] });
    });
    const renamed = await s.crm(opportunityUpserted("opp", { name: "N" }, { occurredAt: at(4) }));
    expect(renamed.response.status).toBe("not_synced");
    expect(s.store.commitAttempts).toBe(2);
  });
});

describe("a copy of the command committed while this one is decided (SPEC §1.11)", () => {
  it("answers with the copy's response, though this copy read no quote and would have failed", async () => {
    const s = setup({ sleep: async () => {} });
    await s.store.putTenant(s.tenant);
    await s.crm(opportunityUpserted("opp", {}, { occurredAt: at(1) }));
    // This copy reads no quote "late"; before it decides, the quote arrives and the other copy starts it.
    s.store.afterNextQuoteRead = async () => {
      await s.cpq(quoteUpserted("late", "opp", {}, { occurredAt: at(2) }));
      await s.cpq(quoteLinesUpserted("late", [line("l1")], { occurredAt: at(3) }));
      await s.engine.startSync(s.tenant, "late", { eventId: "start-late" });
    };
    const copy = await s.engine.startSync(s.tenant, "late", { eventId: "start-late" });
    expect(copy.replayed).toBe(true);
    expect(copy.response).toMatchObject({ status: "started", quoteId: "late" });
    expect((await s.engine.status(s.tenant, "opp")).syncedQuoteId).toBe("late");
  });
});

describe("a redelivered line change of a synced pair (SPEC §1.11)", () => {
  it("read by key, is answered from its processed record in the same round trip, nothing decided again", async () => {
    const s = setup({ sleep: async () => {} });
    await pairReady(s);
    await s.engine.startSync(s.tenant, "q", {});
    const change = quoteLinesUpserted("q", [line("q1", { quantity: "2" })], {
      eventId: "lines-1",
      occurredAt: new Date(HARNESS_START + 1000).toISOString(),
    });
    const first = await s.cpq(change);
    expect(first.response.status).toBe("applied");
    const whole = vi.spyOn(s.store, "loadQuote");
    const keyed = vi.spyOn(s.store, "loadPairLines");
    const lookedUp = vi.spyOn(s.store, "findProcessedEvent");
    const attempts = s.store.commitAttempts;
    const again = await s.cpq(change);
    expect(again).toEqual({ replayed: true, response: first.response });
    expect(keyed).toHaveBeenCalledTimes(1);
    expect(whole).not.toHaveBeenCalled();
    expect(lookedUp).not.toHaveBeenCalled();
    expect(s.store.commitAttempts).toBe(attempts);
  });
});
