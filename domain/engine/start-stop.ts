import { Forbidden, NotFound, PreconditionFailed } from "../errors.js";
import type { Actor } from "../events.js";
import { liveLines, toMirrorLine } from "../lines.js";
import type { OpportunityAggregate, QuoteAggregate, QuoteRecord, SyncResponse } from "../model.js";
import { reconcilePair, replaceOpportunityLines } from "./pair-lines.js";
import { isSyncedPair, settleSyncedHeader } from "./pair-totals.js";
import { type Decision, type DecisionContext, decided, type ReadPlan, type Snapshot } from "./snapshot.js";
import type { Workspace } from "./workspace.js";

/**
 * Start and stop (SPEC §1.2, §1.6, §1.7): the commands, the CPQ's triggers, and the sync state
 * they begin or end, in one place. `SyncEngine.startSync` / `stopSync` run these rules.
 */

/** What a start or a trigger reads: the quote, its opportunity, and the quote synced there. */
export function startReads(quoteId: string): ReadPlan {
  return { from: "quote", quoteId, opportunity: "named", previous: true };
}

/** What a stop reads: the quote, and its opportunity while it is syncing. */
export function stopReads(quoteId: string): ReadPlan {
  return { from: "quote", quoteId, opportunity: "if-syncing" };
}

/** The start command (SPEC §2): start, replace or re-run sync of a quote. */
export function decideStart(
  snapshot: Snapshot,
  command: { quoteId: string; actor?: Actor },
  context: DecisionContext,
): Decision {
  return decided(context, snapshot, (ws) =>
    startQuoteSync(ws, command.quoteId, {
      checkPermissions: true,
      newSyncKey: context.newSyncKey,
      ...(command.actor ? { actor: command.actor } : {}),
    }),
  );
}

/** The stop command (SPEC §2). */
export function decideStop(
  snapshot: Snapshot,
  command: { quoteId: string; actor?: Actor },
  context: DecisionContext,
): Decision {
  return decided(context, snapshot, (ws) =>
    stopQuoteSync(ws, command.quoteId, command.actor ? { actor: command.actor } : {}),
  );
}

/** A CPQ trigger event: `cart.finalized` or `quote.accepted` (SPEC §1.7). */
export function decideTrigger(
  snapshot: Snapshot,
  trigger: { type: "cart.finalized" | "quote.accepted"; quoteId: string; actor?: Actor | undefined },
  context: DecisionContext,
): Decision {
  return decided(context, snapshot, (ws) =>
    applyTrigger(ws, trigger.type, trigger.quoteId, context.newSyncKey, trigger.actor),
  );
}

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

function startableQuote(ws: Workspace, quoteId: string): QuoteAggregate {
  const quote = ws.useQuote(quoteId);
  if (!quote.header.known || quote.header.deleted) throw new NotFound("quote", quoteId);
  return quote;
}

/**
 * Starts, replaces or re-runs sync of a quote (SPEC §1.2) — the manual button, a command, or an
 * automatic trigger. Preconditions refuse it with nothing changed but the audit entry.
 */
function startQuoteSync(
  ws: Workspace,
  quoteId: string,
  options: {
    actor?: Actor;
    checkPermissions: boolean;
    newSyncKey: () => string;
    stage?: string;
    acceptQuote?: boolean;
  },
): SyncResponse {
  const quote = startableQuote(ws, quoteId);
  const opportunityId = quote.header.opportunityId;
  if (!opportunityId) throw new NotFound("opportunity", "(none named by the quote)");
  if (options.checkPermissions) checkPermission(ws, "start", options.actor, opportunityId, quoteId);
  const opportunity = ws.useOpportunity(opportunityId);
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
  const previous = previousId && previousId !== quoteId ? ws.useQuote(previousId) : null;
  if (options.acceptQuote) ws.updateQuote(quoteId, accepted(quote.header, ws.cause.at));
  const startOptions = {
    newSyncKey: options.newSyncKey,
    ...(options.stage ? { stage: options.stage } : {}),
  };
  const status = beginSync(ws, quote, opportunity, previous, startOptions);
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
function stopQuoteSync(ws: Workspace, quoteId: string, options: { actor?: Actor }): SyncResponse {
  const quote = startableQuote(ws, quoteId);
  const opportunityId = quote.header.opportunityId;
  checkPermission(ws, "stop", options.actor, opportunityId, quoteId);
  if (!opportunityId || !quote.header.syncing) {
    return { status: "no_change", mirrors: [], opportunityId, quoteId };
  }
  const opportunity = ws.useOpportunity(opportunityId);
  if (!isSyncedPair(quote, opportunity)) return { status: "no_change", mirrors: [], opportunityId, quoteId };
  const who = options.actor ? ` by ${options.actor.userId}` : "";
  const status = endSync(ws, quote, opportunity, `sync of quote ${quoteId} stopped${who}`);
  return { status, mirrors: ws.producedMirrors(), opportunityId, quoteId };
}

/**
 * SPEC §1.7: `cart.finalized` and `quote.accepted` start (or re-run) sync when the tenant's
 * policy names them; an accepted quote also moves the opportunity to the accepted stage.
 */
function applyTrigger(
  ws: Workspace,
  type: "cart.finalized" | "quote.accepted",
  quoteId: string,
  newSyncKey: () => string,
  eventActor?: Actor,
): SyncResponse {
  const accepted = type === "quote.accepted";
  if (!ws.tenant.policy.triggers.includes(type)) return applyDisabledTrigger(ws, type, quoteId);
  // A tenant may hold triggers to the start policy: the event's actor, or the one configured for triggers.
  const { checkTriggers, triggerActor } = ws.tenant.permissions;
  const actor = eventActor ?? triggerActor ?? undefined;
  const permission = { checkPermissions: checkTriggers, newSyncKey, ...(actor ? { actor } : {}) };
  const options = accepted
    ? { ...permission, stage: ws.tenant.policy.acceptedStage, acceptQuote: true }
    : permission;
  const response = startQuoteSync(ws, quoteId, options);
  if (typeof response.opportunityId === "string") {
    ws.audit(response.opportunityId, "trigger.fired", `${type} started sync of quote ${quoteId}`, quoteId);
  }
  return { ...response, mirrors: ws.producedMirrors() };
}

/**
 * A trigger the tenant's policy does not enable starts nothing, but an accepted quote is still
 * accepted: if it is the synced quote, its opportunity's approval flag follows (SPEC §1.9). A
 * quote quotesync does not know, or one the CPQ deleted, is left as it is.
 */
function applyDisabledTrigger(
  ws: Workspace,
  type: "cart.finalized" | "quote.accepted",
  quoteId: string,
): SyncResponse {
  const quote = ws.useQuote(quoteId);
  ws.audit(
    quote.header.opportunityId,
    "trigger.fired",
    `${type} for quote ${quoteId} ignored: the tenant's policy does not enable it`,
    quoteId,
  );
  const result = { quoteId, trigger: "disabled by tenant policy" };
  const acceptable = quote.header.known && !quote.header.deleted && quote.header.status !== "accepted";
  if (type !== "quote.accepted" || !acceptable) {
    return { status: "no_change", mirrors: [], ...result };
  }
  ws.updateQuote(quoteId, accepted(quote.header, ws.cause.at));
  const opportunityId = quote.header.opportunityId;
  if (!quote.header.syncing || !opportunityId) return { status: "not_synced", mirrors: [], ...result };
  const opportunity = ws.useOpportunity(opportunityId);
  if (!isSyncedPair(quote, opportunity)) return { status: "not_synced", mirrors: [], ...result };
  settleSyncedHeader(ws, opportunity, quote);
  return { status: "applied", mirrors: ws.producedMirrors(), ...result };
}

/** SPEC §1.10: a start is refused, with nothing changed, when the records cannot agree. */
function checkStartPreconditions(
  quote: QuoteAggregate,
  opportunity: OpportunityAggregate,
  now: number,
): void {
  const q = quote.header;
  const o = opportunity.header;
  if (q.currency && o.currency && q.currency !== o.currency) {
    throw new PreconditionFailed(
      "currency_mismatch",
      `quote ${q.id} is in ${q.currency} but opportunity ${o.id} is in ${o.currency}`,
      [{ quoteCurrency: q.currency, opportunityCurrency: o.currency }],
    );
  }
  if (q.pricebookId && o.pricebookId && q.pricebookId !== o.pricebookId) {
    throw new PreconditionFailed(
      "pricebook_mismatch",
      `quote ${q.id} uses price book ${q.pricebookId} but opportunity ${o.id} uses ${o.pricebookId}`,
      [{ quotePricebookId: q.pricebookId, opportunityPricebookId: o.pricebookId }],
    );
  }
  if (q.expiresAt && expiryTime(q.expiresAt) < now) {
    throw new PreconditionFailed("quote_expired", `quote ${q.id} expired at ${q.expiresAt}`, [
      { expiresAt: q.expiresAt },
    ]);
  }
}

/** A date-only expiry lasts to the end of that day (UTC). */
function expiryTime(expiresAt: string): number {
  return expiresAt.length === 10 ? Date.parse(`${expiresAt}T23:59:59.999Z`) : Date.parse(expiresAt);
}

/**
 * Starts sync of `quote` with its opportunity (SPEC §1.2): replaces a previously synced quote,
 * replaces the opportunity's lines by the quote's, locks the amount. On the quote already synced
 * it re-synchronizes: pending changes of both sides are reconciled, then the quote's whole state
 * is pushed again.
 */
export function beginSync(
  ws: Workspace,
  quote: QuoteAggregate,
  opportunity: OpportunityAggregate,
  previous: QuoteAggregate | null,
  options: { newSyncKey: () => string; stage?: string },
): "started" {
  const quoteId = quote.header.id;
  const opportunityId = opportunity.header.id;
  const resync = opportunity.header.syncedQuoteId === quoteId && quote.header.syncing;
  if (previous && previous.header.id !== quoteId) {
    ws.updateQuote(previous.header.id, { syncing: false, pendingChanges: 0 });
    ws.mirrorTo("cpq", opportunityId, previous.header.id).quote = { syncing: false };
    ws.audit(
      opportunityId,
      "sync.replaced",
      `quote ${quoteId} replaces quote ${previous.header.id} as the synced quote`,
      quoteId,
    );
  }
  if (resync) {
    const pending = quote.header.pendingChanges;
    const copied = reconcilePair(ws, quote, opportunity);
    for (const line of liveLines(opportunity.lines)) {
      ws.mirrorLineUpsert("crm", opportunityId, quoteId, toMirrorLine(line, ws.mapping.lines));
    }
    ws.audit(
      opportunityId,
      "sync.resynced",
      `quote ${quoteId} re-synchronized: ${pending} pending change(s), ${copied} line(s) that differed copied, every line sent again`,
      quoteId,
    );
  } else {
    replaceOpportunityLines(ws, quote, opportunity, options.newSyncKey);
    ws.audit(
      opportunityId,
      "sync.started",
      `quote ${quoteId} synced: ${liveLines(quote.lines).length} line(s) copied`,
      quoteId,
    );
  }
  ws.updateQuote(quoteId, { syncing: true, pendingChanges: 0 });
  ws.mirrorTo("cpq", opportunityId, quoteId).quote = { syncing: true };
  ws.updateOpportunity({ syncedQuoteId: quoteId, lastSyncedAt: ws.nowIso });
  settleSyncedHeader(ws, opportunity, quote, {
    always: true,
    ...(options.stage ? { stage: options.stage } : {}),
  });
  return "started";
}

/** Stops sync (SPEC §1.6): lines stay as they are, the amount is unlocked, both systems are told. */
export function endSync(
  ws: Workspace,
  quote: QuoteAggregate,
  opportunity: OpportunityAggregate,
  reason: string,
): "stopped" {
  const opportunityId = opportunity.header.id;
  const quoteId = quote.header.id;
  ws.updateQuote(quoteId, { syncing: false, pendingChanges: 0 });
  if (!quote.header.deleted) ws.mirrorTo("cpq", opportunityId, quoteId).quote = { syncing: false };
  const approval = { required: false, reasons: [] };
  ws.updateOpportunity({ syncedQuoteId: null, amountLocked: false, approval });
  if (!opportunity.header.deleted) {
    ws.mirrorTo("crm", opportunityId, quoteId).opportunity = {
      amount: opportunity.header.amount,
      amountLocked: false,
      syncedQuoteId: null,
      approval,
    };
  }
  ws.audit(opportunityId, "sync.stopped", reason, quoteId);
  return "stopped";
}
