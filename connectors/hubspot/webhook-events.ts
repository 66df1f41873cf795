import { createHash } from "node:crypto";
import { z } from "zod";

/**
 * HubSpot's webhook events (facts A1): an array of ≤ 100, each naming one object and one change,
 * not the record. The type is `subscriptionType` in real deliveries and `eventType` in the docs'
 * example; generic `object.*` events name the object by `objectTypeId`.
 */
export const MAX_EVENTS_PER_REQUEST = 100;

const numberish = z.union([z.number(), z.string().regex(/^\d{1,20}$/)]).transform(String);

export const HubSpotWebhookEvent = z.looseObject({
  eventId: numberish,
  subscriptionId: numberish.optional(),
  portalId: z.union([z.number(), z.string().regex(/^\d{1,20}$/)]).transform(Number),
  appId: numberish.optional(),
  occurredAt: z.number().int().nonnegative(),
  subscriptionType: z.string().max(100).optional(),
  eventType: z.string().max(100).optional(),
  objectTypeId: z.string().max(20).optional(),
  objectId: numberish,
  propertyName: z.string().max(200).optional(),
  propertyValue: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional(),
  changeSource: z.string().max(100).optional(),
  sourceId: z.union([z.string(), z.number()]).transform(String).optional(),
  associationRemoved: z.boolean().optional(),
});
export type HubSpotWebhookEvent = z.infer<typeof HubSpotWebhookEvent>;

export type ObjectKind = "deal" | "line_item" | "quote";
export type ChangeKind = "creation" | "propertyChange" | "deletion" | "associationChange";

const OBJECT_TYPE_IDS: Record<string, ObjectKind> = { "0-3": "deal", "0-8": "line_item", "0-14": "quote" };
const CHANGES = new Set<string>(["creation", "propertyChange", "deletion", "associationChange"]);

/** What an event is about, or null for the types quotesync does not handle (answered 2xx, logged). */
export function classify(event: HubSpotWebhookEvent): { object: ObjectKind; change: ChangeKind } | null {
  const type = event.subscriptionType ?? event.eventType ?? "";
  const [prefix, change] = type.split(".");
  if (!prefix || !change || !CHANGES.has(change)) return null;
  let object: ObjectKind | undefined;
  if (prefix === "deal" || prefix === "line_item") object = prefix;
  else if (prefix === "object" && event.objectTypeId) object = OBJECT_TYPE_IDS[event.objectTypeId];
  if (!object || (object === "quote" && change === "associationChange")) return null;
  return { object, change: change as ChangeKind };
}

/** quotesync's own writes coming back: `changeSource` INTEGRATION from this app. */
export function isEcho(event: HubSpotWebhookEvent, appId: number): boolean {
  return event.changeSource === "INTEGRATION" && event.sourceId === String(appId);
}

/** HubSpot's ids for one delivery of one event (its `eventId` alone is not unique). */
export function eventKey(event: HubSpotWebhookEvent): string {
  return [event.portalId, event.subscriptionId ?? "", event.eventId, event.occurredAt, event.objectId].join(
    ":",
  );
}

/**
 * A quotesync event id for a decision made of these HubSpot events: the same events (a HubSpot
 * retry of the request) give the same id, so the engine answers them as duplicates.
 */
export function decisionEventId(decision: string, events: readonly HubSpotWebhookEvent[]): string {
  const hash = createHash("sha256").update(decision);
  for (const key of events.map(eventKey).sort()) hash.update(`\u0000${key}`);
  return `hs-${hash.digest("base64url").slice(0, 40)}`;
}

/** The latest `occurredAt` of the events, as the ISO time the decision is dated by. */
export function latestOccurrence(events: readonly HubSpotWebhookEvent[]): string {
  return new Date(Math.max(...events.map((event) => event.occurredAt))).toISOString();
}
