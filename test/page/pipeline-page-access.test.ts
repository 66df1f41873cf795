import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoTenant, TenantConfig } from "../../domain/tenant.js";
import { createDeliveryRuntime, setDeliveryRuntime } from "../../functions/lib/delivery-runtime.js";
import { runtime } from "../../functions/lib/runtime.js";
import { csrfToken, mintViewerToken, verifyViewerToken } from "../../functions/lib/viewer-link.js";
import { apiGatewayEvent, localLambdaContext, matchRoute } from "../../local/invoke.js";
import { DEMO_SECRETS, handlerHarness } from "../support/handlers.js";

const OTHER = TenantConfig.parse({
  tenantId: "other",
  secrets: { crm: ["other-crm-secret"], cpq: ["other-cpq-secret"] },
});

type Harness = Awaited<ReturnType<typeof handlerHarness>>;

/** Calls a page route in-process as API Gateway would, with the session cookie if given. */
async function page(
  method: "GET" | "POST",
  path: string,
  options: { token?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{ statusCode: number; body: string; headers: Record<string, string>; cookies: string[] }> {
  const [rawPath = path, query = ""] = path.split("?");
  const { route, pathParameters } = matchRoute(method, rawPath);
  const event = apiGatewayEvent({
    method,
    routeKey: route.path,
    path: rawPath,
    query,
    ...(options.body !== undefined ? { body: options.body } : {}),
    headers: {
      host: "127.0.0.1:3000",
      ...(options.body !== undefined ? { "content-type": "application/x-www-form-urlencoded" } : {}),
      ...(options.headers ?? {}),
    },
    pathParameters,
  });
  if (options.token) event.cookies = [`qs_view=${options.token}`];
  const handler = await route.load();
  const result = (await handler(event, localLambdaContext())) as APIGatewayProxyStructuredResultV2;
  return {
    statusCode: result.statusCode ?? 200,
    body: String(result.body ?? ""),
    headers: Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)])),
    cookies: result.cookies ?? [],
  };
}

const link = (
  options: { tenantId?: string; secret?: string; hours?: number; actions?: boolean; now?: number } = {},
) =>
  mintViewerToken(options.secret ?? DEMO_SECRETS.crm, {
    tenantId: options.tenantId ?? "demo",
    viewer: "maria",
    hours: options.hours ?? 8,
    actions: options.actions ?? false,
    ...(options.now !== undefined ? { nowSeconds: options.now } : {}),
  });

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

function csrfFor(token: string): string {
  const verdict = verifyViewerToken(token, {
    tenantId: "demo",
    secrets: [DEMO_SECRETS.crm],
    nowSeconds: Math.floor(Date.now() / 1000),
  });
  if (!verdict.ok) throw new Error("test token does not verify");
  return csrfToken(DEMO_SECRETS.crm, verdict.grant);
}

describe("pipeline page access (viewer links on DynamoDB Local)", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await handlerHarness({ tenants: [demoTenant(DEMO_SECRETS), OTHER] });
    const at = (n: number) => new Date(Date.now() - 60_000 + n * 1000).toISOString();
    await h.crm({
      eventId: "o1",
      type: "opportunity.upserted",
      occurredAt: at(1),
      data: { opportunity: { id: "opp-1", name: "Secret Deal Name", stage: "Proposal", currency: "USD" } },
    });
    await h.cpq({
      eventId: "q1",
      type: "quote.upserted",
      occurredAt: at(2),
      data: { quote: { id: "q-1", opportunityId: "opp-1", currency: "USD" } },
    });
    await h.cpq({
      eventId: "l1",
      type: "quote.lines.upserted",
      occurredAt: at(3),
      data: {
        quoteId: "q-1",
        lines: [{ id: "ql-1", productId: "p-1", name: "Seats", quantity: 5, unitPrice: 10 }],
      },
    });
    expect((await h.start("q-1")).statusCode).toBe(200);
  });
  afterAll(async () => {
    await h?.dispose();
  });

  it("exchanges a valid link for an HttpOnly, SameSite=Strict session cookie scoped to the tenant", async () => {
    const token = link();
    const answer = await page("GET", `/app/demo/enter?link=${token}`);
    expect(answer.statusCode).toBe(200);
    expect(answer.cookies).toHaveLength(1);
    const cookie = answer.cookies[0] as string;
    expect(cookie).toMatch(/^qs_view=v1\./);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).toContain("Path=/app/demo");
    // Plain http on loopback: a Secure cookie would never come back.
    expect(cookie).not.toContain("Secure");
    expect(answer.body).not.toContain(DEMO_SECRETS.crm);
    expect(answer.headers["cache-control"]).toBe("no-store");
    expect(answer.headers["referrer-policy"]).toBe("same-origin");
  });

  it("marks the cookie Secure behind https", async () => {
    const answer = await page("GET", `/app/demo/enter?link=${link()}`, {
      headers: { host: "abc.execute-api.us-east-1.amazonaws.com", "x-forwarded-proto": "https" },
    });
    expect(answer.cookies[0]).toContain("; Secure");
  });

  it("shows the pipeline to a valid session", async () => {
    const answer = await page("GET", "/app/demo?view=all", { token: link() });
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toContain("Secret Deal Name");
  });

  const refused: Array<[string, () => string | undefined, number]> = [
    ["no session at all", () => undefined, 401],
    ["a forged link (signed with a guessed secret)", () => link({ secret: "not-the-secret" }), 401],
    [
      "a tampered grant (read-only link edited to grant actions)",
      () => {
        const [version, payload, mac] = link().split(".");
        const grant = JSON.parse(Buffer.from(payload as string, "base64url").toString());
        const edited = Buffer.from(JSON.stringify({ ...grant, actions: true, viewer: "eve" })).toString(
          "base64url",
        );
        return `${version}.${edited}.${mac}`;
      },
      401,
    ],
    ["an expired link", () => link({ hours: 1, now: Math.floor(Date.now() / 1000) - 7200 }), 401],
    [
      "another tenant's link (signed with its own secret)",
      () => link({ tenantId: "other", secret: "other-crm-secret" }),
      401,
    ],
    ["a link naming another tenant, signed with a secret both share", () => link({ tenantId: "other" }), 403],
    ["garbage", () => "v1.garbage", 401],
  ];

  for (const [name, token, status] of refused) {
    it(`answers ${status} and shows nothing for ${name}`, async () => {
      const value = token();
      for (const path of ["/app/demo", "/app/demo?view=all", "/app/demo/opportunities/opp-1"]) {
        const answer = await page("GET", path, value ? { token: value } : {});
        expect(answer.statusCode).toBe(status);
        expect(answer.body).not.toContain("Secret Deal Name");
        expect(answer.body).not.toContain("opp-1");
      }
      if (value) {
        const entered = await page("GET", `/app/demo/enter?link=${encodeURIComponent(value)}`);
        expect(entered.statusCode).toBe(status);
        expect(entered.cookies).toEqual([]);
      }
    });
  }

  it("does not let a session of one tenant read another tenant's pages", async () => {
    const answer = await page("GET", "/app/other?view=all", { token: link() });
    expect(answer.statusCode).toBe(401);
    expect(answer.body).not.toContain("Secret Deal Name");
  });

  it("refuses actions to a read-only link and writes nothing", async () => {
    const token = link({ actions: false });
    const before = await h.store.readAudit("demo", "opp-1", null, 100);
    const answer = await page("POST", "/app/demo/opportunities/opp-1/actions", {
      token,
      body: form({ csrf: csrfFor(token), action: "stop", quoteId: "q-1" }),
    });
    expect(answer.statusCode).toBe(403);
    expect((await h.status("opp-1")).body.syncedQuoteId).toBe("q-1");
    expect((await h.store.readAudit("demo", "opp-1", null, 100)).entries).toEqual(before.entries);
  });

  it("refuses an action without the CSRF token, with another session's token, or from another origin", async () => {
    const token = link({ actions: true });
    const otherSession = link({ actions: true });
    const attempts = [
      { body: form({ action: "stop", quoteId: "q-1" }) },
      { body: form({ csrf: "forged", action: "stop", quoteId: "q-1" }) },
      { body: form({ csrf: csrfFor(otherSession), action: "stop", quoteId: "q-1" }) },
      {
        body: form({ csrf: csrfFor(token), action: "stop", quoteId: "q-1" }),
        headers: { origin: "https://evil.example" },
      },
    ];
    for (const attempt of attempts) {
      const answer = await page("POST", "/app/demo/opportunities/opp-1/actions", { token, ...attempt });
      expect(answer.statusCode).toBe(403);
    }
    expect((await h.status("opp-1")).body.syncedQuoteId).toBe("q-1");
  });

  it("refuses a delivery retry to a read-only link, without the CSRF token, or naming no entry; sends a granted one through the retry route", async () => {
    setDeliveryRuntime(
      createDeliveryRuntime({
        doc: h.doc,
        tableName: h.table.tableName,
        loadTenant: (tenantId) => runtime().loadTenant(tenantId),
      }),
    );
    try {
      const readOnly = link({ actions: false });
      const token = link({ actions: true });
      const refused = [
        { token: readOnly, body: form({ csrf: csrfFor(readOnly), action: "retry", entryId: "1" }) },
        { token, body: form({ action: "retry", entryId: "1" }) },
        { token, body: form({ csrf: csrfFor(token), action: "retry" }) },
        { token, body: form({ csrf: csrfFor(token), action: "retry", entryId: "1; drop" }) },
        { token, body: form({ csrf: csrfFor(token), action: "retry", quoteId: "q-1" }) },
      ];
      for (const attempt of refused) {
        const answer = await page("POST", "/app/demo/opportunities/opp-1/actions", attempt);
        expect(answer.statusCode).toBe(403);
      }
      // Granted: the signed retry route answers, and its answer comes back as a notice. The
      // tenant's first outbox entry (the start's mirror) exists but is not parked; 999999 does not.
      const { Items } = await h.doc.send(
        new QueryCommand({
          TableName: h.table.tableName,
          KeyConditionExpression: "pk = :pk",
          FilterExpression: "attribute_exists(mirror)",
          ExpressionAttributeValues: { ":pk": "T#demo#OUTBOX" },
        }),
      );
      const entryId = String(Number(Items?.[0]?.sk));
      expect(entryId).toMatch(/^[1-9]\d*$/);
      const notParked = await page("POST", "/app/demo/opportunities/opp-1/actions", {
        token,
        body: form({ csrf: csrfFor(token), action: "retry", entryId }),
      });
      expect(notParked.statusCode).toBe(303);
      expect(notParked.headers.location).toBe("/app/demo/opportunities/opp-1?notice=not_parked");
      const unknown = await page("POST", "/app/demo/opportunities/opp-1/actions", {
        token,
        body: form({ csrf: csrfFor(token), action: "retry", entryId: "999999" }),
      });
      expect(unknown.headers.location).toBe("/app/demo/opportunities/opp-1?notice=not_found");
    } finally {
      setDeliveryRuntime(undefined);
    }
  });

  it("runs a granted action through the signed API and audits it with the viewer as the actor", async () => {
    const token = link({ actions: true });
    const answer = await page("POST", "/app/demo/opportunities/opp-1/actions", {
      token,
      body: form({ csrf: csrfFor(token), action: "stop", quoteId: "q-1" }),
      headers: { origin: "http://127.0.0.1:3000" },
    });
    expect(answer.statusCode).toBe(303);
    expect(answer.headers.location).toBe("/app/demo/opportunities/opp-1?notice=stopped");
    expect((await h.status("opp-1")).body.syncedQuoteId).toBeNull();
    const audit = await h.store.readAudit("demo", "opp-1", null, 10);
    expect(audit.entries[0]).toMatchObject({
      type: "sync.stopped",
      actor: "viewer:maria",
      source: "command",
    });

    const restart = await page("POST", "/app/demo/opportunities/opp-1/actions", {
      token,
      body: form({ csrf: csrfFor(token), action: "start", quoteId: "q-1" }),
    });
    expect(restart.headers.location).toBe("/app/demo/opportunities/opp-1?notice=started");
    expect((await h.status("opp-1")).body.syncedQuoteId).toBe("q-1");
    const restarted = await h.store.readAudit("demo", "opp-1", null, 10);
    expect(restarted.entries[0]).toMatchObject({ type: "sync.started", actor: "viewer:maria" });
  });

  it("is audited as refused when the tenant's policy requires a permission the viewer lacks", async () => {
    const strict = TenantConfig.parse({
      ...demoTenant(DEMO_SECRETS),
      permissions: { start: [], stop: ["sync.stop"] },
    });
    await h.store.putTenant(strict);
    try {
      const token = link({ actions: true });
      const answer = await page("POST", "/app/demo/opportunities/opp-1/actions", {
        token,
        body: form({ csrf: csrfFor(token), action: "stop", quoteId: "q-1" }),
      });
      expect(answer.headers.location).toBe("/app/demo/opportunities/opp-1?notice=forbidden");
      expect((await h.status("opp-1")).body.syncedQuoteId).toBe("q-1");
      const audit = await h.store.readAudit("demo", "opp-1", null, 10);
      expect(audit.entries[0]).toMatchObject({ type: "command.forbidden", actor: "viewer:maria" });
    } finally {
      await h.store.putTenant(demoTenant(DEMO_SECRETS));
    }
  });
});
