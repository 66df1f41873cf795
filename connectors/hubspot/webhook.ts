import { hubSpotPortalOf, type TenantConfig } from "../../domain/tenant.js";
import type { ConnectorStore } from "../applier.js";
import { clientFor } from "./applier.js";
import type { HubSpotClient } from "./client.js";
import { hubSpotSide } from "./decisions.js";
import { type InboundDeps, type InboundReport, processTenantEvents } from "./inbound.js";
import { SIGNATURE_V3_HEADER, TIMESTAMP_HEADER, verifyV3 } from "./signature.js";
import { HubSpotWebhookEvent, MAX_EVENTS_PER_REQUEST } from "./webhook-events.js";

/**
 * `POST /connectors/hubspot` without the Lambda around it: signature, tenants by portal, then the
 * events of each tenant through `processTenantEvents`. Answers 401 (bad signature, nothing done),
 * 400 (a signed body that is not an array of ≤ 100 events) or 200 with counts; events quotesync
 * does not handle are answered 2xx too, since HubSpot retries every 4xx and 5xx for a day.
 */
export const WEBHOOK_PATH = "/connectors/hubspot";

export interface WebhookRequest {
  method: string;
  /** The query string as received, without `?`. */
  rawQuery: string;
  headers: Record<string, string | undefined>;
  body: Buffer;
}

export interface WebhookDeps extends Omit<InboundDeps, "tenant" | "client"> {
  /** QUOTESYNC_PUBLIC_URL: the URL HubSpot calls, without the path (e.g. https://api.example.com). */
  publicUrl: string;
  findTenantIdByPortal(portalId: number): Promise<string | null>;
  loadTenant(tenantId: string): Promise<TenantConfig | null>;
  connectorStore: ConnectorStore;
  fetch: typeof fetch;
  now: () => number;
  /** How the portal's rate budget waits; `setTimeout` unless a test moves its own clock. */
  sleep?: (ms: number) => Promise<void>;
  /** Sees each tenant's client (tests count its calls). */
  onClient?: (client: HubSpotClient) => void;
}

export interface WebhookAnswer {
  statusCode: number;
  body: Record<string, unknown>;
}

const UNAUTHORIZED: WebhookAnswer = {
  statusCode: 401,
  body: { error: { code: "invalid_signature", message: "signature v3 refused" } },
};

export async function handleHubSpotWebhook(
  request: WebhookRequest,
  deps: WebhookDeps,
): Promise<WebhookAnswer> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(request.body.toString("utf8"));
  } catch {
    parsed = null;
  }
  const items = Array.isArray(parsed) ? parsed : [];
  const tenants = await tenantsByPortal(items, deps);
  const verified = verifyRequest(request, deps, tenants);
  if (tenants.size === 0 && !verified.ok && verified.reason === "mismatch" && Array.isArray(parsed)) {
    // No portal of ours: nothing to check the signature with and nothing to do.
    deps.log("hubspot webhook for unknown portals ignored", { portals: [...portalsOf(items)].slice(0, 10) });
    return { statusCode: 200, body: { decisions: 0, ignored: items.length, echoes: 0 } };
  }
  if (!verified.ok) return UNAUTHORIZED;
  if (!Array.isArray(parsed) || parsed.length > MAX_EVENTS_PER_REQUEST) {
    return {
      statusCode: 400,
      body: {
        error: {
          code: "invalid_event",
          message: `expected an array of at most ${MAX_EVENTS_PER_REQUEST} events`,
        },
      },
    };
  }
  return { statusCode: 200, body: { ...(await processEvents(parsed, tenants, deps)) } };
}

function portalsOf(items: unknown[]): Set<number> {
  const portals = new Set<number>();
  for (const item of items.slice(0, MAX_EVENTS_PER_REQUEST)) {
    const portalId = Number((item as { portalId?: unknown } | null)?.portalId);
    if (Number.isSafeInteger(portalId) && portalId > 0) portals.add(portalId);
  }
  return portals;
}

/** The tenants of the portals the events name (at most 10 portals are looked up). */
async function tenantsByPortal(items: unknown[], deps: WebhookDeps): Promise<Map<number, TenantConfig>> {
  const tenants = new Map<number, TenantConfig>();
  for (const portalId of [...portalsOf(items)].slice(0, 10)) {
    const tenantId = await deps.findTenantIdByPortal(portalId);
    const tenant = tenantId ? await deps.loadTenant(tenantId) : null;
    if (tenant && hubSpotPortalOf(tenant) === portalId) tenants.set(portalId, tenant);
  }
  return tenants;
}

/** Signature v3 over the configured public URL; the app's client secret is held by each known portal's tenant. */
function verifyRequest(request: WebhookRequest, deps: WebhookDeps, tenants: Map<number, TenantConfig>) {
  const secrets = [...tenants.values()].flatMap((tenant) => secretsOf(tenant));
  return verifyV3({
    secrets,
    method: request.method,
    uri: `${deps.publicUrl.replace(/\/+$/, "")}${WEBHOOK_PATH}${request.rawQuery ? `?${request.rawQuery}` : ""}`,
    body: request.body,
    signature: request.headers[SIGNATURE_V3_HEADER],
    timestamp: request.headers[TIMESTAMP_HEADER],
    now: deps.now(),
  });
}

/** Each tenant's events through `processTenantEvents`, concurrently; the reports summed. */
async function processEvents(
  items: unknown[],
  tenants: Map<number, TenantConfig>,
  deps: WebhookDeps,
): Promise<InboundReport> {
  const byTenant = new Map<TenantConfig, HubSpotWebhookEvent[]>();
  const total: InboundReport = { decisions: 0, ignored: 0, echoes: 0 };
  for (const item of items) {
    const event = HubSpotWebhookEvent.safeParse(item);
    const tenant = event.success ? tenants.get(event.data.portalId) : undefined;
    if (!event.success || !tenant) {
      total.ignored++;
      deps.log("hubspot event ignored", { reason: event.success ? "unknown portal" : "unreadable event" });
      continue;
    }
    byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), event.data]);
  }
  const reports = await Promise.all(
    [...byTenant].map(([tenant, events]) => {
      const client = clientFor(hubSpotSide(tenant), { ...deps, tenantId: tenant.tenantId });
      deps.onClient?.(client);
      return processTenantEvents(events, { ...deps, tenant, client });
    }),
  );
  for (const report of reports) {
    total.decisions += report.decisions;
    total.ignored += report.ignored;
    total.echoes += report.echoes;
  }
  return total;
}

function secretsOf(tenant: TenantConfig): string[] {
  const secrets: string[] = [];
  for (const side of [tenant.connectors.crm, tenant.connectors.cpq]) {
    if (side.kind !== "hubspot") continue;
    if (side.clientSecret) secrets.push(side.clientSecret);
    if (side.oauth?.clientSecret) secrets.push(side.oauth.clientSecret);
  }
  return [...new Set(secrets)];
}
