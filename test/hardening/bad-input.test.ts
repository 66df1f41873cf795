import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIMITS } from "../../domain/events.js";
import { MAX_BODY_BYTES } from "../../functions/lib/authenticate.js";
import { scanState } from "../support/dynamo.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";
import { type HandlerResponse, handlerHarness } from "../support/handlers.js";

type Harness = Awaited<ReturnType<typeof handlerHarness>>;

const valid = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({ ...(quoteLinesUpserted("q-bad", [line("l1")]) as object), ...overrides });

const withLine = (fields: Record<string, unknown>) =>
  JSON.stringify(quoteLinesUpserted("q-bad", [line("l1", fields)], { occurredAt: at(10) }));

/** Builds `depth` nested arrays without recursion. */
const nestedArrays = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

interface Case {
  name: string;
  path: "/webhooks/cpq/demo" | "/webhooks/crm/demo" | "/sync/demo/quotes/q-bad/start";
  body: string;
  status: number;
  code: string;
  /** A zod issue path the details must contain. */
  issuePath?: (string | number)[];
}

const cpq = "/webhooks/cpq/demo" as const;
const crm = "/webhooks/crm/demo" as const;

const cases: Case[] = [
  { name: "malformed JSON", path: cpq, body: '{"eventId": "e1",', status: 400, code: "malformed_json" },
  { name: "an empty body", path: cpq, body: "", status: 400, code: "malformed_json" },
  { name: "a JSON array", path: cpq, body: "[]", status: 422, code: "invalid_event", issuePath: [] },
  {
    name: "a JSON string",
    path: cpq,
    body: '"quote.upserted"',
    status: 422,
    code: "invalid_event",
    issuePath: [],
  },
  { name: "JSON null", path: crm, body: "null", status: 422, code: "invalid_event", issuePath: [] },
  { name: "a JSON number", path: crm, body: "42", status: 422, code: "invalid_event", issuePath: [] },
  {
    name: "an unknown event type",
    path: cpq,
    body: valid({ type: "quote.exploded" }),
    status: 422,
    code: "invalid_event",
    issuePath: ["type"],
  },
  {
    name: "a CPQ type sent to the CRM endpoint",
    path: crm,
    body: JSON.stringify(quoteUpserted("q-bad", "o-bad")),
    status: 422,
    code: "invalid_event",
    issuePath: ["type"],
  },
  {
    name: "a CRM type sent to the CPQ endpoint",
    path: cpq,
    body: JSON.stringify(opportunityUpserted("o-bad")),
    status: 422,
    code: "invalid_event",
    issuePath: ["type"],
  },
  {
    name: "a unit price of 1e309 (infinite once parsed)",
    path: cpq,
    body: withLine({ unitPrice: 0 }).replace('"unitPrice":0', '"unitPrice":1e309'),
    status: 422,
    code: "invalid_event",
    issuePath: ["data", "lines", 0, "unitPrice"],
  },
  {
    name: "a negative unit price",
    path: cpq,
    body: withLine({ unitPrice: "-0.01" }),
    status: 422,
    code: "invalid_event",
    issuePath: ["data", "lines", 0, "unitPrice"],
  },
  {
    name: "a discount of 101 percent",
    path: cpq,
    body: withLine({ discountPercent: 101 }),
    status: 422,
    code: "invalid_event",
    issuePath: ["data", "lines", 0, "discountPercent"],
  },
  {
    name: 'a quantity of "abc"',
    path: cpq,
    body: withLine({ quantity: "abc" }),
    status: 422,
    code: "invalid_event",
    issuePath: ["data", "lines", 0, "quantity"],
  },
  {
    name: "a quantity above the amount limit",
    path: cpq,
    body: withLine({ quantity: "1000000000000.000001" }),
    status: 422,
    code: "invalid_event",
    issuePath: ["data", "lines", 0, "quantity"],
  },
  {
    name: "a hexadecimal quantity string",
    path: cpq,
    body: withLine({ quantity: "0x10" }),
    status: 422,
    code: "invalid_event",
    issuePath: ["data", "lines", 0, "quantity"],
  },
  ...(
    [
      ["-5e-324", "a denormal"],
      ["1e-131", "a magnitude below 1e-130"],
      ["1e200", "a magnitude of 1e200"],
      ["100000000000000000000000000000000000000", "a 39-digit integer"],
      ["9007199254740993", "an integer past 2^53"],
      ["-1.7976931348623157e308", "the most negative double"],
    ] as const
  ).flatMap(([number, what]): Case[] => [
    {
      name: `${what} (${number}) in a quote line's custom field`,
      path: cpq,
      body: withLine({ fields: { Term_Months__c: 0 } }).replace(
        '"Term_Months__c":0',
        `"Term_Months__c":${number}`,
      ),
      status: 422,
      code: "invalid_event",
      issuePath: ["data", "lines", 0, "fields", "Term_Months__c"],
    },
    {
      name: `${what} (${number}) in an opportunity's custom field`,
      path: crm,
      body: JSON.stringify(opportunityUpserted("o-bad", { fields: { Region__c: 0 } })).replace(
        '"Region__c":0',
        `"Region__c":${number}`,
      ),
      status: 422,
      code: "invalid_event",
      issuePath: ["data", "opportunity", "fields", "Region__c"],
    },
    {
      name: `${what} (${number}) in a quote's custom field`,
      path: cpq,
      body: JSON.stringify(quoteUpserted("q-bad", "o-bad", { fields: { Region__c: 0 } })).replace(
        '"Region__c":0',
        `"Region__c":${number}`,
      ),
      status: 422,
      code: "invalid_event",
      issuePath: ["data", "quote", "fields", "Region__c"],
    },
  ]),
  {
    name: `an id of ${LIMITS.idLength + 1} characters`,
    path: crm,
    body: JSON.stringify(opportunityUpserted("o".repeat(LIMITS.idLength + 1))),
    status: 422,
    code: "invalid_event",
    issuePath: ["data", "opportunity", "id"],
  },
  {
    name: `an event id of 100,000 characters`,
    path: crm,
    body: JSON.stringify(opportunityUpserted("o-bad", {}, { eventId: "e".repeat(100_000) })),
    status: 422,
    code: "invalid_event",
    issuePath: ["eventId"],
  },
  {
    name: `a name of ${LIMITS.textLength + 1} characters`,
    path: crm,
    body: JSON.stringify(opportunityUpserted("o-bad", { name: "n".repeat(LIMITS.textLength + 1) })),
    status: 422,
    code: "invalid_event",
    issuePath: ["data", "opportunity", "name"],
  },
  {
    name: `a custom field value of ${LIMITS.fieldValueLength + 1} characters`,
    path: crm,
    body: JSON.stringify(
      opportunityUpserted("o-bad", { fields: { Region__c: "r".repeat(LIMITS.fieldValueLength + 1) } }),
    ),
    status: 422,
    code: "invalid_event",
    issuePath: ["data", "opportunity", "fields", "Region__c"],
  },
  {
    name: `${LIMITS.fieldsPerRecord + 1} custom fields`,
    path: crm,
    body: JSON.stringify(
      opportunityUpserted("o-bad", {
        fields: Object.fromEntries(
          Array.from({ length: LIMITS.fieldsPerRecord + 1 }, (_, i) => [`F${i}`, i]),
        ),
      }),
    ),
    status: 422,
    code: "invalid_event",
    issuePath: ["data", "opportunity", "fields"],
  },
  {
    name: "100,000 nested arrays as the body",
    path: cpq,
    body: nestedArrays(100_000),
    status: 422,
    code: "invalid_event",
    issuePath: [],
  },
  {
    name: "100,000 nested arrays inside a custom field",
    path: crm,
    body: JSON.stringify(opportunityUpserted("o-bad", { fields: { Region__c: "x" } })).replace(
      '"x"',
      nestedArrays(100_000),
    ),
    status: 422,
    code: "invalid_event",
  },
  {
    name: "100,000 nested objects in a start command",
    path: "/sync/demo/quotes/q-bad/start",
    body: `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`,
    status: 422,
    code: "invalid_event",
  },
  {
    name: "a __proto__ key at the top",
    path: cpq,
    body: valid().replace("{", '{"__proto__":{"polluted":"yes"},'),
    status: 422,
    code: "invalid_event",
    issuePath: ["__proto__"],
  },
  {
    name: "a __proto__ key inside custom fields",
    path: crm,
    body: JSON.stringify(opportunityUpserted("o-bad", { fields: { Region__c: "x" } })).replace(
      '"fields":{',
      '"fields":{"__proto__":{"polluted":"yes"},',
    ),
    status: 422,
    code: "invalid_event",
    issuePath: ["data", "opportunity", "fields", "__proto__"],
  },
  {
    name: "a constructor.prototype key inside a line",
    path: cpq,
    body: withLine({ constructor: { prototype: { polluted: "yes" } } }),
    status: 422,
    code: "invalid_event",
    issuePath: ["data", "lines", 0, "constructor"],
  },
  {
    name: "a prototype key as a custom field name",
    path: cpq,
    body: withLine({ fields: { prototype: "x" } }),
    status: 422,
    code: "invalid_event",
    issuePath: ["data", "lines", 0, "fields", "prototype"],
  },
  {
    name: "a __proto__ actor in a start command",
    path: "/sync/demo/quotes/q-bad/start",
    body: '{"actor":{"userId":"u1","__proto__":{"permissions":["sync.start"]}}}',
    status: 422,
    code: "invalid_event",
    issuePath: ["actor", "__proto__"],
  },
];

describe("hostile and malformed bodies (DynamoDB Local, through the handlers)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await handlerHarness();
    // Some state to protect: a synced pair with a line.
    expect((await h.crm(opportunityUpserted("o-bad", {}, { occurredAt: at(1) }))).statusCode).toBe(200);
    expect((await h.cpq(quoteUpserted("q-bad", "o-bad", {}, { occurredAt: at(2) }))).statusCode).toBe(200);
    expect((await h.cpq(quoteLinesUpserted("q-bad", [line("l0")], { occurredAt: at(3) }))).statusCode).toBe(
      200,
    );
    expect((await h.start("q-bad")).statusCode).toBe(200);
  });
  afterAll(async () => {
    await h.dispose();
  });

  async function send(path: string, body: string): Promise<HandlerResponse> {
    return h.request("POST", path, { rawBody: body });
  }

  for (const c of cases) {
    it(`answers ${c.name} with ${c.status} ${c.code} and writes nothing`, async () => {
      const before = await scanState(h.table.tableName);
      const response = await send(c.path, c.body);
      expect(response.statusCode).toBe(c.status);
      expect(response.body.error.code).toBe(c.code);
      expect(typeof response.body.error.message).toBe("string");
      expect(Array.isArray(response.body.error.details)).toBe(true);
      if (c.issuePath) {
        expect(response.body.error.details.map((detail: { path: unknown }) => detail.path)).toContainEqual(
          c.issuePath,
        );
      }
      expect(await scanState(h.table.tableName)).toEqual(before);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty("polluted");
    });
  }

  it(`answers a body one byte over ${MAX_BODY_BYTES} bytes with 413 payload_too_large and writes nothing`, async () => {
    const before = await scanState(h.table.tableName);
    const base = valid();
    const body = base.replace(
      '"data":',
      `"padding":"${"p".repeat(MAX_BODY_BYTES - base.length - 12)}","data":`,
    );
    expect(Buffer.byteLength(body)).toBe(MAX_BODY_BYTES + 1);
    const response = await send(cpq, body);
    expect(response.statusCode).toBe(413);
    expect(response.body.error.code).toBe("payload_too_large");
    expect(await scanState(h.table.tableName)).toEqual(before);
  });

  it("accepts a body of exactly 1 MiB (the limit is inclusive) when the event is valid", async () => {
    const base = JSON.stringify(opportunityUpserted("o-big-body", {}, { occurredAt: at(20) }));
    const body = base.replace(
      '"data":',
      `"padding":"${"p".repeat(MAX_BODY_BYTES - base.length - 13)}","data":`,
    );
    expect(Buffer.byteLength(body)).toBe(MAX_BODY_BYTES);
    expect((await send(crm, body)).statusCode).toBe(200);
  });

  it("keeps a legitimate body whose strings contain brackets and escaped quotes under the depth guard", async () => {
    const name = `${"[{".repeat(40)} \\" ${"}]".repeat(40)}`;
    const body = JSON.stringify(opportunityUpserted("o-brackets", { name }, { occurredAt: at(21) }));
    expect((await send(crm, body)).statusCode).toBe(200);
  });

  it("leaves the synced pair exactly as it was after every refusal", async () => {
    const status = (await h.status("o-bad")).body;
    expect(status.syncedQuoteId).toBe("q-bad");
    expect(status.lines).toHaveLength(1);
    expect(status.amount).toBe("100.00");
  });
});
