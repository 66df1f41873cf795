import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConcurrentModification } from "../../domain/errors.js";
import type { Mirror } from "../../domain/model.js";
import type { ChangeSet } from "../../domain/store.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import { localDynamoClientConfig } from "../../infra/dynamodb-local.js";
import { dynamoEndpoint, outboxGaps, scanAll } from "../support/dynamo.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";
import { handlerHarness } from "../support/handlers.js";

type Harness = Awaited<ReturnType<typeof handlerHarness>>;

const mirror = (tag: string): Mirror => ({
  target: "crm",
  opportunityId: "ord-opp",
  quoteId: "ord-q",
  quote: { syncing: true, fields: { tag } },
});

/** A commit that writes nothing of the pair but relies on its opportunity and adds one entry. */
const relyingCommit = (version: number | null, tag: string): ChangeSet => ({
  tenantId: "demo",
  quotes: [],
  unchanged: [{ kind: "opportunity", id: "ord-opp", version }],
  outbox: [mirror(tag)],
  audit: [],
});

describe("outbox numbers taken ahead of a decision's reads (DynamoDB Local)", () => {
  let h: Harness;
  /** A second container: its own store, so it knows nothing the first has read. */
  let other: DynamoSyncStore;
  let event = 0;

  beforeAll(async () => {
    h = await handlerHarness();
    other = new DynamoSyncStore({
      doc: DynamoDBDocumentClient.from(h.table.client, { marshallOptions: { removeUndefinedValues: true } }),
      tableName: h.table.tableName,
    });
    expect((await h.crm(opportunityUpserted("ord-opp", {}, { occurredAt: at(1) }))).statusCode).toBe(200);
    expect((await h.cpq(quoteUpserted("ord-q", "ord-opp", {}, { occurredAt: at(2) }))).statusCode).toBe(200);
    expect((await h.start("ord-q")).statusCode).toBe(200);
  });
  afterAll(async () => {
    await h.dispose();
  });

  /** A line change on the synced pair through the handler: a new opportunity version and one entry. */
  async function lineChange(): Promise<void> {
    event++;
    const response = await h.cpq(
      quoteLinesUpserted("ord-q", [line(`ord-l${event}`)], {
        eventId: `ord-${event}`,
        occurredAt: at(100 + event),
      }),
    );
    expect(response.statusCode).toBe(200);
  }

  async function opportunityVersion(store: DynamoSyncStore): Promise<number> {
    const loaded = await store.loadOpportunity("demo", "ord-opp");
    return loaded?.header.version as number;
  }

  /** The tags and sequence numbers of the pair's entries, in outbox order, and the void numbers. */
  async function outbox() {
    const items = (await scanAll(h.table.tableName)).filter((item) => item.pk === "T#demo#OUTBOX");
    return {
      tags: items.map((item) => (item.mirror as Mirror | undefined)?.quote?.fields?.tag ?? null),
      voids: items.filter((item) => item.void).map((item) => Number(item.sk)),
      numbers: items.map((item) => Number(item.sk)),
    };
  }

  it("renumbers a reservation it can see is older than the pair's newest entry, before writing", async () => {
    const pending = h.store.beginCommit("demo", "test");
    await lineChange(); // commits after the reservation, with a higher number
    const version = await opportunityVersion(h.store); // the read sees that commit
    await pending.commit(relyingCommit(version, "after-read"));
    const { tags } = await outbox();
    // The line change's entry comes first; the commit that read it comes after it.
    expect(tags.at(-1)).toBe("after-read");
    expect(tags.at(-2)).toBeNull();
  });

  it("is refused by the header condition when another container's entry is newer, and renumbered", async () => {
    const pending = h.store.beginCommit("demo", "test");
    const version = await opportunityVersion(h.store);
    // Another container relies on the same opportunity version and commits first, with a newer number.
    const second = other.beginCommit("demo", "test");
    await opportunityVersion(other);
    await second.commit(relyingCommit(version, "other-container"));
    await pending.commit(relyingCommit(version, "first-reserved"));
    const { tags, voids, numbers } = await outbox();
    expect(tags.slice(-2)).toEqual(["other-container", "first-reserved"]);
    // The number taken first was given up (void), not used out of order.
    const otherNumber = numbers[tags.lastIndexOf("other-container")] as number;
    expect(voids.at(-1)).toBeLessThan(otherNumber);
    expect(numbers[tags.lastIndexOf("first-reserved")]).toBeGreaterThan(otherNumber);
  });

  it("still refuses a commit whose records changed since its read, and voids its number", async () => {
    const pending = h.store.beginCommit("demo", "test");
    const version = await opportunityVersion(h.store);
    await lineChange(); // a newer opportunity version
    const before = await outbox();
    await expect(pending.commit(relyingCommit(version, "outdated"))).rejects.toBeInstanceOf(
      ConcurrentModification,
    );
    const after = await outbox();
    expect(after.tags).not.toContain("outdated");
    expect(after.voids.length).toBeGreaterThan(before.voids.length);
  });

  it("takes as many numbers ahead as the last commit of the same kind used, and voids those left over", async () => {
    const version = await opportunityVersion(h.store);
    const three = h.store.beginCommit("demo", "several");
    await three.commit({ ...relyingCommit(version, "one-of-three"), outbox: ["a", "b", "c"].map(mirror) });
    const before = await outbox();
    const next = h.store.beginCommit("demo", "several"); // expects three entries: takes three numbers
    await next.commit(relyingCommit(version, "single"));
    const after = await outbox();
    expect(after.numbers.length - before.numbers.length).toBe(3);
    expect(after.voids.length - before.voids.length).toBe(2);
    expect(after.tags.filter((tag) => tag !== null).slice(-4)).toEqual(["a", "b", "c", "single"]);
  });

  it("stops taking numbers ahead for a kind whose recent decisions mostly wrote no entry, and resumes", async () => {
    const version = await opportunityVersion(h.store);
    const counter = async () =>
      Number((await scanAll(h.table.tableName)).find((item) => String(item.pk).endsWith("#OUTBOX#SEQ"))?.seq);
    const nothing = { ...relyingCommit(version, "unused"), outbox: [] };
    const taken: number[] = [];
    for (let index = 0; index < 6; index++) {
      const before = await counter();
      await h.store.beginCommit("demo", "echo").commit(nothing);
      taken.push((await counter()) - before);
    }
    // Shares of commits with entries: 1 → 0.8 → 0.64 → 0.51 → 0.41: the fifth and sixth take none.
    expect(taken).toEqual([1, 1, 1, 1, 0, 0]);
    // A commit with an entry still gets its number (after its reads), and in order.
    await h.store.beginCommit("demo", "echo").commit(relyingCommit(version, "after-echoes"));
    expect((await outbox()).tags.at(-1)).toBe("after-echoes");
  });

  it("takes fresh numbers when topping up a reservation outlasted the write deadline, voiding the old ones", async () => {
    // A container whose clock jumps 25 s (past the 20 s write deadline) while the counter tops up
    // a reservation: the numbers taken first may already have been skipped by a reader.
    let now = Date.now();
    let slowTopUp = false;
    const client = new DynamoDBClient(localDynamoClientConfig(dynamoEndpoint()));
    client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { UpdateExpression?: string };
        if (slowTopUp && input.UpdateExpression?.startsWith("ADD")) {
          slowTopUp = false;
          now += 25_000;
        }
        return next(args);
      },
      { step: "initialize", name: "slowTopUp" },
    );
    const slow = new DynamoSyncStore({
      doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
      tableName: h.table.tableName,
      clock: () => now,
    });
    try {
      const before = await outbox();
      const pending = slow.beginCommit("demo", "top-up"); // one number: this kind's first commit
      const version = await opportunityVersion(slow);
      slowTopUp = true;
      await pending.commit({ ...relyingCommit(version, "x"), outbox: ["top-1", "top-2"].map(mirror) });
      const after = await outbox();
      expect(after.tags.slice(-2)).toEqual(["top-1", "top-2"]);
      // The reserved number and its late top-up are void; the entries have the two numbers after them.
      const voided = after.voids.filter((sequence) => !before.voids.includes(sequence));
      expect(voided).toHaveLength(2);
      const written = after.numbers.slice(-2);
      expect(Math.min(...written)).toBeGreaterThan(Math.max(...voided));
      expect(await outboxGaps(h.table.tableName)).toEqual([]);
    } finally {
      client.destroy();
    }
  });

  it("voids the number of a decision that ends without writing, so readers need not wait for it", async () => {
    const before = await outbox();
    const pending = h.store.beginCommit("demo", "test");
    await pending.abandon();
    const after = await outbox();
    expect(after.voids.length).toBe(before.voids.length + 1);
    // Every number taken so far is written or void: no gap holds a reader back.
    expect(after.numbers).toEqual(after.numbers.map((_, index) => index + 1));
    const page = await h.store.readOutbox("demo", null, 1000);
    expect(page.entries).toHaveLength(after.numbers.length - after.voids.length);
  });
});
