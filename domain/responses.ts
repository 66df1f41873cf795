/**
 * zod schemas of everything quotesync answers (SPEC §5): the sync response and its mirrors, the
 * status, the outbox and audit pages, the error body. The OpenAPI document is generated from
 * them. The types the engine builds live in `model.ts` / `status.ts` / `store.ts`; the checks at
 * the bottom of this file fail to compile when a schema and its type stop describing the same
 * shape, so the two cannot drift.
 */
import { z } from "zod";
import type { SyncStatus as SyncStatusType } from "./engine/status.js";
import { FieldValue, QuoteStatus, SyncMode } from "./events.js";
import type * as model from "./model.js";
import type { DriftFinding as DriftFindingType } from "./schedule.js";
import type { OutboxEntry as OutboxEntryType, Page } from "./store.js";

const Source = z.enum(["crm", "cpq"]);
const FieldMap = z.record(z.string(), FieldValue).describe("Custom field values by field name.");
const DecimalString = z
  .string()
  .regex(/^-?\d+(\.\d+)?$/)
  .describe("An exact decimal as a canonical string, e.g. `133.33`.");

export const Approval = z
  .object({ required: z.boolean(), reasons: z.array(z.string()) })
  .describe("Whether the synced quote needs approval before the opportunity may proceed, and why.");

export const MirrorLine = z
  .object({
    id: z
      .string()
      .nullable()
      .describe("The target system's own line id; null means: create the line (upsert on syncKey)."),
    syncKey: z.string().describe("quotesync's pairing key; store it on the line and send it back."),
    productId: z.string(),
    name: z.string().nullable(),
    quantity: DecimalString,
    unitPrice: DecimalString,
    discountPercent: DecimalString,
    billing: z.enum(["one_time", "recurring"]),
    billingPeriod: z.enum(["month", "quarter", "year"]).nullable(),
    position: z.number().int().nullable(),
    serviceDate: z.string().nullable(),
    fields: FieldMap,
  })
  .describe("A line as a mirror carries it: every standard field, and the mapped custom fields.");

export const Mirror = z
  .object({
    target: Source.describe("The system that must apply this mirror."),
    opportunityId: z.string(),
    quoteId: z.string(),
    lines: z
      .object({
        upsert: z.array(MirrorLine),
        delete: z.array(z.string()).describe("The target system's line ids to delete."),
      })
      .optional(),
    opportunity: z
      .object({
        amount: DecimalString.nullable(),
        amountLocked: z.boolean(),
        syncedQuoteId: z.string().nullable(),
        stage: z.string().optional(),
        approval: Approval.optional(),
        fields: FieldMap.optional(),
      })
      .optional(),
    quote: z
      .object({ syncing: z.boolean(), status: QuoteStatus.optional(), fields: FieldMap.optional() })
      .optional(),
  })
  .describe("What the other system must apply so that both records agree (SPEC §5).");

export const ResponseStatus = z
  .enum(["applied", "no_change", "stale", "not_synced", "pending", "started", "stopped"])
  .describe(
    "applied: mirrored; no_change: nothing new (an echo); stale: older than what is held (the mirrors restore the winner); " +
      "not_synced: stored, no synced pair; pending: stored, waits for a scheduled or manual push; started/stopped: sync state changed.",
  );

export const SyncResponse = z
  .looseObject({
    status: ResponseStatus,
    mirrors: z.array(Mirror),
    opportunityId: z.string().optional(),
    quoteId: z.string().optional(),
  })
  .describe(
    "The answer to an event or command. A redelivered event gets the original body with `x-quotesync-replayed: true`.",
  );

export const SideDeliveryStatus = z.object({
  pending: z.number().int().describe("Mirrors waiting to be delivered, a parked one included."),
  failing: z.boolean().describe("The oldest waiting mirror has failed: it is being retried, or parked."),
  parkedEntryId: z
    .string()
    .nullable()
    .describe("The parked mirror: `POST /sync/{tenantId}/deliveries/{entryId}/retry` sends it again."),
  nextAttemptAt: z.string().nullable().describe("When the next attempt is due, while retrying."),
  lastDeliveredAt: z.string().nullable(),
  lastError: z.string().nullable().describe("The target's last error, as it gave it."),
});

export const DeliveryRetryResponse = z
  .object({
    entryId: z.string(),
    status: z
      .enum(["delivered", "retrying", "parked"])
      .describe(
        "delivered: it and the mirrors waiting behind it went through; retrying: failed again (transient); parked: refused again.",
      ),
    delivery: SideDeliveryStatus,
  })
  .describe(
    "The answer of the retry route: what became of the parked mirror, and the side's delivery status.",
  );

/** What a `native` side's webhook delivery POSTs (CONNECTORS §2; docs/delivery.md). */
export const DeliveredMirror = z
  .object({
    entryId: z.string().describe("The outbox entry's id: the same on every attempt. Deduplicate on it."),
    cursor: z
      .string()
      .describe("The outbox cursor just after this entry (`GET /sync/{tenantId}/outbox?after=`)."),
    mirror: Mirror,
  })
  .describe("One mirror delivered to a tenant's endpoint: at least once, in commit order per pair.");

export const SyncStatus = z.object({
  opportunityId: z.string(),
  syncedQuoteId: z.string().nullable(),
  amount: DecimalString.nullable(),
  amountLocked: z.boolean(),
  stage: z.string().optional(),
  approval: Approval,
  lines: z.array(MirrorLine).describe("The opportunity's lines as quotesync holds them, with syncKey."),
  quotes: z.array(
    z.object({
      quoteId: z.string(),
      syncing: z.boolean(),
      status: QuoteStatus.optional(),
      mode: SyncMode,
      pendingChanges: z.number().int(),
    }),
  ),
  lastSyncedAt: z.string().nullable(),
  delivery: z
    .object({ crm: SideDeliveryStatus.optional(), cpq: SideDeliveryStatus.optional() })
    .optional()
    .describe(
      "For each side whose connector delivers mirrors: how delivery to it stands (docs/delivery.md).",
    ),
});

export const AuditType = z.enum([
  "sync.started",
  "sync.replaced",
  "sync.resynced",
  "sync.stopped",
  "change.mirrored",
  "change.pending",
  "change.pushed",
  "change.stale",
  "change.applied",
  "change.corrected",
  "amount.corrected",
  "start.refused",
  "command.forbidden",
  "trigger.fired",
  "approval.changed",
  "audit.drift",
  "audit.milestone_pending",
  "mirror.delivered",
  "mirror.failed",
  "mirror.retried",
]);

export const AuditEntry = z.object({
  at: z.string(),
  type: AuditType,
  source: z.enum(["crm", "cpq", "command", "schedule", "eventbridge"]).optional(),
  eventId: z.string().optional(),
  actor: z.string().optional(),
  quoteId: z.string().optional(),
  summary: z.string(),
  changes: z
    .array(
      z.object({
        line: z.string(),
        field: z.string(),
        from: z.string().nullable(),
        to: z.string().nullable(),
      }),
    )
    .optional()
    .describe(
      "Values before and after, for line changes (absent on entries written before it was recorded). `from` is null for an added line, `to` for a deleted one.",
    ),
});

const Cursor = z.string().describe("Opaque: pass it back as is.");

export const OutboxEntry = z.object({ cursor: Cursor, at: z.string(), mirror: Mirror });

export const OutboxPage = z
  .object({ entries: z.array(OutboxEntry), next: Cursor.nullable() })
  .describe("Every mirror produced, oldest first. `next` is null at the end of the outbox so far.");

export const AuditPage = z
  .object({ entries: z.array(AuditEntry), next: Cursor.nullable() })
  .describe("The audit trail of an opportunity, newest first.");

export const DriftFinding = z.object({
  opportunityId: z.string(),
  quoteId: z.string().nullable(),
  issues: z.array(
    z.object({
      kind: z.enum([
        "no_synced_quote",
        "multiple_synced_quotes",
        "lines_differ",
        "amount_mismatch",
        "milestone_pending",
        "line_summary_mismatch",
      ]),
      detail: z.string(),
    }),
  ),
  detectedAt: z.string().describe("When these issues were first found (unchanged since)."),
  checkedAt: z.string().describe("When the scheduled audit last checked the pair and still found them."),
});

export const DriftPage = z
  .object({ entries: z.array(DriftFinding), next: Cursor.nullable() })
  .describe("The tenant's current drift findings of the scheduled audit, by opportunity.");

export const ErrorBody = z
  .object({
    error: z.object({
      code: z
        .string()
        .describe("Machine-readable, e.g. `invalid_event`, `currency_mismatch`, `retry_later`."),
      message: z.string(),
      details: z.array(z.unknown()).describe("For `invalid_event`: the schema issues with their paths."),
    }),
  })
  .describe("Every error answer. Nothing is written on any 4xx.");
export type ErrorBody = z.infer<typeof ErrorBody>;

/** True when A and B are the same type (not merely assignable). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type MustBeSame<T extends true> = T;

// Compile-time only: each line fails to type-check when a schema and its domain type drift apart.
export type SchemaMatchesDomain = [
  MustBeSame<Same<z.output<typeof Approval>, model.Approval>>,
  MustBeSame<Same<z.output<typeof MirrorLine>, model.MirrorLine>>,
  MustBeSame<Same<z.output<typeof Mirror>, model.Mirror>>,
  MustBeSame<Same<z.output<typeof ResponseStatus>, model.ResponseStatus>>,
  MustBeSame<
    Same<z.output<typeof SyncResponse>["status" | "mirrors"], model.SyncResponse["status" | "mirrors"]>
  >,
  MustBeSame<Same<z.output<typeof SyncStatus>, SyncStatusType>>,
  MustBeSame<Same<z.output<typeof AuditEntry>, model.AuditEntry>>,
  MustBeSame<Same<z.output<typeof OutboxPage>, Page<OutboxEntryType>>>,
  MustBeSame<Same<z.output<typeof AuditPage>, Page<model.AuditEntry>>>,
  MustBeSame<Same<z.output<typeof DriftPage>, Page<DriftFindingType>>>,
];
