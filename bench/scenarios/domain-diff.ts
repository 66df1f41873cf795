import { applyCpqLineChange } from "../../domain/engine/line-events.js";
import { Workspace } from "../../domain/engine/workspace.js";
import { CpqEvent } from "../../domain/events.js";
import { storedLine } from "../../domain/lines.js";
import type { OpportunityAggregate, QuoteAggregate, StoredLine } from "../../domain/model.js";
import { placeholderOpportunity, placeholderQuote } from "../../domain/records.js";
import type { SyncStore } from "../../domain/store.js";
import { demoTenant } from "../../domain/tenant.js";
import { linesOf, quoteLinesReplaced } from "../events.js";
import { SECRETS } from "../harness.js";
import { median, round } from "../stats.js";

export interface DomainResult {
  lines: number;
  repetitions: number;
  p50Ms: number;
  mirroredLines: number;
}

const PLAN = [
  { lines: 500, repetitions: 40 },
  { lines: 5000, repetitions: 12 },
];

/**
 * The pure engine alone: a `quote.lines.replaced` snapshot of N lines, each changed, on a synced
 * pair — the line diff, the copies to the opportunity and the mirror (and its ChangeSet). The
 * lines carry only the CPQ's own ids, as a CPQ reports its own lines.
 */
export async function domainDiff(): Promise<DomainResult[]> {
  const tenant = demoTenant(SECRETS);
  const results: DomainResult[] = [];
  for (const { lines, repetitions } of PLAN) {
    const event = CpqEvent.parse(quoteLinesReplaced("dq", linesOf("dq", lines, "7")));
    if (event.type !== "quote.lines.replaced") throw new Error("unexpected event");
    const times: number[] = [];
    let mirrored = 0;
    for (let rep = -3; rep < repetitions; rep++) {
      const { quote, opportunity } = syncedPair(tenant.tenantId, lines);
      const store = {
        loadQuote: async () => quote,
        loadOpportunity: async () => opportunity,
      } as unknown as SyncStore;
      const ws = new Workspace(
        tenant,
        { source: "cpq", eventId: "e", at: Date.UTC(2026, 1, 1) },
        Date.UTC(2026, 1, 1),
      );
      let key = 0;
      const started = performance.now();
      const response = await applyCpqLineChange(
        ws,
        store,
        "dq",
        { kind: "replaced", lines: event.data.lines },
        () => `new-${key++}`,
      );
      ws.toChangeSet();
      const ms = performance.now() - started;
      if (response.status !== "applied") throw new Error(`domain diff: ${response.status}`);
      mirrored = response.mirrors.reduce((sum, mirror) => sum + (mirror.lines?.upsert.length ?? 0), 0);
      if (rep >= 0) times.push(ms);
    }
    results.push({ lines, repetitions, p50Ms: round(median(times), 2), mirroredLines: mirrored });
  }
  return results;
}

/** One timed run on N lines (for profiling). */
export async function domainDiffOnce(lines: number): Promise<number> {
  const tenant = demoTenant(SECRETS);
  const event = CpqEvent.parse(quoteLinesReplaced("dq", linesOf("dq", lines, "7")));
  if (event.type !== "quote.lines.replaced") throw new Error("unexpected event");
  const { quote, opportunity } = syncedPair(tenant.tenantId, lines);
  const store = {
    loadQuote: async () => quote,
    loadOpportunity: async () => opportunity,
  } as unknown as SyncStore;
  const ws = new Workspace(
    tenant,
    { source: "cpq", eventId: "e", at: Date.UTC(2026, 1, 1) },
    Date.UTC(2026, 1, 1),
  );
  const started = performance.now();
  await applyCpqLineChange(ws, store, "dq", { kind: "replaced", lines: event.data.lines }, () => "k");
  ws.toChangeSet();
  return performance.now() - started;
}

function syncedPair(
  tenantId: string,
  count: number,
): { quote: QuoteAggregate; opportunity: OpportunityAggregate } {
  const quoteLines = new Map<string, StoredLine>();
  const opportunityLines = new Map<string, StoredLine>();
  for (const [index, input] of linesOf("dq", count, "1").entries()) {
    const values = {
      productId: input.productId,
      name: null,
      quantity: input.quantity,
      unitPrice: input.unitPrice,
      discountPercent: input.discountPercent ?? "0",
      billing: "one_time" as const,
      billingPeriod: null,
      position: input.position ?? null,
      serviceDate: null,
      fields: input.fields ?? {},
    };
    const syncKey = `sk-${index}`;
    quoteLines.set(syncKey, storedLine(values, { syncKey, id: input.id, changedAt: 1, changedBy: "cpq" }));
    opportunityLines.set(
      syncKey,
      storedLine(values, { syncKey, id: `crm-${index}`, changedAt: 1, changedBy: "cpq" }),
    );
  }
  const quote = {
    ...placeholderQuote(tenantId, "dq"),
    known: true,
    opportunityId: "do",
    currency: "USD",
    syncing: true,
    version: 3,
  };
  const opportunity = {
    ...placeholderOpportunity(tenantId, "do"),
    known: true,
    currency: "USD",
    syncedQuoteId: "dq",
    amountLocked: true,
    version: 3,
  };
  return {
    quote: { header: quote, lines: quoteLines },
    opportunity: { header: opportunity, lines: opportunityLines },
  };
}
