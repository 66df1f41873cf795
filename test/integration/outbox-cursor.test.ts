import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Mirror } from "../../domain/model.js";
import { keys } from "../../infra/dynamodb/keys.js";
import { scanAll } from "../support/dynamo.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";
import { handlerHarness } from "../support/handlers.js";

const PAIRS = 24;
const CHANGES_PER_WRITER = 3;
/** Extra writers all on pair 0: their transactions conflict, so sequence numbers get voided. */
const CONTENDING_WRITERS = 8;

type Entry = { cursor: string; at: string; mirror: Mirror };
type Harness = Awaited<ReturnType<typeof handlerHarness>>;

async function readPage(h: Harness, after: string | null, limit: number) {
  const query = `?limit=${limit}${after ? `&after=${after}` : ""}`;
  const response = await h.request("GET", `/sync/demo/outbox${query}`);
  expect(response.statusCode).toBe(200);
  return response.body as { entries: Entry[]; next: string | null };
}

async function readToEnd(
  h: Harness,
  from: string | null,
): Promise<{ entries: Entry[]; cursor: string | null }> {
  const entries: Entry[] = [];
  let cursor = from;
  for (;;) {
    const page = await readPage(h, cursor, 50);
    entries.push(...page.entries);
    // Caught up when the cursor no longer moves (`next` repeats `after`).
    if (page.next === null || page.next === cursor) return { entries, cursor };
    cursor = page.next;
  }
}

/** The mirror's identity in this test: the quote and the one line it upserts. */
const identity = (mirror: Mirror) =>
  `${mirror.quoteId}/${mirror.lines?.upsert.map((l) => `${l.productId}x${l.quantity}`).join(",")}`;

describe("the outbox cursor under concurrent writers (DynamoDB Local, through the handlers)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await handlerHarness();
    for (let p = 0; p < PAIRS; p++) {
      expect((await h.crm(opportunityUpserted(`oc-opp-${p}`, {}, { occurredAt: at(1) }))).statusCode).toBe(
        200,
      );
      expect(
        (await h.cpq(quoteUpserted(`oc-q-${p}`, `oc-opp-${p}`, {}, { occurredAt: at(2) }))).statusCode,
      ).toBe(200);
      expect((await h.start(`oc-q-${p}`)).statusCode).toBe(200);
    }
  });
  afterAll(async () => {
    await h.dispose();
  });

  it(`a connector polling with after= while ${PAIRS + CONTENDING_WRITERS} writers append gets every entry exactly once, in order`, async () => {
    const { cursor: start } = await readToEnd(h, null);
    let writing = true;
    const written: string[] = [];
    let conflictsAnswered503 = 0;

    const change = async (quoteId: string, lineId: string, quantity: number) => {
      const event = quoteLinesUpserted(quoteId, [line(lineId, { quantity: String(quantity) })], {
        occurredAt: new Date(Date.now() + quantity).toISOString(),
      });
      const response = await h.cpq(event);
      if (response.statusCode === 503) {
        conflictsAnswered503++;
        return;
      }
      expect(response.statusCode).toBe(200);
      for (const mirror of response.body.mirrors as Mirror[]) written.push(identity(mirror));
    };
    const writers = [
      ...Array.from({ length: PAIRS }, async (_, p) => {
        for (let k = 1; k <= CHANGES_PER_WRITER; k++) await change(`oc-q-${p}`, `oc-l-${p}`, k + 1);
      }),
      ...Array.from({ length: CONTENDING_WRITERS }, (_, w) => change("oc-q-0", `oc-c-${w}`, 100 + w)),
    ];

    const polled: Entry[] = [];
    let cursor = start;
    let polls = 0;
    const poller = (async () => {
      for (;;) {
        const stillWriting = writing;
        const page = await readPage(h, cursor, 4);
        polls++;
        polled.push(...page.entries);
        if (page.next !== null) cursor = page.next;
        if (!stillWriting && page.entries.length === 0) return;
      }
    })();
    await Promise.all(writers);
    writing = false;
    await poller;

    const cursors = polled.map((entry) => entry.cursor);
    expect(new Set(cursors).size).toBe(cursors.length);
    expect(polled.map((entry) => identity(entry.mirror)).sort()).toEqual([...written].sort());
    expect(written.length).toBe(PAIRS * CHANGES_PER_WRITER + CONTENDING_WRITERS - conflictsAnswered503);
    // The polled sequence is exactly the log as one reader sees it afterwards.
    const after = await readToEnd(h, start);
    expect(after.entries.map((entry) => entry.cursor)).toEqual(cursors);
    expect(polls).toBeGreaterThan(1);

    // A pair's entries are in its commit order: on pair 0 every commit raises the subtotal (new lines,
    // higher quantities), so the amounts its CRM entries carry must rise in outbox order.
    const amounts = polled
      .map((entry) => entry.mirror)
      .filter((mirror) => mirror.target === "crm" && mirror.quoteId === "oc-q-0" && mirror.opportunity)
      .map((mirror) => Number(mirror.opportunity?.amount));
    expect(amounts.length).toBeGreaterThan(CONTENDING_WRITERS / 2);
    expect(amounts).toEqual([...amounts].sort((a, b) => a - b));
    expect(new Set(amounts).size).toBe(amounts.length);

    const outboxItems = (await scanAll(h.table.tableName)).filter(
      (item) => item.pk === keys.outboxPartition("demo"),
    );
    const voided = outboxItems.filter((item) => item.void === true).length;
    console.info(
      `outbox cursor: ${written.length} entries by ${PAIRS + CONTENDING_WRITERS} concurrent writers, ${polls} polls, ${voided} voided sequence numbers, ${conflictsAnswered503} answered 503`,
    );
  });
});
