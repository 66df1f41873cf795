import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoTenant, TenantConfig } from "../../domain/tenant.js";
import { deliverBatch } from "../../functions/deliver.js";
import { retryDueDeliveries } from "../../functions/deliver-retry.js";
import {
  createDeliveryRuntime,
  type DeliveryRuntime,
  setDeliveryRuntime,
} from "../../functions/lib/delivery-runtime.js";
import { runtime } from "../../functions/lib/runtime.js";
import { outboxInsertFilter, startRetryTimer, startStreamReader } from "../../local/stream-reader.js";
import { STREAM_POLL_MS } from "../support/delivery.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";
import { DEMO_SECRETS, type HandlerResponse, handlerHarness } from "../support/handlers.js";
import { eventually, type Receiver, startReceiver } from "../support/receiver.js";

const DELIVERY_SECRET = "acme-delivery-secret-0123456789";
const PAIRS = 20;
const CHANGES = 200;
const WRITERS = 16;

/**
 * Delivery end to end on DynamoDB Local with its real stream: webhooks commit mirrors to the
 * outbox, the stream reader hands the INSERTs to the same `deliver` handler Lambda runs, the retry
 * pass runs on a short timer, and a local receiver verifies each signed POST and fails on command.
 */
describe("webhook delivery of mirrors (DynamoDB Local streams, a local receiver)", () => {
  let h: Awaited<ReturnType<typeof handlerHarness>>;
  let receiver: Receiver;
  let rt: DeliveryRuntime;
  let stopReader: () => Promise<void>;
  let stopRetries: () => Promise<void>;
  let change = 0;
  const streamEvents: Parameters<typeof deliverBatch>[0][] = [];

  beforeAll(async () => {
    receiver = await startReceiver(DELIVERY_SECRET);
    const tenant = TenantConfig.parse({
      ...demoTenant(DEMO_SECRETS),
      tenantId: "acme",
      connectors: {
        crm: { kind: "native", delivery: { kind: "webhook", url: receiver.url, secret: DELIVERY_SECRET } },
      },
    });
    h = await handlerHarness({ tenants: [tenant], stream: true });
    rt = createDeliveryRuntime({
      doc: h.doc,
      tableName: h.table.tableName,
      loadTenant: (tenantId) => runtime().loadTenant(tenantId),
      // Short waits so retries happen within the test; the policy's shape is what is tested.
      backoff: { baseMs: 20, capMs: 200, windowMs: 60_000 },
      leaseMs: 10_000,
    });
    setDeliveryRuntime(rt);
    const reader = await startStreamReader({
      client: h.table.client,
      tableName: h.table.tableName,
      pollMs: STREAM_POLL_MS,
      filter: outboxInsertFilter,
      handle: (event) => {
        streamEvents.push(event);
        return deliverBatch(event, () => Number.POSITIVE_INFINITY, rt);
      },
      onError: (error) => console.error("stream reader", error),
    });
    stopReader = () => reader.stop();
    const retries = startRetryTimer(() => retryDueDeliveries(() => Number.POSITIVE_INFINITY, rt), 100);
    stopRetries = () => retries.stop();
  }, 60_000);

  afterAll(async () => {
    await stopReader?.();
    await stopRetries?.();
    setDeliveryRuntime(undefined);
    await receiver?.close();
    await h?.dispose();
  });

  /** A request retried while storage is busy (503), as a CRM or CPQ retries. */
  async function send(call: () => Promise<HandlerResponse>): Promise<HandlerResponse> {
    for (let attempt = 0; ; attempt++) {
      const response = await call();
      if (response.statusCode !== 503 || attempt > 20) return response;
    }
  }

  async function syncedPair(opportunityId: string, quoteId: string): Promise<void> {
    expect(
      (await send(() => h.crm(opportunityUpserted(opportunityId, {}, { occurredAt: at(1) }), "acme")))
        .statusCode,
    ).toBe(200);
    expect(
      (await send(() => h.cpq(quoteUpserted(quoteId, opportunityId, {}, { occurredAt: at(2) }), "acme")))
        .statusCode,
    ).toBe(200);
    expect(
      (
        await send(() =>
          h.cpq(
            quoteLinesUpserted(quoteId, [line(`${quoteId}-a`), line(`${quoteId}-b`)], { occurredAt: at(3) }),
            "acme",
          ),
        )
      ).statusCode,
    ).toBe(200);
    expect((await send(() => h.start(quoteId, {}, "acme"))).statusCode).toBe(200);
  }

  /** One change on the quote's first line (a new price), mirrored to the CRM. */
  async function changePrice(quoteId: string): Promise<void> {
    change++;
    const occurredAt = at(1000 + change);
    const price = String(100 + change);
    const response = await send(() =>
      h.cpq(
        quoteLinesUpserted(quoteId, [line(`${quoteId}-a`, { unitPrice: price })], { occurredAt }),
        "acme",
      ),
    );
    expect(response.statusCode, JSON.stringify(response.body)).toBe(200);
  }

  /** Every CRM-bound outbox entry of the tenant, per opportunity, in commit (outbox) order. */
  async function crmEntriesByOpportunity(): Promise<Map<string, string[]>> {
    const byOpportunity = new Map<string, string[]>();
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await h.doc.send(
        new QueryCommand({
          TableName: h.table.tableName,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": "T#acme#OUTBOX" },
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const mirror = item.mirror as { target: string; opportunityId: string } | undefined;
        if (mirror?.target !== "crm") continue;
        byOpportunity.set(mirror.opportunityId, [
          ...(byOpportunity.get(mirror.opportunityId) ?? []),
          String(Number(item.sk)),
        ]);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return byOpportunity;
  }

  /**
   * Waits until the receiver has applied as many mirrors of each pair as the outbox holds for the
   * CRM. The outbox is read once: every webhook that wrote to it has been answered already.
   */
  async function allDelivered(opportunityIds: string[], timeoutMs: number, what: string): Promise<void> {
    const expected = await crmEntriesByOpportunity();
    await eventually(
      () =>
        opportunityIds.every(
          (id) => (receiver.applied.get(id) ?? []).length === (expected.get(id) ?? []).length,
        ),
      timeoutMs,
      what,
    );
  }

  async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < items.length) await work(items[next++] as T);
      }),
    );
  }

  it(`delivers ${CHANGES} changes over ${PAIRS} pairs from ${WRITERS} writers, each pair in commit order, with the receiver failing 20 % of calls with 500; none parked`, async () => {
    let calls = 0;
    receiver.answerWith(() => (++calls % 5 === 0 ? { status: 500, body: "try again" } : { status: 200 }));
    const pairs = Array.from({ length: PAIRS }, (_, index) => ({
      opportunityId: `opp-${index}`,
      quoteId: `q-${index}`,
    }));
    await pool(pairs, WRITERS, ({ opportunityId, quoteId }) => syncedPair(opportunityId, quoteId));
    await pool(
      Array.from({ length: CHANGES }, (_, index) => pairs[index % PAIRS] as (typeof pairs)[number]),
      WRITERS,
      ({ quoteId }) => changePrice(quoteId),
    );
    const ids = pairs.map((pair) => pair.opportunityId);
    await allDelivered(ids, 60_000, "every mirror delivered");

    const expected = await crmEntriesByOpportunity();
    let total = 0;
    for (const id of ids) {
      // Exactly the outbox's CRM mirrors of the pair, in the order they were committed.
      expect(receiver.applied.get(id)).toEqual(expected.get(id));
      total += expected.get(id)?.length ?? 0;
    }
    // At least the start of each pair and most of the changes were mirrored to the CRM.
    expect(total).toBeGreaterThanOrEqual(CHANGES);
    expect(receiver.calls.filter((call) => call.status === 500).length).toBeGreaterThan(0);
    expect(receiver.duplicates).toBe(0);
    expect(receiver.badSignatures).toBe(0);
    for (const id of ids.slice(0, 3)) {
      const status = await h.status(id, "acme");
      expect(status.body.delivery.crm).toMatchObject({ pending: 0, failing: false, parkedEntryId: null });
      expect(status.body.delivery.crm.lastDeliveredAt).toEqual(expect.any(String));
      expect(status.body.delivery.cpq).toBeUndefined();
    }
  }, 120_000);

  it("a redelivered stream batch changes nothing: no mirror reaches the receiver twice", async () => {
    const before = receiver.calls.length;
    const replay = streamEvents.slice(0, 10);
    expect(replay.length).toBeGreaterThan(0);
    await Promise.all(replay.map((event) => deliverBatch(event, () => Number.POSITIVE_INFINITY, rt)));
    await Promise.all(replay.map((event) => deliverBatch(event, () => Number.POSITIVE_INFINITY, rt)));
    expect(receiver.calls.length).toBe(before);
    expect(receiver.duplicates).toBe(0);
  });

  it("a 400 parks the pair's mirror (later ones wait), the status and audit show it, and the retry route delivers it once the receiver recovers", async () => {
    const opportunityId = "opp-parked";
    const quoteId = "q-parked";
    receiver.answerWith(({ opportunityId: id }) =>
      id === opportunityId ? { status: 400, body: "unknown product prod-x" } : { status: 200 },
    );
    await syncedPair(opportunityId, quoteId);
    await changePrice(quoteId);
    await changePrice(quoteId);
    let status: HandlerResponse | undefined;
    await eventually(
      async () => {
        status = await h.status(opportunityId, "acme");
        const queued = (await crmEntriesByOpportunity()).get(opportunityId) ?? [];
        // Parked, and every later mirror of the pair queued behind it (the stream handed them all).
        return (
          status.body.delivery.crm.parkedEntryId !== null &&
          status.body.delivery.crm.pending === queued.length
        );
      },
      30_000,
      "the mirror parked",
    );
    const crm = status?.body.delivery.crm;
    expect(crm.failing).toBe(true);
    const queued = (await crmEntriesByOpportunity()).get(opportunityId) ?? [];
    expect(queued.length).toBeGreaterThanOrEqual(2);
    expect(crm.pending).toBe(queued.length);
    expect(crm.lastError).toContain("HTTP 400");
    expect(crm.lastError).toContain("unknown product prod-x");
    expect(receiver.applied.get(opportunityId)).toBeUndefined();
    const parkedEntry = String(crm.parkedEntryId);
    expect((await crmEntriesByOpportunity()).get(opportunityId)?.[0]).toBe(parkedEntry);

    const audit = await h.request("GET", `/sync/acme/opportunities/${opportunityId}/audit`, {
      secret: DEMO_SECRETS.crm,
    });
    expect(audit.body.entries.map((entry: { type: string }) => entry.type)).toContain("mirror.failed");

    // Still parked: the retry pass leaves it alone, nothing more is sent.
    const callsWhileParked = receiver.calls.filter((call) => call.opportunityId === opportunityId).length;
    await retryDueDeliveries(() => Number.POSITIVE_INFINITY, rt);
    expect(receiver.calls.filter((call) => call.opportunityId === opportunityId).length).toBe(
      callsWhileParked,
    );

    // Signed with the CPQ secret: refused.
    expect(
      (await h.request("POST", `/sync/acme/deliveries/${parkedEntry}/retry`, { secret: DEMO_SECRETS.cpq }))
        .statusCode,
    ).toBe(401);

    receiver.answerWith(() => ({ status: 200 }));
    const retried = await h.request("POST", `/sync/acme/deliveries/${parkedEntry}/retry`, {
      secret: DEMO_SECRETS.crm,
    });
    expect(retried.statusCode).toBe(200);
    expect(retried.body).toMatchObject({ entryId: parkedEntry, status: "delivered" });
    await allDelivered([opportunityId], 30_000, "the parked pair delivered");
    expect(receiver.applied.get(opportunityId)).toEqual((await crmEntriesByOpportunity()).get(opportunityId));
    const after = await h.status(opportunityId, "acme");
    expect(after.body.delivery.crm).toMatchObject({
      pending: 0,
      failing: false,
      parkedEntryId: null,
      lastError: null,
    });
    const auditAfter = await h.request("GET", `/sync/acme/opportunities/${opportunityId}/audit`, {
      secret: DEMO_SECRETS.crm,
    });
    expect(auditAfter.body.entries.map((entry: { type: string }) => entry.type)).toContain(
      "mirror.delivered",
    );

    // Not parked any more: the route says so; an entry the outbox does not have is 404.
    const again = await h.request("POST", `/sync/acme/deliveries/${parkedEntry}/retry`, {
      secret: DEMO_SECRETS.crm,
    });
    expect(again.statusCode).toBe(409);
    expect(again.body.error.code).toBe("not_parked");
    const unknown = await h.request("POST", "/sync/acme/deliveries/999999/retry", {
      secret: DEMO_SECRETS.crm,
    });
    expect(unknown.statusCode).toBe(404);
  }, 60_000);

  it("a 429 with Retry-After is retried no sooner than it asks, and the mirrors behind it wait", async () => {
    const opportunityId = "opp-throttled";
    const quoteId = "q-throttled";
    receiver.answerWith(({ opportunityId: id, attempt }) =>
      id === opportunityId && attempt === 1
        ? { status: 429, headers: { "retry-after": "1" } }
        : { status: 200 },
    );
    await syncedPair(opportunityId, quoteId);
    await changePrice(quoteId);
    await allDelivered([opportunityId], 30_000, "the throttled pair delivered");
    const calls = receiver.calls.filter((call) => call.opportunityId === opportunityId);
    const throttled = calls.find((call) => call.status === 429);
    expect(throttled).toBeDefined();
    const retried = calls.find((call) => call.entryId === throttled?.entryId && call.status === 200);
    expect((retried?.at ?? 0) - (throttled?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    // The later mirror was not sent before the throttled one got through.
    const later = calls.filter((call) => call.entryId !== throttled?.entryId);
    expect(later.every((call) => call.at >= (retried?.at ?? 0))).toBe(true);
    expect(receiver.applied.get(opportunityId)).toEqual((await crmEntriesByOpportunity()).get(opportunityId));
  }, 60_000);

  it("500s for a while are retried until the receiver recovers; nothing is lost or reordered", async () => {
    const opportunityId = "opp-outage";
    const quoteId = "q-outage";
    let down = true;
    receiver.answerWith(({ opportunityId: id }) =>
      id === opportunityId && down ? { status: 503 } : { status: 200 },
    );
    await syncedPair(opportunityId, quoteId);
    for (let index = 0; index < 4; index++) await changePrice(quoteId);
    await eventually(
      () =>
        receiver.calls.filter((call) => call.opportunityId === opportunityId && call.status === 503).length >=
        3,
      30_000,
      "several failed attempts",
    );
    // The four changes reach the queue through the stream: the status is read once all of them
    // are queued (the failed attempts can start on the first before the others arrive).
    const queued = (await crmEntriesByOpportunity()).get(opportunityId) ?? [];
    expect(queued.length).toBeGreaterThanOrEqual(3);
    let status = await h.status(opportunityId, "acme");
    await eventually(
      async () => {
        status = await h.status(opportunityId, "acme");
        return status.body.delivery.crm.pending === queued.length;
      },
      30_000,
      "every change queued",
    );
    expect(status.body.delivery.crm).toMatchObject({
      pending: queued.length,
      failing: true,
      parkedEntryId: null,
    });
    expect(status.body.delivery.crm.nextAttemptAt).toEqual(expect.any(String));
    down = false;
    await allDelivered([opportunityId], 30_000, "the pair delivered after the outage");
    expect(receiver.applied.get(opportunityId)).toEqual((await crmEntriesByOpportunity()).get(opportunityId));
    expect(receiver.duplicates).toBe(0);
  }, 60_000);
});
