/** Event bodies the benchmark sends, as a CRM and a CPQ would (SPEC §3). */

let sequence = 0;
let lastTime = 0;

/**
 * Event times follow the wall clock and move forward at least one millisecond per event: the
 * start command stamps its copies with the current time, so a change must be newer than that.
 */
function envelope(prefix: string, type: string, data: Record<string, unknown>) {
  sequence += 1;
  lastTime = Math.max(Date.now(), lastTime + 1);
  return {
    eventId: `${prefix}-${sequence}-${Math.random().toString(36).slice(2, 8)}`,
    type,
    occurredAt: new Date(lastTime).toISOString(),
    data,
  };
}

export interface BenchLine {
  id: string;
  productId: string;
  quantity: string;
  unitPrice: string;
  discountPercent?: string;
  position?: number;
  syncKey?: string;
  fields?: Record<string, string>;
}

export function benchLine(owner: string, index: number, quantity = "1"): BenchLine {
  return {
    id: `${owner}-l${index}`,
    productId: `${owner}-p${index}`,
    quantity,
    unitPrice: `${100 + (index % 50)}.25`,
    discountPercent: "5",
    position: index,
    fields: { Color__c: index % 2 ? "red" : "blue" },
  };
}

export function linesOf(owner: string, count: number, quantity = "1"): BenchLine[] {
  return Array.from({ length: count }, (_, index) => benchLine(owner, index, quantity));
}

export const opportunityUpserted = (id: string) =>
  envelope("crm", "opportunity.upserted", {
    opportunity: { id, name: `Opportunity ${id}`, currency: "USD", stage: "Prospecting" },
  });

export const quoteUpserted = (id: string, opportunityId: string) =>
  envelope("cpq", "quote.upserted", {
    quote: { id, opportunityId, name: `Quote ${id}`, status: "draft", currency: "USD" },
  });

export const quoteLinesReplaced = (quoteId: string, lines: BenchLine[]) =>
  envelope("cpq", "quote.lines.replaced", { quoteId, lines });

export const quoteLinesUpserted = (quoteId: string, lines: BenchLine[]) =>
  envelope("cpq", "quote.lines.upserted", { quoteId, lines });

export const opportunityLinesUpserted = (opportunityId: string, lines: BenchLine[]) =>
  envelope("crm", "opportunity.lines.upserted", { opportunityId, lines });
