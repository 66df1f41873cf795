import { NotFound } from "../errors.js";
import { type Actor, type CpqEvent, type CrmEvent, eventTime, type SyncCommandInput } from "../events.js";
import type { TenantConfig } from "../tenant.js";
import { type DecisionPlan, type EngineDeps, type Outcome, runDecision } from "./decision.js";
import { decideRecordEvent, recordEventReads } from "./header-events.js";
import { decideLineChange, lineChangeOf, lineChangeReads } from "./line-events.js";
import { runScheduled, type ScheduledRunLimits, type ScheduledRunReport } from "./scheduled-run.js";
import { decideStart, decideStop, decideTrigger, startReads, stopReads } from "./start-stop.js";
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

  /**
   * This engine within one invocation's deadline (`timeLeft`: the milliseconds it has left): its
   * decisions stop retrying when another attempt might not finish in time.
   */
  within(timeLeft: () => number): SyncEngine {
    return new SyncEngine({ ...this.deps, timeLeft });
  }

  async loadTenant(tenantId: string): Promise<TenantConfig> {
    const tenant = await this.deps.store.loadTenant(tenantId);
    if (!tenant) throw new NotFound("tenant", tenantId);
    return tenant;
  }

  /** Applies one CRM event and returns the mirror for the CPQ (or the correction for the CRM). */
  handleCrmEvent(tenant: TenantConfig, event: CrmEvent): Promise<Outcome> {
    return this.handleEvent(tenant, causeOf("crm", event), `crm#${event.eventId}`, event);
  }

  /** Applies one CPQ event (trigger events included) and returns the mirrors it produced. */
  handleCpqEvent(tenant: TenantConfig, event: CpqEvent, channel: TriggerChannel = "cpq"): Promise<Outcome> {
    const cause = { ...causeOf("cpq", event), source: channel } as Cause;
    return this.handleEvent(tenant, cause, `cpq#${event.eventId}`, event);
  }

  private handleEvent(
    tenant: TenantConfig,
    cause: Cause,
    eventKey: string,
    event: CrmEvent | CpqEvent,
  ): Promise<Outcome> {
    const kind = `${cause.source === "crm" ? "crm" : "cpq"}:${event.type}`;
    return runDecision(this.deps, tenant, { cause, eventKey, kind, ...eventDecision(event) });
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
    return this.command("start", tenant, quoteId, input, requestKey);
  }

  /** The stop command (SPEC §2); idempotent like start. */
  stopSync(
    tenant: TenantConfig,
    quoteId: string,
    input: SyncCommandInput,
    requestKey?: string,
  ): Promise<Outcome> {
    return this.command("stop", tenant, quoteId, input, requestKey);
  }

  private command(
    name: "start" | "stop",
    tenant: TenantConfig,
    quoteId: string,
    input: SyncCommandInput,
    requestKey?: string,
  ): Promise<Outcome> {
    const command = { quoteId, ...(input.actor ? { actor: input.actor } : {}) };
    return runDecision(this.deps, tenant, {
      cause: commandCause(input.actor, input.eventId, this.deps.clock()),
      eventKey: commandKey(name, quoteId, input.eventId, requestKey),
      kind: `command:${name}`,
      reads: name === "start" ? startReads(quoteId) : stopReads(quoteId),
      decide: (snapshot, context) =>
        name === "start" ? decideStart(snapshot, command, context) : decideStop(snapshot, command, context),
    });
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

/** What an event reads and the rule that decides it: one line-change rule for both systems. */
function eventDecision(event: CrmEvent | CpqEvent): Pick<DecisionPlan, "reads" | "decide"> {
  const owned = lineChangeOf(event);
  if (owned) {
    return {
      reads: lineChangeReads(owned),
      decide: (snapshot, context) => decideLineChange(snapshot, owned, context),
    };
  }
  switch (event.type) {
    case "cart.finalized":
    case "quote.accepted": {
      const trigger = { type: event.type, quoteId: event.data.quoteId, actor: event.actor };
      return {
        reads: startReads(event.data.quoteId),
        decide: (snapshot, context) => decideTrigger(snapshot, trigger, context),
      };
    }
    case "opportunity.upserted":
    case "opportunity.deleted":
    case "quote.upserted":
    case "quote.deleted":
      return {
        reads: recordEventReads(event),
        decide: (snapshot, context) => decideRecordEvent(snapshot, event, context),
      };
    default:
      throw new Error(`no rule for ${event.type}`);
  }
}
