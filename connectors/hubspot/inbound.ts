import type { HubSpotConnector } from "../../domain/connectors.js";
import type { LineInput } from "../../domain/events.js";
import type { StoredLine } from "../../domain/model.js";
import type { HubSpotObject } from "./client.js";
import { decideDeal, decideQuote, type InboundDeps, newWork, type RecordWork } from "./decisions.js";
import { type LineParent, loadLineParents, saveLineParents } from "./line-parents.js";
import {
  DEAL_PROPERTIES,
  lineFromLineItem,
  lineItemProperties,
  lineItemPropertyNames,
  QUOTE_PROPERTIES,
} from "./properties.js";
import {
  type ChangeKind,
  classify,
  type HubSpotWebhookEvent,
  isEcho,
  type ObjectKind,
} from "./webhook-events.js";
import { type HeaderType, loadHeaderWrites, sameValue } from "./written.js";

export type { InboundDeps } from "./decisions.js";

/**
 * HubSpot events of one tenant → quotesync decisions (CONNECTORS §3 "Inbound"). The events name
 * objects; the records are read back in batches, line items' parents resolved, and every change
 * the request brings to one deal or one quote becomes one event for the engine.
 *
 * Events flagged as quotesync's own writes (`changeSource` INTEGRATION from this app) are
 * compared with what quotesync wrote or holds, without calling HubSpot: the same values are echoes
 * and cost nothing; any other value is a change like any other, read back and decided, so an edit
 * that carries the app's flag but not quotesync's values is never lost.
 */

export interface InboundReport {
  decisions: number;
  ignored: number;
  echoes: number;
}

type EventsById = Map<string, HubSpotWebhookEvent[]>;
type Parents = Map<string, LineParent & { version: number }>;

/** One request's events of one tenant, sorted by what they concern. */
interface Batch {
  deps: InboundDeps;
  crm: HubSpotConnector | null;
  cpq: HubSpotConnector | null;
  report: InboundReport;
  deals: Map<string, RecordWork>;
  quotes: Map<string, RecordWork>;
  changedLines: EventsById;
  deletedLines: EventsById;
  /** Line items quotesync wrote, by its own account: checked against what it holds. */
  lineEchoes: EventsById;
  /** Deal and quote properties quotesync wrote, by its own account: checked against what it wrote. */
  headerEchoes: Array<{ what: { object: ObjectKind; change: ChangeKind }; event: HubSpotWebhookEvent }>;
}

interface Reads {
  lineItems: { results: HubSpotObject[] } | null;
  toDeals: Map<string, string[]> | null;
  toQuotes: Map<string, string[]> | null;
  dealRecords: Map<string, HubSpotObject> | null;
  quoteRecords: Map<string, HubSpotObject> | null;
  quoteDeals: Map<string, string[]> | null;
}

const add = (map: EventsById, id: string, event: HubSpotWebhookEvent) =>
  map.set(id, [...(map.get(id) ?? []), event]);

function work(map: Map<string, RecordWork>, id: string): RecordWork {
  const found = map.get(id) ?? newWork();
  map.set(id, found);
  return found;
}

export async function processTenantEvents(
  events: readonly HubSpotWebhookEvent[],
  deps: InboundDeps,
): Promise<InboundReport> {
  const { tenant } = deps;
  const batch: Batch = {
    deps,
    crm: tenant.connectors.crm.kind === "hubspot" ? tenant.connectors.crm : null,
    cpq: tenant.connectors.cpq.kind === "hubspot" ? tenant.connectors.cpq : null,
    report: { decisions: 0, ignored: 0, echoes: 0 },
    deals: new Map(),
    quotes: new Map(),
    changedLines: new Map(),
    deletedLines: new Map(),
    lineEchoes: new Map(),
    headerEchoes: [],
  };
  for (const event of events) sortEvent(batch, event);
  await sortHeaderEchoes(batch);
  // Parents of the line items named, from quotesync's own map first.
  const lineIds = [
    ...new Set([...batch.changedLines.keys(), ...batch.deletedLines.keys(), ...batch.lineEchoes.keys()]),
  ];
  const parents: Parents =
    lineIds.length > 0 ? await loadLineParents(deps.connectorStore, tenant.tenantId, lineIds) : new Map();
  const taught = await sortLineEchoes(batch, parents);
  const unparented = [...batch.changedLines.keys()].filter(
    (id) =>
      !parents.has(id) ||
      batch.changedLines.get(id)?.some((event) => classify(event)?.change === "associationChange"),
  );
  const reads = await readRecords(batch, unparented);
  await placeChangedLines(batch, parents, unparented, reads);
  for (const [id, { parent, line, events: echoes }] of taught) {
    if (batch.changedLines.has(id)) continue;
    work(parent.kind === "deal" ? batch.deals : batch.quotes, parent.parentId).lines.set(id, {
      line,
      events: echoes,
    });
  }
  placeDeletedLines(batch, parents);
  await confirmParents(batch);
  batch.report.decisions = await decideAll(batch, reads);
  return batch.report;
}

function sortEvent(batch: Batch, event: HubSpotWebhookEvent): void {
  const what = classify(event);
  const relevant =
    what &&
    (what.object === "deal" ? batch.crm : what.object === "quote" ? batch.cpq : (batch.crm ?? batch.cpq));
  if (!what || !relevant) {
    batch.report.ignored++;
    return;
  }
  const connector = (batch.crm ?? batch.cpq) as HubSpotConnector;
  if (isEcho(event, connector.appId)) {
    batch.report.echoes++;
    if (what.object === "line_item") {
      // quotesync's own archive: its map of parents forgot the line item already.
      if (what.change !== "deletion") add(batch.lineEchoes, event.objectId, event);
      return;
    }
    if (what.change === "propertyChange") {
      batch.headerEchoes.push({ what, event });
      return;
    }
  }
  if (what.object === "line_item") {
    add(what.change === "deletion" ? batch.deletedLines : batch.changedLines, event.objectId, event);
  } else {
    addHeaderEvent(batch, what, event);
  }
}

function addHeaderEvent(
  batch: Batch,
  what: { object: ObjectKind; change: ChangeKind },
  event: HubSpotWebhookEvent,
): void {
  if (what.object === "deal") {
    const deal = work(batch.deals, event.objectId);
    if (what.change === "deletion") deal.deleted.push(event);
    else if (what.change !== "associationChange") deal.header.push(event);
    return;
  }
  const quote = work(batch.quotes, event.objectId);
  if (what.change === "deletion") {
    quote.deleted.push(event);
    return;
  }
  quote.header.push(event);
  if (event.propertyName === "hs_status" || what.change === "creation") quote.statusEvents.push(event);
  if (event.propertyName === "quotesync_sync") quote.syncEvents.push(event);
}

/**
 * A header event flagged as quotesync's own is an echo only when it reports the value quotesync
 * last wrote to that property (`written.ts`); otherwise it is a change, read back and decided.
 */
async function sortHeaderEchoes(batch: Batch): Promise<void> {
  if (batch.headerEchoes.length === 0) return;
  const typeOf = (object: ObjectKind): HeaderType => (object === "deal" ? "deals" : "quotes");
  const written = await loadHeaderWrites(
    batch.deps.connectorStore,
    batch.deps.tenant.tenantId,
    batch.headerEchoes.map(({ what, event }) => ({ type: typeOf(what.object), id: event.objectId })),
  );
  for (const { what, event } of batch.headerEchoes) {
    const values = written.get(`${typeOf(what.object)}#${event.objectId}`);
    const name = event.propertyName;
    const echo =
      values !== undefined &&
      name !== undefined &&
      name in values &&
      sameValue(values[name], event.propertyValue);
    if (!echo) addHeaderEvent(batch, what, event);
  }
}

type Taught = Map<string, { parent: LineParent; line: LineInput; events: HubSpotWebhookEvent[] }>;

/**
 * Echoes of quotesync's own line writes: compared with what quotesync holds, without a HubSpot
 * read. Equal: skipped (a creation still teaches the engine the new line item's id). Different (a
 * late echo of a mirror since outdated), or not known: read back like any change.
 */
async function sortLineEchoes(batch: Batch, parents: Parents): Promise<Taught> {
  const { deps } = batch;
  const held = new Map<string, Promise<Map<string, StoredLine> | null>>();
  const heldLines = (parent: LineParent) => {
    const key = `${parent.kind}#${parent.parentId}`;
    const lines =
      held.get(key) ??
      (parent.kind === "deal"
        ? deps.store.loadOpportunity(deps.tenant.tenantId, parent.parentId)
        : deps.store.loadQuote(deps.tenant.tenantId, parent.parentId)
      ).then((aggregate) => aggregate?.lines ?? null);
    held.set(key, lines);
    return lines;
  };
  const taught: Taught = new Map();
  await Promise.all(
    [...batch.lineEchoes].map(async ([id, echoes]) => {
      const parent = parents.get(id);
      const line = parent ? findHeld(await heldLines(parent), parent.syncKey, id) : undefined;
      if (!parent || !line || line.deleted || outdated(line, echoes)) {
        for (const event of echoes) add(batch.changedLines, id, event);
      } else if (line.id !== id) {
        taught.set(id, { parent, line: lineInputOf(line, id), events: echoes });
      }
    }),
  );
  return taught;
}

function outdated(line: StoredLine, echoes: HubSpotWebhookEvent[]): boolean {
  const expected = lineItemProperties(line, line.syncKey);
  return echoes.some(
    (event) =>
      event.propertyName !== undefined &&
      event.propertyName in expected &&
      !sameValue(expected[event.propertyName], event.propertyValue),
  );
}

/** Reads: the changed line items, the parents of those quotesync has not seen, deals, quotes. */
async function readRecords(batch: Batch, unparented: string[]): Promise<Reads> {
  const { tenant, client } = batch.deps;
  const changedIds = [...batch.changedLines.keys()];
  const withHeader = (map: Map<string, RecordWork>) =>
    [...map].filter(([, entry]) => entry.header.length > 0).map(([id]) => id);
  const lineProperties = [
    ...new Set([
      ...lineItemPropertyNames(tenant.fields.opportunityLine),
      ...lineItemPropertyNames(tenant.fields.quoteLine),
    ]),
  ];
  const [lineItems, toDeals, toQuotes, dealRecords, quoteRecords, quoteDeals] = await Promise.all([
    changedIds.length > 0 ? client.batchRead("line_items", changedIds, lineProperties) : null,
    batch.crm && unparented.length > 0 ? client.associations("line_items", "deals", unparented) : null,
    batch.cpq && unparented.length > 0 ? client.associations("line_items", "quotes", unparented) : null,
    readExisting(batch, "deals", withHeader(batch.deals), [
      ...DEAL_PROPERTIES,
      ...Object.keys(tenant.fields.opportunity),
    ]),
    readExisting(batch, "quotes", withHeader(batch.quotes), [
      ...QUOTE_PROPERTIES,
      ...Object.keys(tenant.fields.quote),
    ]),
    withHeader(batch.quotes).length > 0
      ? client.associations("quotes", "deals", withHeader(batch.quotes))
      : null,
  ]);
  return { lineItems, toDeals, toQuotes, dealRecords, quoteRecords, quoteDeals };
}

async function readExisting(
  batch: Batch,
  type: "deals" | "quotes",
  ids: string[],
  properties: string[],
): Promise<Map<string, HubSpotObject> | null> {
  if (ids.length === 0) return null;
  const answer = await batch.deps.client.batchRead(type, ids, properties);
  return new Map(answer.results.filter((record) => !record.archived).map((record) => [record.id, record]));
}

/** Changed line items placed under their parents (learned parents recorded for later deletions). */
async function placeChangedLines(
  batch: Batch,
  parents: Parents,
  unparented: string[],
  reads: Reads,
): Promise<void> {
  const { deps } = batch;
  const learned = new Map<string, LineParent>();
  for (const id of unparented) {
    const deal = reads.toDeals?.get(id)?.[0];
    const quote = reads.toQuotes?.get(id)?.[0];
    if (quote) learned.set(id, { kind: "quote", parentId: quote });
    else if (deal) learned.set(id, { kind: "deal", parentId: deal });
  }
  for (const item of reads.lineItems?.results ?? []) {
    const parent = learned.get(item.id) ?? parents.get(item.id);
    if (!parent) {
      batch.report.ignored++;
      deps.log("hubspot line item without a synced parent", { lineItemId: item.id });
      continue;
    }
    const declared =
      parent.kind === "deal" ? deps.tenant.fields.opportunityLine : deps.tenant.fields.quoteLine;
    const line = lineFromLineItem(item.id, item.properties, declared);
    const target = work(parent.kind === "deal" ? batch.deals : batch.quotes, parent.parentId);
    target.lines.set(item.id, { line, events: batch.changedLines.get(item.id) ?? [] });
    if (line.syncKey) learned.set(item.id, { ...parent, syncKey: line.syncKey });
  }
  if (learned.size > 0) await saveLineParents(deps.connectorStore, deps.tenant.tenantId, learned, parents);
}

/** Deleted line items: mirrored only once their parent is known to live (cascades, §3). */
function placeDeletedLines(batch: Batch, parents: Parents): void {
  for (const [id, deletions] of batch.deletedLines) {
    const parent = parents.get(id);
    if (!parent) {
      batch.report.ignored++;
      batch.deps.log("hubspot line item deleted that quotesync never saw", { lineItemId: id });
      continue;
    }
    work(parent.kind === "deal" ? batch.deals : batch.quotes, parent.parentId).deletedLines.set(
      id,
      deletions,
    );
  }
}

/** Parents of deleted lines that no header event covers are read: a missing one is the record's deletion. */
async function confirmParents(batch: Batch): Promise<void> {
  for (const [type, map] of [
    ["deals", batch.deals],
    ["quotes", batch.quotes],
  ] as const) {
    const ids = [...map]
      .filter(([, entry]) => entry.deletedLines.size > 0 && entry.deleted.length === 0)
      .map(([id]) => id);
    if (ids.length === 0) continue;
    const answer = await batch.deps.client.batchRead(type, ids, ["hs_object_id"]);
    const alive = new Set(answer.results.filter((record) => !record.archived).map((record) => record.id));
    for (const id of ids) {
      const entry = map.get(id);
      if (!entry || alive.has(id)) continue;
      entry.deleted.push(...[...entry.deletedLines.values()].flat());
      entry.deletedLines.clear();
    }
  }
}

async function decideAll(batch: Batch, reads: Reads): Promise<number> {
  const { deps } = batch;
  const decisions: Array<Promise<number>> = [];
  for (const [dealId, deal] of batch.deals) {
    decisions.push(decideDeal(deps, dealId, deal, reads.dealRecords?.get(dealId) ?? null));
  }
  for (const [quoteId, quote] of batch.quotes) {
    const dealId = reads.quoteDeals?.get(quoteId)?.[0] ?? null;
    decisions.push(decideQuote(deps, quoteId, quote, reads.quoteRecords?.get(quoteId) ?? null, dealId));
  }
  const counts = await Promise.all(decisions);
  return counts.reduce((total, count) => total + count, 0);
}

function findHeld(
  lines: Map<string, StoredLine> | null,
  syncKey: string | undefined,
  id: string,
): StoredLine | undefined {
  if (!lines) return undefined;
  if (syncKey) {
    const bySyncKey = lines.get(syncKey);
    if (bySyncKey) return bySyncKey;
  }
  for (const line of lines.values()) if (line.id === id) return line;
  return undefined;
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
