import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConcurrentModification, DuplicateEvent, InvalidCursor } from "../../domain/errors.js";
import type {
  AuditEntry,
  Mirror,
  OpportunityRecord,
  QuoteRecord,
  StoredLine,
  SyncResponse,
} from "../../domain/model.js";
import { placeholderOpportunity, placeholderQuote } from "../../domain/records.js";
import type { DriftFinding } from "../../domain/schedule.js";
import type { ChangeSet, LineSetChange, PendingCommit, SyncStore } from "../../domain/store.js";
import { demoTenant, TenantConfig } from "../../domain/tenant.js";

/** A store under test, on its own empty storage; `clock` is the time it must stamp entries with. */
export type StoreFactory = (clock: () => number) => Promise<{ store: SyncStore; dispose(): Promise<void> }>;

const START = Date.UTC(2026, 2, 1, 9);
const T = "acme";

function opportunity(id: string, overrides: Partial<OpportunityRecord> = {}): OpportunityRecord {
  return {
    ...placeholderOpportunity(T, id),
    known: true,
    name: `Opportunity ${id}`,
    stage: "Prospecting",
    currency: "USD",
    changedAt: START,
    ...overrides,
  };
}

function quote(id: string, opportunityId: string | null, overrides: Partial<QuoteRecord> = {}): QuoteRecord {
  return {
    ...placeholderQuote(T, id),
    known: true,
    opportunityId,
    name: `Quote ${id}`,
    status: "draft",
    currency: "USD",
    changedAt: START,
    ...overrides,
  };
}

function line(syncKey: string, quantity = "1"): StoredLine {
  return {
    syncKey,
    id: `id-${syncKey}`,
    productId: "p-1",
    name: `Line ${syncKey}`,
    quantity,
    unitPrice: "10.00",
    discountPercent: "0",
    billing: "one_time",
    billingPeriod: null,
    position: null,
    serviceDate: null,
    fields: {},
    changedAt: START,
    changedBy: "cpq",
    deleted: false,
    outdatedMirrors: [],
  };
}

/** A line set where every line given changed. */
function lines(...all: StoredLine[]): LineSetChange {
  return { all: new Map(all.map((l) => [l.syncKey, l])), changed: new Set(all.map((l) => l.syncKey)) };
}

function mirror(tag: string, quoteId = "q-1"): Mirror {
  return { target: "crm", opportunityId: "o-1", quoteId, quote: { syncing: true, fields: { tag } } };
}

function audit(at: number, summary: string): AuditEntry {
  return { at: new Date(at).toISOString(), type: "change.applied", source: "cpq", summary };
}

function changes(overrides: Partial<ChangeSet> = {}): ChangeSet {
  return { tenantId: T, quotes: [], outbox: [], audit: [], ...overrides };
}

const response = (note: string): SyncResponse => ({ status: "applied", mirrors: [], note });

/** What a header loads back as: the record committed, at its new version (its line generation is the store's). */
const stored = <R extends object>(record: R, version: number) => ({
  ...record,
  version,
  lineGeneration: expect.any(String),
});

/**
 * The promises of the `SyncStore` port (domain/store.ts), run against every implementation of it:
 * where two stores answer differently, one of them breaks the port.
 */
export function syncStoreContract(name: string, factory: StoreFactory): void {
  describe(`SyncStore contract: ${name}`, () => {
    let store: SyncStore;
    let dispose: () => Promise<void>;
    let now: number;

    beforeEach(async () => {
      now = START;
      ({ store, dispose } = await factory(() => now));
    });
    afterEach(async () => {
      await dispose();
    });

    /** Everything a failed commit must have left as it was. */
    async function snapshot(tenantId = T) {
      return {
        opportunity: await store.loadOpportunity(tenantId, "o-1"),
        quote: await store.loadQuote(tenantId, "q-1"),
        quotes: await store.listQuotesOfOpportunity(tenantId, "o-1"),
        // Entries only: `next` may move past numbers a failed commit had taken and voided.
        outbox: (await store.readOutbox(tenantId, null, 100)).entries,
        audit: await store.readAudit(tenantId, "o-1", null, 100),
        processed: await store.findProcessedEvent(tenantId, "event-2"),
        listed: await store.listOpportunityIds(tenantId, null, 100),
      };
    }

    /** Commits a pair: o-1 with one line, q-1 naming it with one line; both at version 1. */
    async function seedPair(): Promise<{ opp: OpportunityRecord; q: QuoteRecord }> {
      const opp = opportunity("o-1");
      const q = quote("q-1", "o-1");
      await store.commit(
        changes({
          opportunity: { record: opp, lines: lines(line("a")) },
          quotes: [{ record: q, lines: lines(line("a")), linked: true }],
          outbox: [mirror("seed")],
          audit: [{ opportunityId: "o-1", entry: audit(START, "seeded") }],
          processedEvent: { key: "event-1", response: response("first") },
        }),
      );
      return { opp: { ...opp, version: 1 }, q: { ...q, version: 1 } };
    }

    describe("tenants", () => {
      it("loads nothing for a tenant never stored, and a stored tenant as it was put", async () => {
        expect(await store.loadTenant("demo")).toBeNull();
        const tenant = demoTenant({ crm: "crm-secret-0001", cpq: "cpq-secret-0001" });
        await store.putTenant(tenant);
        expect(await store.loadTenant("demo")).toEqual(tenant);
      });

      it("finds a tenant by the HubSpot portal its connectors name, and no tenant for another portal", async () => {
        const side = { kind: "hubspot", portalId: 4242, appId: 7, accessToken: "pat-test" };
        await store.putTenant(
          TenantConfig.parse({
            tenantId: "hs",
            secrets: { crm: ["hs-crm-secret-0001"], cpq: ["hs-cpq-secret-0001"] },
            connectors: { crm: side, cpq: side },
          }),
        );
        expect(await store.findTenantIdByHubSpotPortal(4242)).toBe("hs");
        expect(await store.findTenantIdByHubSpotPortal(4243)).toBeNull();
      });

      it("lists tenant ids in id order, page by page, `after` exclusive", async () => {
        for (const tenantId of ["t-c", "t-a", "t-b"]) {
          await store.putTenant({
            ...demoTenant({ crm: "crm-secret-0001", cpq: "x-secret-0001" }),
            tenantId,
          });
        }
        const first = await store.listTenantIds(null, 2);
        expect(first).toEqual({ entries: ["t-a", "t-b"], next: "t-b" });
        expect(await store.listTenantIds(first.next, 2)).toEqual({ entries: ["t-c"], next: null });
        // A full page names its last id (DynamoDB's LastEvaluatedKey) even when none follows.
        expect(await store.listTenantIds("t-b", 1)).toEqual({ entries: ["t-c"], next: "t-c" });
        expect(await store.listTenantIds("t-c", 1)).toEqual({ entries: [], next: null });
      });
    });

    describe("commits of headers and lines", () => {
      it("loads nothing for records never committed", async () => {
        expect(await store.loadOpportunity(T, "o-1")).toBeNull();
        expect(await store.loadQuote(T, "q-1")).toBeNull();
        expect(await store.listQuotesOfOpportunity(T, "o-1")).toEqual([]);
      });

      it("creates headers at version 1 with their lines, and loads them back consistently", async () => {
        const { opp, q } = await seedPair();
        const loaded = await store.loadOpportunity(T, "o-1");
        expect(loaded?.header).toEqual(stored(opp, 1));
        expect([...(loaded?.lines.values() ?? [])]).toEqual([line("a")]);
        const loadedQuote = await store.loadQuote(T, "q-1");
        expect(loadedQuote?.header).toEqual(stored(q, 1));
        expect(loadedQuote?.lines).toEqual(new Map([["a", line("a")]]));
      });

      it("writes a header read at its version as the next version; unchanged lines stay, changed ones are replaced", async () => {
        const { opp } = await seedPair();
        const set: LineSetChange = {
          all: new Map([
            ["a", line("a", "5")],
            ["b", line("b")],
          ]),
          changed: new Set(["a", "b"]),
        };
        await store.commit(changes({ opportunity: { record: { ...opp, name: "renamed" }, lines: set } }));
        const third: LineSetChange = {
          all: new Map([...set.all, ["c", line("c")]]),
          changed: new Set(["c"]),
        };
        await store.commit(changes({ opportunity: { record: { ...opp, version: 2 }, lines: third } }));
        const loaded = await store.loadOpportunity(T, "o-1");
        expect(loaded?.header).toEqual(stored(opp, 3));
        expect(loaded?.lines).toEqual(third.all);
      });

      it("keeps the stored line set when a commit writes the header alone", async () => {
        const { q } = await seedPair();
        await store.commit(changes({ quotes: [{ record: { ...q, terms: "net 30" } }] }));
        const loaded = await store.loadQuote(T, "q-1");
        expect(loaded?.header).toEqual(stored({ ...q, terms: "net 30" }, 2));
        expect([...(loaded?.lines.keys() ?? [])]).toEqual(["a"]);
      });

      it("commits a line set too large for one transaction whole, and replaces it whole", async () => {
        const many = Array.from({ length: 140 }, (_, index) => line(`l-${String(index).padStart(3, "0")}`));
        await store.commit(changes({ quotes: [{ record: quote("q-1", "o-1"), lines: lines(...many) }] }));
        expect((await store.loadQuote(T, "q-1"))?.lines).toEqual(lines(...many).all);
        const replaced = many.map((l, index) => (index % 2 === 0 ? line(l.syncKey, "7") : l));
        const change: LineSetChange = {
          all: new Map(replaced.map((l) => [l.syncKey, l])),
          changed: new Set(replaced.filter((_, index) => index % 2 === 0).map((l) => l.syncKey)),
        };
        // A decision writes back the header it loaded: it names the generation the lines are under.
        const header = (await store.loadQuote(T, "q-1"))?.header as QuoteRecord;
        await store.commit(changes({ quotes: [{ record: header, lines: change }] }));
        const loaded = await store.loadQuote(T, "q-1");
        expect(loaded?.header.version).toBe(2);
        expect(loaded?.lines).toEqual(change.all);
      });

      it("refuses a large line set read at an older version, keeping the stored set whole", async () => {
        const { q } = await seedPair();
        await store.commit(changes({ quotes: [{ record: { ...q, terms: "newer" } }] }));
        const before = await snapshot();
        const many = Array.from({ length: 130 }, (_, index) => line(`big-${index}`));
        await expect(
          store.commit(changes({ quotes: [{ record: q, lines: lines(...many) }], outbox: [mirror("lost")] })),
        ).rejects.toBeInstanceOf(ConcurrentModification);
        expect(await snapshot()).toEqual(before);
      });

      it("refuses a commit whose header changed since it was read (ConcurrentModification), writing nothing of it", async () => {
        const { opp, q } = await seedPair();
        await store.commit(changes({ quotes: [{ record: { ...q, terms: "newer" } }] }));
        const before = await snapshot();
        const outdated = changes({
          opportunity: { record: { ...opp, name: "lost" }, lines: lines(line("a", "9"), line("z")) },
          quotes: [{ record: { ...q, terms: "outdated" }, lines: lines(line("z")) }],
          outbox: [mirror("lost")],
          audit: [{ opportunityId: "o-1", entry: audit(START + 1, "lost") }],
          processedEvent: { key: "event-2", response: response("lost") },
        });
        const refused = await store.commit(outdated).catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(ConcurrentModification);
        expect((refused as ConcurrentModification).context.items).toContain("quote q-1");
        expect(await snapshot()).toEqual(before);
      });

      it("refuses to create a header that exists already", async () => {
        await seedPair();
        const before = await snapshot();
        await expect(
          store.commit(changes({ opportunity: { record: opportunity("o-1") }, outbox: [mirror("twice")] })),
        ).rejects.toBeInstanceOf(ConcurrentModification);
        expect(await snapshot()).toEqual(before);
      });

      it("refuses a commit relying on a header that changed since, and commits one relying on it as read", async () => {
        const { opp, q } = await seedPair();
        const relying = (version: number | null, tag: string) =>
          changes({
            quotes: [{ record: { ...q, terms: tag } }],
            unchanged: [{ kind: "opportunity", id: opp.id, version }],
            outbox: [mirror(tag)],
          });
        await store.commit(changes({ opportunity: { record: { ...opp, name: "moved on" } } }));
        const before = await snapshot();
        await expect(store.commit(relying(1, "behind"))).rejects.toBeInstanceOf(ConcurrentModification);
        await expect(store.commit(relying(null, "absent"))).rejects.toBeInstanceOf(ConcurrentModification);
        expect(await snapshot()).toEqual(before);
        await store.commit(relying(2, "as read"));
        expect((await store.loadQuote(T, "q-1"))?.header).toEqual(stored({ ...q, terms: "as read" }, 2));
        expect((await store.loadOpportunity(T, "o-1"))?.header.version).toBe(2);
      });

      it("refuses a commit relying on a record's absence once it exists", async () => {
        await seedPair();
        await expect(
          store.commit(
            changes({
              quotes: [{ record: quote("q-2", "o-1"), linked: true }],
              unchanged: [{ kind: "quote", id: "q-1", version: null }],
            }),
          ),
        ).rejects.toBeInstanceOf(ConcurrentModification);
        expect(await store.loadQuote(T, "q-2")).toBeNull();
      });

      it("lets exactly one of two commits read at the same version through", async () => {
        const { q } = await seedPair();
        const results = await Promise.allSettled(
          ["x", "y", "z"].map((tag) =>
            store.commit(changes({ quotes: [{ record: { ...q, terms: tag } }], outbox: [mirror(tag)] })),
          ),
        );
        const won = results.filter((result) => result.status === "fulfilled");
        expect(won).toHaveLength(1);
        for (const result of results) {
          if (result.status === "rejected") expect(result.reason).toBeInstanceOf(ConcurrentModification);
        }
        expect((await store.readOutbox(T, null, 10)).entries).toHaveLength(2);
      });

      it("keeps tenants apart", async () => {
        await seedPair();
        expect(await store.loadOpportunity("other", "o-1")).toBeNull();
        expect(await store.findProcessedEvent("other", "event-1")).toBeNull();
        expect(await store.readOutbox("other", null, 10)).toEqual({ entries: [], next: null });
        expect((await store.readAudit("other", "o-1", null, 10)).entries).toEqual([]);
      });
    });

    describe("processed events", () => {
      it("stores the response with the commit that marks the event processed", async () => {
        expect(await store.findProcessedEvent(T, "event-1")).toBeNull();
        await seedPair();
        expect(await store.findProcessedEvent(T, "event-1")).toEqual(response("first"));
      });

      it("refuses a second commit of a processed event (DuplicateEvent), writing nothing of it", async () => {
        const { opp } = await seedPair();
        const before = { ...(await snapshot()), first: await store.findProcessedEvent(T, "event-1") };
        const again = changes({
          opportunity: { record: { ...opp, name: "again" } },
          outbox: [mirror("again")],
          audit: [{ opportunityId: "o-1", entry: audit(START + 5, "again") }],
          processedEvent: { key: "event-1", response: response("second") },
        });
        const refused = await store.commit(again).catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(DuplicateEvent);
        expect((refused as DuplicateEvent).eventKey).toBe("event-1");
        expect({ ...(await snapshot()), first: await store.findProcessedEvent(T, "event-1") }).toEqual(
          before,
        );
      });

      it("answers a duplicate delivery whose records also changed with DuplicateEvent", async () => {
        const { opp } = await seedPair();
        await store.commit(changes({ opportunity: { record: { ...opp, name: "moved on" } } }));
        await expect(
          store.commit(
            changes({
              opportunity: { record: { ...opp, name: "late copy" } },
              processedEvent: { key: "event-1", response: response("late") },
            }),
          ),
        ).rejects.toBeInstanceOf(DuplicateEvent);
      });

      it("stores a large response whole", async () => {
        const big: SyncResponse = {
          status: "applied",
          mirrors: Array.from({ length: 300 }, (_, i) => mirror(`m${i}`)),
        };
        await store.commit(changes({ processedEvent: { key: "big", response: big } }));
        expect(await store.findProcessedEvent(T, "big")).toEqual(big);
      });
    });

    describe("the outbox", () => {
      it("reads nothing, and next null, before the first entry", async () => {
        expect(await store.readOutbox(T, null, 10)).toEqual({ entries: [], next: null });
      });

      it("returns entries in commit order, stamped with the store's clock, each once across pages", async () => {
        now = START + 1_000;
        await store.commit(changes({ outbox: [mirror("1"), mirror("2")] }));
        now = START + 2_000;
        await store.commit(changes({ outbox: [mirror("3")] }));
        await store.commit(changes({ outbox: [mirror("4"), mirror("5")] }));
        const first = await store.readOutbox(T, null, 2);
        expect(first.entries.map((entry) => entry.mirror)).toEqual([mirror("1"), mirror("2")]);
        expect(first.entries.map((entry) => entry.at)).toEqual(
          Array(2).fill(new Date(START + 1_000).toISOString()),
        );
        expect(first.next).toBe(first.entries[1]?.cursor);
        const second = await store.readOutbox(T, first.next, 2);
        expect(second.entries.map((entry) => entry.mirror.quote?.fields?.tag)).toEqual(["3", "4"]);
        const third = await store.readOutbox(T, second.next, 2);
        expect(third.entries.map((entry) => entry.mirror.quote?.fields?.tag)).toEqual(["5"]);
        const cursors = [...first.entries, ...second.entries, ...third.entries].map((entry) => entry.cursor);
        expect(new Set(cursors).size).toBe(5);
        expect(await store.readOutbox(T, first.entries[0]?.cursor ?? null, 10)).toMatchObject({
          entries: [2, 3, 4, 5].map((n) => ({ mirror: mirror(String(n)) })),
        });
      });

      it("repeats `after` as next when caught up, and resumes there when more is written", async () => {
        await store.commit(changes({ outbox: [mirror("1")] }));
        const read = await store.readOutbox(T, null, 10);
        const caughtUp = await store.readOutbox(T, read.next, 10);
        expect(caughtUp).toEqual({ entries: [], next: read.next });
        await store.commit(changes({ outbox: [mirror("2")] }));
        const more = await store.readOutbox(T, caughtUp.next, 10);
        expect(more.entries.map((entry) => entry.mirror)).toEqual([mirror("2")]);
      });

      it("leaves no trace of failed commits in the order", async () => {
        const { q } = await seedPair();
        await expect(
          store.commit(changes({ quotes: [{ record: { ...q, version: 7 } }], outbox: [mirror("refused")] })),
        ).rejects.toBeInstanceOf(ConcurrentModification);
        await store.commit(changes({ outbox: [mirror("after")] }));
        const tags = (await store.readOutbox(T, null, 10)).entries.map(
          (entry) => entry.mirror.quote?.fields?.tag,
        );
        expect(tags).toEqual(["seed", "after"]);
      });

      it("refuses a cursor past the end of the outbox (one it never gave out) with InvalidCursor", async () => {
        await store.commit(changes({ outbox: [mirror("1"), mirror("2")] }));
        const { next } = await store.readOutbox(T, null, 10);
        expect(next).not.toBeNull();
        // The same shape, one number on: what another table's (or a forged) cursor looks like.
        const beyond = Buffer.from(`o:${T}:3`).toString("base64url");
        await expect(store.readOutbox(T, beyond, 10)).rejects.toBeInstanceOf(InvalidCursor);
        await expect(
          store.readOutbox(T, Buffer.from("o:99").toString("base64url"), 10),
        ).rejects.toBeInstanceOf(InvalidCursor);
        await expect(store.readOutbox("empty", beyond, 10)).rejects.toBeInstanceOf(InvalidCursor);
      });

      it("refuses a forged cursor and another tenant's cursor with InvalidCursor", async () => {
        await store.commit(changes({ outbox: [mirror("1")] }));
        await store.commit(changes({ tenantId: "other", outbox: [mirror("other")] }));
        const { next } = await store.readOutbox("other", null, 10);
        await expect(store.readOutbox(T, next, 10)).rejects.toBeInstanceOf(InvalidCursor);
        await expect(store.readOutbox(T, "bm90LWEtY3Vyc29y", 10)).rejects.toBeInstanceOf(InvalidCursor);
        await expect(store.readOutbox(T, "000000000001", 10)).rejects.toBeInstanceOf(InvalidCursor);
      });

      it("accepts every cursor it gave out, and the older form without a tenant", async () => {
        await store.commit(changes({ outbox: [mirror("1"), mirror("2"), mirror("3")] }));
        const { entries } = await store.readOutbox(T, null, 10);
        for (const [index, entry] of entries.entries()) {
          expect((await store.readOutbox(T, entry.cursor, 10)).entries).toHaveLength(
            entries.length - index - 1,
          );
        }
        const legacy = Buffer.from("o:1").toString("base64url");
        expect((await store.readOutbox(T, legacy, 10)).entries.map((entry) => entry.mirror)).toEqual([
          mirror("2"),
          mirror("3"),
        ]);
      });

      it("commits through a begun commit as through commit, and an abandoned one adds nothing", async () => {
        const begin = (kind: string): PendingCommit =>
          store.beginCommit?.(T, kind) ?? { commit: (c) => store.commit(c), abandon: async () => {} };
        await begin("test").commit(changes({ outbox: [mirror("begun")] }));
        await begin("test").abandon();
        await begin("test").commit(changes({ outbox: [mirror("next")] }));
        const tags = (await store.readOutbox(T, null, 10)).entries.map(
          (entry) => entry.mirror.quote?.fields?.tag,
        );
        expect(tags).toEqual(["begun", "next"]);
      });
    });

    describe("audit trails", () => {
      it("pages an opportunity's trail newest first by time, each entry once, and refuses a forged cursor", async () => {
        const times = [5, 1, 3, 2, 4, 6].map((minute) => START + minute * 60_000);
        for (const at of times) {
          await store.commit(changes({ audit: [{ opportunityId: "o-1", entry: audit(at, `at ${at}`) }] }));
        }
        await store.commit(changes({ audit: [{ opportunityId: "o-2", entry: audit(START, "elsewhere") }] }));
        const read: AuditEntry[] = [];
        let cursor: string | null = null;
        for (let pages = 0; pages < 10; pages++) {
          const page = await store.readAudit(T, "o-1", cursor, 4);
          expect(page.entries.length).toBeLessThanOrEqual(4);
          read.push(...page.entries);
          cursor = page.next;
          if (cursor === null) break;
        }
        expect(cursor).toBeNull();
        expect(read.map((entry) => entry.summary)).toEqual(
          [...times].sort((a, b) => b - a).map((at) => `at ${at}`),
        );
        await expect(store.readAudit(T, "o-1", "bm90LWEtY3Vyc29y", 4)).rejects.toBeInstanceOf(InvalidCursor);
        await expect(store.readAudit(T, "o-1", "4", 4)).rejects.toBeInstanceOf(InvalidCursor);
      });

      it("keeps entries of the same time in write order", async () => {
        await store.commit(
          changes({
            audit: ["first", "second", "third"].map((summary) => ({
              opportunityId: "o-1",
              entry: audit(START, summary),
            })),
          }),
        );
        const page = await store.readAudit(T, "o-1", null, 10);
        expect(page.entries.map((entry) => entry.summary)).toEqual(["third", "second", "first"]);
      });
    });

    describe("lists and indexes", () => {
      it("lists the quotes linked to an opportunity, in id order", async () => {
        await seedPair();
        await store.commit(changes({ quotes: [{ record: quote("q-0", "o-1"), linked: true }] }));
        await store.commit(changes({ quotes: [{ record: quote("q-9", "o-2"), linked: true }] }));
        const listed = await store.listQuotesOfOpportunity(T, "o-1");
        expect(listed.map((q) => q.id)).toEqual(["q-0", "q-1"]);
        expect(listed[0]).toEqual(stored(quote("q-0", "o-1"), 1));
      });

      it("keeps listing a quote that moved to another opportunity, with its header naming the new one", async () => {
        const { q } = await seedPair();
        await store.commit(changes({ quotes: [{ record: { ...q, opportunityId: "o-2" }, linked: true }] }));
        expect((await store.listQuotesOfOpportunity(T, "o-2")).map((x) => x.id)).toEqual(["q-1"]);
        const former = await store.listQuotesOfOpportunity(T, "o-1");
        expect(former.map((x) => [x.id, x.opportunityId])).toEqual([["q-1", "o-2"]]);
      });

      it("indexes synced quotes with pending changes, synced opportunities and listed ones, as their headers change", async () => {
        await store.commit(
          changes({
            opportunity: { record: opportunity("o-1", { syncedQuoteId: "q-1", stage: "Negotiation" }) },
            quotes: [
              { record: quote("q-1", "o-1", { syncing: true, pendingChanges: 2 }), linked: true },
              { record: quote("q-2", "o-2", { syncing: true, pendingChanges: 0 }), linked: true },
              { record: quote("q-3", "o-3", { syncing: false, pendingChanges: 1 }), linked: true },
            ],
          }),
        );
        await store.commit(changes({ opportunity: { record: opportunity("o-2") } }));
        await store.commit(changes({ opportunity: { record: opportunity("o-3", { known: false }) } }));
        expect(await store.listPendingQuoteIds(T, null, 10)).toEqual({ entries: ["q-1"], next: null });
        expect(await store.listSyncedOpportunityIds(T, null, 10)).toEqual({ entries: ["o-1"], next: null });
        expect((await store.listOpportunityIds(T, null, 10)).entries).toEqual(["o-1", "o-2"]);
        expect((await store.listOpportunityIds(T, null, 10, "Negotiation")).entries).toEqual(["o-1"]);
        expect((await store.listOpportunityIds(T, null, 1)).entries).toEqual(["o-1"]);
        expect((await store.listOpportunityIds(T, "o-1", 10)).entries).toEqual(["o-2"]);

        await store.commit(
          changes({
            opportunity: {
              record: opportunity("o-1", { version: 1, syncedQuoteId: null, stage: "Closed Won" }),
            },
            quotes: [{ record: quote("q-1", "o-1", { version: 1, syncing: true, pendingChanges: 0 }) }],
          }),
        );
        await store.commit(
          changes({ opportunity: { record: opportunity("o-2", { version: 1, deleted: true }) } }),
        );
        expect((await store.listPendingQuoteIds(T, null, 10)).entries).toEqual([]);
        expect((await store.listSyncedOpportunityIds(T, null, 10)).entries).toEqual([]);
        expect((await store.listOpportunityIds(T, null, 10)).entries).toEqual(["o-1"]);
        expect((await store.listOpportunityIds(T, null, 10, "Negotiation")).entries).toEqual([]);
        expect((await store.listOpportunityIds(T, null, 10, "Closed Won")).entries).toEqual(["o-1"]);
      });

      it("loads the headers that exist among the ids asked for", async () => {
        await seedPair();
        const opportunities = await store.loadOpportunityHeaders(T, ["o-1", "o-9", "o-1"]);
        expect(opportunities).toEqual([stored(opportunity("o-1"), 1)]);
        const quotes = await store.loadQuoteHeaders(T, ["q-9", "q-1"]);
        expect(quotes).toEqual([stored(quote("q-1", "o-1"), 1)]);
      });
    });

    describe("the scheduled function's items", () => {
      it("saves a checkpoint only over the version it was loaded at", async () => {
        expect(await store.loadScheduleCheckpoint()).toBeNull();
        const position = { tenantId: null, after: null, tenantPassStartedAt: null };
        const checkpoint = { push: position, audit: position, version: null };
        expect(await store.saveScheduleCheckpoint(checkpoint)).toBe(true);
        expect(await store.saveScheduleCheckpoint(checkpoint)).toBe(false);
        const loaded = await store.loadScheduleCheckpoint();
        expect(loaded).toEqual({ ...checkpoint, version: 1 });
        const moved = { ...checkpoint, push: { ...position, tenantId: "acme" }, version: 1 };
        expect(await store.saveScheduleCheckpoint(moved)).toBe(true);
        expect(await store.loadScheduleCheckpoint()).toEqual({ ...moved, version: 2 });
      });

      it("saves, loads, lists, pages and deletes drift findings", async () => {
        const finding = (opportunityId: string): DriftFinding => ({
          opportunityId,
          quoteId: "q-1",
          issues: [],
          detectedAt: new Date(START).toISOString(),
          checkedAt: new Date(START).toISOString(),
        });
        for (const id of ["o-3", "o-1", "o-2"]) await store.saveDriftFinding(T, finding(id));
        await store.saveDriftFinding("other", finding("o-9"));
        expect(await store.loadDriftFinding(T, "o-1")).toEqual(finding("o-1"));
        expect(await store.loadDriftFinding(T, "o-9")).toBeNull();
        const some = await store.loadDriftFindings(T, ["o-2", "o-9", "o-3"]);
        expect(some.map((f) => f.opportunityId).sort()).toEqual(["o-2", "o-3"]);
        const read: string[] = [];
        let cursor: string | null = null;
        for (let pages = 0; pages < 10; pages++) {
          const page = await store.readDriftReport(T, cursor, 2);
          read.push(...page.entries.map((f) => f.opportunityId));
          cursor = page.next;
          if (cursor === null) break;
        }
        expect(read).toEqual(["o-1", "o-2", "o-3"]);
        await expect(store.readDriftReport(T, "o-1", 2)).rejects.toBeInstanceOf(InvalidCursor);
        await store.deleteDriftFinding(T, "o-1");
        expect(await store.loadDriftFinding(T, "o-1")).toBeNull();
      });
    });
  });
}
