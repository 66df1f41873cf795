import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { demoTenant, TenantConfig } from "../../domain/tenant.js";
import { signRequest } from "../../functions/lib/signature.js";
import { scanState } from "../support/dynamo.js";
import { at, opportunityUpserted, quoteUpserted } from "../support/events.js";
import { DEMO_SECRETS, handlerHarness } from "../support/handlers.js";

const ACME_SECRETS = { crm: "acme-crm-secret", cpq: "acme-cpq-secret" } as const;
const acme = TenantConfig.parse({
  tenantId: "acme",
  secrets: { crm: [ACME_SECRETS.crm], cpq: [ACME_SECRETS.cpq] },
});

describe("signatures at the handlers (DynamoDB Local)", () => {
  let h: Awaited<ReturnType<typeof handlerHarness>>;
  beforeAll(async () => {
    h = await handlerHarness({ tenants: [demoTenant(DEMO_SECRETS), acme] });
    expect((await h.crm(opportunityUpserted("o-sig", {}, { occurredAt: at(1) }))).statusCode).toBe(200);
    expect((await h.cpq(quoteUpserted("q-sig", "o-sig", {}, { occurredAt: at(2) }))).statusCode).toBe(200);
  });
  afterAll(async () => {
    await h.dispose();
  });

  /** Sends a request and proves the table is unchanged by it. */
  async function refusedWithoutWrites(send: () => ReturnType<typeof h.request>) {
    const before = await scanState(h.table.tableName);
    const response = await send();
    expect(await scanState(h.table.tableName)).toEqual(before);
    return response;
  }

  describe("verification happens before any parsing", () => {
    it("never hands the body of a badly signed request to JSON.parse", async () => {
      const body = JSON.stringify(opportunityUpserted("o-spy", {}, { occurredAt: at(3) }));
      const spy = vi.spyOn(JSON, "parse");
      try {
        const response = await refusedWithoutWrites(() =>
          h.request("POST", "/webhooks/crm/demo", { rawBody: body, secret: "not-the-secret" }),
        );
        expect(response.statusCode).toBe(401);
        expect(response.body.error.code).toBe("invalid_signature");
        expect(spy.mock.calls.filter(([text]) => text === body)).toHaveLength(0);

        // Control: the same body, correctly signed, does reach JSON.parse — so the spy can see it.
        expect((await h.request("POST", "/webhooks/crm/demo", { rawBody: body })).statusCode).toBe(200);
        expect(spy.mock.calls.filter(([text]) => text === body)).toHaveLength(1);
      } finally {
        spy.mockRestore();
      }
    });

    it("answers malformed JSON with a bad signature as 401, not 400: the parser never ran", async () => {
      const response = await refusedWithoutWrites(() =>
        h.request("POST", "/webhooks/cpq/demo", { rawBody: '{"broken":', secret: "wrong-secret" }),
      );
      expect(response.statusCode).toBe(401);
    });

    it("answers a missing signature header as 401", async () => {
      const response = await refusedWithoutWrites(() =>
        h.request("POST", "/webhooks/cpq/demo", { body: quoteUpserted("q-sig", "o-sig"), secret: null }),
      );
      expect(response.statusCode).toBe(401);
      expect(response.body.error.code).toBe("invalid_signature");
    });
  });

  describe("tenant and source binding", () => {
    it("refuses tenant acme's CRM signature on demo's CRM path (401)", async () => {
      const response = await refusedWithoutWrites(() =>
        h.request("POST", "/webhooks/crm/demo", {
          body: opportunityUpserted("o-sig", { stage: "Hacked" }),
          secret: ACME_SECRETS.crm,
        }),
      );
      expect(response.statusCode).toBe(401);
    });

    it("refuses demo's CRM signature on acme's CRM path (401)", async () => {
      const response = await refusedWithoutWrites(() =>
        h.request("POST", "/webhooks/crm/acme", {
          body: opportunityUpserted("o-x"),
          secret: DEMO_SECRETS.crm,
        }),
      );
      expect(response.statusCode).toBe(401);
    });

    it("refuses a valid acme signature replayed onto demo's path (the path is signed)", async () => {
      const body = JSON.stringify(opportunityUpserted("o-sig", { stage: "Hacked" }));
      const signature = signRequest({
        secret: ACME_SECRETS.crm,
        method: "POST",
        pathWithQuery: "/webhooks/crm/acme",
        body,
      });
      const response = await refusedWithoutWrites(() =>
        h.request("POST", "/webhooks/crm/demo", { rawBody: body, signature }),
      );
      expect(response.statusCode).toBe(401);
    });

    it("refuses the CRM secret on the CPQ webhook and the CPQ secret on the CRM webhook (401)", async () => {
      const onCpq = await refusedWithoutWrites(() =>
        h.request("POST", "/webhooks/cpq/demo", {
          body: quoteUpserted("q-sig", "o-sig"),
          secret: DEMO_SECRETS.crm,
        }),
      );
      expect(onCpq.statusCode).toBe(401);
      const onCrm = await refusedWithoutWrites(() =>
        h.request("POST", "/webhooks/crm/demo", {
          body: opportunityUpserted("o-sig"),
          secret: DEMO_SECRETS.cpq,
        }),
      );
      expect(onCrm.statusCode).toBe(401);
    });

    it("accepts either the CRM or the CPQ secret on /sync/* routes", async () => {
      for (const secret of [DEMO_SECRETS.crm, DEMO_SECRETS.cpq]) {
        expect((await h.request("GET", "/sync/demo/opportunities/o-sig", { secret })).statusCode).toBe(200);
        expect((await h.request("GET", "/sync/demo/outbox?limit=5", { secret })).statusCode).toBe(200);
        expect(
          (await h.request("POST", "/sync/demo/quotes/q-sig/start", { body: {}, secret })).statusCode,
        ).toBe(200);
      }
    });

    it("refuses another tenant's secret on /sync/* routes (401)", async () => {
      const status = await h.request("GET", "/sync/demo/opportunities/o-sig", { secret: ACME_SECRETS.crm });
      expect(status.statusCode).toBe(401);
      const stop = await refusedWithoutWrites(() =>
        h.request("POST", "/sync/demo/quotes/q-sig/stop", { body: {}, secret: ACME_SECRETS.cpq }),
      );
      expect(stop.statusCode).toBe(401);
    });

    it("answers an unknown tenant with 404 not_found (SPEC §2) and writes nothing", async () => {
      const response = await refusedWithoutWrites(() =>
        h.request("POST", "/webhooks/crm/nobody", {
          body: opportunityUpserted("o-x"),
          secret: DEMO_SECRETS.crm,
        }),
      );
      expect(response.statusCode).toBe(404);
      expect(response.body.error.code).toBe("not_found");
    });
  });
});
