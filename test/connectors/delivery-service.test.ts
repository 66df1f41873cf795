import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryConnectorStore } from "../../connectors/applier.js";
import {
  type BackoffPolicy,
  type DeliveryDeps,
  DeliveryService,
  type OutboxInsert,
} from "../../connectors/delivery.js";
import type { OutboxSource } from "../../connectors/dispatch.js";
import { HeldLease } from "../../connectors/held-lease.js";
import type { Mirror } from "../../domain/model.js";
import { demoTenant, type TenantConfig, TenantConfig as TenantSchema } from "../../domain/tenant.js";
import { type DeliveryPair, DeliveryQueue, LeaseLost } from "../../infra/dynamodb/delivery-queue.js";
import { DispatchCursors } from "../../infra/dynamodb/dispatch-cursor.js";
import { encodeCursor } from "../../infra/dynamodb/outbox.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { callsOn, createTestTable, type TestTable } from "../support/dynamo.js";

const SECRET = "service-delivery-secret-0123456789";
const TENANTS = ["t-a", "t-b", "t-c", "t-d", "t-e", "t-f", "t-g", "t-h", "t-i"];
const BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 60_000, windowMs: 24 * 3_600_000 };

function tenantFor(tenantId: string): TenantConfig {
  return TenantSchema.parse({
    ...demoTenant({ crm: "crm-secret-1", cpq: "cpq-secret-1" }),
    tenantId,
    connectors: {
      crm: {
        kind: "native",
        delivery: { kind: "webhook", url: "https://hooks.example.com/in", secret: SECRET },
      },
    },
  });
}

/**
 * The tenants' outboxes as committed: a stream record exists only for an entry written to the
 * outbox, so `insert` commits the entry it makes a record of. Dispatch reads from here.
 */
const committed = new Map<string, Map<number, OutboxInsert>>();
const fakeOutbox: OutboxSource = {
  async readAfter(tenantId, afterSeq, limit) {
    const entries = [...(committed.get(tenantId)?.values() ?? [])]
      .filter((entry) => entry.sequence > afterSeq)
      .sort((a, b) => a.sequence - b.sequence)
      .slice(0, limit);
    return { entries, last: entries.at(-1)?.sequence ?? afterSeq };
  },
  async lastHandedOut(tenantId) {
    return Math.max(0, ...(committed.get(tenantId)?.keys() ?? []));
  },
};

function insert(
  tenantId: string,
  sequence: number,
  opportunityId: string,
  target: "crm" | "cpq" = "crm",
): OutboxInsert {
  const mirror: Mirror = { target, opportunityId, quoteId: `q-${opportunityId}`, quote: { syncing: true } };
  const entry: OutboxInsert = {
    tenantId,
    sequence,
    entryId: String(sequence),
    cursor: encodeCursor(tenantId, sequence),
    at: new Date(Date.UTC(2026, 0, 1) + sequence).toISOString(),
    mirror,
  };
  const outbox = committed.get(tenantId) ?? new Map<number, OutboxInsert>();
  outbox.set(sequence, entry);
  committed.set(tenantId, outbox);
  return entry;
}

/**
 * The delivery service on DynamoDB Local with a scripted target (a fetch that answers what the test
 * says) and a clock the test moves: order, idempotence, backoff and parking without real waiting.
 */
describe("the delivery service (DynamoDB Local, a scripted target, a test clock)", () => {
  let table: TestTable;
  let doc: DynamoDBDocumentClient;
  let now = Date.UTC(2026, 10, 30, 4, 0, 0);
  const forever = () => Number.POSITIVE_INFINITY;

  beforeAll(async () => {
    table = await createTestTable();
    doc = DynamoDBDocumentClient.from(table.client, { marshallOptions: { removeUndefinedValues: true } });
    cursors = new DispatchCursors(doc, table.tableName);
    // Registered with their delivery before anything was committed (as `putTenant` starts them).
    for (const tenantId of TENANTS) await cursors.startAtCounter(tenantId);
  });
  afterAll(async () => {
    await table.dispose();
  });

  let cursors: DispatchCursors;
  const callsDuring = (work: () => Promise<unknown>) => callsOn(table.client, work);

  function service(
    answer: (body: { entryId: string; mirror: Mirror }) => Response | Promise<Response>,
    outbox: OutboxSource = fakeOutbox,
    extra: Partial<DeliveryDeps> = {},
  ) {
    const received: Array<{ entryId: string; opportunityId: string; status: number }> = [];
    const tenants = new Map(TENANTS.map((id) => [id, tenantFor(id)]));
    const deliveries = new DeliveryService({
      queue: new DeliveryQueue(doc, table.tableName),
      outbox,
      cursors,
      loadTenant: async (id) => tenants.get(id) ?? null,
      resolveConnector: async (tenant, side) => tenant.connectors[side],
      connectorStore: new MemoryConnectorStore(),
      now: () => now,
      random: () => 0.5,
      backoff: BACKOFF,
      fetch: (async (_url: URL | string, init: RequestInit) => {
        const body = JSON.parse(String(init.body)) as { entryId: string; mirror: Mirror };
        // Give concurrent drains a chance to interleave.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
        const response = await answer(body);
        received.push({
          entryId: body.entryId,
          opportunityId: body.mirror.opportunityId,
          status: response.status,
        });
        return response;
      }) as typeof fetch,
      ...extra,
    });
    const applied = (opportunityId: string) =>
      received
        .filter((call) => call.opportunityId === opportunityId && call.status < 300)
        .map((call) => Number(call.entryId));
    return { deliveries, received, applied };
  }

  it("applies each pair's mirrors in commit order when shards, redeliveries and the retry pass run at once, each once", async () => {
    const { deliveries, received, applied } = service(() => new Response(null, { status: 200 }));
    // Two tenants (two shards), four pairs each, 60 entries; CPQ-bound mirrors are not delivered.
    const shards = ["t-a", "t-b"].map((tenantId) =>
      Array.from({ length: 60 }, (_, index) =>
        insert(tenantId, index + 1, `${tenantId}-opp-${index % 4}`, index % 10 === 9 ? "cpq" : "crm"),
      ),
    );
    const batches = shards.flatMap((records) => [
      records.slice(0, 20),
      records.slice(20, 40),
      records.slice(40),
    ]);
    await Promise.all([
      // Each shard's batches in order, as Lambda hands them...
      ...shards.map(async (_records, shard) => {
        for (const batch of batches.slice(shard * 3, shard * 3 + 3))
          await deliveries.handleInserts(batch, forever);
      }),
      // ...while a bisected retry hands the first batches again, and the retry pass runs.
      deliveries.handleInserts(batches[0] as OutboxInsert[], forever),
      deliveries.handleInserts(batches[3] as OutboxInsert[], forever),
      deliveries.retryDue(forever),
    ]);
    // Whatever a lost lease race left queued, the retry pass delivers (as the schedule would).
    now += 120_000;
    await deliveries.retryDue(forever);
    for (const records of shards) {
      for (let pair = 0; pair < 4; pair++) {
        const opportunityId = `${records[0]?.tenantId}-opp-${pair}`;
        const expected = records
          .filter((record) => record.mirror.opportunityId === opportunityId && record.mirror.target === "crm")
          .map((record) => record.sequence);
        expect(applied(opportunityId)).toEqual(expected);
      }
    }
    expect(received.every((call) => call.status === 200)).toBe(true);
    expect(new Set(received.map((call) => `${call.opportunityId}/${call.entryId}`)).size).toBe(
      received.length,
    );
    // Redelivered once more after everything was delivered: nothing is sent again.
    const sent = received.length;
    for (const batch of batches) await deliveries.handleInserts(batch, forever);
    expect(received.length).toBe(sent);
  });

  it("gives an emptied queue's lease back in its last mirror's commit: no release or index write after it", async () => {
    const { deliveries, applied } = service(() => new Response(null, { status: 200 }));
    const queue = new DeliveryQueue(doc, table.tableName);
    const calls = await callsDuring(() => deliveries.handleInserts([insert("t-i", 1, "lone")], forever));
    const writes = calls.filter((operation) => /Put|Update|Delete|TransactWrite/.test(operation));
    expect(applied("lone")).toEqual([1]);
    // The drain knew the queue held just the mirror queued: it read no queue page.
    expect(calls).not.toContain("Query");
    // Queued (a transaction), the lease taken, delivered with the lease given back (a transaction),
    // the tenant's dispatch cursor moved: four writes, in that order but for the cursor.
    expect(writes.filter((operation) => operation !== "UpdateItem")).toEqual([
      "TransactWriteItems",
      "TransactWriteItems",
    ]);
    expect(writes).toHaveLength(4);
    const pair: DeliveryPair = { tenantId: "t-i", opportunityId: "lone", side: "crm" };
    expect(await queue.state(pair)).toMatchObject({ deliveredSeq: 1, queued: 0 });
    expect((await queue.due(Number.MAX_SAFE_INTEGER, 1_000)).pairs).not.toContainEqual(pair);
    expect(await queue.acquire(pair, "next", now, now + 1_000)).not.toBeNull();
  });

  it("reads the queue when it holds more than the mirrors just queued, and applies them in order", async () => {
    const { deliveries, applied } = service(() => new Response(null, { status: 200 }));
    const queue = new DeliveryQueue(doc, table.tableName);
    // A mirror queued by an invocation that stopped before draining, then a later one dispatched.
    const pair: DeliveryPair = { tenantId: "t-i", opportunityId: "behind", side: "crm" };
    const mirror: Mirror = {
      target: "crm",
      opportunityId: "behind",
      quoteId: "q-behind",
      quote: { syncing: true },
    };
    const at = new Date(now).toISOString();
    await queue.enqueue(pair, { sequence: 1, entryId: "1", cursor: encodeCursor("t-i", 1), at, mirror }, now);
    const calls = await callsDuring(() => deliveries.handleInserts([insert("t-i", 2, "behind")], forever));
    expect(applied("behind")).toEqual([1, 2]);
    expect(calls).toContain("Query");
    expect(await queue.state(pair)).toMatchObject({ deliveredSeq: 2, queued: 0 });
  });

  it("renews a drain's lease before a target call once half of it has gone: nobody else takes the queue meanwhile", async () => {
    const pair = { tenantId: "t-h", opportunityId: "slow-opp", side: "crm" as const };
    const queue = new DeliveryQueue(doc, table.tableName);
    const others: boolean[] = [];
    // Each call takes 40 s of the 60 s lease: without a renewal it would lapse in the second.
    const { deliveries, applied } = service(async () => {
      now += 40_000;
      others.push((await queue.acquire(pair, "other", now, now + 60_000)) !== null);
      return new Response(null, { status: 200 });
    });
    const records = [1, 2, 3].map((sequence) => insert("t-h", sequence, "slow-opp"));
    await deliveries.handleInserts(records, forever);
    expect(applied("slow-opp")).toEqual([1, 2, 3]);
    expect(others).toEqual([false, false, false]);
    expect((await queue.state(pair)).deliveredSeq).toBe(3);
  });

  it("makes no further target call once another drainer took its queue; that one delivers the rest, each once", async () => {
    const pair = { tenantId: "t-h", opportunityId: "taken-opp", side: "crm" as const };
    let stalled = false;
    let takenOver = false;
    /** The queue, with another drainer taking it just before this one's renewal lands. */
    const queue = new (class extends DeliveryQueue {
      override async renew(leased: DeliveryPair, owner: string, until: number): Promise<boolean> {
        if (stalled && !takenOver) {
          takenOver = true;
          expect(await this.acquire(leased, "other", now, now + 60_000)).not.toBeNull();
        }
        return super.renew(leased, owner, until);
      }
    })(doc, table.tableName);
    const { deliveries, received, applied } = service(() => new Response(null, { status: 200 }), fakeOutbox, {
      queue,
      // After the first mirror the drainer stalls past its lease.
      onDelivered(delivered) {
        if (delivered.opportunityId !== pair.opportunityId || stalled) return;
        stalled = true;
        now += 61_000;
      },
    });
    const records = [4, 5, 6].map((sequence) => insert("t-h", sequence, "taken-opp"));
    await deliveries.handleInserts(records, forever);
    expect(takenOver).toBe(true);
    expect(applied("taken-opp")).toEqual([4]);
    // The other drainer lets go without delivering (it crashed, say): the retry pass carries on.
    await queue.release(pair, "other");
    now += 1_000;
    await deliveries.retryDue(forever);
    expect(applied("taken-opp")).toEqual([4, 5, 6]);
    expect(received.filter((call) => call.opportunityId === "taken-opp")).toHaveLength(3);
  });

  it("applies a pair's mirrors in commit order when another shard hands the later one's record first", async () => {
    const { deliveries, applied } = service(() => new Response(null, { status: 200 }));
    const earlier = insert("t-c", 3, "late-opp");
    const later = insert("t-c", 5, "late-opp");
    // The record of 5 arrives first (another shard): dispatch reads the outbox, so 3 goes first.
    await deliveries.handleInserts([later], forever);
    expect(applied("late-opp")).toEqual([3, 5]);
    // 3's own record, arriving now, changes nothing.
    await deliveries.handleInserts([earlier], forever);
    expect(applied("late-opp")).toEqual([3, 5]);
  });

  it("waits at a number still committing and delivers what follows it once it is written, via the retry pass", async () => {
    let written = false;
    // Entry 12 is still committing: a reader stops before it, as `OutboxLog.read` does.
    const gapped: OutboxSource = {
      lastHandedOut: fakeOutbox.lastHandedOut,
      async readAfter(tenantId, afterSeq, limit) {
        const page = await fakeOutbox.readAfter(tenantId, afterSeq, limit);
        const stop = written ? -1 : page.entries.findIndex((entry) => entry.sequence === 12);
        if (stop < 0) return page;
        const entries = page.entries.slice(0, stop);
        return { entries, last: entries.at(-1)?.sequence ?? afterSeq };
      },
    };
    const { deliveries, applied } = service(() => new Response(null, { status: 200 }), gapped);
    const first = insert("t-f", 11, "gap-opp");
    insert("t-f", 12, "gap-opp");
    const third = insert("t-f", 13, "gap-opp");
    await deliveries.handleInserts([first, third], forever);
    expect(applied("gap-opp")).toEqual([11]);
    expect((await cursors.stalled(10)).tenantIds).toContain("t-f");
    // A retry pass while 12 is still committing delivers nothing more and keeps the tenant marked.
    await deliveries.retryDue(forever);
    expect(applied("gap-opp")).toEqual([11]);
    expect((await cursors.stalled(10)).tenantIds).toContain("t-f");
    written = true;
    await deliveries.retryDue(forever);
    expect(applied("gap-opp")).toEqual([11, 12, 13]);
    expect((await cursors.stalled(10)).tenantIds).not.toContain("t-f");
  });

  it("backs off with full jitter from a 500, honours Retry-After, waits the pair's later mirrors, and parks after the window", async () => {
    let answer = 500;
    let retryAfter: string | undefined;
    const { deliveries, received, applied } = service(
      () =>
        new Response("busy", { status: answer, headers: retryAfter ? { "retry-after": retryAfter } : {} }),
    );
    const queue = new DeliveryQueue(doc, table.tableName);
    const pair = { tenantId: "t-d", opportunityId: "slow-opp", side: "crm" as const };
    const started = now;
    await deliveries.handleInserts([insert("t-d", 1, "slow-opp"), insert("t-d", 2, "slow-opp")], forever);
    let state = await queue.state(pair);
    expect(state).toMatchObject({ attempts: 1, queued: 2, firstFailedAt: started, parked: null });
    // random() = 0.5: half of base · 2^0.
    expect(state.nextAttemptAt).toBe(started + 500);
    expect(received.map((call) => call.entryId)).toEqual(["1"]);

    // Not due yet: the retry pass leaves it.
    await deliveries.retryDue(forever);
    expect(received).toHaveLength(1);

    now = started + 500;
    retryAfter = "30";
    answer = 429;
    await deliveries.retryDue(forever);
    state = await queue.state(pair);
    expect(state.attempts).toBe(2);
    // Jitter would allow 1 s; the receiver asked for 30.
    expect(state.nextAttemptAt).toBe(now + 30_000);

    retryAfter = undefined;
    answer = 503;
    for (let attempt = 3; attempt <= 12; attempt++) {
      now = state.nextAttemptAt as number;
      await deliveries.retryDue(forever);
      state = await queue.state(pair);
      expect(state.attempts).toBe(attempt);
      // Full jitter under a doubling ceiling, capped at capMs.
      expect((state.nextAttemptAt as number) - now).toBe(
        Math.min(BACKOFF.capMs, 1_000 * 2 ** (attempt - 1)) / 2,
      );
    }
    expect(received.every((call) => call.entryId === "1")).toBe(true);

    now = started + BACKOFF.windowMs;
    await deliveries.retryDue(forever);
    state = await queue.state(pair);
    expect(state.parked).toBe("1");
    expect(state.lastError).toMatch(/^retries exhausted after 13 attempts: the receiver answered HTTP 503/);
    expect(state.queued).toBe(2);

    // Parked: out of the due index, nothing more is sent, however late it gets.
    const sent = received.length;
    now += 3_600_000;
    expect((await queue.due(now, 100)).pairs).not.toContainEqual(pair);
    await deliveries.retryDue(forever);
    expect(received).toHaveLength(sent);

    // The retry route's path: unparked, delivered in order with the mirror behind it.
    answer = 200;
    const retried = await deliveries.retryParked("t-d", {
      sequence: 1,
      entryId: "1",
      mirror: insert("t-d", 1, "slow-opp").mirror,
    });
    expect(retried?.report).toMatchObject({ delivered: 2, parked: 0 });
    expect(retried?.status).toMatchObject({
      pending: 0,
      failing: false,
      parkedEntryId: null,
      lastError: null,
    });
    expect(applied("slow-opp")).toEqual([1, 2]);
    expect(
      await deliveries.retryParked("t-d", {
        sequence: 1,
        entryId: "1",
        mirror: insert("t-d", 1, "slow-opp").mirror,
      }),
    ).toBeNull();
  });

  it("parks at once on a permanent error, keeping the receiver's message", async () => {
    const { deliveries } = service(() => new Response("unknown product p-9", { status: 422 }));
    await deliveries.handleInserts([insert("t-e", 7, "bad-opp")], forever);
    const status = await deliveries.status(tenantFor("t-e"), "bad-opp");
    expect(status.crm).toMatchObject({
      pending: 1,
      failing: true,
      parkedEntryId: "7",
      lastError: "the receiver answered HTTP 422: unknown product p-9",
    });
    expect(status.cpq).toBeUndefined();
  });

  it("keeps the tenant's failing index with its queues: in while retrying or parked, out once delivered or sent again; a retry is audited with who asked", async () => {
    let answer = 503;
    const { deliveries } = service(() => new Response("nope", { status: answer }));
    const queue = new DeliveryQueue(doc, table.tableName);
    const ids = async () => (await queue.failing("t-g")).map((pair) => `${pair.side}:${pair.opportunityId}`);
    expect(await ids()).toEqual([]);

    // Retrying (a 503): in the index. Delivered at the next attempt: out again.
    await deliveries.handleInserts([insert("t-g", 1, "flaky")], forever);
    expect(await ids()).toEqual(["crm:flaky"]);
    answer = 200;
    now += 3_600_000;
    await deliveries.retryDue(forever);
    expect((await queue.state({ tenantId: "t-g", opportunityId: "flaky", side: "crm" })).deliveredSeq).toBe(
      1,
    );
    expect(await ids()).toEqual([]);

    // Parked (a 400): in the index, with its state readable in one batch.
    answer = 400;
    await deliveries.handleInserts([insert("t-g", 2, "parked"), insert("t-g", 3, "fine")], forever);
    expect(await ids()).toEqual(["crm:parked", "crm:fine"].sort());
    answer = 200;
    const states = await queue.states([
      { tenantId: "t-g", opportunityId: "parked", side: "crm" },
      { tenantId: "t-g", opportunityId: "never-queued", side: "crm" },
    ]);
    expect(states).toHaveLength(1);
    expect(states[0]?.state).toMatchObject({
      parked: "2",
      queued: 1,
      lastError: expect.stringMatching(/HTTP 400/),
    });

    // Sent again: out of the index at once (in again only if it fails again), audited with the actor.
    const retried = await deliveries.retryParked(
      "t-g",
      { sequence: 2, entryId: "2", mirror: insert("t-g", 2, "parked").mirror },
      forever,
      "viewer:maria",
    );
    expect(retried?.status.failing).toBe(false);
    expect(await ids()).toEqual(["crm:fine"]);
    const audit = await new DynamoSyncStore({ doc, tableName: table.tableName }).readAudit(
      "t-g",
      "parked",
      null,
      10,
    );
    expect(audit.entries.map((entry) => [entry.type, entry.actor ?? null])).toEqual([
      ["mirror.delivered", null],
      ["mirror.retried", "viewer:maria"],
      ["mirror.failed", null],
    ]);
  });
});

describe("a drain's lease, held around target calls", () => {
  const pair: DeliveryPair = { tenantId: "t-h", opportunityId: "held-opp", side: "crm" };

  /**
   * A 60 s lease taken at 0 on a queue that only renews (answering as told, counting renewals),
   * and a target `fetch` through it that records the calls it lets through. `at` sets the clock.
   */
  function heldLease(answers: boolean[]) {
    let clock = 0;
    const renewals: number[] = [];
    const queue = {
      async renew(_pair: DeliveryPair, _owner: string, until: number) {
        renewals.push(until);
        await new Promise((resolve) => setTimeout(resolve, 5));
        return answers.shift() ?? true;
      },
    } as unknown as DeliveryQueue;
    const lease = new HeldLease(queue, pair, "me", () => clock, 60_000, 60_000);
    const calls: string[] = [];
    const fetchThrough = lease.guard((async (input: string) => {
      calls.push(input);
      return new Response(null, { status: 200 });
    }) as unknown as typeof fetch);
    const at = (ms: number) => {
      clock = ms;
    };
    return { lease, fetchThrough, calls, renewals, at };
  }

  it("renews once for calls made at once past half the lease, and not before half of it has gone", async () => {
    const { fetchThrough, calls, renewals, at } = heldLease([true]);
    at(29_000);
    await fetchThrough("early");
    expect(renewals).toEqual([]);
    at(31_000);
    await Promise.all([fetchThrough("a"), fetchThrough("b"), fetchThrough("c")]);
    expect(renewals).toEqual([91_000]);
    expect(calls).toEqual(["early", "a", "b", "c"]);
  });

  it("makes no call once a renewal found the queue taken, nor any after it", async () => {
    const { lease, fetchThrough, calls, renewals, at } = heldLease([false]);
    at(45_000);
    await expect(fetchThrough("a")).rejects.toBeInstanceOf(LeaseLost);
    await expect(fetchThrough("b")).rejects.toBeInstanceOf(LeaseLost);
    expect(lease.lost).toBe(true);
    expect(renewals).toHaveLength(1);
    expect(calls).toEqual([]);
  });
});
