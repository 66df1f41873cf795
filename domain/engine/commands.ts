import { Forbidden, NotFound, PreconditionFailed } from "../errors.js";
import type { Actor } from "../events.js";
import type { QuoteAggregate, QuoteRecord, SyncResponse } from "../model.js";
import type { SyncStore } from "../store.js";
import { isSyncedPair, loadOpportunityInto, loadQuoteInto } from "./load.js";
import { settleSyncedHeader } from "./pair-totals.js";
import { checkStartPreconditions, startSync, stopSync } from "./sync-lifecycle.js";
import type { Workspace } from "./workspace.js";

/** SPEC §6: the tenant's permissions needed to start or stop; refused (and audited) otherwise. */
export function checkPermission(
  ws: Workspace,
  action: "start" | "stop",
  actor: Actor | undefined,
  opportunityId: string | null,
  quoteId: string,
): void {
  const required = ws.tenant.permissions[action];
  const held = new Set(actor?.permissions ?? []);
  const missing = required.filter((permission) => !held.has(permission));
  if (missing.length === 0) return;
  const who = actor ? `user ${actor.userId}` : "an anonymous caller";
  ws.audit(
    opportunityId,
    "command.forbidden",
    `${action} refused: ${who} lacks ${missing.join(", ")}`,
    quoteId,
  );
  throw new Forbidden(`${action} needs the permission(s) ${missing.join(", ")}`);
}

async function loadStartableQuote(ws: Workspace, store: SyncStore, quoteId: string): Promise<QuoteAggregate> {
  const quote = await loadQuoteInto(ws, store, quoteId);
  if (!quote.header.known || quote.header.deleted) throw new NotFound("quote", quoteId);
  return quote;
}

/**
 * Starts, replaces or re-runs sync of a quote (SPEC §1.2) — the manual button, a command, or an
 * automatic trigger. Preconditions refuse it with nothing changed but the audit entry.
 */
export async function startQuoteSync(
  ws: Workspace,
  store: SyncStore,
  quoteId: string,
  options: { actor?: Actor; checkPermissions: boolean; stage?: string; acceptQuote?: boolean },
): Promise<SyncResponse> {
  const quote = await loadStartableQuote(ws, store, quoteId);
  const opportunityId = quote.header.opportunityId;
  if (!opportunityId) throw new NotFound("opportunity", "(none named by the quote)");
  if (options.checkPermissions) checkPermission(ws, "start", options.actor, opportunityId, quoteId);
  const opportunity = await loadOpportunityInto(ws, store, opportunityId);
  if (!opportunity.header.known || opportunity.header.deleted)
    throw new NotFound("opportunity", opportunityId);
  try {
    checkStartPreconditions(quote, opportunity, ws.now);
  } catch (error) {
    if (error instanceof PreconditionFailed) {
      ws.audit(
        opportunityId,
        "start.refused",
        `start of quote ${quoteId} refused: ${error.message}`,
        quoteId,
      );
    }
    throw error;
  }
  const previousId = opportunity.header.syncedQuoteId;
  const previous = previousId && previousId !== quoteId ? await loadQuoteInto(ws, store, previousId) : null;
  if (options.acceptQuote) ws.updateQuote(quoteId, accepted(quote.header, ws.cause.at));
  const startOptions = options.stage ? { stage: options.stage } : {};
  const status = startSync(ws, quote, opportunity, previous, startOptions);
  return { status, mirrors: ws.producedMirrors(), opportunityId, quoteId };
}

/**
 * The quote as accepted at `at` (the CPQ's `quote.accepted`): a quote report dated before it,
 * delivered late, cannot put the earlier status back (SPEC §1.11); its other fields still apply.
 */
function accepted(header: QuoteRecord, at: number): Partial<QuoteRecord> {
  return { status: "accepted", statusSetAt: Math.max(at, header.statusSetAt ?? 0) };
}

/** Stops sync of a quote (SPEC §1.6); stopping a quote that is not synced changes nothing. */
export async function stopQuoteSync(
  ws: Workspace,
  store: SyncStore,
  quoteId: string,
  options: { actor?: Actor },
): Promise<SyncResponse> {
  const quote = await loadStartableQuote(ws, store, quoteId);
  const opportunityId = quote.header.opportunityId;
  checkPermission(ws, "stop", options.actor, opportunityId, quoteId);
  if (!opportunityId || !quote.header.syncing) {
    return { status: "no_change", mirrors: [], opportunityId, quoteId };
  }
  const opportunity = await loadOpportunityInto(ws, store, opportunityId);
  if (!isSyncedPair(quote, opportunity)) return { status: "no_change", mirrors: [], opportunityId, quoteId };
  const who = options.actor ? ` by ${options.actor.userId}` : "";
  const status = stopSync(ws, quote, opportunity, `sync of quote ${quoteId} stopped${who}`);
  return { status, mirrors: ws.producedMirrors(), opportunityId, quoteId };
}

/**
 * SPEC §1.7: `cart.finalized` and `quote.accepted` start (or re-run) sync when the tenant's
 * policy names them; an accepted quote also moves the opportunity to the accepted stage.
 */
export async function applyTrigger(
  ws: Workspace,
  store: SyncStore,
  type: "cart.finalized" | "quote.accepted",
  quoteId: string,
  eventActor?: Actor,
): Promise<SyncResponse> {
  const accepted = type === "quote.accepted";
  if (!ws.tenant.policy.triggers.includes(type)) return applyDisabledTrigger(ws, store, type, quoteId);
  // A tenant may hold triggers to the start policy: the event's actor, or the one configured for triggers.
  const { checkTriggers, triggerActor } = ws.tenant.permissions;
  const actor = eventActor ?? triggerActor ?? undefined;
  const permission = { checkPermissions: checkTriggers, ...(actor ? { actor } : {}) };
  const options = accepted
    ? { ...permission, stage: ws.tenant.policy.acceptedStage, acceptQuote: true }
    : permission;
  const response = await startQuoteSync(ws, store, quoteId, options);
  if (typeof response.opportunityId === "string") {
    ws.audit(response.opportunityId, "trigger.fired", `${type} started sync of quote ${quoteId}`, quoteId);
  }
  return { ...response, mirrors: ws.producedMirrors() };
}

/**
 * A trigger the tenant's policy does not enable starts nothing, but an accepted quote is still
 * accepted: if it is the synced quote, its opportunity's approval flag follows (SPEC §1.9).
 */
async function applyDisabledTrigger(
  ws: Workspace,
  store: SyncStore,
  type: "cart.finalized" | "quote.accepted",
  quoteId: string,
): Promise<SyncResponse> {
  const quote = await loadQuoteInto(ws, store, quoteId);
  ws.audit(
    quote.header.opportunityId,
    "trigger.fired",
    `${type} for quote ${quoteId} ignored: the tenant's policy does not enable it`,
    quoteId,
  );
  const result = { quoteId, trigger: "disabled by tenant policy" };
  if (type !== "quote.accepted" || !quote.header.known || quote.header.status === "accepted") {
    return { status: "no_change", mirrors: [], ...result };
  }
  ws.updateQuote(quoteId, accepted(quote.header, ws.cause.at));
  const opportunityId = quote.header.opportunityId;
  if (!quote.header.syncing || !opportunityId) return { status: "not_synced", mirrors: [], ...result };
  const opportunity = await loadOpportunityInto(ws, store, opportunityId);
  if (!isSyncedPair(quote, opportunity)) return { status: "not_synced", mirrors: [], ...result };
  settleSyncedHeader(ws, opportunity, quote);
  return { status: "applied", mirrors: ws.producedMirrors(), ...result };
}
