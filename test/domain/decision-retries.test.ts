import { describe, expect, it, vi } from "vitest";
import { ATTEMPT_RESERVE_MS, backoffDelay } from "../../domain/engine/decision.js";
import { SyncEngine } from "../../domain/engine/sync-engine.js";
import { ConcurrentModification, DuplicateEvent, StorageBusy } from "../../domain/errors.js";
import { CpqEvent, CrmEvent } from "../../domain/events.js";
import { InMemorySyncStore } from "../../domain/memory-store.js";
import type { ChangeSet, PendingCommit } from "../../domain/store.js";
import { demoTenant, TenantConfig } from "../../domain/tenant.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";

/**
 * How a decision meets storage (SPEC §1.1, §1.11, §2 "503 retry_later"): a commit that loses to
 * another writer is decided again on fresh state, a bounded number of times, with jittered backoff;
 * a copy of the event committed meanwhile answers with its response; refusals write their audit
 * entry only. Driven through the engine's API over an in-memory store whose commits the test fails.
 */

const NOW = Date.UTC(2026, 0, 1, 12);

/** The in-memory store, with commits that fail as the test says and a record of what was committed. */
class ScriptedStore extends InMemorySyncStore {
  failures: Array<(changes: ChangeSet) => Promise<void> | void> = [];
  committed: ChangeSet[] = [];
  begun: string[] = [];
  abandoned = 0;

  override async commit(changes: ChangeSet): Promise<void> {
    const failure = this.failures.shift();
    if (failure) await failure(changes);
    await super.commit(changes);
    this.committed.push(changes);
  }

  beginCommit(_tenantId: string, kind: string): PendingCommit {
    this.begun.push(kind);
    return {
      commit: (changes) => this.commit(changes),
      abandon: async () => {
        this.abandoned++;
      },
    };
  }
}

function setup(options: { maxAttempts?: number; tenant?: TenantConfig } = {}) {
  const store = new ScriptedStore(() => NOW);
  const tenant = options.tenant ?? demoTenant({ crm: "crm-secret-0001", cpq: "cpq-secret-0001" });
  const sleeps: number[] = [];
  const conflicts: Array<{ attempt: number; retrying: boolean }> = [];
  let keys = 0;
  const engine = new SyncEngine({
    store,
    clock: () => NOW,
    newSyncKey: () => `sk-${++keys}`,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    onConflict: (conflict) => conflicts.push(conflict),
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
  });
  return { store, tenant, engine, sleeps, conflicts, ...sides(engine, tenant) };
}

/** Events from each side, parsed as the handlers parse them, to `engine`. */
function sides(engine: SyncEngine, tenant: TenantConfig) {
  return {
    crm: (event: unknown) => engine.handleCrmEvent(tenant, CrmEvent.parse(event)),
    cpq: (event: unknown) => engine.handleCpqEvent(tenant, CpqEvent.parse(event)),
  };
}

const conflict = () => {
  throw new ConcurrentModification({ items: ["opportunity opp"] });
};

async function pairReady(s: Pick<ReturnType<typeof setup>, "store" | "tenant" | "crm" | "cpq">) {
  await s.store.putTenant(s.tenant);
  await s.crm(opportunityUpserted("opp", {}, { occurredAt: at(1) }));
  await s.cpq(quoteUpserted("q", "opp", {}, { occurredAt: at(2) }));
  await s.cpq(quoteLinesUpserted("q", [line("q1")], { occurredAt: at(3) }));
  s.store.committed = [];
  s.store.begun = [];
}

describe("a decision that loses its commit", () => {
  it("is decided again on fresh state after a jittered backoff, and committed once", async () => {
    const s = setup();
    await pairReady(s);
    s.store.failures = [conflict, conflict];
    const outcome = await s.engine.startSync(s.tenant, "q", { eventId: "cmd-1" });
    expect(outcome).toMatchObject({ replayed: false, response: { status: "started" } });
    expect(s.conflicts).toEqual([
      { attempt: 1, retrying: true },
      { attempt: 2, retrying: true },
    ]);
    expect(s.sleeps).toHaveLength(2);
    expect(s.sleeps[0]).toBeLessThan(15);
    expect(s.sleeps[1]).toBeLessThan(30);
    expect(s.store.committed).toHaveLength(1);
    expect(s.store.begun).toEqual(["command:start", "command:start", "command:start"]);
    expect((await s.engine.status(s.tenant, "opp")).syncedQuoteId).toBe("q");
  });

  it("answers StorageBusy after the last attempt, having written nothing", async () => {
    const s = setup({ maxAttempts: 3 });
    await pairReady(s);
    s.store.failures = [conflict, conflict, conflict, conflict];
    const error = await s.engine.startSync(s.tenant, "q", {}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StorageBusy);
    expect((error as StorageBusy).retryAfterSeconds).toBe(1);
    expect(s.conflicts).toEqual([
      { attempt: 1, retrying: true },
      { attempt: 2, retrying: true },
      { attempt: 3, retrying: false },
    ]);
    expect(s.store.committed).toEqual([]);
    expect(s.store.failures).toHaveLength(1);
    expect((await s.engine.status(s.tenant, "opp")).syncedQuoteId).toBeNull();
  });

  it("tries twelve times unless told otherwise", async () => {
    const s = setup();
    await pairReady(s);
    s.store.failures = Array.from({ length: 20 }, () => conflict);
    await expect(s.engine.startSync(s.tenant, "q", {})).rejects.toBeInstanceOf(StorageBusy);
    expect(s.conflicts).toHaveLength(12);
    expect(s.conflicts.at(-1)).toEqual({ attempt: 12, retrying: false });
  });

  it("within an invocation's deadline, stops retrying when another attempt might not finish in time", async () => {
    const s = setup();
    await pairReady(s);
    s.store.failures = Array.from({ length: 20 }, () => conflict);
    // Time left drops by 4 s an attempt (a slow, contended storage): 20 s, 16 s, 12 s, then just under 8 s.
    let left = 19_999;
    const engine = s.engine.within(() => left);
    s.store.failures = s.store.failures.map((fail) => (changes: ChangeSet) => {
      left -= 4_000;
      return fail(changes);
    });
    const error = await engine.startSync(s.tenant, "q", {}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StorageBusy);
    // After the third loss less than 8 s are left, backoff or none: under ATTEMPT_RESERVE_MS, so no
    // fourth attempt. After the second, 12 s less a backoff of at most 30 ms: a third.
    expect(ATTEMPT_RESERVE_MS).toBe(8_000);
    expect(s.conflicts).toEqual([
      { attempt: 1, retrying: true },
      { attempt: 2, retrying: true },
      { attempt: 3, retrying: false },
    ]);
    expect(s.sleeps).toHaveLength(2);
    expect(s.store.committed).toEqual([]);
    expect((await s.engine.status(s.tenant, "opp")).syncedQuoteId).toBeNull();
    // The engine it was derived from keeps no deadline.
    s.store.failures = [conflict];
    expect((await s.engine.startSync(s.tenant, "q", {})).response.status).toBe("started");
  });

  it("retries when exactly the reserve is left after the backoff", async () => {
    const s = setup();
    await pairReady(s);
    s.store.failures = [conflict];
    const random = vi.spyOn(Math, "random").mockReturnValue(0); // a backoff of 0 ms
    try {
      const engine = s.engine.within(() => ATTEMPT_RESERVE_MS);
      expect((await engine.startSync(s.tenant, "q", {})).response.status).toBe("started");
    } finally {
      random.mockRestore();
    }
    expect(s.conflicts).toEqual([{ attempt: 1, retrying: true }]);
    expect(s.sleeps).toEqual([0]);
  });

  it("waits out the backoff before deciding again, when no sleep is given", async () => {
    const store = new ScriptedStore(() => NOW);
    const tenant = demoTenant({ crm: "crm-secret-0001", cpq: "cpq-secret-0001" });
    let keys = 0;
    const engine = new SyncEngine({ store, clock: () => NOW, newSyncKey: () => `sk-${++keys}` });
    await pairReady({ store, tenant, ...sides(engine, tenant) });
    store.failures = [conflict];
    // The first backoff is full jitter under 15 ms: 14 ms here.
    const random = vi.spyOn(Math, "random").mockReturnValue(0.99);
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    try {
      let settled = false;
      const started = engine.startSync(tenant, "q", {}).finally(() => {
        settled = true;
      });
      started.catch(() => {}); // awaited below; a failed expectation before that must not leave it unhandled
      await vi.advanceTimersByTimeAsync(13);
      expect(settled).toBe(false);
      expect(store.committed).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect((await started).response.status).toBe("started");
      expect(store.committed).toHaveLength(1);
    } finally {
      vi.useRealTimers();
      random.mockRestore();
    }
  });

  it("answers with the stored response when a copy of the event committed first", async () => {
    const s = setup();
    await pairReady(s);
    const event = quoteLinesUpserted("q", [line("q2")], { eventId: "dup-1", occurredAt: at(4) });
    // The copy commits its own decision, then this delivery's commit is refused as a duplicate.
    const original = { status: "not_synced", mirrors: [] } as const;
    s.store.failures = [
      async (changes) => {
        await InMemorySyncStore.prototype.commit.call(s.store, {
          tenantId: changes.tenantId,
          quotes: [],
          outbox: [],
          audit: [],
          processedEvent: { key: "cpq#dup-1", response: { ...original, copy: true } as never },
        });
        throw new DuplicateEvent("cpq#dup-1");
      },
    ];
    const outcome = await s.cpq(event);
    expect(outcome.replayed).toBe(true);
    expect(outcome.response).toMatchObject({ ...original, copy: true });
    expect(s.conflicts).toEqual([]);
    expect(s.sleeps).toEqual([]);
    // Redelivered later: the same answer, without deciding again.
    s.store.begun = [];
    expect((await s.cpq(event)).replayed).toBe(true);
    expect(s.store.begun).toEqual([]);
  });

  it("passes other storage failures on, without deciding again", async () => {
    const s = setup();
    await pairReady(s);
    s.store.failures = [
      () => {
        throw new Error("disk on fire");
      },
    ];
    await expect(s.engine.startSync(s.tenant, "q", {})).rejects.toThrow("disk on fire");
    expect(s.conflicts).toEqual([]);
    expect(s.store.begun).toEqual(["command:start"]);
  });
});

describe("a decision that fails", () => {
  it("writes only the audit entry of a refusal, and nothing for an unknown quote", async () => {
    const s = setup();
    await pairReady(s);
    await s.cpq(quoteUpserted("q-eur", "opp", { currency: "EUR" }, { occurredAt: at(5) }));
    s.store.committed = [];
    s.store.abandoned = 0;
    await expect(s.engine.startSync(s.tenant, "q-eur", { eventId: "r-1" })).rejects.toMatchObject({
      code: "currency_mismatch",
    });
    expect(s.store.committed).toHaveLength(1);
    expect(s.store.committed[0]).toMatchObject({ tenantId: "demo", quotes: [], outbox: [] });
    expect(s.store.committed[0]?.opportunity).toBeUndefined();
    expect(s.store.committed[0]?.processedEvent).toBeUndefined();
    expect(s.store.committed[0]?.audit.map((entry) => entry.entry.type)).toEqual(["start.refused"]);
    expect(s.store.abandoned).toBe(0);
    // The refusal is not an answer to replay: the same command is decided again.
    await expect(s.engine.startSync(s.tenant, "q-eur", { eventId: "r-1" })).rejects.toMatchObject({
      code: "currency_mismatch",
    });

    s.store.committed = [];
    await expect(s.engine.startSync(s.tenant, "nope", {})).rejects.toMatchObject({ name: "NotFound" });
    expect(s.store.committed).toEqual([]);
    expect(s.store.abandoned).toBe(1);
  });

  it("writes the audit entry of a forbidden command only", async () => {
    const tenant = TenantConfig.parse({
      ...demoTenant({ crm: "crm-secret-0001", cpq: "cpq-secret-0001" }),
      permissions: { start: ["sync:start"], stop: [] },
    });
    const s = setup({ tenant });
    await pairReady(s);
    await expect(s.engine.startSync(s.tenant, "q", {})).rejects.toMatchObject({ name: "Forbidden" });
    expect(s.store.committed).toHaveLength(1);
    expect(s.store.committed[0]?.audit.map((entry) => entry.entry.type)).toEqual(["command.forbidden"]);
    expect(s.store.committed[0]?.outbox).toEqual([]);
  });
});

describe("backoffDelay", () => {
  it("is full jitter under a cap that doubles from 15 ms to at most 1 s", () => {
    expect(backoffDelay(0, () => 0)).toBe(0);
    expect(backoffDelay(0, () => 0.999)).toBe(14);
    expect(backoffDelay(1, () => 0.5)).toBe(15);
    expect(backoffDelay(3, () => 0.999)).toBe(119);
    expect(backoffDelay(6, () => 0.999)).toBe(959);
    expect(backoffDelay(7, () => 0.999)).toBe(999);
    expect(backoffDelay(20, () => 0.5)).toBe(500);
    for (let attempt = 0; attempt < 12; attempt++) {
      const delay = backoffDelay(attempt);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(Math.min(1000, 15 * 2 ** attempt));
      expect(Number.isInteger(delay)).toBe(true);
    }
  });
});

describe("records a decision read but did not change", () => {
  it("are checked at their versions: changed meanwhile, the commit loses and the decision is made again", async () => {
    const s = setup();
    await pairReady(s);
    await s.cpq(quoteUpserted("q", "opp", { syncMode: "manual" }, { occurredAt: at(4) }));
    await s.engine.startSync(s.tenant, "q", {});
    s.store.committed = [];
    // A manual-mode line change holds its change on the quote: the opportunity is read, not changed.
    s.store.failures = [
      async () => {
        // Meanwhile the CRM changes the opportunity (a stage change), committed first.
        s.store.failures = [];
        await s.crm(opportunityUpserted("opp", { stage: "Negotiation" }, { occurredAt: at(5) }));
      },
    ];
    const outcome = await s.cpq(
      quoteLinesUpserted("q", [line("q1", { quantity: "2" })], { occurredAt: at(6) }),
    );
    expect(outcome.response.status).toBe("pending");
    const lineChange = s.store.committed.find((changes) => changes.quotes.some((quote) => quote.lines));
    expect(lineChange?.unchanged).toEqual([expect.objectContaining({ kind: "opportunity", id: "opp" })]);
    // The first attempt was refused (the opportunity's version had moved), the second committed.
    expect(s.conflicts).toEqual([{ attempt: 1, retrying: true }]);
    expect(s.store.committed.filter((changes) => changes === lineChange)).toHaveLength(1);
  });
});
