import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidEvent } from "../../domain/errors.js";
import type { AuditEntry, Mirror, MirrorLine } from "../../domain/model.js";
import { runScheduledOnce } from "../../functions/scheduled.js";
import { handler as triggerHandler } from "../../functions/trigger-event.js";
import { keys } from "../../infra/dynamodb/keys.js";
import {
  at,
  cpqEvent,
  crmEvent,
  line,
  opportunityUpserted,
  quoteLinesUpserted,
  quoteUpserted,
} from "../support/events.js";
import { handlerHarness } from "../support/handlers.js";

type Harness = Awaited<ReturnType<typeof handlerHarness>>;

let tick = 0;
/**
 * The time of a change made after a start: a start stamps the lines it copies with the server's
 * clock, so later changes carry later (real) times, as a CPQ with a correct clock sends them.
 */
function later(): string {
  tick += 1;
  return new Date(Date.now() + tick).toISOString();
}

/** An EventBridge event as the CPQ's bus rule delivers it (detail = envelope + tenantId). */
function eventBridge(type: "cart.finalized" | "quote.accepted", envelope: unknown, tenantId = "demo") {
  return {
    version: "0",
    id: `eb-${Math.random()}`,
    source: "cpq",
    "detail-type": type,
    account: "000000000000",
    time: new Date().toISOString(),
    region: "us-east-1",
    resources: [],
    detail: { ...(envelope as object), tenantId },
  };
}

async function outboxAll(h: Harness) {
  const entries: Array<{ cursor: string; mirror: Mirror }> = [];
  let after: string | null = null;
  for (;;) {
    const query: string = after ? `?limit=50&after=${after}` : "?limit=50";
    const page = (await h.request("GET", `/sync/demo/outbox${query}`)).body;
    entries.push(...page.entries);
    if (page.entries.length === 0 || page.next === null || page.next === after) return entries;
    after = page.next;
  }
}

async function auditAll(h: Harness, opportunityId: string, limit = 3) {
  const entries: AuditEntry[] = [];
  let cursor: string | null = null;
  let pages = 0;
  for (;;) {
    const query: string = `?limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`;
    const page = (await h.request("GET", `/sync/demo/opportunities/${opportunityId}/audit${query}`)).body;
    expect(page.entries.length).toBeLessThanOrEqual(limit);
    entries.push(...page.entries);
    pages++;
    if (page.next === null) return { entries, pages };
    cursor = page.next;
  }
}

/** An opportunity and a quote with one line, not yet synced. */
async function pairOf(h: Harness, id: string, quote: Record<string, unknown> = {}) {
  expect((await h.crm(opportunityUpserted(`${id}-opp`, {}, { occurredAt: at(1) }))).statusCode).toBe(200);
  expect((await h.cpq(quoteUpserted(`${id}-q`, `${id}-opp`, quote, { occurredAt: at(2) }))).statusCode).toBe(
    200,
  );
  const lines = [line(`${id}-l1`, { quantity: "2", unitPrice: "50" })];
  expect((await h.cpq(quoteLinesUpserted(`${id}-q`, lines, { occurredAt: at(3) }))).statusCode).toBe(200);
}

describe("automatic triggers, sync modes, approvals and audit (DynamoDB Local, through the handlers)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await handlerHarness();
  });
  afterAll(async () => {
    await h.dispose();
  });

  it("starts sync when the CPQ reports a finalized cart, and audits the trigger", async () => {
    await pairOf(h, "cart");
    const response = await h.cpq(cpqEvent("cart.finalized", { quoteId: "cart-q" }, { occurredAt: later() }));
    expect(response.statusCode).toBe(200);
    expect(response.body.status).toBe("started");
    const status = (await h.status("cart-opp")).body;
    expect(status.syncedQuoteId).toBe("cart-q");
    expect(status.amount).toBe("100.00");
    expect(status.amountLocked).toBe(true);
    const { entries } = await auditAll(h, "cart-opp", 50);
    expect(entries[0]).toMatchObject({ type: "trigger.fired", source: "cpq", quoteId: "cart-q" });
  });

  it("replaces the synced quote and moves the stage to Closed Won on quote.accepted from EventBridge, with the mirrors in the outbox", async () => {
    await pairOf(h, "acc");
    expect((await h.start("acc-q")).statusCode).toBe(200);
    expect((await h.cpq(quoteUpserted("acc-q2", "acc-opp", {}, { occurredAt: at(4) }))).statusCode).toBe(200);
    const lines = [line("acc2-l1", { quantity: "3", unitPrice: "10" })];
    expect((await h.cpq(quoteLinesUpserted("acc-q2", lines, { occurredAt: at(5) }))).statusCode).toBe(200);
    const before = (await outboxAll(h)).length;

    const accepted = cpqEvent("quote.accepted", { quoteId: "acc-q2" }, { occurredAt: later() });
    const result = await triggerHandler(eventBridge("quote.accepted", accepted) as never);
    expect(result).toMatchObject({ outcome: "applied", replayed: false, response: { status: "started" } });

    const status = (await h.status("acc-opp")).body;
    expect(status.syncedQuoteId).toBe("acc-q2");
    expect(status.stage).toBe("Closed Won");
    expect(status.amount).toBe("30.00");
    expect(status.quotes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ quoteId: "acc-q", syncing: false }),
        expect.objectContaining({ quoteId: "acc-q2", syncing: true, status: "accepted" }),
      ]),
    );
    const added = (await outboxAll(h)).slice(before).map((entry) => entry.mirror);
    expect(added).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ target: "cpq", quoteId: "acc-q", quote: { syncing: false } }),
        expect.objectContaining({
          target: "crm",
          quoteId: "acc-q2",
          opportunity: expect.objectContaining({
            stage: "Closed Won",
            syncedQuoteId: "acc-q2",
            amount: "30.00",
          }),
        }),
      ]),
    );
    const audit = (await auditAll(h, "acc-opp", 50)).entries;
    expect(audit[0]).toMatchObject({ type: "trigger.fired", source: "eventbridge", quoteId: "acc-q2" });
    expect(audit.map((entry) => entry.type)).toContain("sync.replaced");

    // The same trigger arriving through the webhook too is the same event: replayed, nothing written.
    const outboxBefore = (await outboxAll(h)).length;
    const again = await h.cpq(accepted);
    expect(again.headers["x-quotesync-replayed"]).toBe("true");
    expect(again.body).toEqual(result.outcome === "applied" ? result.response : null);
    const replayed = await triggerHandler(eventBridge("quote.accepted", accepted) as never);
    expect(replayed).toMatchObject({ outcome: "applied", replayed: true });
    expect((await outboxAll(h)).length).toBe(outboxBefore);
  });

  it("throws on an invalid EventBridge detail (so EventBridge retries it) and drops an unknown tenant's trigger", async () => {
    await expect(triggerHandler(eventBridge("cart.finalized", { eventId: "x" }) as never)).rejects.toThrow(
      InvalidEvent,
    );
    const mismatched = cpqEvent("quote.accepted", { quoteId: "cart-q" });
    await expect(triggerHandler(eventBridge("cart.finalized", mismatched) as never)).rejects.toThrow(
      /detail-type/,
    );
    const unknown = cpqEvent("cart.finalized", { quoteId: "cart-q" });
    expect(await triggerHandler(eventBridge("cart.finalized", unknown, "nobody") as never)).toMatchObject({
      outcome: "dropped",
      tenantId: "nobody",
    });
  });

  it("flags the opportunity when a line gets a 25 % discount and clears the flag when the quote is approved", async () => {
    await pairOf(h, "appr");
    expect((await h.start("appr-q")).statusCode).toBe(200);
    const discounted = [line("appr-l1", { quantity: "2", unitPrice: "50", discountPercent: "25" })];
    const flagged = await h.cpq(quoteLinesUpserted("appr-q", discounted, { occurredAt: later() }));
    expect(flagged.body.status).toBe("applied");
    const crmMirror = flagged.body.mirrors.find((mirror: Mirror) => mirror.target === "crm");
    expect(crmMirror.opportunity.approval.required).toBe(true);
    expect(crmMirror.opportunity.approval.reasons[0]).toMatch(/25% discount, over the 20% allowed/);
    expect((await h.status("appr-opp")).body.approval.required).toBe(true);

    const approved = await h.cpq(
      quoteUpserted("appr-q", "appr-opp", { status: "approved" }, { occurredAt: later() }),
    );
    expect(approved.body.mirrors).toEqual([
      expect.objectContaining({
        target: "crm",
        opportunity: expect.objectContaining({ approval: { required: false, reasons: [] } }),
      }),
    ]);
    const status = (await h.status("appr-opp")).body;
    expect(status.approval).toEqual({ required: false, reasons: [] });
    expect(status.amount).toBe("75.00");
  });

  it("keeps a manual-mode change pending until the quote is re-synced", async () => {
    await pairOf(h, "man", { syncMode: "manual" });
    expect((await h.start("man-q")).statusCode).toBe(200);
    const before = (await outboxAll(h)).length;
    const changed = [line("man-l1", { quantity: "5", unitPrice: "50" })];
    const pending = await h.cpq(quoteLinesUpserted("man-q", changed, { occurredAt: later() }));
    expect(pending.body).toMatchObject({ status: "pending", mirrors: [] });
    let status = (await h.status("man-opp")).body;
    expect(status.quotes).toEqual([
      expect.objectContaining({ quoteId: "man-q", mode: "manual", pendingChanges: 1 }),
    ]);
    expect(status.amount).toBe("100.00");
    expect((await outboxAll(h)).length).toBe(before);

    // The schedule leaves manual-mode changes alone.
    await runScheduledOnce();
    expect((await h.status("man-opp")).body.quotes[0].pendingChanges).toBe(1);

    const resynced = await h.start("man-q");
    expect(resynced.body.status).toBe("started");
    status = (await h.status("man-opp")).body;
    expect(status.quotes[0].pendingChanges).toBe(0);
    expect(status.amount).toBe("250.00");
    expect(status.lines).toEqual([expect.objectContaining({ quantity: "5", unitPrice: "50" })]);
    const pushed = (await outboxAll(h)).slice(before).map((entry) => entry.mirror);
    expect(pushed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          target: "crm",
          lines: { upsert: [expect.objectContaining({ quantity: "5" })], delete: [] },
        }),
      ]),
    );
  });

  it("pushes a scheduled-mode change to the outbox, as one mirror of the net difference, when the schedule runs", async () => {
    await pairOf(h, "sch", { syncMode: "scheduled" });
    expect((await h.start("sch-q")).statusCode).toBe(200);
    const before = (await outboxAll(h)).length;
    await h.cpq(
      quoteLinesUpserted("sch-q", [line("sch-l1", { quantity: "3", unitPrice: "50" })], {
        occurredAt: later(),
      }),
    );
    await h.cpq(
      quoteLinesUpserted("sch-q", [line("sch-l1", { quantity: "4", unitPrice: "50" })], {
        occurredAt: later(),
      }),
    );
    await h.cpq(
      quoteLinesUpserted("sch-q", [line("sch-l2", { productId: "extra" })], { occurredAt: later() }),
    );
    expect((await h.status("sch-opp")).body.quotes[0]).toMatchObject({
      mode: "scheduled",
      pendingChanges: 3,
    });
    expect((await outboxAll(h)).length).toBe(before);

    const report = await runScheduledOnce();
    expect(report.push.pushed).toEqual([{ tenantId: "demo", quoteId: "sch-q", mirrors: 1 }]);
    expect(report.push.cycleCompleted).toBe(true);

    const added = (await outboxAll(h)).slice(before).map((entry) => entry.mirror);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ target: "crm", quoteId: "sch-q", opportunity: { amount: "300.00" } });
    expect(added[0]?.lines?.upsert.map((l: MirrorLine) => [l.productId, l.quantity]).sort()).toEqual([
      ["extra", "1"],
      ["prod-sch-l1", "4"],
    ]);
    const status = (await h.status("sch-opp")).body;
    expect(status.quotes[0].pendingChanges).toBe(0);
    expect(status.amount).toBe("300.00");
    const audit = (await auditAll(h, "sch-opp")).entries;
    expect(audit[0]).toMatchObject({ type: "change.pushed", source: "schedule", quoteId: "sch-q" });

    // Nothing left to push: the next run sends nothing.
    const next = await runScheduledOnce();
    expect(next.push.pushed).toEqual([]);
    expect((await outboxAll(h)).length).toBe(before + 1);
  });

  it("lists the audit trail newest first, page by page, without losing or repeating an entry", async () => {
    const all = (await auditAll(h, "sch-opp", 100)).entries;
    const paged = await auditAll(h, "sch-opp", 2);
    expect(paged.pages).toBeGreaterThan(2);
    expect(paged.entries).toEqual(all);
    const times = all.map((entry) => entry.at);
    expect([...times].sort().reverse()).toEqual(times);
    // Oldest last: the start, then the pending changes, then the push on top.
    expect(all.at(-1)?.type).toBe("sync.started");
    expect(all.map((entry) => entry.type)).toEqual([
      "change.pushed",
      "change.pending",
      "change.pending",
      "change.pending",
      "sync.started",
    ]);
  });

  it("answers the audit trail of an opportunity it has never heard of with 404 not_found", async () => {
    const unknown = await h.request("GET", "/sync/demo/opportunities/no-such-opp/audit");
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body.error.code).toBe("not_found");
    // Known but with an empty trail (reported, never synced): an empty page.
    expect((await h.crm(opportunityUpserted("quiet-opp", {}, { occurredAt: at(1) }))).statusCode).toBe(200);
    const quiet = await h.request("GET", "/sync/demo/opportunities/quiet-opp/audit");
    expect(quiet.statusCode).toBe(200);
    expect(quiet.body).toEqual({ entries: [], next: null });
  });

  it("takes empty paging parameters (`?limit=&cursor=`, `?after=`) as absent: the first page", async () => {
    const audit = await h.request("GET", "/sync/demo/opportunities/quiet-opp/audit?limit=&cursor=");
    expect(audit.statusCode).toBe(200);
    const outbox = await h.request("GET", "/sync/demo/outbox?after=&limit=");
    expect(outbox.statusCode).toBe(200);
    expect(outbox.body.entries.length).toBeGreaterThan(0);
    expect(outbox.body).toEqual((await h.request("GET", "/sync/demo/outbox")).body);
    expect((await h.request("GET", "/sync/demo/outbox?limit=0")).statusCode).toBe(422);
  });

  it("records drift once in the audit trail and the drift report, and drops it when the pair agrees again", async () => {
    await pairOf(h, "drift");
    expect((await h.start("drift-q")).statusCode).toBe(200);
    const tamper = (amount: string) =>
      h.doc.send(
        new UpdateCommand({
          TableName: h.table.tableName,
          Key: { pk: keys.opportunityPartition("demo", "drift-opp"), sk: keys.header },
          UpdateExpression: "SET #record.#amount = :amount",
          ExpressionAttributeNames: { "#record": "record", "#amount": "amount" },
          ExpressionAttributeValues: { ":amount": amount },
        }),
      );
    await tamper("99.00");

    const first = await runScheduledOnce();
    expect(first.audit.drifting).toEqual(
      expect.arrayContaining([{ tenantId: "demo", opportunityId: "drift-opp", issues: ["amount_mismatch"] }]),
    );
    const report = (await h.request("GET", "/sync/demo/drift")).body;
    expect(report.entries).toEqual([
      expect.objectContaining({
        opportunityId: "drift-opp",
        quoteId: "drift-q",
        issues: [{ kind: "amount_mismatch", detail: expect.stringContaining("99.00") }],
      }),
    ]);
    const audit = (await auditAll(h, "drift-opp", 50)).entries;
    expect(audit[0]).toMatchObject({ type: "audit.drift", source: "schedule", quoteId: "drift-q" });

    await runScheduledOnce();
    const again = (await auditAll(h, "drift-opp", 50)).entries;
    expect(again.filter((entry) => entry.type === "audit.drift")).toHaveLength(1);

    await tamper("100.00");
    await runScheduledOnce();
    expect((await h.request("GET", "/sync/demo/drift")).body.entries).toEqual([]);
  });

  it("flags a manual-mode pair with pending changes once its opportunity reaches a milestone stage", async () => {
    // man-opp still has one pending change? It was re-synced; make a new one.
    await h.cpq(
      quoteLinesUpserted("man-q", [line("man-l1", { quantity: "6", unitPrice: "50" })], {
        occurredAt: later(),
      }),
    );
    let run = await runScheduledOnce();
    expect(run.audit.drifting.find((d) => d.opportunityId === "man-opp")).toBeUndefined();

    await h.crm(
      crmEvent(
        "opportunity.upserted",
        { opportunity: { id: "man-opp", currency: "USD", stage: "Negotiation" } },
        { occurredAt: later() },
      ),
    );
    run = await runScheduledOnce();
    expect(run.audit.drifting).toEqual(
      expect.arrayContaining([{ tenantId: "demo", opportunityId: "man-opp", issues: ["milestone_pending"] }]),
    );
    const audit = (await auditAll(h, "man-opp", 50)).entries;
    expect(audit[0]).toMatchObject({ type: "audit.milestone_pending", quoteId: "man-q" });
    expect(audit[0]?.summary).toMatch(/Negotiation with 1 change/);
  });
});
