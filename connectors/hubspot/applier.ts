import type { HubSpotConnector } from "../../domain/connectors.js";
import type { MirrorLine } from "../../domain/model.js";
import {
  type ApplyContext,
  type ApplyResult,
  type DeliveryEntry,
  type MirrorApplier,
  PermanentDeliveryError,
  type TargetStateChanges,
  TransientDeliveryError,
} from "../applier.js";
import { chunks, HubSpotClient, type HubSpotObject, HubSpotRefused, HubSpotUnavailable } from "./client.js";
import { forgetLineParents, type LineParent, saveLineParents } from "./line-parents.js";
import { isLocked, lineItemProperties, SYNC_KEY_PROPERTY } from "./properties.js";
import { portalBudget } from "./rate-limit.js";
import { tokensFor } from "./tokens.js";
import { type HeaderType, recordHeaderWrite, sameValue } from "./written.js";

/** Line ids learned and forgotten so far: returned also when a later call fails. */
interface LineIdChanges {
  lineIds: { set: Record<string, string>; remove: string[] };
}

/** HUBSPOT_DEFINED association type ids (facts A3): line item → deal 20, line item → quote 68. */
export const LINE_ITEM_TO_DEAL = 20;
export const LINE_ITEM_TO_QUOTE = 68;
/**
 * How long a mirror for a locked (published) quote waits before it is tried again: one quote read
 * per pair each time, so not too often; a quote set back to DRAFT is written within this.
 */
export const LOCKED_QUOTE_RETRY_MS = 15_000;
/** The deal property that shows how many changes wait for a locked quote (created by setup-properties). */
export const PENDING_PROPERTY = "quotesync_pending_changes";
/** The pair's target fact holding the count last written to the deal, so it is written only when it changes. */
const PENDING_FACT = "hubspotPendingOnDeal";

/** A client for a connector: its token (private app or OAuth), its portal's shared budget. */
export function clientFor(
  connector: HubSpotConnector,
  context: Pick<ApplyContext, "fetch" | "now" | "sleep" | "connectorStore"> & { tenantId: string },
): HubSpotClient {
  const tokens = tokensFor(connector, {
    tenantId: context.tenantId,
    store: context.connectorStore,
    fetch: context.fetch,
    now: context.now,
  });
  if (!tokens) {
    throw new PermanentDeliveryError(
      "the HubSpot connector has neither an access token nor OAuth credentials",
      "MISSING_CREDENTIALS",
    );
  }
  return new HubSpotClient({
    baseUrl: connector.baseUrl,
    tokens,
    fetch: context.fetch,
    budget: portalBudget({
      store: context.connectorStore,
      tenantId: context.tenantId,
      portalId: connector.portalId,
      limit: connector.requestsPer10Seconds,
      now: context.now,
      ...(context.sleep ? { sleep: context.sleep } : {}),
    }),
  });
}

/**
 * The `hubspot` applier (CONNECTORS §3 "Outbound"): a mirror for the CRM side writes the deal's
 * line items and header, one for the CPQ side the quote's. Line items are updated by the ids
 * quotesync keeps per syncKey, created only for syncKeys without one, archived with "already gone"
 * counted as done; ≤ 100 inputs a call.
 */
export const hubSpotApplier: MirrorApplier = {
  kind: "hubspot",
  async apply(entry: DeliveryEntry, context: ApplyContext): Promise<ApplyResult> {
    const connector = context.connector;
    if (connector.kind !== "hubspot")
      throw new PermanentDeliveryError("not a HubSpot side", "WRONG_CONNECTOR");
    const client = clientFor(connector, { ...context, tenantId: entry.tenantId });
    const changes: LineIdChanges = { lineIds: { set: {}, remove: [] } };
    try {
      return await applyMirror({ entry, context, connector, client, changes });
    } catch (error) {
      throw deliveryError(error, changes);
    }
  },
};

/** One mirror being applied: what every step needs. */
interface Work {
  entry: DeliveryEntry;
  context: ApplyContext;
  connector: HubSpotConnector;
  client: HubSpotClient;
  changes: LineIdChanges;
}

async function applyMirror(work: Work): Promise<ApplyResult> {
  const { entry, context } = work;
  const toDeal = context.side === "crm";
  if (!toDeal) {
    const waiting = await waitWhileLocked(work);
    if (waiting) return waiting;
  }
  if (entry.mirror.lines) await applyLines(work, toDeal);
  const detail = toDeal ? await writeDealHeader(work) : await writeQuoteHeader(work);
  const facts = toDeal ? {} : await clearPendingOnDeal(work);
  const changes = { ...compact(work.changes), ...(Object.keys(facts).length > 0 ? { facts } : {}) };
  return { outcome: "delivered", changes, ...(detail ? { detail } : {}) };
}

/**
 * A published (locked) or accepted quote takes no write: the mirror waits, and the deal shows how
 * many changes wait for the quote (`quotesync_pending_changes`), written when that count changes.
 */
async function waitWhileLocked(work: Work): Promise<ApplyResult | null> {
  const { mirror } = work.entry;
  const quote = await work.client.getObject("quotes", mirror.quoteId, ["hs_locked", "hs_status"]);
  if (!quote)
    throw new PermanentDeliveryError(`HubSpot quote ${mirror.quoteId} does not exist`, "OBJECT_NOT_FOUND");
  if (!isLocked(quote.properties)) return null;
  const pending = String(Math.max(1, work.context.pending ?? 1));
  const facts: Record<string, string> = {};
  if (dealIsHubSpot(work) && work.context.state.facts[PENDING_FACT] !== pending) {
    await patchHeader(work, "deals", mirror.opportunityId, { [PENDING_PROPERTY]: pending });
    facts[PENDING_FACT] = pending;
  }
  return {
    outcome: "waiting",
    reason: "quote locked",
    retryAfterMs: LOCKED_QUOTE_RETRY_MS,
    ...(Object.keys(facts).length > 0 ? { changes: { facts } } : {}),
  };
}

/** Once the last waiting mirror reached the quote, the deal's pending count goes back to 0. */
async function clearPendingOnDeal(work: Work): Promise<Record<string, string | null>> {
  const shown = work.context.state.facts[PENDING_FACT];
  if (shown === undefined || !dealIsHubSpot(work)) return {};
  const left = Math.max(0, (work.context.pending ?? 1) - 1);
  if (left > 0) return {};
  await patchHeader(work, "deals", work.entry.mirror.opportunityId, { [PENDING_PROPERTY]: "0" });
  return { [PENDING_FACT]: null };
}

function dealIsHubSpot(work: Work): boolean {
  const crm = work.context.tenant.connectors.crm;
  return crm.kind === "hubspot" && crm.portalId === work.connector.portalId;
}

/** PATCHes a deal or quote, recording first what it writes (echoes are compared with it). */
async function patchHeader(
  work: Work,
  type: HeaderType,
  id: string,
  properties: Record<string, string>,
): Promise<HubSpotObject> {
  await recordHeaderWrite(work.context.connectorStore, work.entry.tenantId, type, id, properties);
  return work.client.patch(type, id, properties);
}

async function applyLines(work: Work, toDeal: boolean): Promise<void> {
  const lines = work.entry.mirror.lines;
  if (!lines) return;
  const known = { ...work.context.state.lineIds };
  const creates: MirrorLine[] = [];
  const updates: Array<{ id: string; properties: Record<string, string> }> = [];
  for (const line of lines.upsert) {
    const id = known[line.syncKey] ?? line.id;
    if (id) updates.push({ id, properties: lineItemProperties(line, line.syncKey) });
    else creates.push(line);
  }
  await createLines(work, creates, known, toDeal);
  await updateLines(work, updates);
  await archiveLines(work, lines.delete, known);
}

async function createLines(
  work: Work,
  creates: MirrorLine[],
  known: Record<string, string>,
  toDeal: boolean,
): Promise<void> {
  const { mirror, tenantId } = work.entry;
  const parentId = toDeal ? mirror.opportunityId : mirror.quoteId;
  const typeId = toDeal ? LINE_ITEM_TO_DEAL : LINE_ITEM_TO_QUOTE;
  for (const chunk of chunks(creates)) {
    const answer = await work.client.batchCreateLineItems(
      chunk.map((line) => ({
        properties: lineItemProperties(line, line.syncKey),
        parent: { id: parentId, typeId },
      })),
    );
    const parents = new Map<string, LineParent>();
    for (const created of answer.results) {
      const syncKey = String(created.properties[SYNC_KEY_PROPERTY] ?? "");
      if (!syncKey) continue;
      work.changes.lineIds.set[syncKey] = created.id;
      known[syncKey] = created.id;
      parents.set(created.id, { kind: toDeal ? "deal" : "quote", parentId, syncKey });
    }
    await saveLineParents(work.context.connectorStore, tenantId, parents);
    if (answer.errors.length > 0) throw refusedBatch(answer.errors);
  }
}

async function updateLines(
  work: Work,
  updates: Array<{ id: string; properties: Record<string, string> }>,
): Promise<void> {
  for (const chunk of chunks(updates)) {
    const answer = await work.client.batchUpdateLineItems(chunk);
    // A line item deleted meanwhile is not brought back: its deletion reaches quotesync as an event.
    const other = answer.errors.filter((error) => error.category !== "OBJECT_NOT_FOUND");
    if (other.length > 0) throw refusedBatch(other);
  }
}

async function archiveLines(work: Work, idsOrKeys: string[], known: Record<string, string>): Promise<void> {
  const deletes = idsOrKeys.map((idOrKey) => ({
    id: known[idOrKey] ?? idOrKey,
    syncKey: known[idOrKey] ? idOrKey : Object.keys(known).find((key) => known[key] === idOrKey),
  }));
  for (const chunk of chunks(deletes)) {
    // Archiving what is already gone is answered 204 like the rest: done either way.
    await work.client.batchArchiveLineItems(chunk.map((line) => line.id));
    for (const line of chunk) if (line.syncKey) work.changes.lineIds.remove.push(line.syncKey);
    await forgetLineParents(
      work.context.connectorStore,
      work.entry.tenantId,
      chunk.map((line) => line.id),
    );
  }
}

/** The deal's header properties a mirror sets (CONNECTORS §3: amount, stage, quotesync_*, mapped fields). */
export function dealProperties(
  header: NonNullable<DeliveryEntry["mirror"]["opportunity"]>,
  connector: HubSpotConnector,
): Record<string, string> {
  const properties: Record<string, string> = {
    quotesync_synced_quote_id: header.syncedQuoteId ?? "",
    quotesync_amount_locked: String(header.amountLocked),
  };
  if (header.amount !== null) properties.amount = header.amount;
  if (header.stage) properties.dealstage = connector.stages[header.stage] ?? header.stage;
  if (header.approval) {
    properties.quotesync_approval_required = String(header.approval.required);
    properties.quotesync_approval_reasons = header.approval.reasons.join("; ");
  }
  for (const [name, value] of Object.entries(header.fields ?? {}))
    properties[name] = value === null ? "" : String(value);
  return properties;
}

/** Written after the line writes, and read back: a portal's "default deal amount" may recompute it. */
async function writeDealHeader(work: Work): Promise<string | undefined> {
  const { mirror } = work.entry;
  const header = mirror.opportunity;
  if (!header) return undefined;
  const written = await patchHeader(
    work,
    "deals",
    mirror.opportunityId,
    dealProperties(header, work.connector),
  );
  const amount = written.properties.amount;
  if (header.amount === null || amount === undefined || amount === null) return undefined;
  if (sameValue(header.amount, amount)) return undefined;
  return `deal amount drift: HubSpot holds ${amount}, quotesync wrote ${header.amount}`;
}

async function writeQuoteHeader(work: Work): Promise<undefined> {
  const { mirror } = work.entry;
  if (!mirror.quote) return undefined;
  const properties: Record<string, string> = { quotesync_syncing: String(mirror.quote.syncing) };
  for (const [name, value] of Object.entries(mirror.quote.fields ?? {}))
    properties[name] = value === null ? "" : String(value);
  await patchHeader(work, "quotes", mirror.quoteId, properties);
  return undefined;
}

function compact(changes: LineIdChanges): TargetStateChanges {
  const lineIds: NonNullable<TargetStateChanges["lineIds"]> = {};
  if (Object.keys(changes.lineIds.set).length > 0) lineIds.set = changes.lineIds.set;
  if (changes.lineIds.remove.length > 0) lineIds.remove = changes.lineIds.remove;
  return Object.keys(lineIds).length > 0 ? { lineIds } : {};
}

function refusedBatch(errors: Array<{ category: string; message: string }>): HubSpotRefused {
  return new HubSpotRefused(
    errors
      .map((error) => error.message)
      .join("; ")
      .slice(0, 500),
    400,
    errors[0]?.category ?? null,
  );
}

function deliveryError(error: unknown, changes: LineIdChanges): Error {
  const made = compact(changes);
  if (error instanceof TransientDeliveryError || error instanceof PermanentDeliveryError) return error;
  if (error instanceof HubSpotUnavailable) {
    return new TransientDeliveryError(error.message, error.retryAfterMs, made, { cause: error });
  }
  if (error instanceof HubSpotRefused) {
    return new PermanentDeliveryError(error.message, error.category, made, { cause: error });
  }
  return new TransientDeliveryError((error as Error).message, null, made, { cause: error });
}
