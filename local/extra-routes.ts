import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { APIGatewayProxyStructuredResultV2, ScheduledEvent } from "aws-lambda";
import type { ExtraRoute, ExtraRouteResult } from "./http-adapter.js";

/**
 * Local-only entry points (SPEC §7) standing in for what AWS delivers by itself: an EventBridge
 * event to the trigger function, and a tick of the schedule. Unauthenticated: the local server
 * listens on loopback only. Function modules load lazily, after the server has set the environment.
 */
export const localExtraRoutes: ExtraRoute[] = [
  {
    method: "GET",
    path: "/openapi.json",
    // The committed document (`npm run openapi` regenerates it; a test fails when it is stale).
    handle: async () => ({
      statusCode: 200,
      body: await readFile(new URL("../openapi.json", import.meta.url), "utf8"),
      headers: { "content-type": "application/json" },
    }),
  },
  {
    method: "POST",
    path: "/local/events",
    handle: async (body) => {
      const parsed = parseBody(body);
      if ("error" in parsed) return parsed.error;
      const delivery = parsed.value as Record<string, unknown>;
      if (typeof delivery.source === "string" && delivery.source.startsWith("aws.partner/salesforce.com/")) {
        // A change event Salesforce Event Relay puts on the partner bus (CONNECTORS §4).
        const { handler } = await import("../functions/salesforce-event.js");
        return run(() => handler(delivery));
      }
      const { handler } = await import("../functions/trigger-event.js");
      // The envelope EventBridge wraps around what the sender put: ids, time, account, region.
      const event = {
        version: "0",
        id: randomUUID(),
        account: "000000000000",
        time: new Date().toISOString(),
        region: "us-east-1",
        resources: [],
        ...delivery,
      };
      return run(() => handler(event as unknown as Parameters<typeof handler>[0]));
    },
  },
  {
    method: "PUT",
    path: "/local/tenants/{tenantId}",
    // The same JSON and validation as `quotesync tenant put` (local stage: credentials may be inline).
    handle: async (body, { tenantId }) => {
      const { registerLocalTenant } = await import("./tenants.js");
      return registerLocalTenant(tenantId ?? "", body);
    },
  },
  {
    method: "POST",
    path: "/local/demo-pipeline",
    // A small pipeline for the demo tenant, for the pipeline page (docs/pipeline-page.md).
    handle: async () => {
      const [{ loadPipelineDemo }, { runtime }] = await Promise.all([
        import("./pipeline-demo.js"),
        import("../functions/lib/runtime.js"),
      ]);
      return run(async () => {
        const rt = runtime();
        const tenant = await rt.loadTenant("demo");
        if (!tenant) throw new Error("the demo tenant is not registered");
        return { opportunities: await loadPipelineDemo(rt, tenant) };
      });
    },
  },
  {
    method: "POST",
    path: "/local/schedule",
    handle: async () => {
      const { handler } = await import("../functions/scheduled.js");
      return run(() => handler({} as ScheduledEvent));
    },
  },
];

function parseBody(body: string): { value: unknown } | { error: ExtraRouteResult } {
  try {
    const value: unknown = JSON.parse(body);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return { value };
  } catch {
    // answered below
  }
  return {
    error: {
      statusCode: 400,
      body: JSON.stringify({
        error: {
          code: "malformed_json",
          message: 'expected a JSON object {"source", "detail-type", "detail"}',
          details: [],
        },
      }),
    },
  };
}

/** Runs a function; what it throws is answered as the HTTP API would answer it. */
async function run(invoke: () => Promise<unknown>): Promise<ExtraRouteResult> {
  try {
    return { statusCode: 200, body: JSON.stringify(await invoke()) };
  } catch (error) {
    const { httpResponseFor } = await import("../functions/lib/error-responses.js");
    const { response, expected } = httpResponseFor(error);
    if (!expected) console.error("local function failed", error);
    return fromLambdaResult(response);
  }
}

function fromLambdaResult(result: APIGatewayProxyStructuredResultV2): ExtraRouteResult {
  const headers = Object.fromEntries(
    Object.entries(result.headers ?? {}).map(([name, value]) => [name, String(value)]),
  );
  return { statusCode: result.statusCode ?? 200, body: String(result.body ?? ""), headers };
}
