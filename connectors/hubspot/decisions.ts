import type { HubSpotConnector } from "../../domain/connectors.js";
import { Forbidden, InvalidEvent, NotFound, PreconditionFailed } from "../../domain/errors.js";
import type { CpqEvent, CrmEvent, LineInput, OpportunityInput, QuoteInput } from "../../domain/events.js";
import type { SyncStore } from "../../domain/store.js";
import type { TenantConfig } from "../../domain/tenant.js";
import type { ConnectorStore } from "../applier.js";
import type { HubSpotClient, HubSpotObject } from "./client.js";
import { type LineParent, saveLineParents } from "./line-parents.js";
import {
  DEAL_PROPERTIES,
  isAccepted,
  isPublished,
  lineFromLineItem,
  lineItemPropertyNames,
  opportunityFromDeal,
  quoteFromHubSpotQuote,
} from "./properties.js";
import { decisionEventId, type HubSpotWebhookEvent, latestOccurrence } from "./webhook-events.js";

/**
 * The decisions one request's HubSpot events become, per deal and per quote (CONNECTORS §3
 * "Inbound"): one engine call for the header, one for the changed lines, one for the deleted lines,
 * and the lifecycle triggers. The engine's entry points are passed in, so tests can count them.
 */

/** What the inbound side needs. */
export interface InboundDeps {
  tenant: TenantConfig;
  client: HubSpotClient;
  store: SyncStore;
  connectorStore: ConnectorStore;
  handleCrmEvent(tenant: TenantConfig, event: CrmEvent): Promise<unknown>;
  handleCpqEvent(tenant: TenantConfig, event: CpqEvent): Promise<unknown>;
  startSync(tenant: TenantConfig, quoteId: string, input: { eventId: string }): Promise<unknown>;
  stopSync(tenant: TenantConfig, quoteId: string, input: { eventId: string }): Promise<unknown>;
  log: (message: string, facts: Record<string, unknown>) => void;
}

/** Everything one request says about one deal or one quote. */
export interface RecordWork {
  header: HubSpotWebhookEvent[];
  lines: Map<string, { line: LineInput; events: HubSpotWebhookEvent[] }>;
  deletedLines: Map<string, HubSpotWebhookEvent[]>;
  deleted: HubSpotWebhookEvent[];
  statusEvents: HubSpotWebhookEvent[];
  syncEvents: HubSpotWebhookEvent[];
}

export const newWork = (): RecordWork => ({
  header: [],
  lines: new Map(),
  deletedLines: new Map(),
  deleted: [],
  statusEvents: [],
  syncEvents: [],
});

/** The tenant's HubSpot connector (both sides name the same portal). */
export function hubSpotSide(tenant: TenantConfig): HubSpotConnector {
  return (
    tenant.connectors.crm.kind === "hubspot" ? tenant.connectors.crm : tenant.connectors.cpq
  ) as HubSpotConnector;
}

/** Runs one engine call; refusals the sender cannot fix by retrying are logged, not thrown. */
async function decide(deps: InboundDeps, what: string, call: () => Promise<unknown>): Promise<number> {
  try {
    await call();
  } catch (error) {
    if (
      error instanceof NotFound ||
      error instanceof PreconditionFailed ||
      error instanceof Forbidden ||
      error instanceof InvalidEvent
    ) {
      deps.log("hubspot change refused", { decision: what, error: error.name, message: error.message });
    } else {
      throw error;
    }
  }
  return 1;
}

const crm = (deps: InboundDeps, event: CrmEvent) =>
  decide(deps, event.type, () => deps.handleCrmEvent(deps.tenant, event));
const cpq = (deps: InboundDeps, event: CpqEvent) =>
  decide(deps, event.type, () => deps.handleCpqEvent(deps.tenant, event));

export async function decideDeal(
  deps: InboundDeps,
  dealId: string,
  deal: RecordWork,
  record: HubSpotObject | null,
): Promise<number> {
  const { tenant } = deps;
  if (deal.deleted.length > 0) {
    return crm(deps, {
      eventId: decisionEventId(`deal-deleted:${dealId}`, []),
      type: "opportunity.deleted",
      occurredAt: latestOccurrence(deal.deleted),
      data: { opportunityId: dealId },
    });
  }
  let count = 0;
  if (deal.header.length > 0 && record) {
    const opportunity: OpportunityInput = opportunityFromDeal(
      dealId,
      record.properties,
      tenant,
      hubSpotSide(tenant),
    );
    count += await crm(deps, {
      eventId: decisionEventId(`deal:${dealId}`, deal.header),
      type: "opportunity.upserted",
      occurredAt: latestOccurrence(deal.header),
      data: { opportunity },
    });
  }
  if (deal.lines.size > 0) {
    const events = [...deal.lines.values()].flatMap((entry) => entry.events);
    count += await crm(deps, {
      eventId: decisionEventId(`deal-lines:${dealId}`, events),
      type: "opportunity.lines.upserted",
      occurredAt: latestOccurrence(events),
      data: { opportunityId: dealId, lines: [...deal.lines.values()].map((entry) => entry.line) },
    });
  }
  if (deal.deletedLines.size > 0) {
    const events = [...deal.deletedLines.values()].flat();
    count += await crm(deps, {
      eventId: decisionEventId(`deal-lines-deleted:${dealId}`, events),
      type: "opportunity.lines.deleted",
      occurredAt: latestOccurrence(events),
      data: { opportunityId: dealId, lineIds: [...deal.deletedLines.keys()] },
    });
  }
  return count;
}

export async function decideQuote(
  deps: InboundDeps,
  quoteId: string,
  quote: RecordWork,
  record: HubSpotObject | null,
  dealId: string | null,
): Promise<number> {
  if (quote.deleted.length > 0) {
    return cpq(deps, {
      eventId: decisionEventId(`quote-deleted:${quoteId}`, []),
      type: "quote.deleted",
      occurredAt: latestOccurrence(quote.deleted),
      data: { quoteId },
    });
  }
  const triggers = record ? lifecycleTriggers(quote, record) : [];
  let count = 0;
  if (triggers.length > 0 && dealId && record) {
    // A start needs both records and their lines as HubSpot holds them now.
    count += await reportSnapshot(deps, quoteId, dealId, record, quote);
  } else {
    count += await decideQuoteHeader(deps, quoteId, quote, record, dealId);
  }
  if (triggers.length === 0) count += await decideQuoteLines(deps, quoteId, quote);
  count += await decideQuoteDeletedLines(deps, quoteId, quote);
  for (const trigger of triggers) count += await fire(deps, quoteId, trigger);
  return count;
}

async function decideQuoteHeader(
  deps: InboundDeps,
  quoteId: string,
  quote: RecordWork,
  record: HubSpotObject | null,
  dealId: string | null,
): Promise<number> {
  if (quote.header.length === 0) return 0;
  if (!record || !dealId) {
    deps.log("hubspot quote without a deal ignored", { quoteId });
    return 0;
  }
  const input: QuoteInput = quoteFromHubSpotQuote(quoteId, dealId, record.properties, deps.tenant);
  return cpq(deps, {
    eventId: decisionEventId(`quote:${quoteId}`, quote.header),
    type: "quote.upserted",
    occurredAt: latestOccurrence(quote.header),
    data: { quote: input },
  });
}

async function decideQuoteLines(deps: InboundDeps, quoteId: string, quote: RecordWork): Promise<number> {
  if (quote.lines.size === 0) return 0;
  const events = [...quote.lines.values()].flatMap((entry) => entry.events);
  return cpq(deps, {
    eventId: decisionEventId(`quote-lines:${quoteId}`, events),
    type: "quote.lines.upserted",
    occurredAt: latestOccurrence(events),
    data: { quoteId, lines: [...quote.lines.values()].map((entry) => entry.line) },
  });
}

async function decideQuoteDeletedLines(
  deps: InboundDeps,
  quoteId: string,
  quote: RecordWork,
): Promise<number> {
  if (quote.deletedLines.size === 0) return 0;
  const events = [...quote.deletedLines.values()].flat();
  return cpq(deps, {
    eventId: decisionEventId(`quote-lines-deleted:${quoteId}`, events),
    type: "quote.lines.deleted",
    occurredAt: latestOccurrence(events),
    data: { quoteId, lineIds: [...quote.deletedLines.keys()] },
  });
}

type Trigger = {
  kind: "start" | "stop" | "cart.finalized" | "quote.accepted";
  events: HubSpotWebhookEvent[];
};

async function fire(deps: InboundDeps, quoteId: string, trigger: Trigger): Promise<number> {
  const { tenant } = deps;
  const eventId = decisionEventId(`${trigger.kind}:${quoteId}`, trigger.events);
  if (trigger.kind === "start") {
    return decide(deps, "sync.start", () => deps.startSync(tenant, quoteId, { eventId }));
  }
  if (trigger.kind === "stop") {
    return decide(deps, "sync.stop", () => deps.stopSync(tenant, quoteId, { eventId }));
  }
  return cpq(deps, {
    eventId,
    type: trigger.kind,
    occurredAt: latestOccurrence(trigger.events),
    data: { quoteId },
  });
}

/** `quotesync_sync` true/false → start/stop; `hs_status` published → cart.finalized; accepted → quote.accepted. */
function lifecycleTriggers(quote: RecordWork, record: HubSpotObject): Trigger[] {
  const triggers: Trigger[] = [];
  const sync = quote.syncEvents.at(-1);
  if (sync) {
    const on = String(record.properties.quotesync_sync ?? "").toLowerCase() === "true";
    triggers.push({ kind: on ? "start" : "stop", events: quote.syncEvents });
  }
  if (quote.statusEvents.length > 0) {
    if (isAccepted(record.properties)) triggers.push({ kind: "quote.accepted", events: quote.statusEvents });
    else if (isPublished(record.properties))
      triggers.push({ kind: "cart.finalized", events: quote.statusEvents });
  }
  return triggers;
}

/** A deal's or quote's line items as HubSpot holds them now, as quotesync lines (and their parents). */
export interface LineSnapshot {
  lines: LineInput[];
  parents: Map<string, LineParent>;
}

/** Reads the line items named and turns them into lines of `parent`. */
export async function readLines(
  deps: Pick<InboundDeps, "tenant" | "client">,
  sets: ReadonlyArray<{ ids: string[]; kind: LineParent["kind"]; parentId: string }>,
): Promise<LineInput[][] & { parents: Map<string, LineParent>; updatedAt: Map<string, number> }> {
  const { tenant, client } = deps;
  const properties = [
    ...new Set([
      ...lineItemPropertyNames(tenant.fields.opportunityLine),
      ...lineItemPropertyNames(tenant.fields.quoteLine),
    ]),
  ];
  const items = await client.batchRead(
    "line_items",
    sets.flatMap((set) => set.ids),
    properties,
  );
  const byId = new Map(items.results.map((item) => [item.id, item]));
  const updatedAt = new Map(items.results.map((item) => [item.id, Date.parse(item.updatedAt ?? "") || 0]));
  const parents = new Map<string, LineParent>();
  const result = sets.map(({ ids, kind, parentId }) =>
    ids.flatMap((id) => {
      const item = byId.get(id);
      if (!item) return [];
      const declared = kind === "deal" ? tenant.fields.opportunityLine : tenant.fields.quoteLine;
      const line = lineFromLineItem(id, item.properties, declared);
      parents.set(id, { kind, parentId, ...(line.syncKey ? { syncKey: line.syncKey } : {}) });
      return [line];
    }),
  );
  return Object.assign(result, { parents, updatedAt });
}

/**
 * Before a start or trigger: the deal, the quote and both line sets as HubSpot holds them, reported
 * as snapshots (`*.replaced`), so the start pairs what is really there.
 */
async function reportSnapshot(
  deps: InboundDeps,
  quoteId: string,
  dealId: string,
  quoteRecord: HubSpotObject,
  quote: RecordWork,
): Promise<number> {
  const { tenant, client } = deps;
  const events = [...quote.header, ...quote.syncEvents];
  const [deal, quoteWithLines] = await Promise.all([
    client.getObject(
      "deals",
      dealId,
      [...DEAL_PROPERTIES, ...Object.keys(tenant.fields.opportunity)],
      ["line_items"],
    ),
    client.getObject("quotes", quoteId, ["hs_object_id"], ["line_items"]),
  ]);
  const read = await readLines(deps, [
    { ids: associatedLineItems(deal), kind: "deal", parentId: dealId },
    { ids: associatedLineItems(quoteWithLines), kind: "quote", parentId: quoteId },
  ]);
  await saveLineParents(deps.connectorStore, tenant.tenantId, read.parents);
  const snapshot = { at: latestOccurrence(events), events, crmLines: read[0] ?? [], cpqLines: read[1] ?? [] };
  let count = deal ? await reportDealSnapshot(deps, dealId, deal, snapshot) : 0;
  count += await cpq(deps, {
    eventId: decisionEventId(`snapshot-quote:${quoteId}`, events),
    type: "quote.upserted",
    occurredAt: snapshot.at,
    data: { quote: quoteFromHubSpotQuote(quoteId, dealId, quoteRecord.properties, tenant) },
  });
  count += await cpq(deps, {
    eventId: decisionEventId(`snapshot-quote-lines:${quoteId}`, events),
    type: "quote.lines.replaced",
    occurredAt: snapshot.at,
    data: { quoteId, lines: snapshot.cpqLines },
  });
  return count;
}

async function reportDealSnapshot(
  deps: InboundDeps,
  dealId: string,
  deal: HubSpotObject,
  snapshot: { at: string; events: HubSpotWebhookEvent[]; crmLines: LineInput[] },
): Promise<number> {
  const { tenant } = deps;
  const opportunity = opportunityFromDeal(dealId, deal.properties, tenant, hubSpotSide(tenant));
  let count = await crm(deps, {
    eventId: decisionEventId(`snapshot-deal:${dealId}`, snapshot.events),
    type: "opportunity.upserted",
    occurredAt: snapshot.at,
    data: { opportunity },
  });
  count += await crm(deps, {
    eventId: decisionEventId(`snapshot-deal-lines:${dealId}`, snapshot.events),
    type: "opportunity.lines.replaced",
    occurredAt: snapshot.at,
    data: { opportunityId: dealId, lines: snapshot.crmLines },
  });
  return count;
}

/** HubSpot answers `associations=line_items` under "line items" (with a space); both are accepted. */
export function associatedLineItems(record: HubSpotObject | null): string[] {
  const found = record?.associations?.["line items"] ?? record?.associations?.line_items;
  return (found?.results ?? []).map((result) => String(result.id));
}
