import type { z } from "zod";
import { RequestRejected } from "./http-errors.js";
import type { RequestFacts } from "./middleware/request-log.js";

/**
 * Validates an event against its source's schema. A type the source may not send is a 422 that
 * says which types it may send, rather than zod's bare discriminator message.
 */
export function parseEvent<S extends z.ZodType>(
  schema: S,
  allowedTypes: readonly string[],
  body: unknown,
  facts: RequestFacts,
): z.infer<S> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new RequestRejected(422, "invalid_event", "an event is a JSON object", [
      { path: [], message: "expected an object" },
    ]);
  }
  const type = (body as { type?: unknown }).type;
  // A blank type is no type: a metric dimension may not be blank (the Events count would be dropped).
  if (typeof type === "string" && type.trim() !== "") facts.eventType = type.slice(0, 64);
  const eventId = (body as { eventId?: unknown }).eventId;
  if (typeof eventId === "string") facts.eventId = eventId.slice(0, 128);
  if (typeof type !== "string" || !allowedTypes.includes(type)) {
    throw new RequestRejected(422, "invalid_event", `unknown event type for this endpoint`, [
      { path: ["type"], message: `expected one of ${allowedTypes.join(", ")}` },
    ]);
  }
  return schema.parse(body);
}
