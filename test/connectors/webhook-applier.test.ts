import { describe, expect, it } from "vitest";
import {
  type ApplyContext,
  type DeliveryEntry,
  MemoryConnectorStore,
  PermanentDeliveryError,
  TransientDeliveryError,
} from "../../connectors/applier.js";
import { applierFor, applierKindFor, hasApplier } from "../../connectors/registry.js";
import { retryAfterMs } from "../../connectors/retry-after.js";
import { WEBHOOK_TIMEOUT_MS, webhookApplier } from "../../connectors/webhook/applier.js";
import { demoTenant, TenantConfig } from "../../domain/tenant.js";
import { verifySignature } from "../../functions/lib/signature.js";

const SECRET = "webhook-delivery-secret-0123456789";
const NOW = Date.UTC(2026, 10, 30, 4, 0, 0);
const tenant = TenantConfig.parse({
  ...demoTenant({ crm: "crm-secret-1", cpq: "cpq-secret-1" }),
  connectors: {
    crm: {
      kind: "native",
      delivery: { kind: "webhook", url: "https://hooks.example.com/in/qs?team=7", secret: SECRET },
    },
  },
});
const entry: DeliveryEntry = {
  tenantId: "demo",
  entryId: "42",
  cursor: "bzpkZW1vOjQy",
  at: new Date(NOW).toISOString(),
  mirror: { target: "crm", opportunityId: "opp-1", quoteId: "q-1", lines: { upsert: [], delete: ["ln-9"] } },
};

interface Sent {
  url: string;
  init: RequestInit;
}

function context(answer: (sent: Sent) => Promise<Response> | Response, sent: Sent[] = []): ApplyContext {
  return {
    tenant,
    connector: tenant.connectors.crm,
    side: "crm",
    state: { lineIds: {}, facts: {} },
    fetch: (async (url: URL | string, init: RequestInit) => {
      const call = { url: String(url), init };
      sent.push(call);
      return answer(call);
    }) as typeof fetch,
    now: () => NOW,
    connectorStore: new MemoryConnectorStore(),
  };
}

describe("the webhook applier", () => {
  it("POSTs {entryId, cursor, mirror} signed as SPEC §2 with the delivery secret over the URL's path and query", async () => {
    const sent: Sent[] = [];
    const result = await webhookApplier.apply(
      entry,
      context(() => new Response(null, { status: 204 }), sent),
    );
    expect(result).toEqual({ outcome: "delivered", detail: "HTTP 204" });
    expect(sent).toHaveLength(1);
    const [call] = sent as [Sent];
    expect(call.url).toBe("https://hooks.example.com/in/qs?team=7");
    expect(call.init.method).toBe("POST");
    const body = String(call.init.body);
    expect(JSON.parse(body)).toEqual({ entryId: "42", cursor: "bzpkZW1vOjQy", mirror: entry.mirror });
    const headers = call.init.headers as Record<string, string>;
    expect(headers["content-type"]).toBe("application/json");
    const verify = (secret: string, pathWithQuery: string) =>
      verifySignature({
        header: headers["x-quotesync-signature"],
        secrets: [secret],
        method: "POST",
        pathWithQuery,
        rawBody: body,
        nowSeconds: Math.floor(NOW / 1000),
      });
    expect(verify(SECRET, "/in/qs?team=7")).toEqual({ ok: true });
    expect(verify(SECRET, "/in/qs")).toEqual({ ok: false, reason: "mismatch" });
    expect(verify("crm-secret-1", "/in/qs?team=7")).toEqual({ ok: false, reason: "mismatch" });
    expect(call.init.signal).toBeInstanceOf(AbortSignal);
  });

  it.each([200, 201, 202, 299])("counts %i as delivered", async (status) => {
    const result = await webhookApplier.apply(
      entry,
      context(() => new Response("ok", { status })),
    );
    expect(result.outcome).toBe("delivered");
  });

  it.each([500, 502, 503, 504, 429])(
    "retries %i, keeping the answer's start as the error",
    async (status) => {
      const failure = await webhookApplier
        .apply(
          entry,
          context(() => new Response("  upstream\n down  ", { status })),
        )
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(TransientDeliveryError);
      expect((failure as Error).message).toBe(`the receiver answered HTTP ${status}: upstream down`);
      expect((failure as TransientDeliveryError).retryAfterMs).toBeNull();
    },
  );

  it("honours Retry-After in seconds or as an HTTP date", async () => {
    const seconds = await webhookApplier
      .apply(
        entry,
        context(() => new Response("", { status: 429, headers: { "retry-after": "120" } })),
      )
      .catch((error: unknown) => error);
    expect((seconds as TransientDeliveryError).retryAfterMs).toBe(120_000);
    const date = new Date(NOW + 90_000).toUTCString();
    const dated = await webhookApplier
      .apply(
        entry,
        context(() => new Response("", { status: 503, headers: { "retry-after": date } })),
      )
      .catch((error: unknown) => error);
    expect((dated as TransientDeliveryError).retryAfterMs).toBe(90_000);
    expect(retryAfterMs("soon", NOW)).toBeNull();
    expect(retryAfterMs(new Date(NOW - 5_000).toUTCString(), NOW)).toBe(0);
  });

  it.each([400, 401, 403, 404, 409, 410, 422, 302])("parks %i", async (status) => {
    const failure = await webhookApplier
      .apply(
        entry,
        context(() => new Response("no such product", { status })),
      )
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PermanentDeliveryError);
    expect((failure as PermanentDeliveryError).vendorCode).toBe(`http_${status}`);
  });

  it("retries a receiver that does not answer in 5 s, or cannot be reached", async () => {
    expect(WEBHOOK_TIMEOUT_MS).toBe(5_000);
    const timeout = await webhookApplier
      .apply(
        entry,
        context(() => {
          throw new DOMException("The operation was aborted due to timeout", "TimeoutError");
        }),
      )
      .catch((error: unknown) => error);
    expect(timeout).toBeInstanceOf(TransientDeliveryError);
    expect((timeout as Error).message).toBe("the receiver did not answer within 5 s");
    const refused = await webhookApplier
      .apply(
        entry,
        context(() => {
          throw new TypeError("fetch failed");
        }),
      )
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TransientDeliveryError);
  });

  it("parks a mirror for a side without a delivery secret", async () => {
    const bare = TenantConfig.parse({
      ...tenant,
      connectors: {
        crm: { kind: "native", delivery: { kind: "webhook", url: "https://hooks.example.com/x" } },
      },
    });
    const failure = await webhookApplier
      .apply(entry, { ...context(() => new Response()), connector: bare.connectors.crm })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PermanentDeliveryError);
  });
});

describe("the connector registry", () => {
  it("names the applier kind of each side: webhook for a delivering native side, none for a plain one", () => {
    expect(applierKindFor(tenant.connectors.crm)).toBe("webhook");
    expect(applierKindFor(tenant.connectors.cpq)).toBeNull();
  });

  it("loads the webhook applier lazily, once", async () => {
    expect(hasApplier("webhook")).toBe(true);
    const first = await applierFor("webhook");
    expect(first).toBe(webhookApplier);
    expect(await applierFor("webhook")).toBe(first);
  });
});
