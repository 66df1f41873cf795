import { afterEach, describe, expect, it } from "vitest";
import { ConcurrentModification } from "../../domain/errors.js";
import { InMemorySyncStore } from "../../domain/memory-store.js";
import type { ChangeSet, PendingCommit } from "../../domain/store.js";
import { setRuntime } from "../../functions/lib/runtime.js";
import { invokeRoute } from "../../local/invoke.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";
import { DEMO_SECRETS, memoryHandlerHarness } from "../support/handlers.js";

/**
 * SPEC §2 "503 retry_later" within Lambda's time limit: a decision that keeps losing its commit on
 * slow storage stops retrying while it can still answer, and a request that runs out of time is
 * answered 503 (retry), not 500. In-memory store whose commits the test makes slow and losing.
 */

/** Commits that, once `losing` is set, take `commitMs` and then lose to another writer. */
class SlowLosingStore extends InMemorySyncStore {
  losing = false;
  commitMs = 0;
  attempts = 0;

  override async commit(changes: ChangeSet): Promise<void> {
    if (this.losing) {
      this.attempts++;
      await new Promise((resolve) => setTimeout(resolve, this.commitMs));
      throw new ConcurrentModification({ items: ["opportunity opp"] });
    }
    await super.commit(changes);
  }

  beginCommit(): PendingCommit {
    return { commit: (changes) => this.commit(changes), abandon: async () => {} };
  }
}

async function setup(): Promise<SlowLosingStore> {
  const h = await memoryHandlerHarness({ store: new SlowLosingStore() });
  await h.crm(opportunityUpserted("opp", {}, { occurredAt: at(1) }));
  await h.cpq(quoteUpserted("q", "opp", {}, { occurredAt: at(2) }));
  await h.cpq(quoteLinesUpserted("q", [line("q1")], { occurredAt: at(3) }));
  h.store.losing = true;
  return h.store;
}

const start = (timeoutMs: number) =>
  invokeRoute("POST", "/sync/demo/quotes/q/start", {
    rawBody: JSON.stringify({ eventId: "cmd-deadline" }),
    secret: DEMO_SECRETS.crm,
    timeoutMs,
  });

afterEach(() => setRuntime(undefined));

/** A `503 retry_later` whose message says why. */
function expectRetryLater(response: Awaited<ReturnType<typeof start>>, why: string): void {
  expect(response.statusCode).toBe(503);
  expect(response.body.error).toMatchObject({ code: "retry_later", message: expect.stringContaining(why) });
  expect(response.headers["retry-after"]).toBe("1");
}

describe("a request within its function's time limit", () => {
  it("stops retrying a losing commit while an attempt still fits, and answers 503 retry_later", async () => {
    const store = await setup();
    store.commitMs = 1_000;
    const began = performance.now();
    // 10 s: after one 1 s attempt 9 s are left, enough for another (8 s kept in hand); after two, not.
    const response = await start(10_000);
    const took = performance.now() - began;
    expectRetryLater(response, "busy");
    // Two as a rule (a second ends about 2 s in); one if a loaded machine held the first past 2 s.
    expect(store.attempts).toBeGreaterThanOrEqual(1);
    expect(store.attempts).toBeLessThanOrEqual(2);
    expect(took).toBeLessThan(10_000);
    store.losing = false;
    const status = await invokeRoute("GET", "/sync/demo/opportunities/opp", { secret: DEMO_SECRETS.crm });
    expect(status.body).toMatchObject({ syncedQuoteId: null, amountLocked: false });
  });

  it("answers 503 retry_later, not 500, when it runs out of time mid-attempt", async () => {
    const store = await setup();
    store.commitMs = 2_000;
    const response = await start(500);
    expectRetryLater(response, "out of time");
    expect(store.attempts).toBe(1);
  });
});
