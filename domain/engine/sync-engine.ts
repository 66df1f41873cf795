import { NotFound } from "../errors.js";
import { type Actor, type CpqEvent, type CrmEvent, eventTime, type SyncCommandInput } from "../events.js";
import type { TenantConfig } from "../tenant.js";
import { applyTrigger, startQuoteSync, stopQuoteSync } from "./commands.js";
import { type EngineDeps, type Outcome, runDecision } from "./decision.js";
import {
  applyOpportunityDelete,
  applyOpportunityUpsert,
  applyQuoteDelete,
  applyQuoteUpsert,
} from "./header-events.js";
import { applyCpqLineChange, applyCrmLineChange } from "./line-events.js";
import { runScheduled, type ScheduledRunLimits, type ScheduledRunReport } from "./scheduled-run.js";
import { readSyncStatus, type SyncStatus } from "./status.js";
import type { Cause } from "./workspace.js";

/** Where a trigger came from: a CPQ webhook or an EventBridge event. */
export type TriggerChannel = "cpq" | "eventbridge";

/**
 * The quotesync engine: every webhook, command and trigger goes through here. Pure domain: it
 * knows storage only through the `SyncStore` port in `deps`.
 */
export class SyncEngine {
  constructor(private readonly deps: EngineDeps) {}

  async loadTenant(tenantId: string): Promise<TenantConfig> {
    const tenant = await this.deps.store.loadTenant(tenantId);
    if (!tenant) throw new NotFound("tenant", tenantId);
    return tenant;
  }

  /** Applies one CRM event and returns the mirror for the CPQ (or the correction for the CRM). */
  handleCrmEvent(tenant: TenantConfig, event: CrmEvent): Promise<Outcome> {
    const { store, newSyncKey } = this.deps;
    return runDecision(
      this.deps,
      tenant,
      causeOf("crm", event),
      `crm#${event.eventId}`,
      `crm:${event.type}`,
      (ws) => {
        switch (event.type) {
          case "opportunity.upserted":
            return applyOpportunityUpsert(ws, store, event.data.opportunity);
          case "opportunity.deleted":
            return applyOpportunityDelete(ws, store, event.data.opportunityId);
          case "opportunity.lines.upserted":
            return applyCrmLineChange(
              ws,
              store,
              event.data.opportunityId,
              { kind: "upserted", lines: event.data.lines },
              newSyncKey,
            );
          case "opportunity.lines.deleted":
            return applyCrmLineChange(
              ws,
              store,
              event.data.opportunityId,
              { kind: "deleted", lineIds: event.data.lineIds },
              newSyncKey,
            );
          case "opportunity.lines.replaced":
            return applyCrmLineChange(
              ws,
              store,
              event.data.opportunityId,
              { kind: "replaced", lines: event.data.lines },
              newSyncKey,
            );
        }
      },
    );
  }

  /** Applies one CPQ event (trigger events included) and returns the mirrors it produced. */
  handleCpqEvent(tenant: TenantConfig, event: CpqEvent, channel: TriggerChannel = "cpq"): Promise<Outcome> {
    const { store, newSyncKey } = this.deps;
    const cause = { ...causeOf("cpq", event), source: channel } as Cause;
    return runDecision(this.deps, tenant, cause, `cpq#${event.eventId}`, `cpq:${event.type}`, (ws) => {
      switch (event.type) {
        case "quote.upserted":
          return applyQuoteUpsert(ws, store, event.data.quote);
        case "quote.deleted":
          return applyQuoteDelete(ws, store, event.data.quoteId);
        case "quote.lines.upserted":
          return applyCpqLineChange(
            ws,
            store,
            event.data.quoteId,
            { kind: "upserted", lines: event.data.lines },
            newSyncKey,
          );
        case "quote.lines.deleted":
          return applyCpqLineChange(
            ws,
            store,
            event.data.quoteId,
            { kind: "deleted", lineIds: event.data.lineIds },
            newSyncKey,
          );
        case "quote.lines.replaced":
          return applyCpqLineChange(
            ws,
            store,
            event.data.quoteId,
            { kind: "replaced", lines: event.data.lines },
            newSyncKey,
          );
        case "cart.finalized":
        case "quote.accepted":
          return applyTrigger(ws, store, event.type, event.data.quoteId, event.actor);
      }
    });
  }

  /**
   * The start command (SPEC §2): start, replace or re-run sync of a quote. Idempotent per
   * `eventId`, or without one per `requestKey` (the signed request's identity), so a copy of the
   * same signed request replayed within the signature window is answered, not applied again.
   */
  startSync(
    tenant: TenantConfig,
    quoteId: string,
    input: SyncCommandInput,
    requestKey?: string,
  ): Promise<Outcome> {
    const cause = commandCause(input.actor, input.eventId, this.deps.clock());
    const key = commandKey("start", quoteId, input.eventId, requestKey);
    return runDecision(this.deps, tenant, cause, key, "command:start", (ws) =>
      startQuoteSync(ws, this.deps.store, quoteId, {
        checkPermissions: true,
        ...(input.actor ? { actor: input.actor } : {}),
      }),
    );
  }

  /** The stop command (SPEC §2); idempotent like start. */
  stopSync(
    tenant: TenantConfig,
    quoteId: string,
    input: SyncCommandInput,
    requestKey?: string,
  ): Promise<Outcome> {
    const cause = commandCause(input.actor, input.eventId, this.deps.clock());
    const key = commandKey("stop", quoteId, input.eventId, requestKey);
    return runDecision(this.deps, tenant, cause, key, "command:stop", (ws) =>
      stopQuoteSync(ws, this.deps.store, quoteId, input.actor ? { actor: input.actor } : {}),
    );
  }

  status(tenant: TenantConfig, opportunityId: string): Promise<SyncStatus> {
    return readSyncStatus(this.deps.store, tenant, opportunityId);
  }

  /** One run of the scheduled function: push scheduled-mode pairs, then audit synced pairs. */
  runScheduled(
    options: { limits?: ScheduledRunLimits; shouldStop?: () => boolean } = {},
  ): Promise<ScheduledRunReport> {
    return runScheduled(this.deps, options);
  }
}

/**
 * One part of a joined key, escaped so parts cannot run into each other: `%` → `%25`, `#` → `%23`.
 * Ids without either (every id before this escaping, but those with `#`) keep their old key.
 */
export function keyPart(part: string): string {
  return part.replaceAll("%", "%25").replaceAll("#", "%23");
}

/**
 * The idempotency key of a start or stop: `command#<action>#<quoteId>#<eventId>`, each id part
 * escaped (quote `a#b` + event `c` and quote `a` + event `b#c` differ); without an event id,
 * `%req:<digest>` of the signed request, which no escaped id can spell; null with neither.
 */
export function commandKey(
  action: "start" | "stop",
  quoteId: string,
  eventId: string | undefined,
  requestKey: string | undefined,
): string | null {
  const base = `command#${action}#${keyPart(quoteId)}#`;
  if (eventId) return base + keyPart(eventId);
  return requestKey ? `${base}%req:${requestKey}` : null;
}

function causeOf(
  source: "crm" | "cpq",
  event: { eventId: string; occurredAt: string; actor?: Actor | undefined },
): Cause {
  const cause: Cause = { source, eventId: event.eventId, at: eventTime(event.occurredAt) };
  if (event.actor) cause.actor = event.actor.userId;
  return cause;
}

function commandCause(actor: Actor | undefined, eventId: string | undefined, now: number): Cause {
  const cause: Cause = { source: "command", at: now };
  if (actor) cause.actor = actor.userId;
  if (eventId) cause.eventId = eventId;
  return cause;
}
