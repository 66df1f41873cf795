import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIMITS } from "../../domain/events.js";
import { scanState } from "../support/dynamo.js";
import { at, line, opportunityUpserted, quoteLinesUpserted, quoteUpserted } from "../support/events.js";
import { type HandlerResponse, handlerHarness } from "../support/handlers.js";

type Harness = Awaited<ReturnType<typeof handlerHarness>>;

const HUGE = "x".repeat(3000);
const b64 = (text: string) => Buffer.from(text).toString("base64url");

/** A 4xx with the error body of SPEC §2 that does not quote the huge id back. */
function expectRefusal(response: HandlerResponse, status: number | number[]) {
  expect([status].flat()).toContain(response.statusCode);
  expect(typeof response.body.error.code).toBe("string");
  expect(JSON.stringify(response.body)).not.toContain("x".repeat(200));
}

describe("path ids and cursors (DynamoDB Local, through the handlers)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await handlerHarness();
    expect((await h.crm(opportunityUpserted("o-path", {}, { occurredAt: at(1) }))).statusCode).toBe(200);
    expect((await h.cpq(quoteUpserted("q-path", "o-path", {}, { occurredAt: at(2) }))).statusCode).toBe(200);
    expect((await h.cpq(quoteLinesUpserted("q-path", [line("l1")], { occurredAt: at(3) }))).statusCode).toBe(
      200,
    );
    expect((await h.start("q-path")).statusCode).toBe(200);
    expect((await h.stop("q-path")).statusCode).toBe(200);
    expect((await h.start("q-path")).statusCode).toBe(200);
  });
  afterAll(async () => {
    await h.dispose();
  });

  const badIds: Array<[string, string]> = [
    [`an id of 3,000 characters`, HUGE],
    [`an id of ${LIMITS.idLength + 1} characters`, "q".repeat(LIMITS.idLength + 1)],
    ["an id with a space", "q path"],
    ["an id with a non-ASCII letter", "qé"],
  ];

  for (const [what, id] of badIds) {
    for (const command of ["start", "stop"] as const) {
      it(`answers ${command} of a quote named by ${what} with 422 naming the path parameter, writing nothing`, async () => {
        const before = await scanState(h.table.tableName);
        const response = await h[command](id);
        expectRefusal(response, 422);
        expect(response.body.error.details).toContainEqual(
          expect.objectContaining({ path: ["pathParameters", "quoteId"] }),
        );
        expect(await scanState(h.table.tableName)).toEqual(before);
      });
    }
    for (const suffix of ["", "/audit"]) {
      it(`answers GET opportunities/{id}${suffix} for ${what} with 422 naming the path parameter`, async () => {
        const response = await h.request(
          "GET",
          `/sync/demo/opportunities/${encodeURIComponent(id)}${suffix}`,
        );
        expectRefusal(response, 422);
        expect(response.body.error.details).toContainEqual(
          expect.objectContaining({ path: ["pathParameters", "opportunityId"] }),
        );
      });
    }
  }

  it("answers a tenant id of 3,000 characters with 404 and does not echo it", async () => {
    const response = await h.request("POST", `/webhooks/crm/${HUGE}`, {
      body: opportunityUpserted("o-x"),
    });
    expectRefusal(response, 404);
  });

  const badCursors: Array<[string, string]> = [
    ["!!!!", "!!!!"],
    ["a cursor decoding to nothing", "A"],
    ["a cursor of binary bytes", "AAAA"],
    ["a cursor of 3,000 characters", b64(HUGE)],
  ];
  it("refuses an audit cursor that is no audit position with a 4xx, not 500", async () => {
    const response = await h.request(
      "GET",
      `/sync/demo/opportunities/o-path/audit?cursor=${b64("T#other#A#o-path")}`,
    );
    expectRefusal(response, [400, 422]);
  });
  it("refuses a drift cursor that is no opportunity id with a 4xx, not 500", async () => {
    const response = await h.request("GET", `/sync/demo/drift?cursor=${b64("o path ü")}`);
    expectRefusal(response, [400, 422]);
  });
  for (const [what, cursor] of badCursors) {
    it(`refuses ${what} on the audit read with a 4xx, not 500`, async () => {
      const response = await h.request("GET", `/sync/demo/opportunities/o-path/audit?cursor=${cursor}`);
      expectRefusal(response, [400, 422]);
    });
    it(`refuses ${what} on the drift read with a 4xx, not 500`, async () => {
      const response = await h.request("GET", `/sync/demo/drift?cursor=${cursor}`);
      expectRefusal(response, [400, 422]);
    });
    it(`refuses ${what} on the outbox read with a 4xx, not 500`, async () => {
      const response = await h.request("GET", `/sync/demo/outbox?after=${cursor}`);
      expectRefusal(response, [400, 422]);
    });
  }

  it("still pages the audit trail with the cursors it gives out", async () => {
    const first = await h.request("GET", "/sync/demo/opportunities/o-path/audit?limit=1");
    expect(first.statusCode).toBe(200);
    expect(first.body.entries).toHaveLength(1);
    expect(typeof first.body.next).toBe("string");
    const second = await h.request(
      "GET",
      `/sync/demo/opportunities/o-path/audit?limit=1&cursor=${first.body.next}`,
    );
    expect(second.statusCode).toBe(200);
    expect(second.body.entries).toHaveLength(1);
    expect(second.body.entries[0]).not.toEqual(first.body.entries[0]);
  });
});
