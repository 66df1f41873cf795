import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { InMemorySyncStore } from "../../domain/memory-store.js";
import { demoTenant } from "../../domain/tenant.js";
import { handler as cpqHandler } from "../../functions/cpq-webhook.js";
import { handler as crmHandler } from "../../functions/crm-webhook.js";
import { createRuntime, setRuntime } from "../../functions/lib/runtime.js";
import { signRequest } from "../../functions/lib/signature.js";
import { scanState } from "../support/dynamo.js";
import { apiGatewayEvent, DEMO_SECRETS, handlerHarness } from "../support/handlers.js";

/** Bodies per property run: `npm test` runs FUZZ_RUNS (default 2,000); `npm run fuzz` runs 10,000+. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
/** The slower DynamoDB Local sample. */
const DYNAMO_RUNS = Math.max(50, Math.floor(RUNS / 20));
/** Long runs (`FUZZ_RUNS=100000`) take minutes; the default 60 s test timeout is for the default. */
const TIMEOUT_MS = Math.max(60_000, RUNS * 10);
/** The DynamoDB sample scans the table around each body: ~0.2 s a body on a busy machine. */
const DYNAMO_TIMEOUT_MS = Math.max(60_000, DYNAMO_RUNS * 500);
/**
 * `npm test` fuzzes with these fixed seeds, so a green run is reproducible; `npm run fuzz`
 * (FUZZ_RUNS set) draws a fresh seed, or FUZZ_SEED's. The DynamoDB seed found `5e-324` in a
 * custom field (a 500 before the schema refused numbers storage cannot hold).
 */
const FIXED_SEEDS = { memory: 20261130, dynamo: 1811746131 } as const;
function seedFor(run: keyof typeof FIXED_SEEDS): { seed?: number } {
  if (process.env.FUZZ_SEED) return { seed: Number(process.env.FUZZ_SEED) };
  return process.env.FUZZ_RUNS ? {} : { seed: FIXED_SEEDS[run] };
}
/**
 * Failures `npm run fuzz` found, replayed exactly (fast-check's seed and shrink path) on every
 * `npm test`: each answered 500 on the code of its day.
 */
const FOUND_FAILURES = [
  // FUZZ_RUNS=100000: `1e38` in a line's custom field (the DynamoDB marshaller refuses integers past 2^53).
  { seed: -2025819431, path: "334:2:2:2:2:3:2:2:3:4:2:3:5:4:5:5:5:5:5:5:5" },
] as const;

/**
 * A number written into the JSON text as is, whatever a double can say: `"#RAW#<text>"` string
 * values are replaced by `<text>` once the body is serialised. Out-of-range numbers for every
 * field kind: denormals, magnitudes DynamoDB cannot hold, more than 38 significant digits.
 */
const RAW = "#RAW#";
const outOfRangeNumber = fc.oneof(
  fc.constantFrom(
    -5e-324,
    5e-324,
    2.2250738585072014e-308,
    1e-131,
    -1e-130,
    1e126,
    -9.999999999999999e125,
    1e200,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MAX_SAFE_INTEGER + 2,
    -(2 ** 60),
    1e38,
  ),
  fc.double({ min: -1e-300, max: 1e-300, noNaN: true }),
  fc.double({ min: 1e120, noDefaultInfinity: true, noNaN: true }),
);
const rawNumberText = fc
  .oneof(
    fc.constantFrom(
      "-5e-324",
      "1e-400",
      "1e400",
      "-0",
      "0e-999",
      "123456789012345678901234567890123456789012",
      "0.000000000000000000000000000000000000000001234",
      "1.00000000000000000000000000000000000000001",
    ),
    fc.bigInt({ min: 10n ** 38n, max: 10n ** 60n }).map(String),
    fc
      .tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: -400, max: 400 }))
      .map(([m, e]) => `${m}e${e}`),
  )
  .map((text) => `${RAW}${text}`);
const extremeNumber = fc.oneof(outOfRangeNumber, rawNumberText);
/** Serialises a generated event, writing the raw number texts into it unquoted. */
function serialise(value: unknown): string {
  return (JSON.stringify(value) ?? "null").replace(/"#RAW#([^"]*)"/g, "$1");
}

const CRM_TYPES = [
  "opportunity.upserted",
  "opportunity.deleted",
  "opportunity.lines.upserted",
  "opportunity.lines.deleted",
  "opportunity.lines.replaced",
];
const CPQ_TYPES = [
  "quote.upserted",
  "quote.deleted",
  "quote.lines.upserted",
  "quote.lines.deleted",
  "quote.lines.replaced",
  "cart.finalized",
  "quote.accepted",
];

// A small id pool, so generated events meet each other's records (and triggers start real syncs).
const poolId = fc.constantFrom("o1", "o2", "q1", "q2", "l1", "l2", "l3", "p1", "a#b", "x/y");
const weirdString = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom("", " ", "__proto__", "constructor", "NaN", "-0", "1e309", "0x1F", "1_000", "١٢٣"),
  fc.integer({ min: 129, max: 5000 }).map((n) => "x".repeat(n)),
);
const anyId = fc.oneof({ weight: 6, arbitrary: poolId }, { weight: 1, arbitrary: weirdString });
const decimalish = fc.oneof(
  fc.constantFrom(
    "0",
    "1",
    "100",
    "133.3300001",
    "0.000001",
    "999999999999.999999",
    "-1",
    "101",
    "1e3",
    "abc",
  ),
  fc.double(),
  fc.integer(),
  fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }).map(String),
  fc.stringMatching(/^-?\d{1,14}(\.\d{1,9})?$/),
  weirdString,
  extremeNumber,
);
const time = fc.oneof(
  fc.integer({ min: 0, max: 10_000_000 }).map((s) => new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString()),
  weirdString,
);
const fieldValue = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue(),
  extremeNumber,
);
const fields = fc.dictionary(
  fc.oneof(fc.constantFrom("Color__c", "Region__c", "Term_Months__c", "Internal_Note__c"), fc.string()),
  fieldValue,
  { maxKeys: 4 },
);
const lineRecord = fc.record(
  {
    id: anyId,
    syncKey: anyId,
    productId: anyId,
    name: fc.oneof(fc.string({ maxLength: 30 }), weirdString),
    quantity: decimalish,
    unitPrice: decimalish,
    discountPercent: decimalish,
    billing: fc.constantFrom("one_time", "recurring", "monthly", null),
    billingPeriod: fc.constantFrom("month", "quarter", "year", "decade"),
    position: fc.oneof(fc.integer(), fc.double(), extremeNumber),
    serviceDate: fc.oneof(fc.constant("2026-02-01"), weirdString),
    fields,
  },
  { requiredKeys: ["id", "productId", "quantity", "unitPrice"] },
);
const header = fc.record(
  {
    id: anyId,
    opportunityId: anyId,
    name: fc.string({ maxLength: 30 }),
    stage: fc.constantFrom("Prospecting", "Negotiation", "Closed Won"),
    status: fc.constantFrom("draft", "approved", "accepted", "bogus"),
    amount: decimalish,
    currency: fc.constantFrom("USD", "EUR", "JPY", "usd", "US"),
    pricebookId: anyId,
    expiresAt: time,
    syncMode: fc.constantFrom("live", "scheduled", "manual", "never"),
    tax: decimalish,
    fees: decimalish,
    fields,
  },
  { requiredKeys: ["id", "currency"] },
);
const data = fc.record(
  {
    opportunity: header,
    quote: header,
    opportunityId: anyId,
    quoteId: anyId,
    lines: fc.array(lineRecord, { maxLength: 4 }),
    lineIds: fc.array(anyId, { maxLength: 4 }),
  },
  { requiredKeys: [] },
);
const envelope = fc.record(
  {
    eventId: fc.oneof(fc.uuid(), anyId),
    type: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...CRM_TYPES, ...CPQ_TYPES) },
      { weight: 1, arbitrary: weirdString },
    ),
    occurredAt: time,
    actor: fc.record({
      userId: anyId,
      permissions: fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
    }),
    data,
  },
  { requiredKeys: ["eventId", "type", "occurredAt", "data"] },
);

const goodDecimal = fc.oneof(
  fc.constantFrom("1", "2.5", "100", "0.000001"),
  fc.integer({ min: 0, max: 10_000 }),
);
const goodLine = fc.record({
  id: fc.constantFrom("l1", "l2", "l3"),
  productId: fc.constantFrom("p1", "p2"),
  quantity: goodDecimal,
  unitPrice: goodDecimal,
  discountPercent: fc.constantFrom("0", "10", "25", "100"),
  fields: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom({}, { Color__c: "red" }, { Term_Months__c: 12 }) },
    { weight: 1, arbitrary: extremeNumber.map((Term_Months__c) => ({ Term_Months__c })) },
  ),
});
/** Well-formed events over the id pool: they reach the engine and build up real state. */
const goodEvent = fc
  .tuple(
    fc.constantFrom(...CRM_TYPES, ...CPQ_TYPES),
    fc.uuid(),
    fc.integer({ min: 0, max: 1000 }),
    fc.constantFrom("o1", "o2"),
    fc.constantFrom("q1", "q2"),
    fc.array(goodLine, { maxLength: 3 }),
    fc.constantFrom("USD", "EUR"),
    fc.oneof(
      { weight: 6, arbitrary: fc.constant({}) },
      { weight: 1, arbitrary: extremeNumber.map((Region__c) => ({ Region__c })) },
    ),
  )
  .map(([type, eventId, second, opportunityId, quoteId, lines, currency, headerFields]) => ({
    eventId,
    type,
    occurredAt: new Date(Date.UTC(2026, 0, 1) + second * 1000).toISOString(),
    data: {
      opportunity: { id: opportunityId, currency, stage: "Prospecting", fields: headerFields },
      quote: { id: quoteId, opportunityId, currency, status: "draft", fields: headerFields },
      opportunityId,
      quoteId,
      lines,
      lineIds: [...lines.map((l): string => l.id), "l9"],
    },
  }));

/** Text-level damage to a JSON body: cut it, splice in bytes, or plant hostile tokens. */
const mutatedText = fc
  .tuple(
    envelope,
    fc.nat(),
    fc.nat(),
    fc.constantFrom(
      "",
      "}",
      "]",
      '"',
      "\\",
      ",",
      "1e309",
      "-",
      "\u0000",
      '"__proto__":{"polluted":1},',
      "[[[[[[[[",
      "-5e-324",
      "1e200",
      "123456789012345678901234567890123456789012",
    ),
  )
  .map(([event, a, b, insert]) => {
    const text = serialise(event);
    const from = a % (text.length + 1);
    const to = Math.min(text.length, from + (b % 8));
    return text.slice(0, from) + insert + text.slice(to);
  });

/** Any body at all: generated events, damaged events, arbitrary JSON, arbitrary text. */
const body = fc.oneof(
  { weight: 4, arbitrary: goodEvent.map(serialise) },
  { weight: 4, arbitrary: envelope.map(serialise) },
  { weight: 3, arbitrary: mutatedText },
  { weight: 1, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value) ?? "null") },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
);

const target = fc.constantFrom("crm", "cpq") as fc.Arbitrary<"crm" | "cpq">;

async function send(source: "crm" | "cpq", text: string) {
  const path = `/webhooks/${source}/demo`;
  const event = apiGatewayEvent({
    method: "POST",
    routeKey: `/webhooks/${source}/{tenantId}`,
    path,
    body: text,
    headers: {
      "x-quotesync-signature": signRequest({
        secret: DEMO_SECRETS[source],
        method: "POST",
        pathWithQuery: path,
        body: text,
      }),
    },
    pathParameters: { tenantId: "demo" },
  });
  const result = await (source === "crm" ? crmHandler : cpqHandler)(event, {} as never);
  return { statusCode: result.statusCode ?? 200, body: String(result.body ?? "") };
}

const tally = {
  bodies: 0,
  by: new Map<number, number>(),
  serverErrors: 0,
  writesOn4xx: 0,
  auditedRefusals: 0,
};
function count(status: number) {
  tally.bodies++;
  tally.by.set(status, (tally.by.get(status) ?? 0) + 1);
  if (status >= 500) tally.serverErrors++;
}

describe(`fuzzing the webhook handlers with signed hostile bodies (${RUNS} in memory + ${DYNAMO_RUNS} on DynamoDB Local)`, () => {
  afterAll(() => {
    const statuses = [...tally.by.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}: ${n}`);
    console.info(
      `fuzz: ${tally.bodies} bodies, ${tally.serverErrors} 5xx, ${tally.writesOn4xx} writes on 4xx, ` +
        `${tally.auditedRefusals} audited refusals; statuses ${statuses.join(", ")}`,
    );
  });

  it(
    "never answers 5xx and never writes on a 4xx (in-memory store)",
    async () => {
      const store = new InMemorySyncStore();
      await store.putTenant(demoTenant(DEMO_SECRETS));
      setRuntime(createRuntime(store, { tenantCacheMs: 0 }));
      try {
        await fc.assert(
          fc.asyncProperty(target, body, async (source, text) => {
            const commits = store.commits;
            const response = await send(source, text);
            count(response.statusCode);
            expect(response.statusCode, response.body).toBeLessThan(500);
            if (response.statusCode >= 400) {
              const code = JSON.parse(response.body).error.code as string;
              expect(typeof code).toBe("string");
              // SPEC §1.13: a refused trigger is audited — its audit entry is the one write a 4xx may make.
              if (response.statusCode === 409 || response.statusCode === 403) {
                if (store.commits !== commits) tally.auditedRefusals++;
                expect(store.commits - commits).toBeLessThanOrEqual(1);
              } else {
                if (store.commits !== commits) tally.writesOn4xx++;
                expect(store.commits).toBe(commits);
              }
            }
          }),
          { numRuns: RUNS, ...seedFor("memory") },
        );
      } finally {
        setRuntime(undefined);
      }
    },
    TIMEOUT_MS,
  );

  it(
    "never answers 5xx and leaves the table unchanged on a 4xx (DynamoDB Local sample)",
    async () => {
      const h = await handlerHarness();
      try {
        await fc.assert(
          fc.asyncProperty(target, body, async (source, text) => {
            const before = await scanState(h.table.tableName);
            const response = await send(source, text);
            count(response.statusCode);
            expect(response.statusCode, response.body).toBeLessThan(500);
            if (response.statusCode >= 400 && response.statusCode !== 409 && response.statusCode !== 403) {
              const after = await scanState(h.table.tableName);
              if (after.length !== before.length) tally.writesOn4xx++;
              expect(after).toEqual(before);
            }
          }),
          { numRuns: DYNAMO_RUNS, ...seedFor("dynamo") },
        );
      } finally {
        await h.dispose();
      }
    },
    DYNAMO_TIMEOUT_MS,
  );

  for (const failure of FOUND_FAILURES) {
    it(`replays the failure found with seed ${failure.seed} without a 5xx (DynamoDB Local)`, async () => {
      const h = await handlerHarness();
      try {
        await fc.assert(
          fc.asyncProperty(target, body, async (source, text) => {
            const response = await send(source, text);
            count(response.statusCode);
            expect(response.statusCode, response.body).toBeLessThan(500);
          }),
          { ...failure, endOnFailure: true },
        );
      } finally {
        await h.dispose();
      }
    });
  }
});
