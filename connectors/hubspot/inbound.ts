import type { HubSpotConnector } from "../../domain/connectors.js";
import { compare, isDecimalLike, parseDecimal } from "../../domain/decimal.js";
import { Forbidden, InvalidEvent, NotFound, PreconditionFailed } from "../../domain/errors.js";
import type { CpqEvent, CrmEvent, LineInput, OpportunityInput, QuoteInput } from "../../domain/events.js";
import type { StoredLine } from "../../domain/model.js";
import type { SyncStore } from "../../domain/store.js";
import type { TenantConfig } from "../../domain/tenant.js";
import type { ConnectorStore } from "../applier.js";
import type { HubSpotClient, HubSpotObject } from "./client.js";
import { type LineParent, loadLineParents, saveLineParents } from "./line-parents.js";
import {
  DEAL_PROPERTIES,
  isAccepted,
  isPublished,
  lineFromLineItem,
  lineItemProperties,
  lineItemPropertyNames,
  opportunityFromDeal,
  QUOTE_PROPERTIES,
  quoteFromHubSpotQuote,
} from "./properties.js";
import {
  classify,
  decisionEventId,
  type HubSpotWebhookEvent,
  isEcho,
  latestOccurrence,
} from "./webhook-events.js";

/**
 * HubSpot events of one tenant → quotesync decisions (CONNECTORS §3 "Inbound"). The events name
 * objects; the records are read back in batches, line items' parents resolved, and every change
 * the request brings to one deal or one quote becomes one event for the engine.
 */

/** What the inbound side needs; the engine's entry points are passed in, so tests can count them. */
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

export interface InboundReport {
  decisions: number;
  ignored: number;
  echoes: number;
}

interface DealWork {
  header: HubSpotWebhookEvent[];
  lines: Map<string, { line: LineInput; events: HubSpotWebhookEvent[] }>;
  deletedLines: Map<string, HubSpotWebhookEvent[]>;
  deleted: HubSpotWebhookEvent[];
}
type QuoteWork = DealWork & { statusEvents: HubSpotWebhookEvent[]; syncEvents: HubSpotWebhookEvent[] };

const newWork = (): QuoteWork => ({
  header: [],
  lines: new Map(),
  deletedLines: new Map(),
  deleted: [],
  statusEvents: [],
  syncEvents: [],
});

export async function processTenantEvents(
  events: readonly HubSpotWebhookEvent[],
  deps: InboundDeps,
): Promise<InboundReport> {
  const { tenant, client } = deps;
  const crm = tenant.connectors.crm.kind === "hubspot" ? tenant.connectors.crm : null;
  const cpq = tenant.connectors.cpq.kind === "hubspot" ? tenant.connectors.cpq : null;
  const connector = (crm ?? cpq) as HubSpotConnector;
  const report: InboundReport = { decisions: 0, ignored: 0, echoes: 0 };
  const deals = new Map<string, QuoteWork>();
  const quotes = new Map<string, QuoteWork>();
  const work = (map: Map<string, QuoteWork>, id: string) => {
    const found = map.get(id) ?? newWork();
    map.set(id, found);
    return found;
  };
  const changedLines = new Map<string, HubSpotWebhookEvent[]>();
  const deletedLines = new Map<string, HubSpotWebhookEvent[]>();
  const echoCreated = new Map<string, HubSpotWebhookEvent[]>();
  const add = (map: Map<string, HubSpotWebhookEvent[]>, id: string, event: HubSpotWebhookEvent) =>
    map.set(id, [...(map.get(id) ?? []), event]);

  for (const event of events) {
    const what = classify(event);
    const relevant =
      what && (what.object === "deal" ? crm : what.object === "quote" ? cpq : crm !== null || cpq !== null);
    if (!what || !relevant) {
      report.ignored++;
      continue;
    }
    if (isEcho(event, connector.appId)) {
      report.echoes++;
      // A line item's echo is checked against what quotesync holds (below); a header's is skipped.
      if (what.object === "line_item" && what.change !== "deletion") add(echoCreated, event.objectId, event);
      continue;
    }
    if (what.object === "line_item") {
      add(what.change === "deletion" ? deletedLines : changedLines, event.objectId, event);
    } else if (what.object === "deal") {
      const deal = work(deals, event.objectId);
      if (what.change === "deletion") deal.deleted.push(event);
      else if (what.change !== "associationChange") deal.header.push(event);
    } else {
      const quote = work(quotes, event.objectId);
      if (what.change === "deletion") quote.deleted.push(event);
      else {
        quote.header.push(event);
        if (event.propertyName === "hs_status" || what.change === "creation") quote.statusEvents.push(event);
        if (event.propertyName === "quotesync_sync") quote.syncEvents.push(event);
      }
    }
  }

  // Parents of the line items named, from quotesync's own map first.
  const lineIds = [...new Set([...changedLines.keys(), ...deletedLines.keys(), ...echoCreated.keys()])];
  const parents =
    lineIds.length > 0 ? await loadLineParents(deps.connectorStore, tenant.tenantId, lineIds) : new Map();
  // Echoes of quotesync's own line writes: compared with what quotesync holds, without a HubSpot
  // read. Equal: skipped (a creation still teaches the engine the new line item's id). Different
  // (a late echo of a mirror since outdated), or not known: read back like any change.
  const held = new Map<string, Promise<Map<string, StoredLine> | null>>();
  const heldLines = (parent: LineParent) => {
    const key = `${parent.kind}#${parent.parentId}`;
    let lines = held.get(key);
    if (!lines) {
      lines = (
        parent.kind === "deal"
          ? deps.store.loadOpportunity(tenant.tenantId, parent.parentId)
          : deps.store.loadQuote(tenant.tenantId, parent.parentId)
      ).then((aggregate) => aggregate?.lines ?? null);
      held.set(key, lines);
    }
    return lines;
  };
  const taught = new Map<string, { parent: LineParent; line: LineInput; events: HubSpotWebhookEvent[] }>();
  await Promise.all(
    [...echoCreated].map(async ([id, echoes]) => {
      const parent = parents.get(id);
      const lines = parent ? await heldLines(parent) : null;
      const line = lines ? findHeld(lines, parent?.syncKey, id) : undefined;
      if (!parent || !line || line.deleted) {
        for (const event of echoes) add(changedLines, id, event);
        return;
      }
      const expected = lineItemProperties(line, line.syncKey);
      const outdated = echoes.some(
        (event) =>
          event.propertyName !== undefined &&
          event.propertyName in expected &&
          !sameValue(expected[event.propertyName], event.propertyValue),
      );
      if (outdated) {
        for (const event of echoes) add(changedLines, id, event);
      } else if (line.id !== id) {
        taught.set(id, { parent, line: lineInputOf(line, id), events: echoes });
      }
    }),
  );
  const declaredLine = (kind: LineParent["kind"]) =>
    kind === "deal" ? tenant.fields.opportunityLine : tenant.fields.quoteLine;
  const lineProperties = [
    ...new Set([
      ...lineItemPropertyNames(tenant.fields.opportunityLine),
      ...lineItemPropertyNames(tenant.fields.quoteLine),
    ]),
  ];

  // Reads: the changed line items, the parents of those quotesync has not seen, deals, quotes.
  const changedIds = [...changedLines.keys()];
  const unparented = changedIds.filter(
    (id) =>
      !parents.has(id) ||
      changedLines.get(id)?.some((event) => classify(event)?.change === "associationChange"),
  );
  const [lineItems, toDeals, toQuotes, dealRecords, quoteRecords, quoteDeals] = await Promise.all([
    changedIds.length > 0 ? client.batchRead("line_items", changedIds, lineProperties) : null,
    crm && unparented.length > 0 ? client.associations("line_items", "deals", unparented) : null,
    cpq && unparented.length > 0 ? client.associations("line_items", "quotes", unparented) : null,
    deals.size > 0
      ? readExisting(
          client,
          "deals",
          [...deals].filter(([, w]) => w.header.length > 0).map(([id]) => id),
          DEAL_PROPERTIES,
          tenant.fields.opportunity,
        )
      : null,
    quotes.size > 0
      ? readExisting(
          client,
          "quotes",
          [...quotes].filter(([, w]) => w.header.length > 0).map(([id]) => id),
          QUOTE_PROPERTIES,
          tenant.fields.quote,
        )
      : null,
    quotes.size > 0
      ? client.associations(
          "quotes",
          "deals",
          [...quotes].filter(([, w]) => w.header.length > 0).map(([id]) => id),
        )
      : null,
  ]);

  const learned = new Map<string, LineParent>();
  for (const id of unparented) {
    const deal = toDeals?.get(id)?.[0];
    const quote = toQuotes?.get(id)?.[0];
    if (quote) learned.set(id, { kind: "quote", parentId: quote });
    else if (deal) learned.set(id, { kind: "deal", parentId: deal });
  }
  for (const item of lineItems?.results ?? []) {
    const parent = learned.get(item.id) ?? parents.get(item.id);
    if (!parent) {
      report.ignored++;
      deps.log("hubspot line item without a synced parent", { lineItemId: item.id });
      continue;
    }
    const line = lineFromLineItem(item.id, item.properties, declaredLine(parent.kind));
    const target = work(parent.kind === "deal" ? deals : quotes, parent.parentId);
    target.lines.set(item.id, { line, events: changedLines.get(item.id) ?? [] });
    if (line.syncKey) learned.set(item.id, { ...parent, syncKey: line.syncKey });
  }
  if (learned.size > 0) await saveLineParents(deps.connectorStore, tenant.tenantId, learned, parents);

  for (const [id, { parent, line, events: echoes }] of taught) {
    if (changedLines.has(id)) continue;
    work(parent.kind === "deal" ? deals : quotes, parent.parentId).lines.set(id, { line, events: echoes });
  }

  // Deleted line items: mirrored only once their parent is known to live (cascades, §3).
  for (const [id, deletions] of deletedLines) {
    const parent = parents.get(id);
    if (!parent) {
      report.ignored++;
      deps.log("hubspot line item deleted that quotesync never saw", { lineItemId: id });
      continue;
    }
    work(parent.kind === "deal" ? deals : quotes, parent.parentId).deletedLines.set(id, deletions);
  }
  await confirmParents(client, deals, quotes);

  const decisions: Array<() => Promise<number>> = [];
  for (const [dealId, deal] of deals) {
    decisions.push(() => decideDeal(deps, connector, dealId, deal, dealRecords?.get(dealId) ?? null));
  }
  for (const [quoteId, quote] of quotes) {
    const dealId = quoteDeals?.get(quoteId)?.[0] ?? null;
    decisions.push(() => decideQuote(deps, quoteId, quote, quoteRecords?.get(quoteId) ?? null, dealId));
  }
  const counts = await Promise.all(decisions.map((decide) => decide()));
  report.decisions = counts.reduce((total, count) => total + count, 0);
  return report;
}

async function readExisting(
  client: HubSpotClient,
  type: "deals" | "quotes",
  ids: string[],
  properties: readonly string[],
  declared: Record<string, unknown>,
): Promise<Map<string, HubSpotObject>> {
  if (ids.length === 0) return new Map();
  const answer = await client.batchRead(type, ids, [...properties, ...Object.keys(declared)]);
  return new Map(answer.results.filter((record) => !record.archived).map((record) => [record.id, record]));
}

/** Parents of deleted lines that no header event covers are read: a missing one is the record's deletion. */
async function confirmParents(
  client: HubSpotClient,
  deals: Map<string, QuoteWork>,
  quotes: Map<string, QuoteWork>,
): Promise<void> {
  for (const [type, map] of [
    ["deals", deals],
    ["quotes", quotes],
  ] as const) {
    const ids = [...map]
      .filter(([, work]) => work.deletedLines.size > 0 && work.deleted.length === 0)
      .map(([id]) => id);
    if (ids.length === 0) continue;
    const answer = await client.batchRead(type, ids, ["hs_object_id"]);
    const alive = new Set(answer.results.filter((record) => !record.archived).map((record) => record.id));
    for (const id of ids) {
      const work = map.get(id);
      if (!work || alive.has(id)) continue;
      work.deleted.push(...[...work.deletedLines.values()].flat());
      work.deletedLines.clear();
    }
  }
}

function findHeld(
  lines: Map<string, StoredLine>,
  syncKey: string | undefined,
  id: string,
): StoredLine | undefined {
  if (syncKey) {
    const bySyncKey = lines.get(syncKey);
    if (bySyncKey) return bySyncKey;
  }
  for (const line of lines.values()) if (line.id === id) return line;
  return undefined;
}

/** A property value as quotesync wrote it vs. as an event reports it: decimals compare exactly. */
function sameValue(written: string | undefined, reported: unknown): boolean {
  const given = reported === null || reported === undefined ? "" : String(reported);
  if ((written ?? "") === given) return true;
  if (isDecimalLike(written) && isDecimalLike(given)) {
    return compare(parseDecimal(written), parseDecimal(given)) === 0;
  }
  return false;
}

function lineInputOf(line: StoredLine, id: string): LineInput {
  return {
    id,
    syncKey: line.syncKey,
    productId: line.productId,
    name: line.name,
    quantity: line.quantity,
    unitPrice: line.unitPrice,
    discountPercent: line.discountPercent,
    billing: line.billing,
    billingPeriod: line.billingPeriod,
    position: line.position,
    serviceDate: line.serviceDate,
    fields: line.fields,
  } as LineInput;
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

async function decideDeal(
  deps: InboundDeps,
  connector: HubSpotConnector,
  dealId: string,
  deal: QuoteWork,
  record: HubSpotObject | null,
): Promise<number> {
  const { tenant } = deps;
  let count = 0;
  if (deal.deleted.length > 0) {
    const event: CrmEvent = {
      eventId: decisionEventId(`deal-deleted:${dealId}`, []),
      type: "opportunity.deleted",
      occurredAt: latestOccurrence(deal.deleted),
      data: { opportunityId: dealId },
    };
    return decide(deps, event.type, () => deps.handleCrmEvent(tenant, event));
  }
  if (deal.header.length > 0 && record) {
    const opportunity: OpportunityInput = opportunityFromDeal(dealId, record.properties, tenant, connector);
    const event: CrmEvent = {
      eventId: decisionEventId(`deal:${dealId}`, deal.header),
      type: "opportunity.upserted",
      occurredAt: latestOccurrence(deal.header),
      data: { opportunity },
    };
    count += await decide(deps, event.type, () => deps.handleCrmEvent(tenant, event));
  }
  if (deal.lines.size > 0) {
    const events = [...deal.lines.values()].flatMap((entry) => entry.events);
    const event: CrmEvent = {
      eventId: decisionEventId(`deal-lines:${dealId}`, events),
      type: "opportunity.lines.upserted",
      occurredAt: latestOccurrence(events),
      data: { opportunityId: dealId, lines: [...deal.lines.values()].map((entry) => entry.line) },
    };
    count += await decide(deps, event.type, () => deps.handleCrmEvent(tenant, event));
  }
  if (deal.deletedLines.size > 0) {
    const events = [...deal.deletedLines.values()].flat();
    const event: CrmEvent = {
      eventId: decisionEventId(`deal-lines-deleted:${dealId}`, events),
      type: "opportunity.lines.deleted",
      occurredAt: latestOccurrence(events),
      data: { opportunityId: dealId, lineIds: [...deal.deletedLines.keys()] },
    };
    count += await decide(deps, event.type, () => deps.handleCrmEvent(tenant, event));
  }
  return count;
}

async function decideQuote(
  deps: InboundDeps,
  quoteId: string,
  quote: QuoteWork,
  record: HubSpotObject | null,
  dealId: string | null,
): Promise<number> {
  const { tenant } = deps;
  let count = 0;
  if (quote.deleted.length > 0) {
    const event: CpqEvent = {
      eventId: decisionEventId(`quote-deleted:${quoteId}`, []),
      type: "quote.deleted",
      occurredAt: latestOccurrence(quote.deleted),
      data: { quoteId },
    };
    return decide(deps, event.type, () => deps.handleCpqEvent(tenant, event));
  }
  const triggers = record ? lifecycleTriggers(quote, record) : [];
  if (triggers.length > 0 && dealId && record) {
    // A start needs both records and their lines as HubSpot holds them now.
    count += await reportSnapshot(deps, quoteId, dealId, record, quote);
  } else if (quote.header.length > 0 && record && dealId) {
    const input: QuoteInput = quoteFromHubSpotQuote(quoteId, dealId, record.properties, tenant);
    const event: CpqEvent = {
      eventId: decisionEventId(`quote:${quoteId}`, quote.header),
      type: "quote.upserted",
      occurredAt: latestOccurrence(quote.header),
      data: { quote: input },
    };
    count += await decide(deps, event.type, () => deps.handleCpqEvent(tenant, event));
  } else if (quote.header.length > 0) {
    deps.log("hubspot quote without a deal ignored", { quoteId });
  }
  if (quote.lines.size > 0 && triggers.length === 0) {
    const events = [...quote.lines.values()].flatMap((entry) => entry.events);
    const event: CpqEvent = {
      eventId: decisionEventId(`quote-lines:${quoteId}`, events),
      type: "quote.lines.upserted",
      occurredAt: latestOccurrence(events),
      data: { quoteId, lines: [...quote.lines.values()].map((entry) => entry.line) },
    };
    count += await decide(deps, event.type, () => deps.handleCpqEvent(tenant, event));
  }
  if (quote.deletedLines.size > 0) {
    const events = [...quote.deletedLines.values()].flat();
    const event: CpqEvent = {
      eventId: decisionEventId(`quote-lines-deleted:${quoteId}`, events),
      type: "quote.lines.deleted",
      occurredAt: latestOccurrence(events),
      data: { quoteId, lineIds: [...quote.deletedLines.keys()] },
    };
    count += await decide(deps, event.type, () => deps.handleCpqEvent(tenant, event));
  }
  for (const trigger of triggers) {
    const eventId = decisionEventId(`${trigger.kind}:${quoteId}`, trigger.events);
    if (trigger.kind === "start") {
      count += await decide(deps, "sync.start", () => deps.startSync(tenant, quoteId, { eventId }));
    } else if (trigger.kind === "stop") {
      count += await decide(deps, "sync.stop", () => deps.stopSync(tenant, quoteId, { eventId }));
    } else {
      const event: CpqEvent = {
        eventId,
        type: trigger.kind,
        occurredAt: latestOccurrence(trigger.events),
        data: { quoteId },
      };
      count += await decide(deps, event.type, () => deps.handleCpqEvent(tenant, event));
    }
  }
  return count;
}

type Trigger = {
  kind: "start" | "stop" | "cart.finalized" | "quote.accepted";
  events: HubSpotWebhookEvent[];
};

/** `quotesync_sync` true/false → start/stop; `hs_status` published → cart.finalized; accepted → quote.accepted. */
function lifecycleTriggers(quote: QuoteWork, record: HubSpotObject): Trigger[] {
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

/**
 * Before a start or trigger: the deal, the quote and both line sets as HubSpot holds them, reported
 * as snapshots (`*.replaced`), so the start pairs what is really there.
 */
async function reportSnapshot(
  deps: InboundDeps,
  quoteId: string,
  dealId: string,
  quoteRecord: HubSpotObject,
  quote: QuoteWork,
): Promise<number> {
  const { tenant, client } = deps;
  const connector = (
    tenant.connectors.crm.kind === "hubspot" ? tenant.connectors.crm : tenant.connectors.cpq
  ) as HubSpotConnector;
  const events = [...quote.header, ...quote.syncEvents];
  const at = latestOccurrence(events);
  const [deal, quoteWithLines] = await Promise.all([
    client.getObject(
      "deals",
      dealId,
      [...DEAL_PROPERTIES, ...Object.keys(tenant.fields.opportunity)],
      ["line_items"],
    ),
    client.getObject("quotes", quoteId, ["hs_object_id"], ["line_items"]),
  ]);
  const quoteLines = associatedLineItems(quoteWithLines);
  const dealLines = associatedLineItems(deal);
  const properties = [
    ...new Set([
      ...lineItemPropertyNames(tenant.fields.opportunityLine),
      ...lineItemPropertyNames(tenant.fields.quoteLine),
    ]),
  ];
  const items = await client.batchRead("line_items", [...quoteLines, ...dealLines], properties);
  const byId = new Map(items.results.map((item) => [item.id, item]));
  const parents = new Map<string, LineParent>();
  const toLines = (ids: string[], kind: LineParent["kind"], parentId: string) =>
    ids.flatMap((id) => {
      const item = byId.get(id);
      if (!item) return [];
      const line = lineFromLineItem(
        id,
        item.properties,
        kind === "deal" ? tenant.fields.opportunityLine : tenant.fields.quoteLine,
      );
      parents.set(id, { kind, parentId, ...(line.syncKey ? { syncKey: line.syncKey } : {}) });
      return [line];
    });
  const crmLines = toLines(dealLines, "deal", dealId);
  const cpqLines = toLines(quoteLines, "quote", quoteId);
  await saveLineParents(deps.connectorStore, tenant.tenantId, parents);
  let count = 0;
  if (deal) {
    const opportunity = opportunityFromDeal(dealId, deal.properties, tenant, connector);
    count += await decide(deps, "opportunity.upserted", () =>
      deps.handleCrmEvent(tenant, {
        eventId: decisionEventId(`snapshot-deal:${dealId}`, events),
        type: "opportunity.upserted",
        occurredAt: at,
        data: { opportunity },
      }),
    );
    count += await decide(deps, "opportunity.lines.replaced", () =>
      deps.handleCrmEvent(tenant, {
        eventId: decisionEventId(`snapshot-deal-lines:${dealId}`, events),
        type: "opportunity.lines.replaced",
        occurredAt: at,
        data: { opportunityId: dealId, lines: crmLines },
      }),
    );
  }
  count += await decide(deps, "quote.upserted", () =>
    deps.handleCpqEvent(tenant, {
      eventId: decisionEventId(`snapshot-quote:${quoteId}`, events),
      type: "quote.upserted",
      occurredAt: at,
      data: { quote: quoteFromHubSpotQuote(quoteId, dealId, quoteRecord.properties, tenant) },
    }),
  );
  count += await decide(deps, "quote.lines.replaced", () =>
    deps.handleCpqEvent(tenant, {
      eventId: decisionEventId(`snapshot-quote-lines:${quoteId}`, events),
      type: "quote.lines.replaced",
      occurredAt: at,
      data: { quoteId, lines: cpqLines },
    }),
  );
  return count;
}

/** HubSpot answers `associations=line_items` under "line items" (with a space); both are accepted. */
function associatedLineItems(record: HubSpotObject | null): string[] {
  const found = record?.associations?.["line items"] ?? record?.associations?.line_items;
  return (found?.results ?? []).map((result) => String(result.id));
}
