import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIMITS } from "../../domain/events.js";
import { outboxGaps, scanState } from "../support/dynamo.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";
import { handlerHarness } from "../support/handlers.js";

/** The most custom-field text the schema lets one record carry: ~400 KB, DynamoDB's item limit. */
const maxFields = () =>
  Object.fromEntries(
    Array.from({ length: LIMITS.fieldsPerRecord }, (_, i) => [
      `Field_${i}`,
      "v".repeat(LIMITS.fieldValueLength),
    ]),
  );

describe("storage limits (DynamoDB Local, through the handlers)", () => {
  let h: Awaited<ReturnType<typeof handlerHarness>>;
  beforeAll(async () => {
    h = await handlerHarness();
    expect((await h.crm(opportunityUpserted("o-lim", {}, { occurredAt: at(1) }))).statusCode).toBe(200);
    expect((await h.cpq(quoteUpserted("q-lim", "o-lim", {}, { occurredAt: at(2) }))).statusCode).toBe(200);
    expect((await h.start("q-lim")).statusCode).toBe(200);
  });
  afterAll(async () => {
    await h.dispose();
  });

  it(`refuses ${LIMITS.linesPerEvent + 1} lines in one event with 422 and writes nothing`, async () => {
    const before = await scanState(h.table.tableName);
    const lines = Array.from({ length: LIMITS.linesPerEvent + 1 }, (_, i) => ({
      id: `l${i}`,
      productId: "p",
      quantity: 1,
      unitPrice: 1,
    }));
    const response = await h.cpq(quoteLinesUpserted("q-lim", lines));
    expect(response.statusCode).toBe(422);
    expect(response.body.error.details.map((d: { path: unknown }) => d.path)).toContainEqual([
      "data",
      "lines",
    ]);
    expect(await scanState(h.table.tableName)).toEqual(before);
  });

  it("stores a line and an opportunity carrying the most custom-field text the schema allows (it fits in 400 KB)", async () => {
    expect(
      (await h.cpq(quoteLinesUpserted("q-lim", [line("l-huge", { fields: maxFields() })]))).statusCode,
    ).toBe(200);
    expect((await h.crm(opportunityUpserted("o-lim", { fields: maxFields() }))).statusCode).toBe(200);
  });
});

describe("a decision that would need an item over 400 KB (DynamoDB Local, through the handlers)", () => {
  let h: Awaited<ReturnType<typeof handlerHarness>>;
  beforeAll(async () => {
    h = await handlerHarness();
    expect((await h.crm(opportunityUpserted("o-big", {}, { occurredAt: at(1) }))).statusCode).toBe(200);
    expect((await h.cpq(quoteUpserted("q-big", "o-big", {}, { occurredAt: at(2) }))).statusCode).toBe(200);
    expect((await h.start("q-big")).statusCode).toBe(200);
  });
  afterAll(async () => {
    await h.dispose();
  });

  it("refuses 200 lines whose mapped custom fields make an incompressible mirror with 422, writing nothing", async () => {
    const before = await scanState(h.table.tableName);
    // Color__c maps to the CRM, so it travels in the mirror, the outbox entry and the stored response.
    const lines = Array.from({ length: 200 }, (_, i) =>
      line(`big-${i}`, {
        fields: { Color__c: randomBytes(2900).toString("base64").slice(0, LIMITS.fieldValueLength) },
      }),
    );
    const response = await h.cpq(quoteLinesUpserted("q-big", lines, { occurredAt: at(10) }));
    expect(response.statusCode).toBe(422);
    expect(response.body.error.code).toBe("invalid_event");
    expect(response.body.error.message).toContain("400 KB");
    expect(await scanState(h.table.tableName)).toEqual(before);
    // The outbox number taken ahead of the reads is voided: no reader of the tenant's outbox stalls.
    expect(await outboxGaps(h.table.tableName)).toEqual([]);
  });
});
