import { randomBytes } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { InvalidEvent } from "../../domain/errors.js";
import type { Mirror, OpportunityRecord, StoredLine } from "../../domain/model.js";
import { placeholderOpportunity, placeholderQuote } from "../../domain/records.js";
import type { ChangeSet, LineSetChange } from "../../domain/store.js";
import { type PlanContext, planCommit } from "../../infra/dynamodb/commit-plan.js";
import { listingOf } from "../../infra/dynamodb/listing-hints.js";
import { aStoredLine } from "../support/stored-line.js";

const NOW = Date.UTC(2026, 2, 1, 9);

function context(overrides: Partial<PlanContext> = {}): PlanContext {
  let generations = 0;
  let suffixes = 0;
  return {
    tableName: "t",
    now: NOW,
    newGeneration: () => `gen-${++generations}`,
    auditSuffix: () => String(++suffixes).padStart(6, "0"),
    listingAt: () => undefined,
    ...overrides,
  };
}

const line = (syncKey: string, name = `Line ${syncKey}`): StoredLine =>
  aStoredLine(syncKey, { name, changedAt: NOW });

function lines(count: number, prefix: string): LineSetChange {
  const all = new Map(Array.from({ length: count }, (_, i) => [`${prefix}${i}`, line(`${prefix}${i}`)]));
  return { all, changed: new Set(all.keys()) };
}

const opportunity = { ...placeholderOpportunity("acme", "o-1"), known: true, stage: "Prospecting" };
const quote = { ...placeholderQuote("acme", "q-1"), known: true, opportunityId: "o-1", version: 3 };
const mirror: Mirror = { target: "crm", opportunityId: "o-1", quoteId: "q-1", quote: { syncing: true } };

describe("planCommit (pure: the items a commit writes, before any I/O)", () => {
  it("plans each header with the version it was read at, then the other items with what each stands for", () => {
    const plan = planCommit(
      {
        tenantId: "acme",
        opportunity: { record: opportunity, lines: lines(2, "a") },
        quotes: [{ record: quote, linked: true }],
        unchanged: [{ kind: "quote", id: "q-2", version: 7 }],
        outbox: [mirror],
        audit: [
          {
            opportunityId: "o-1",
            entry: { at: "2026-03-01T09:00:00.000Z", type: "sync.started", summary: "s" },
          },
        ],
        processedEvent: { key: "e-1", response: { status: "started", mirrors: [] } },
      },
      context(),
    );
    expect(plan.headers.map((h) => [h.label, h.readVersion, h.stored !== undefined])).toEqual([
      ["opportunity o-1", null, true],
      ["quote q-1", 3, true],
      ["quote q-2", 7, false],
    ]);
    expect(plan.items.map((item) => item.Put?.Item?.sk ?? item.Delete?.Key?.sk)).toEqual([
      "o-1", // the pipeline list's entry: the opportunity becomes listed
      "Q#q-1",
      "L#0#a0",
      "L#0#a1",
      "2026-03-01T09:00:00.000Z#000001",
      "E",
    ]);
    expect(plan.roles.at(-1)).toEqual({ kind: "processed", eventKey: "e-1" });
    expect(plan.items.at(-1)?.Put).toMatchObject({
      ConditionExpression: "attribute_not_exists(pk)",
      Item: { at: new Date(NOW).toISOString() },
    });
    expect(plan.entries).toEqual([mirror]);
    expect(plan.switched).toEqual([]);
  });

  it("writes the pipeline entry only when the listing read differs from the one committed", () => {
    const read = { ...opportunity, version: 2 };
    const changes: ChangeSet = {
      tenantId: "acme",
      opportunity: { record: read },
      quotes: [],
      outbox: [],
      audit: [],
    };
    const same = planCommit(changes, context({ listingAt: () => listingOf(read) }));
    expect(same.items).toEqual([]);
    const moved = planCommit(
      changes,
      context({ listingAt: () => listingOf({ ...read, stage: "Negotiation" }) }),
    );
    expect(moved.items).toHaveLength(1);
  });

  it("moves the largest line set to a new generation when the transaction would exceed 100 writes", () => {
    const plan = planCommit(
      {
        tenantId: "acme",
        opportunity: { record: opportunity, lines: lines(30, "o") },
        quotes: [{ record: quote, lines: lines(90, "q") }],
        outbox: [],
        audit: [],
      },
      context(),
    );
    expect(plan.switched.map((s) => [s.partition, s.from, s.to])).toEqual([["T#acme#Q#q-1", "0", "gen-1"]]);
    expect(plan.headers[1]?.stored).toMatchObject({ lineGeneration: "gen-1" });
    expect(plan.headers[0]?.stored).toMatchObject({ lineGeneration: "0" });
    expect(plan.items.filter((item) => String(item.Put?.Item?.sk).startsWith("L#"))).toHaveLength(30);
  });

  it("splits a mirror of many lines into several entries", () => {
    const upsert = Array.from({ length: 900 }, (_, i) => ({ ...line(`m${i}`), id: null }));
    const big: Mirror = { ...mirror, lines: { upsert, delete: [] } };
    const plan = planCommit({ tenantId: "acme", quotes: [], outbox: [big], audit: [] }, context());
    expect(plan.entries.map((entry) => entry.lines?.upsert.length)).toEqual([400, 400, 100]);
  });

  it("compresses a large stored response", () => {
    const mirrors = Array.from({ length: 600 }, () => mirror);
    const plan = planCommit(
      {
        tenantId: "acme",
        quotes: [],
        outbox: [],
        audit: [],
        processedEvent: { key: "e", response: { status: "applied", mirrors } },
      },
      context(),
    );
    const body = plan.items[0]?.Put?.Item?.response as Uint8Array;
    expect(JSON.parse(gunzipSync(body).toString("utf8")).mirrors).toHaveLength(600);
  });

  it("refuses an item DynamoDB would reject with InvalidEvent, and a decision of too many writes", () => {
    const huge = { ...quote, fields: { notes: "x".repeat(420 * 1024) } };
    expect(() =>
      planCommit({ tenantId: "acme", quotes: [{ record: huge }], outbox: [], audit: [] }, context()),
    ).toThrow(InvalidEvent);
    const audit = Array.from({ length: 101 }, () => ({
      opportunityId: "o-1",
      entry: { at: "2026-03-01T09:00:00.000Z", type: "sync.started" as const, summary: "s" },
    }));
    expect(() => planCommit({ tenantId: "acme", quotes: [], outbox: [], audit }, context())).toThrow(
      /limit is 100/,
    );
  });

  it("is a function of the change set and its context: the same inputs plan the same writes", () => {
    const changes: ChangeSet = {
      tenantId: "acme",
      opportunity: { record: opportunity, lines: lines(120, "a") },
      quotes: [{ record: quote, linked: true }],
      outbox: [mirror],
      audit: [],
    };
    expect(planCommit(changes, context())).toEqual(planCommit(changes, context()));
  });
});

describe("planCommit at its limits", () => {
  const entry = { at: "2026-03-01T09:00:00.000Z", type: "sync.started" as const, summary: "s" };
  /** Eight fixed writes: the opportunity header and list item, a quote and its reference, one header relied on, an audit entry, the processed event, one outbox entry. */
  const fixedEight = (quoteLines: number): ChangeSet => ({
    tenantId: "acme",
    opportunity: { record: opportunity },
    quotes: [{ record: { ...quote, version: null }, linked: true, lines: lines(quoteLines, "q") }],
    unchanged: [{ kind: "quote", id: "q-2", version: 4 }],
    outbox: [mirror],
    audit: [{ opportunityId: "o-1", entry }],
    processedEvent: { key: "e-1", response: { status: "applied", mirrors: [] } },
  });

  it("keeps lines in the transaction while it holds at most 100 writes, and switches one more", () => {
    const fits = planCommit(fixedEight(92), context());
    expect(fits.switched).toEqual([]);
    expect(fits.headers.length + fits.items.length + fits.entries.length).toBe(100);
    const over = planCommit(fixedEight(93), context());
    expect(over.switched.map((s) => s.partition)).toEqual(["T#acme#Q#q-1"]);
  });

  it("names each item's role, the headers relied on by their own partition", () => {
    const plan = planCommit(fixedEight(1), context());
    expect(plan.headers.map((h) => [h.partition, h.label])).toEqual([
      ["T#acme#O#o-1", "opportunity o-1"],
      ["T#acme#Q#q-1", "quote q-1"],
      ["T#acme#Q#q-2", "quote q-2"],
    ]);
    expect(plan.roles).toEqual([
      { kind: "other" },
      { kind: "other" },
      { kind: "other" },
      { kind: "other" },
      { kind: "processed", eventKey: "e-1" },
    ]);
  });

  it("writes no item for a changed key the set does not hold", () => {
    const set = lines(2, "a");
    set.changed.add("gone");
    const plan = planCommit(
      { tenantId: "acme", quotes: [{ record: quote, lines: set }], outbox: [], audit: [] },
      context(),
    );
    expect(plan.items.map((item) => item.Put?.Item?.sk)).toEqual(["L#0#a0", "L#0#a1"]);
  });

  it("refuses to switch a line set read by key (it holds only some lines)", () => {
    const partial = { ...lines(120, "p"), partial: true as const };
    expect(() =>
      planCommit(
        { tenantId: "acme", quotes: [{ record: quote, lines: partial }], outbox: [], audit: [] },
        context(),
      ),
    ).toThrow("a line set read by key cannot switch generation");
  });

  it("indexes a synced opportunity for the scheduled audit, not a deleted one", () => {
    const synced = { ...opportunity, syncedQuoteId: "q-1" };
    const indexOf = (record: OpportunityRecord) =>
      planCommit({ tenantId: "acme", opportunity: { record }, quotes: [], outbox: [], audit: [] }, context())
        .headers[0]?.index;
    expect(indexOf(synced)).toEqual({ gsi1pk: "T#acme#SYNCED", gsi1sk: "o-1" });
    expect(indexOf({ ...synced, deleted: true })).toEqual({});
    expect(indexOf({ ...synced, syncedQuoteId: null })).toEqual({});
  });

  it("compresses a stored response only above 32 KB", () => {
    const stored = (length: number) => {
      // {"status":"applied","mirrors":[],"pad":"…"}: 42 characters around the padding.
      const response = { status: "applied", mirrors: [], pad: "x".repeat(length - 42) } as never;
      const plan = planCommit(
        { tenantId: "acme", quotes: [], outbox: [], audit: [], processedEvent: { key: "e", response } },
        context(),
      );
      return plan.items[0]?.Put?.Item?.response;
    };
    expect(typeof stored(32 * 1024)).toBe("string");
    expect((stored(32 * 1024) as string).length).toBe(32 * 1024);
    expect(stored(32 * 1024 + 1)).toBeInstanceOf(Uint8Array);
  });

  it("refuses an outbox entry or a switched line too large to store, with the reason", () => {
    const bigMirror: Mirror = {
      ...mirror,
      quote: { syncing: true, fields: { notes: "x".repeat(420 * 1024) } },
    };
    const refusal = (() => {
      try {
        planCommit({ tenantId: "acme", quotes: [], outbox: [bigMirror], audit: [] }, context());
      } catch (error) {
        return error;
      }
      return null;
    })();
    expect(refusal).toBeInstanceOf(InvalidEvent);
    expect((refusal as Error).message).toMatch(
      /^storing this event would need an item of \d+ bytes; the limit is 400 KB$/,
    );
    expect((refusal as InvalidEvent).details).toEqual([
      { path: [], message: "the event's records or mirrors are too large to store" },
    ]);
    const set = lines(120, "s");
    set.all.set("s0", line("s0", "x".repeat(420 * 1024)));
    expect(() =>
      planCommit(
        { tenantId: "acme", quotes: [{ record: quote, lines: set }], outbox: [], audit: [] },
        context(),
      ),
    ).toThrow(InvalidEvent);
  });

  it("counts a compressed response by its compressed size", () => {
    // Incompressible: about 600 KB that gzip cannot bring under the 400 KB item limit.
    const noise = randomBytes(450 * 1024).toString("base64");
    const response = { status: "applied", mirrors: [], noise } as never;
    expect(() =>
      planCommit(
        { tenantId: "acme", quotes: [], outbox: [], audit: [], processedEvent: { key: "e", response } },
        context(),
      ),
    ).toThrow(InvalidEvent);
  });
});
