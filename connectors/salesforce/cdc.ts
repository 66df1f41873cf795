import { z } from "zod";

/**
 * A Change Data Capture event as Salesforce Event Relay puts it on an EventBridge partner bus
 * (facts file B1, B2): `source` = `aws.partner/salesforce.com/<orgId>/<channelId>`, `detail-type`
 * = the change event's name, `detail.payload` = `ChangeEventHeader` plus the record's fields.
 * Sources: Event Relay guide ("Event Relay Configuration"); CDC Developer Guide, "Change Event
 * Header Fields" and "Change Event Body Fields". Relayed events may carry dates as ISO strings or
 * epoch milliseconds and header field lists as names or Pub/Sub bitmaps (`0x…`): both accepted.
 */

export const SOURCE_PATTERN =
  /^aws\.partner\/salesforce\.com\/(00D[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?)\/([A-Za-z0-9]+)$/;

export const CHANGE_EVENT_TYPES = ["OpportunityChangeEvent", "OpportunityLineItemChangeEvent"] as const;

const SalesforceId = z
  .string()
  .regex(/^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$|^[A-Za-z0-9]{3}\*$/, "a Salesforce record id");

export const ChangeEventHeader = z.looseObject({
  entityName: z.enum(["Opportunity", "OpportunityLineItem"]),
  recordIds: z.array(SalesforceId).max(10_000).default([]),
  changeType: z.enum([
    "CREATE",
    "UPDATE",
    "DELETE",
    "UNDELETE",
    "GAP_CREATE",
    "GAP_UPDATE",
    "GAP_DELETE",
    "GAP_UNDELETE",
    "GAP_OVERFLOW",
  ]),
  changeOrigin: z.string().max(1000).nullish(),
  transactionKey: z.string().min(1).max(100),
  sequenceNumber: z.number().int().min(0),
  commitTimestamp: z.union([z.number(), z.string()]),
  commitNumber: z.union([z.number(), z.string()]).nullish(),
  commitUser: z.string().max(18).nullish(),
  changedFields: z.array(z.string().max(300)).nullish(),
  nulledFields: z.array(z.string().max(300)).nullish(),
  diffFields: z.array(z.unknown()).nullish(),
});
export type ChangeEventHeader = z.infer<typeof ChangeEventHeader>;

export const RelayedChangeEvent = z.looseObject({
  source: z.string().regex(SOURCE_PATTERN, "an Event Relay partner event source"),
  "detail-type": z.enum(CHANGE_EVENT_TYPES),
  id: z.string().optional(),
  detail: z.looseObject({
    payload: z.looseObject({ ChangeEventHeader }),
    replayId: z.union([z.string(), z.number()]).optional(),
  }),
});
export type RelayedChangeEvent = z.infer<typeof RelayedChangeEvent>;

/** The org id a relayed event comes from. */
export function orgIdOf(event: RelayedChangeEvent): string {
  return (SOURCE_PATTERN.exec(event.source) as RegExpExecArray)[1] as string;
}

/** Whether the event's header names changed fields by name (CometD style) rather than bitmaps. */
export function changedFieldNames(header: ChangeEventHeader): string[] | null {
  const names = [...(header.changedFields ?? []), ...(header.nulledFields ?? [])];
  if (header.changedFields == null || names.some((name) => /^(\d+-)?0x[0-9A-Fa-f]+$/.test(name))) return null;
  return names;
}

/** The commit time in epoch milliseconds (a number, or an ISO string). */
export function commitTime(header: ChangeEventHeader): number {
  const value = header.commitTimestamp;
  const time = typeof value === "number" ? value : Date.parse(value);
  if (!Number.isFinite(time)) throw new RangeError(`unreadable commitTimestamp ${JSON.stringify(value)}`);
  return time;
}

/**
 * quotesync's own transaction: its calls carry `Sforce-Call-Options: client=quotesync`, which
 * `changeOrigin` echoes, and run as the integration user (B2 "Recognising our own writes").
 */
export function isOwnChange(
  header: ChangeEventHeader,
  client: string,
  integrationUserId: string | undefined,
): boolean {
  const origin = header.changeOrigin ?? "";
  const named = new RegExp(
    `[;,]\\s*client=${client.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?:[;,/\\s]|$)`,
  ).test(origin);
  return named || (integrationUserId !== undefined && header.commitUser === integrationUserId);
}

/**
 * A deterministic id for what quotesync derives from a change event: the relay's replay id when it
 * is given, else the transaction and the change's place in it. A redelivered event gets the same.
 */
export function changeEventKey(event: RelayedChangeEvent): string {
  const header = event.detail.payload.ChangeEventHeader;
  const replay = event.detail.replayId;
  if (replay !== undefined) return `sf.r${String(replay).replace(/[^\w.-]/g, "")}`;
  const tx = header.transactionKey.replace(/[^\w-]/g, "").slice(0, 64);
  return `sf.${header.entityName === "Opportunity" ? "o" : "l"}.${tx}.${header.sequenceNumber}.${header.changeType}`;
}
