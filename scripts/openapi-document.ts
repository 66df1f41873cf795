/**
 * Builds the OpenAPI 3.1 document of the HTTP API from the zod schemas the functions validate
 * with (requests) and the response schemas of `domain/responses.ts`, so the document cannot say
 * something the code does not. `npm run openapi` writes it to `openapi.json`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { Connectors } from "../domain/connectors.js";
import {
  Actor,
  CPQ_EVENT_TYPES,
  CpqEvent,
  CRM_EVENT_TYPES,
  CrmEvent,
  Fields,
  LineInput,
  OpportunityInput,
  QuoteInput,
  SyncCommandInput,
} from "../domain/events.js";
import {
  AuditPage,
  DeliveredMirror,
  DeliveryRetryResponse,
  DriftPage,
  ErrorBody,
  Mirror,
  MirrorLine,
  OutboxPage,
  SideDeliveryStatus,
  SyncResponse,
  SyncStatus,
} from "../domain/responses.js";
import { TenantConfig } from "../domain/tenant.js";

type Json = Record<string, unknown>;

/** Component names of the request events: `opportunity.lines.upserted` → `OpportunityLinesUpsertedEvent`. */
export function eventComponentName(type: string): string {
  return `${type
    .split(".")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("")}Event`;
}

function componentSchemas(): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const option of [...CrmEvent.options, ...CpqEvent.options]) {
    registry.add(option, { id: eventComponentName(option.shape.type.value) });
  }
  const named: Record<string, z.ZodType> = {
    CrmEvent,
    CpqEvent,
    SyncCommand: SyncCommandInput,
    Opportunity: OpportunityInput,
    Quote: QuoteInput,
    Line: LineInput,
    Actor,
    Fields,
    SyncResponse,
    Mirror,
    MirrorLine,
    SyncStatus,
    SideDeliveryStatus,
    DeliveryRetryResponse,
    DeliveredMirror,
    Tenant: TenantConfig,
    Connectors,
    OutboxPage,
    AuditPage,
    DriftPage,
    ErrorBody,
  };
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  // Requests are documented as the sender writes them (decimals as strings or numbers, defaults optional).
  const { schemas } = z.toJSONSchema(registry, {
    io: "input",
    target: "draft-2020-12",
    unrepresentable: "any",
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Json> };
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  return schemas;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json, extra: Json = {}) => ({ content: { "application/json": { schema, ...extra } } });

const pathParameter = (name: string, description: string) => ({
  name,
  in: "path",
  required: true,
  description,
  schema: { type: "string" },
});
const tenantId = pathParameter("tenantId", "The tenant, e.g. `demo`.");
const quoteId = pathParameter("quoteId", "The CPQ quote id.");
const opportunityId = pathParameter("opportunityId", "The CRM opportunity id.");
const limit = {
  name: "limit",
  in: "query",
  required: false,
  description: "Page size, 1-500 (default 100).",
  schema: { type: "integer", minimum: 1, maximum: 500, default: 100 },
};

/** The error answers of SPEC §2, each with the codes it carries. */
const errorResponses: Record<string, { description: string }> = {
  "400": { description: "`malformed_json` (the body is not JSON) or `invalid_cursor`." },
  "401": { description: "`invalid_signature`: missing, malformed, expired or not matching any secret." },
  "403": { description: "`forbidden`: the actor lacks a permission the tenant requires." },
  "404": { description: "`not_found`: unknown tenant, quote or opportunity." },
  "409": {
    description:
      "A start precondition failed and nothing changed: `currency_mismatch`, `pricebook_mismatch`, `quote_expired`, `quote_not_attached`; or (retry route) `not_parked`.",
  },
  "413": { description: "`payload_too_large`: bodies are limited to 1 MiB." },
  "422": { description: "`invalid_event`: `details` lists the schema issues with their paths." },
  "500": { description: "`internal_error`: nothing is exposed; the log line has the details." },
  "503": {
    description:
      "`retry_later`: storage stayed contended or throttled after bounded retries; nothing was written. See `Retry-After`.",
  },
};

function errors(...codes: string[]): Record<string, Json> {
  return Object.fromEntries(codes.map((code) => [code, { $ref: `#/components/responses/Error${code}` }]));
}

const replayedHeader = {
  "x-quotesync-replayed": {
    description: "`true` when this delivery was a duplicate answered with the original response.",
    schema: { type: "string", enum: ["true"] },
  },
};

/** Request examples: the sample events under `examples/<source>/`, by event type. */
function eventExamples(examplesDir: string, source: "crm" | "cpq"): Record<string, Json> {
  const dir = join(examplesDir, source);
  const examples: Record<string, Json> = {};
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith(".json")) continue;
    examples[file.replace(/\.json$/, "")] = { value: JSON.parse(readFileSync(join(dir, file), "utf8")) };
  }
  return examples;
}

function webhook(source: "crm" | "cpq", types: readonly string[], examplesDir: string): Json {
  const who = source === "crm" ? "the CRM" : "the CPQ";
  return {
    post: {
      operationId: `${source}Webhook`,
      tags: ["webhooks"],
      summary: `Receive an event from ${who}`,
      description: `Event types: ${types.map((type) => `\`${type}\``).join(", ")}. Signed with the tenant's ${source.toUpperCase()} secret. The answer mirrors what the other system must apply.`,
      parameters: [tenantId],
      requestBody: {
        required: true,
        ...json(ref(source === "crm" ? "CrmEvent" : "CpqEvent"), {
          examples: eventExamples(examplesDir, source),
        }),
      },
      responses: {
        "200": {
          description: "Applied (or not); see `status`.",
          headers: replayedHeader,
          ...json(ref("SyncResponse")),
        },
        ...errors("400", "401", "404", "413", "422", "500", "503"),
      },
    },
  };
}

function command(kind: "start" | "stop"): Json {
  return {
    post: {
      operationId: `${kind}Sync`,
      tags: ["sync"],
      summary: kind === "start" ? "Start, replace or re-run sync of a quote" : "Stop sync of a quote",
      description:
        kind === "start"
          ? "The quote becomes the synced quote; the opportunity's lines are replaced and its amount locked. A quote of the same opportunity that was synced is stopped first, atomically."
          : "The opportunity keeps its lines; its amount is unlocked.",
      parameters: [tenantId, quoteId],
      requestBody: { required: false, ...json(ref("SyncCommand")) },
      responses: {
        "200": {
          description: `Sync ${kind === "start" ? "started" : "stopped"}.`,
          headers: replayedHeader,
          ...json(ref("SyncResponse")),
        },
        ...errors(
          "400",
          "401",
          "403",
          "404",
          ...(kind === "start" ? ["409"] : []),
          "413",
          "422",
          "500",
          "503",
        ),
      },
    },
  };
}

function read(
  operationId: string,
  summary: string,
  parameters: Json[],
  schema: string,
  description = "",
): Json {
  return {
    get: {
      operationId,
      tags: ["sync"],
      summary,
      ...(description ? { description } : {}),
      parameters,
      responses: {
        "200": { description: summary, ...json(ref(schema)) },
        ...errors("400", "401", "404", "500", "503"),
      },
    },
  };
}

/** An HTML page of the pipeline page's function (docs/pipeline-page.md): a session cookie, not a signature. */
function htmlPage(
  method: "get" | "post",
  operationId: string,
  summary: string,
  parameters: Json[],
  description: string,
  success: { status: string; description: string },
  security: Json[] = [{ viewerSession: [] }],
): Json {
  const html = { content: { "text/html": { schema: { type: "string" } } } };
  return {
    [method]: {
      operationId,
      tags: ["pages"],
      summary,
      description,
      security,
      parameters,
      ...(method === "post"
        ? {
            requestBody: {
              required: true,
              content: {
                "application/x-www-form-urlencoded": {
                  schema: {
                    type: "object",
                    required: ["csrf", "action", "quoteId"],
                    properties: {
                      csrf: { type: "string", description: "The page's CSRF token." },
                      action: { type: "string", enum: ["start", "stop", "resync"] },
                      quoteId: { type: "string" },
                    },
                  },
                },
              },
            },
          }
        : {}),
      responses: {
        [success.status]: { description: success.description, ...(success.status === "303" ? {} : html) },
        "401": { description: "No session, a forged or expired link: shows nothing.", ...html },
        "403": {
          description: "Another tenant's link, an action without the grant, or a failed CSRF check.",
          ...html,
        },
      },
    },
  };
}

/** The whole document; `examplesDir` holds the sample events used as request examples. */
export function buildOpenApiDocument(options: { version: string; examplesDir: string }): Json {
  return {
    openapi: "3.1.0",
    info: info(options.version),
    servers: [
      { url: "http://127.0.0.1:3000", description: "npm start (local, DynamoDB Local, tenant demo)" },
    ],
    security: [{ quotesyncSignature: [] }],
    tags: TAGS,
    paths: {
      "/webhooks/crm/{tenantId}": webhook("crm", CRM_EVENT_TYPES, options.examplesDir),
      "/webhooks/cpq/{tenantId}": webhook("cpq", CPQ_EVENT_TYPES, options.examplesDir),
      ...commandAndReadPaths(),
      "/connectors/hubspot": hubSpotWebhookPath(),
      "/sync/{tenantId}/deliveries/{entryId}/retry": retryDeliveryPath(),
      "/sync/{tenantId}/drift": driftPath(),
      ...pagePaths(),
    },
    webhooks: mirrorDeliveryWebhooks(),
    components: {
      schemas: componentSchemas(),
      responses: errorComponents(),
      securitySchemes: securitySchemes(),
    },
  };
}

function info(version: string): Json {
  return {
    title: "quotesync",
    version,
    summary: "Keeps a CPQ quote and its CRM opportunity in step.",
    description:
      "Webhooks from the CRM and the CPQ answer with the mirrored payload: the changes the other system must apply so that both records agree. " +
      "Trigger events (`cart.finalized`, `quote.accepted`) also arrive from Amazon EventBridge (source `cpq`); their mirrors go to the outbox. " +
      "Money, quantities and percents are exact decimals, accepted as strings or numbers and always answered as canonical strings. " +
      "Generated from the zod schemas by `npm run openapi`: do not edit by hand.",
  };
}

const TAGS: Json[] = [
  { name: "webhooks", description: "Events from the CRM and the CPQ." },
  { name: "sync", description: "Commands and reads." },
  { name: "pages", description: "The pipeline page for people (HTML), opened with a viewer link." },
  {
    name: "delivery",
    description: "Mirrors delivered to the sides that have a connector (docs/delivery.md).",
  },
];

/** Start and stop, and the signed reads: status, audit trail, outbox. */
function commandAndReadPaths(): Record<string, Json> {
  return {
    "/sync/{tenantId}/quotes/{quoteId}/start": command("start"),
    "/sync/{tenantId}/quotes/{quoteId}/stop": command("stop"),
    "/sync/{tenantId}/opportunities/{opportunityId}": read(
      "getStatus",
      "Sync status of an opportunity",
      [tenantId, opportunityId],
      "SyncStatus",
    ),
    "/sync/{tenantId}/opportunities/{opportunityId}/audit": read(
      "getAudit",
      "Audit trail of an opportunity, newest first",
      [
        tenantId,
        opportunityId,
        {
          name: "cursor",
          in: "query",
          required: false,
          description: "`next` of the previous page.",
          schema: { type: "string" },
        },
        limit,
      ],
      "AuditPage",
    ),
    "/sync/{tenantId}/outbox": read(
      "getOutbox",
      "Every mirror produced, oldest first",
      [
        tenantId,
        {
          name: "after",
          in: "query",
          required: false,
          description: "`next` of the previous page; omitted: from the beginning.",
          schema: { type: "string" },
        },
        limit,
      ],
      "OutboxPage",
      "For connectors that pull instead of reading webhook responses. Apply each mirror as an external-id upsert on `syncKey`.",
    ),
  };
}

function hubSpotWebhookPath(): Json {
  return {
    post: {
      operationId: "hubSpotWebhook",
      tags: ["connectors"],
      summary: "HubSpot's app webhooks",
      description:
        "Called by HubSpot, not by integrators (docs/hubspot.md): an array of at most 100 events of one app, verified with signature v3 " +
        "(`X-HubSpot-Signature-v3`, `X-HubSpot-Request-Timestamp`, the app's client secret, the configured public URL). " +
        "Events of unknown portals, objects or types are answered 200 and logged, since HubSpot retries every 4xx and 5xx.",
      parameters: [
        { name: "x-hubspot-signature-v3", in: "header", required: true, schema: { type: "string" } },
        { name: "x-hubspot-request-timestamp", in: "header", required: true, schema: { type: "string" } },
      ],
      requestBody: {
        required: true,
        content: {
          "application/json": {
            schema: {
              type: "array",
              maxItems: 100,
              items: { type: "object", additionalProperties: true },
            },
          },
        },
      },
      responses: {
        "200": {
          description:
            "Taken: how many decisions the events became, how many were ignored or quotesync's own echoes.",
          content: {
            "application/json": {
              schema: {
                type: "object",
                properties: {
                  decisions: { type: "integer" },
                  ignored: { type: "integer" },
                  echoes: { type: "integer" },
                },
                required: ["decisions", "ignored", "echoes"],
              },
            },
          },
        },
        ...errors("400", "401", "500"),
      },
    },
  };
}

function retryDeliveryPath(): Json {
  return {
    post: {
      operationId: "retryDelivery",
      tags: ["delivery"],
      summary: "Send a parked mirror again",
      description:
        "For a side whose connector delivers mirrors (docs/delivery.md): sends the parked mirror now, then the pair's mirrors waiting behind it, in order. Signed with the tenant's CRM secret. " +
        "`404` when the tenant's outbox has no such entry, `409 not_parked` when that mirror is not parked. " +
        'An optional body `{"actor": {"userId"}}` names who asked: the audit\'s `mirror.retried` entry records it.',
      parameters: [
        tenantId,
        pathParameter(
          "entryId",
          "The parked mirror's entry id (`delivery.<side>.parkedEntryId` of the status).",
        ),
      ],
      requestBody: { required: false, ...json(ref("SyncCommand")) },
      responses: {
        "200": { description: "What became of the mirror.", ...json(ref("DeliveryRetryResponse")) },
        ...errors("401", "404", "409", "500", "503"),
      },
    },
  };
}

function driftPath(): Json {
  return read(
    "getDrift",
    "Drift findings of the scheduled audit",
    [
      tenantId,
      {
        name: "cursor",
        in: "query",
        required: false,
        description: "`next` of the previous page.",
        schema: { type: "string" },
      },
      limit,
    ],
    "DriftPage",
    "Synced pairs whose lines or amount disagree, opportunities with more than one synced quote, and manual-mode pairs with pending changes at a milestone stage.",
  );
}

/** The pipeline page's query: which view, which stage, and where the page starts. */
const PIPELINE_QUERY: Json[] = [
  { name: "view", in: "query", required: false, schema: { type: "string", enum: ["attention", "all"] } },
  { name: "stage", in: "query", required: false, schema: { type: "string" } },
  {
    name: "after",
    in: "query",
    required: false,
    description: "The last opportunity id of the previous page.",
    schema: { type: "string" },
  },
];

/** The pipeline page's routes (HTML, for people). */
function pagePaths(): Record<string, Json> {
  return {
    "/app/{tenantId}/enter": htmlPage(
      "get",
      "enterPipelinePage",
      "Exchange a viewer link for a session",
      [
        tenantId,
        {
          name: "link",
          in: "query",
          required: true,
          description: "The token `npx quotesync viewer-link` prints.",
          schema: { type: "string" },
        },
      ],
      "Sets the session cookie (HttpOnly, SameSite=Strict, Secure but on loopback http) and opens the pipeline.",
      { status: "200", description: "A page that opens the pipeline." },
      [],
    ),
    "/app/{tenantId}": htmlPage(
      "get",
      "pipelinePage",
      "The tenant's pipeline",
      [tenantId, ...PIPELINE_QUERY],
      "Every opportunity with its sync state, or those needing attention first.",
      { status: "200", description: "The pipeline page." },
    ),
    "/app/{tenantId}/opportunities/{opportunityId}": htmlPage(
      "get",
      "opportunityPage",
      "One opportunity",
      [tenantId, opportunityId],
      "Lines side by side, other quotes, the field mapping and the timeline.",
      { status: "200", description: "The opportunity page." },
    ),
    "/app/{tenantId}/opportunities/{opportunityId}/actions": htmlPage(
      "post",
      "opportunityPageAction",
      "Start, stop or re-sync from the page",
      [tenantId, opportunityId],
      "Runs through the start and stop functions, audited with the viewer as the actor; needs a link with actions.",
      { status: "303", description: "Back to the opportunity page, with the outcome." },
    ),
  };
}

/** What quotesync calls: a mirror POSTed to a tenant's delivery URL. */
function mirrorDeliveryWebhooks(): Json {
  return {
    mirrorDelivery: {
      post: {
        operationId: "deliverMirror",
        tags: ["delivery"],
        summary: "A mirror POSTed to a tenant's webhook delivery URL",
        description:
          "quotesync calls the `connectors.<side>.delivery.url` of a `native` side (`Tenant`) once per mirror, at least once and in commit order per pair. " +
          "`x-quotesync-signature` is made as for requests to quotesync, with the delivery secret, over the URL's path and query. " +
          "2xx: applied. 429, 5xx, or no answer within 5 s: retried with backoff (honouring `Retry-After`) for up to 24 h. Any other status parks the mirror.",
        requestBody: { required: true, ...json(ref("DeliveredMirror")) },
        responses: {
          "200": { description: "Applied (any 2xx)." },
          "429": { description: "Retried later, after `Retry-After` if given." },
          "400": {
            description:
              "Refused: the mirror is parked until `POST /sync/{tenantId}/deliveries/{entryId}/retry`.",
          },
          "503": { description: "Retried later." },
        },
      },
    },
  };
}

/** One response component per error status; 503 carries `Retry-After`. */
function errorComponents(): Json {
  return Object.fromEntries(
    Object.entries(errorResponses).map(([code, { description }]) => [
      `Error${code}`,
      {
        description,
        ...(code === "503"
          ? { headers: { "retry-after": { schema: { type: "string" }, description: "Seconds." } } }
          : {}),
        ...json(ref("ErrorBody")),
      },
    ]),
  );
}

function securitySchemes(): Json {
  return {
    viewerSession: {
      type: "apiKey",
      in: "cookie",
      name: "qs_view",
      description: "Set by `/app/{tenantId}/enter` from a viewer link (`npx quotesync viewer-link`).",
    },
    quotesyncSignature: {
      type: "apiKey",
      in: "header",
      name: "x-quotesync-signature",
      description:
        '`t=<unix seconds>,v1=<hex>` where `v1 = hex(HMAC-SHA256(secret, "<t>.<METHOD>.<path with query>.<raw body>"))`; ' +
        "several `v1=` values may be present (rotation); `|now - t| <= 300 s`. `/webhooks/crm/*` takes the CRM secret, `/webhooks/cpq/*` the CPQ secret, `/sync/*` either. `npx quotesync sign` prints one.",
    },
  };
}
