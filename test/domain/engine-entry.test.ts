import { describe, expect, it } from "vitest";
import { commandKey } from "../../domain/engine/sync-engine.js";
import { InMemorySyncStore } from "../../domain/memory-store.js";
import type { PendingCommit } from "../../domain/store.js";
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
 * The engine's entry points (SPEC §2, §3, §1.11): the tenant lookup, the idempotency keys of the
 * start and stop commands (stored with each processed command, so their format outlives a
 * deploy), and the sort of decision each entry point tells the store it is committing.
 */

/** The in-memory store, recording the kind of each commit the engine begins. */
class RecordingStore extends InMemorySyncStore {
  kinds: string[] = [];

  beginCommit(_tenantId: string, kind: string): PendingCommit {
    this.kinds.push(kind);
    return { commit: (changes) => this.commit(changes), abandon: async () => {} };
  }
}

async function setup() {
  const h = engineHarness({ store: (clock) => new RecordingStore(clock) });
  await h.setup();
  const { store, tenant, engine, crm, cpq } = h;
  await crm(opportunityUpserted("opp", {}, { occurredAt: at(1) }));
  for (const quoteId of ["a#b", "a"]) {
    await cpq(quoteUpserted(quoteId, "opp", {}, { occurredAt: at(2) }));
    await cpq(quoteLinesUpserted(quoteId, [line(`l-${quoteId}`)], { occurredAt: at(3) }));
  }
  store.kinds = [];
  return { store, tenant, engine, crm, cpq };
}

describe("the tenant lookup", () => {
  it("finds a stored tenant and refuses an unknown one as not found", async () => {
    const { engine, tenant } = await setup();
    expect((await engine.loadTenant("demo")).tenantId).toBe(tenant.tenantId);
    await expect(engine.loadTenant("nope")).rejects.toMatchObject({
      name: "NotFound",
      message: "tenant nope not found",
    });
  });
});

describe("idempotency of the start and stop commands (SPEC §2, §1.11)", () => {
  it("keeps quote `a#b` + event `c` apart from quote `a` + event `b#c`, and replays each", async () => {
    const { engine, tenant } = await setup();
    const first = await engine.startSync(tenant, "a#b", { eventId: "c" });
    const second = await engine.startSync(tenant, "a", { eventId: "b#c" });
    expect(first).toMatchObject({ replayed: false, response: { status: "started" } });
    expect(second).toMatchObject({ replayed: false, response: { status: "started" } });
    expect((await engine.status(tenant, "opp")).syncedQuoteId).toBe("a");
    const again = await engine.startSync(tenant, "a#b", { eventId: "c" });
    expect(again).toEqual({ replayed: true, response: first.response });
    expect((await engine.status(tenant, "opp")).syncedQuoteId).toBe("a");
  });

  it("answers a stop with the event id of a start as a stop, not as the start's replay", async () => {
    const { engine, tenant } = await setup();
    await engine.startSync(tenant, "a", { eventId: "e-1" });
    const stop = await engine.stopSync(tenant, "a", { eventId: "e-1" });
    expect(stop).toMatchObject({ replayed: false, response: { status: "stopped" } });
  });

  it("stores each command's key in the format processed records were stored under", () => {
    expect(commandKey("start", "q-1", "evt:1", undefined)).toBe("command#start#q-1#evt:1");
    expect(commandKey("stop", "a#b", "c", undefined)).toBe("command#stop#a%23b#c");
    expect(commandKey("stop", "50%", "c%", undefined)).toBe("command#stop#50%25#c%25");
    expect(commandKey("start", "q-1", undefined, "digest")).toBe("command#start#q-1#%req:digest");
    expect(commandKey("start", "q-1", "", "digest")).toBe("command#start#q-1#%req:digest");
    expect(commandKey("start", "q-1", undefined, undefined)).toBeNull();
  });
});

describe("the sort of decision the store is told it commits", () => {
  it("names the source and event type, or the command", async () => {
    const { store, engine, tenant, crm, cpq } = await setup();
    await crm(opportunityUpserted("opp", { name: "Renamed" }, { occurredAt: at(4) }));
    await cpq(quoteUpserted("a", "opp", { name: "Renamed" }, { occurredAt: at(5) }));
    await cpq(cpqEvent("cart.finalized", { quoteId: "a" }, { occurredAt: at(6) }), "eventbridge");
    await engine.stopSync(tenant, "a", {});
    await engine.startSync(tenant, "a", {});
    expect(store.kinds).toEqual([
      "crm:opportunity.upserted",
      "cpq:quote.upserted",
      "cpq:cart.finalized",
      "command:stop",
      "command:start",
    ]);
  });
});
