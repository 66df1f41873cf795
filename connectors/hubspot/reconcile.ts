import type { Outcome } from "../../domain/engine/decision.js";
import { CpqEvent, CrmEvent } from "../../domain/events.js";
import type { SyncStore } from "../../domain/store.js";
import type { TenantConfig } from "../../domain/tenant.js";
import type { ConnectorStore } from "../applier.js";
import type { HubSpotClient, HubSpotObject } from "./client.js";
import { associatedLineItems, hubSpotSide, readLines } from "./decisions.js";
import { saveLineParents } from "./line-parents.js";
import {
  DEAL_PROPERTIES,
  opportunityFromDeal,
  QUOTE_PROPERTIES,
  quoteFromHubSpotQuote,
} from "./properties.js";

/**
 * `quotesync reconcile --tenant` for a tenant on HubSpot: every synced pair's deal and quote, with
 * their line items, read back from HubSpot (`GET /crm/v3/objects/{deals|quotes}/{id}` with
 * `associations=line_items`, then `line_items/batch/read`, ≤ 100 ids a call) and reported to the
 * engine as the header and a snapshot of its lines. Each report is dated by HubSpot's last change
 * of what it carries (the records' `updatedAt`), so an edit whose webhook was lost wins, and a
 * change quotesync decided later (a mirror not applied yet) is kept. The engine mirrors the
 * differences. Records gone from HubSpot are reported deleted (sync stops).
 */
export interface ReconcileDeps {
  tenant: TenantConfig;
  client: HubSpotClient;
  store: SyncStore;
  connectorStore: ConnectorStore;
  engine: {
    handleCrmEvent(tenant: TenantConfig, event: CrmEvent): Promise<Outcome>;
    handleCpqEvent(tenant: TenantConfig, event: CpqEvent): Promise<Outcome>;
  };
  log: (message: string, facts: Record<string, unknown>) => void;
}

export interface Fed {
  type: string;
  eventId: string;
  status: string;
  replayed: boolean;
}

interface PairRecords {
  dealId: string;
  quoteId: string | null;
  /** undefined: that side is not HubSpot; null: gone. */
  deal: HubSpotObject | null | undefined;
  quote: HubSpotObject | null | undefined;
}

const PAGE = 50;

export async function reconcileHubSpotTenant(
  deps: ReconcileDeps,
  key: string,
): Promise<{ fed: Fed[]; pairs: number }> {
  const fed: Fed[] = [];
  let pairs = 0;
  let after: string | null = null;
  do {
    const page = await deps.store.listSyncedOpportunityIds(deps.tenant.tenantId, after, PAGE);
    after = page.next;
    const synced = await Promise.all(
      page.entries.map(async (dealId) => ({
        dealId,
        quoteId:
          (await deps.store.loadOpportunity(deps.tenant.tenantId, dealId))?.header.syncedQuoteId ?? null,
      })),
    );
    pairs += synced.length;
    const records = await Promise.all(synced.map((pair) => readPair(deps, pair)));
    fed.push(...(await reportPairs(deps, key, records)));
  } while (after !== null);
  return { fed, pairs };
}

async function readPair(
  deps: ReconcileDeps,
  pair: { dealId: string; quoteId: string | null },
): Promise<PairRecords> {
  const { tenant, client } = deps;
  const [deal, quote] = await Promise.all([
    tenant.connectors.crm.kind === "hubspot"
      ? client.getObject(
          "deals",
          pair.dealId,
          [...DEAL_PROPERTIES, ...Object.keys(tenant.fields.opportunity)],
          ["line_items"],
        )
      : undefined,
    tenant.connectors.cpq.kind === "hubspot" && pair.quoteId
      ? client.getObject(
          "quotes",
          pair.quoteId,
          [...QUOTE_PROPERTIES, ...Object.keys(tenant.fields.quote)],
          ["line_items"],
        )
      : undefined,
  ]);
  return { ...pair, deal, quote };
}

/** Every pair's line items in as few batch reads as possible, then each pair's reports in turn. */
async function reportPairs(deps: ReconcileDeps, key: string, records: PairRecords[]): Promise<Fed[]> {
  const sets = records.flatMap((pair) => [
    ...(pair.deal
      ? [{ ids: associatedLineItems(pair.deal), kind: "deal" as const, parentId: pair.dealId }]
      : []),
    ...(pair.quote && pair.quoteId
      ? [{ ids: associatedLineItems(pair.quote), kind: "quote" as const, parentId: pair.quoteId }]
      : []),
  ]);
  const read = await readLines(deps, sets);
  await saveLineParents(deps.connectorStore, deps.tenant.tenantId, read.parents);
  const linesOf = new Map(sets.map((set, index) => [`${set.kind}#${set.parentId}`, read[index] ?? []]));
  const fed: Fed[] = [];
  for (const pair of records) {
    const feed = async (event: Record<string, unknown>) => {
      const done = await feedEvent(deps, event);
      if (done) fed.push(done);
    };
    await reportDeal(deps, key, pair, linesOf.get(`deal#${pair.dealId}`) ?? [], read.updatedAt, feed);
    await reportQuote(deps, key, pair, linesOf.get(`quote#${pair.quoteId}`) ?? [], read.updatedAt, feed);
  }
  return fed;
}

type Feed = (event: Record<string, unknown>) => Promise<void>;
type Lines = Awaited<ReturnType<typeof readLines>>[number];

/** As of when HubSpot's copy is what it is: its latest change of the record or of its line items. */
function asOf(record: HubSpotObject, lines: Lines, updatedAt: Map<string, number>): string {
  let at = Date.parse(record.updatedAt ?? "") || 0;
  for (const line of lines) at = Math.max(at, updatedAt.get(String(line.id)) ?? 0);
  return new Date(at).toISOString();
}

async function reportDeal(
  deps: ReconcileDeps,
  key: string,
  pair: PairRecords,
  lines: Lines,
  updatedAt: Map<string, number>,
  feed: Feed,
): Promise<void> {
  if (pair.deal === undefined) return;
  const opportunityId = pair.dealId;
  if (pair.deal === null) {
    const at = new Date().toISOString();
    await feed({
      eventId: `${key}.${opportunityId}.gone`,
      type: "opportunity.deleted",
      occurredAt: at,
      data: { opportunityId },
    });
    return;
  }
  const { tenant } = deps;
  const opportunity = opportunityFromDeal(opportunityId, pair.deal.properties, tenant, hubSpotSide(tenant));
  const headerAt = new Date(Date.parse(pair.deal.updatedAt ?? "") || 0).toISOString();
  await feed({
    eventId: `${key}.${opportunityId}.h`,
    type: "opportunity.upserted",
    occurredAt: headerAt,
    data: { opportunity },
  });
  await feed({
    eventId: `${key}.${opportunityId}.l`,
    type: "opportunity.lines.replaced",
    occurredAt: asOf(pair.deal, lines, updatedAt),
    data: { opportunityId, lines },
  });
}

async function reportQuote(
  deps: ReconcileDeps,
  key: string,
  pair: PairRecords,
  lines: Lines,
  updatedAt: Map<string, number>,
  feed: Feed,
): Promise<void> {
  const quoteId = pair.quoteId;
  if (pair.quote === undefined || quoteId === null || pair.deal === null) return;
  if (pair.quote === null) {
    const at = new Date().toISOString();
    await feed({
      eventId: `${key}.${quoteId}.gone`,
      type: "quote.deleted",
      occurredAt: at,
      data: { quoteId },
    });
    return;
  }
  const quote = quoteFromHubSpotQuote(quoteId, pair.dealId, pair.quote.properties, deps.tenant);
  const headerAt = new Date(Date.parse(pair.quote.updatedAt ?? "") || 0).toISOString();
  await feed({
    eventId: `${key}.${quoteId}.qh`,
    type: "quote.upserted",
    occurredAt: headerAt,
    data: { quote },
  });
  await feed({
    eventId: `${key}.${quoteId}.ql`,
    type: "quote.lines.replaced",
    occurredAt: asOf(pair.quote, lines, updatedAt),
    data: { quoteId, lines },
  });
}

/** One report through the engine, validated as any webhook's event is; refused ones are logged and skipped. */
async function feedEvent(deps: ReconcileDeps, event: Record<string, unknown>): Promise<Fed | null> {
  const crm = String(event.type).startsWith("opportunity.");
  const parsed = (crm ? CrmEvent : CpqEvent).safeParse(event);
  if (!parsed.success) {
    deps.log("reconcile skipped a record quotesync refuses", { eventId: event.eventId, type: event.type });
    return null;
  }
  const outcome = crm
    ? await deps.engine.handleCrmEvent(deps.tenant, parsed.data as CrmEvent)
    : await deps.engine.handleCpqEvent(deps.tenant, parsed.data as CpqEvent);
  return {
    type: parsed.data.type,
    eventId: parsed.data.eventId,
    status: outcome.response.status,
    replayed: outcome.replayed,
  };
}
