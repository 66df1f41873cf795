import { request } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createLocalHttpServer, MAX_BODY_BYTES } from "../../local/http-adapter.js";
import type { HttpLambda, LocalRoute } from "../../local/routes.js";

describe("local HTTP adapter (API Gateway HTTP API payload 2.0)", () => {
  const calls: Array<{ event: APIGatewayProxyEventV2; context: Context }> = [];
  const webhook: HttpLambda = async (event, context) => {
    calls.push({ event, context });
    return {
      statusCode: 202,
      headers: { "Content-Type": "application/json", "X-Echo": "yes" },
      body: JSON.stringify({ ok: true }),
    };
  };
  const failing: HttpLambda = async () => {
    throw new Error("boom");
  };
  const routes: LocalRoute[] = [
    { method: "POST", path: "/webhooks/crm/{tenantId}", load: async () => webhook },
    { method: "GET", path: "/sync/{tenantId}/opportunities/{opportunityId}", load: async () => webhook },
    {
      method: "GET",
      path: "/sync/{tenantId}/opportunities/{opportunityId}/audit",
      load: async () => webhook,
    },
    { method: "GET", path: "/sync/{tenantId}/outbox", load: async () => failing },
  ];
  const extraHandle = vi.fn(async (body: string) => ({
    statusCode: 200,
    body: JSON.stringify({ got: body }),
  }));

  const server = createLocalHttpServer({
    routes,
    extraRoutes: [{ method: "POST", path: "/local/events", handle: extraHandle }],
  });
  let base: string;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    calls.length = 0;
  });

  it("turns a POST into a genuine payload-2.0 event and writes the handler's result", async () => {
    const body = '{"event":"opportunity.updated","name":"Zürich ✓"}';
    const response = await fetch(`${base}/webhooks/crm/acme%20corp?a=1&b=x%20y&a=2`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Quotesync-Signature": "t=1,v1=ab", "X-Multi": "one" },
      body,
    });
    expect(response.status).toBe(202);
    expect(response.headers.get("x-echo")).toBe("yes");
    expect(response.headers.get("apigw-requestid")).toMatch(/^[0-9a-f-]{36}$/);
    expect(await response.json()).toEqual({ ok: true });

    expect(calls).toHaveLength(1);
    const { event, context } = calls[0] as (typeof calls)[number];
    expect(event.version).toBe("2.0");
    expect(event.routeKey).toBe("POST /webhooks/crm/{tenantId}");
    expect(event.rawPath).toBe("/webhooks/crm/acme%20corp");
    expect(event.rawQueryString).toBe("a=1&b=x%20y&a=2");
    expect(event.queryStringParameters).toEqual({ a: "1,2", b: "x y" });
    expect(event.pathParameters).toEqual({ tenantId: "acme corp" });
    expect(event.body).toBe(body);
    expect(event.isBase64Encoded).toBe(false);
    expect(event.headers["content-type"]).toBe("application/json");
    expect(event.headers["x-quotesync-signature"]).toBe("t=1,v1=ab");
    expect(event.headers["x-multi"]).toBe("one");
    expect(Object.keys(event.headers).every((name) => name === name.toLowerCase())).toBe(true);
    expect(event.requestContext).toMatchObject({
      http: { method: "POST", path: "/webhooks/crm/acme%20corp", sourceIp: "127.0.0.1" },
      routeKey: "POST /webhooks/crm/{tenantId}",
      stage: "$default",
    });
    expect(event.requestContext.requestId).toBe(response.headers.get("apigw-requestid"));
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(Math.abs(event.requestContext.timeEpoch - Date.now())).toBeLessThan(10_000);
    expect(context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(context.functionName).toContain("webhooks-crm");
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(29_000);
  });

  it("joins repeated headers with ',' and leaves queryStringParameters and body undefined when absent", async () => {
    const { request } = await import("node:http");
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/sync/demo/opportunities/OPP-1`, {
        headers: [
          ["Host", new URL(base).host],
          ["X-Multi", "one"],
          ["x-multi", "two"],
        ].flat(),
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(202);
    const { event } = calls[0] as (typeof calls)[number];
    expect(event.headers["x-multi"]).toBe("one,two");
    expect(event.queryStringParameters).toBeUndefined();
    expect(event.body).toBeUndefined();
    expect(event.rawQueryString).toBe("");
    expect(event.pathParameters).toEqual({ tenantId: "demo", opportunityId: "OPP-1" });
  });

  it("picks the route whose template matches the whole path", async () => {
    await fetch(`${base}/sync/demo/opportunities/OPP-1/audit?limit=5`);
    expect(calls[0]?.event.routeKey).toBe("GET /sync/{tenantId}/opportunities/{opportunityId}/audit");
    expect(calls[0]?.event.queryStringParameters).toEqual({ limit: "5" });
  });

  it("accepts exactly 1 MiB and answers 413 over 1 MiB without calling the handler", async () => {
    const atLimit = await fetch(`${base}/webhooks/crm/demo`, {
      method: "POST",
      body: "x".repeat(MAX_BODY_BYTES),
    });
    expect(atLimit.status).toBe(202);
    expect(calls[0]?.event.body).toHaveLength(MAX_BODY_BYTES);
    calls.length = 0;

    const over = await fetch(`${base}/webhooks/crm/demo`, {
      method: "POST",
      body: "x".repeat(MAX_BODY_BYTES + 1),
    });
    expect(over.status).toBe(413);
    expect(await over.json()).toEqual({
      error: {
        code: "payload_too_large",
        message: `request body is over ${MAX_BODY_BYTES} bytes`,
        details: [],
      },
    });
    expect(calls).toHaveLength(0);

    // Chunked, without content-length: the cap is enforced while streaming.
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let index = 0; index < 3; index++) controller.enqueue(new Uint8Array(MAX_BODY_BYTES / 2));
        controller.close();
      },
    });
    const streamed = await fetch(`${base}/webhooks/crm/demo`, {
      method: "POST",
      body: chunks,
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(calls).toHaveLength(0);
  });

  it("answers 404 for unknown paths and 405 for a wrong method", async () => {
    const unknown = await fetch(`${base}/nope`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: "not_found" } });

    const wrongMethod = await fetch(`${base}/webhooks/crm/demo`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("POST");
    expect(calls).toHaveLength(0);
  });

  it("answers GET /health", async () => {
    const response = await fetch(`${base}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("matches extra routes first and hands them the raw body", async () => {
    const response = await fetch(`${base}/local/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"source":"cpq"}',
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ got: '{"source":"cpq"}' });
    expect(extraHandle).toHaveBeenCalledOnce();
  });

  it("refuses /local/* posted as text/plain (what a cross-site page can send without a preflight) with 415", async () => {
    extraHandle.mockClear();
    const response = await fetch(`${base}/local/events`, {
      method: "POST",
      headers: { "content-type": "text/plain", origin: "https://attacker.example" },
      body: '{"source":"cpq"}',
    });
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ error: { code: "unsupported_media_type" } });
    const untyped = await fetch(`${base}/local/events`, { method: "POST", body: '{"source":"cpq"}' });
    expect(untyped.status).toBe(415);
    expect(extraHandle).not.toHaveBeenCalled();
  });

  it("refuses /local/* addressed to a host that is not loopback (DNS rebinding) with 403", async () => {
    extraHandle.mockClear();
    const port = new URL(base).port;
    for (const host of [`attacker.example:${port}`, "evil.localhost.example", `10.0.0.5:${port}`]) {
      const response = await rawPost(Number(port), "/local/events", host, '{"source":"cpq"}');
      expect(response.status, host).toBe(403);
      expect(JSON.parse(response.body)).toMatchObject({ error: { code: "forbidden" } });
    }
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, "localhost"]) {
      const response = await rawPost(Number(port), "/local/events", host, '{"source":"cpq"}');
      expect(response.status, host).toBe(200);
    }
    expect(extraHandle).toHaveBeenCalledTimes(4);
  });

  it("turns a throwing handler into a 500 JSON error", async () => {
    const stderr = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const response = await fetch(`${base}/sync/demo/outbox`);
      expect(response.status).toBe(500);
      expect(await response.json()).toMatchObject({ error: { code: "internal_error" } });
      expect(String(stderr.mock.calls[0]?.[1])).toContain("boom");
    } finally {
      stderr.mockRestore();
    }
  });
});

/** A POST with an explicit Host header (fetch does not let a caller set Host). */
function rawPost(
  port: number,
  path: string,
  host: string,
  body: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        headers: { host, "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
