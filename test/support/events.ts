import type { CpqEvent, CrmEvent } from "../../domain/events.js";

let counter = 0;

/** A unique event id for tests. */
export function nextEventId(prefix = "evt"): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** An ISO time `seconds` after a fixed test epoch. */
export function at(seconds: number): string {
  return new Date(Date.UTC(2026, 0, 1, 0, 0, 0) + seconds * 1000).toISOString();
}

export type LineFixture = Record<string, unknown> & { id: string };

export function line(id: string, overrides: Record<string, unknown> = {}): LineFixture {
  return { id, productId: `prod-${id}`, quantity: "1", unitPrice: "100", ...overrides };
}

type Envelope = { eventId?: string; occurredAt?: string; actor?: { userId: string; permissions?: string[] } };

export function crmEvent(
  type: CrmEvent["type"],
  data: Record<string, unknown>,
  envelope: Envelope = {},
): unknown {
  return {
    eventId: envelope.eventId ?? nextEventId("crm"),
    type,
    occurredAt: envelope.occurredAt ?? at(counter),
    data,
    ...(envelope.actor ? { actor: envelope.actor } : {}),
  };
}

export function cpqEvent(
  type: CpqEvent["type"],
  data: Record<string, unknown>,
  envelope: Envelope = {},
): unknown {
  return {
    eventId: envelope.eventId ?? nextEventId("cpq"),
    type,
    occurredAt: envelope.occurredAt ?? at(counter),
    data,
    ...(envelope.actor ? { actor: envelope.actor } : {}),
  };
}

export function opportunityUpserted(
  id: string,
  overrides: Record<string, unknown> = {},
  envelope: Envelope = {},
): unknown {
  return crmEvent(
    "opportunity.upserted",
    { opportunity: { id, name: `Opportunity ${id}`, currency: "USD", stage: "Prospecting", ...overrides } },
    envelope,
  );
}

export function quoteUpserted(
  id: string,
  opportunityId: string,
  overrides: Record<string, unknown> = {},
  envelope: Envelope = {},
): unknown {
  return cpqEvent(
    "quote.upserted",
    { quote: { id, opportunityId, name: `Quote ${id}`, status: "draft", currency: "USD", ...overrides } },
    envelope,
  );
}

export function quoteLinesUpserted(quoteId: string, lines: LineFixture[], envelope: Envelope = {}): unknown {
  return cpqEvent("quote.lines.upserted", { quoteId, lines }, envelope);
}

export function opportunityLinesUpserted(
  opportunityId: string,
  lines: LineFixture[],
  envelope: Envelope = {},
): unknown {
  return crmEvent("opportunity.lines.upserted", { opportunityId, lines }, envelope);
}
