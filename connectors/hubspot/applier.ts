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
import { chunks, HubSpotClient, HubSpotRefused, HubSpotUnavailable } from "./client.js";
import { forgetLineParents, type LineParent, saveLineParents } from "./line-parents.js";
import { isLocked, lineItemProperties, SYNC_KEY_PROPERTY } from "./properties.js";
import { portalBudget } from "./rate-limit.js";

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

/** A client for a connector: its token, its portal's shared budget. */
export function clientFor(
  connector: HubSpotConnector,
  context: Pick<ApplyContext, "fetch" | "now" | "connectorStore"> & { tenantId: string },
): HubSpotClient {
  if (!connector.accessToken) {
    throw new PermanentDeliveryError("the HubSpot connector has no access token", "MISSING_CREDENTIALS");
  }
  return new HubSpotClient({
    baseUrl: connector.baseUrl,
    accessToken: connector.accessToken,
    fetch: context.fetch,
    budget: portalBudget({
      store: context.connectorStore,
      tenantId: context.tenantId,
      portalId: connector.portalId,
      limit: connector.requestsPer10Seconds,
      now: context.now,
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
      return await applyMirror(entry, context, connector, client, changes);
    } catch (error) {
      throw deliveryError(error, changes);
    }
  },
};

async function applyMirror(
  entry: DeliveryEntry,
  context: ApplyContext,
  connector: HubSpotConnector,
  client: HubSpotClient,
  changes: LineIdChanges,
): Promise<ApplyResult> {
  const { mirror } = entry;
  const toDeal = context.side === "crm";
  const parentId = toDeal ? mirror.opportunityId : mirror.quoteId;
  if (!toDeal) {
    const quote = await client.getObject("quotes", mirror.quoteId, ["hs_locked", "hs_status"]);
    if (!quote)
      throw new PermanentDeliveryError(`HubSpot quote ${mirror.quoteId} does not exist`, "OBJECT_NOT_FOUND");
    if (isLocked(quote.properties)) {
      return {
        outcome: "waiting",
        reason: "quote locked",
        retryAfterMs: LOCKED_QUOTE_RETRY_MS,
      };
    }
  }
  const known = { ...context.state.lineIds };
  const idOf = (syncKey: string, id: string | null) => known[syncKey] ?? id;

  if (mirror.lines) {
    const creates: MirrorLine[] = [];
    const updates: Array<{ id: string; properties: Record<string, string> }> = [];
    for (const line of mirror.lines.upsert) {
      const id = idOf(line.syncKey, line.id);
      if (id) updates.push({ id, properties: lineItemProperties(line, line.syncKey) });
      else creates.push(line);
    }
    const typeId = toDeal ? LINE_ITEM_TO_DEAL : LINE_ITEM_TO_QUOTE;
    for (const chunk of chunks(creates)) {
      const answer = await client.batchCreateLineItems(
        chunk.map((line) => ({
          properties: lineItemProperties(line, line.syncKey),
          parent: { id: parentId, typeId },
        })),
      );
      const parents = new Map<string, LineParent>();
      for (const created of answer.results) {
        const syncKey = String(created.properties[SYNC_KEY_PROPERTY] ?? "");
        if (!syncKey) continue;
        changes.lineIds.set[syncKey] = created.id;
        known[syncKey] = created.id;
        parents.set(created.id, { kind: toDeal ? "deal" : "quote", parentId, syncKey });
      }
      await saveLineParents(context.connectorStore, entry.tenantId, parents);
      if (answer.errors.length > 0) throw refusedBatch(answer.errors);
    }
    for (const chunk of chunks(updates)) {
      const answer = await client.batchUpdateLineItems(chunk);
      // A line item deleted meanwhile is not brought back: its deletion reaches quotesync as an event.
      const other = answer.errors.filter((error) => error.category !== "OBJECT_NOT_FOUND");
      if (other.length > 0) throw refusedBatch(other);
    }
    const deletes = mirror.lines.delete.map((idOrKey) => ({
      id: known[idOrKey] ?? idOrKey,
      syncKey: known[idOrKey] ? idOrKey : Object.keys(known).find((key) => known[key] === idOrKey),
    }));
    for (const chunk of chunks(deletes)) {
      // Archiving what is already gone is answered 204 like the rest: done either way.
      await client.batchArchiveLineItems(chunk.map((line) => line.id));
      for (const line of chunk) if (line.syncKey) changes.lineIds.remove.push(line.syncKey);
      await forgetLineParents(
        context.connectorStore,
        entry.tenantId,
        chunk.map((line) => line.id),
      );
    }
  }

  let detail: string | undefined;
  if (toDeal && mirror.opportunity) {
    const header = mirror.opportunity;
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
    // Written after the line writes, and read back: a portal's "default deal amount" may recompute it.
    const written = await client.patch("deals", mirror.opportunityId, properties);
    const amount = written.properties.amount;
    if (
      header.amount !== null &&
      amount !== undefined &&
      amount !== null &&
      Number(amount) !== Number(header.amount)
    ) {
      detail = `deal amount drift: HubSpot holds ${amount}, quotesync wrote ${header.amount}`;
    }
  }
  if (!toDeal && mirror.quote) {
    const properties: Record<string, string> = { quotesync_syncing: String(mirror.quote.syncing) };
    for (const [name, value] of Object.entries(mirror.quote.fields ?? {}))
      properties[name] = value === null ? "" : String(value);
    await client.patch("quotes", mirror.quoteId, properties);
  }
  return { outcome: "delivered", changes: compact(changes), ...(detail ? { detail } : {}) };
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
