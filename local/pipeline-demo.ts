import { CpqEvent, CrmEvent } from "../domain/events.js";
import type { TenantConfig } from "../domain/tenant.js";
import type { Runtime } from "../functions/lib/runtime.js";

/**
 * A small pipeline for the `demo` tenant, told through the same events a CRM and a CPQ send:
 * healthy synced deals, one needing approval, one with manual-mode changes waiting at a milestone
 * stage, one whose synced quote has expired, deals not synced yet — and one pair whose stored
 * opportunity line was changed outside quotesync's decisions (as a table restore or a hand edit
 * would), so the scheduled audit finds real drift. Event ids are fixed: loading it twice changes
 * nothing.
 */
export async function loadPipelineDemo(
  rt: Runtime,
  tenant: TenantConfig,
  now = Date.now(),
): Promise<string[]> {
  const send = demoSender(rt, tenant, now);
  for (const deal of DEMO_DEALS) await sendDeal(send, deal);
  await tellNorthwindHistory(send, rt, tenant);
  await tellLaterChanges(send);
  await divergeNorthwindSeats(rt, tenant);
  await rt.engine.runScheduled();
  return DEMO_DEALS.map((deal) => deal.id);
}

interface DemoDeal {
  id: string;
  name: string;
  stage: string;
  quote?: { id: string; name: string; expiresInDays: number; syncMode?: string; discount?: string };
  /** id, name, quantity, unit price. */
  lines?: Array<[string, string, string, string]>;
  start?: boolean;
}

const DEMO_DEALS: DemoDeal[] = [
  {
    id: "opp-northwind",
    name: "Northwind — platform renewal",
    stage: "Negotiation",
    quote: { id: "q-northwind-2", name: "Renewal, 3 years", expiresInDays: 30 },
    lines: [
      ["seats", "Seats", "200", "45.00"],
      ["support", "Premium support", "1", "4800.00"],
      ["onboarding", "Onboarding", "1", "2500.00"],
    ],
    start: true,
  },
  {
    id: "opp-globex",
    name: "Globex — expansion",
    stage: "Proposal",
    quote: { id: "q-globex-1", name: "Expansion", expiresInDays: 20, discount: "25" },
    lines: [
      ["seats", "Seats", "120", "45.00"],
      ["sso", "SSO add-on", "120", "6.00"],
    ],
    start: true,
  },
  {
    id: "opp-initech",
    name: "Initech — analytics",
    stage: "Qualification",
    quote: { id: "q-initech-1", name: "Analytics bundle", expiresInDays: 45, syncMode: "manual" },
    lines: [["analytics", "Analytics", "50", "30.00"]],
    start: true,
  },
  {
    id: "opp-umbrella",
    name: "Umbrella — security suite",
    stage: "Proposal",
    quote: { id: "q-umbrella-1", name: "Security suite", expiresInDays: 3 },
    lines: [["suite", "Security suite", "1", "18000.00"]],
    start: true,
  },
  {
    id: "opp-acme",
    name: "Acme — starter",
    stage: "Closed Won",
    quote: { id: "q-acme-1", name: "Starter", expiresInDays: 60 },
    lines: [["seats", "Seats", "25", "45.00"]],
    start: true,
  },
  {
    id: "opp-hooli",
    name: "Hooli — pilot",
    stage: "Prospecting",
    quote: { id: "q-hooli-1", name: "Pilot", expiresInDays: 15 },
    lines: [["seats", "Seats", "10", "45.00"]],
  },
  { id: "opp-stark", name: "Stark — new logo", stage: "Qualification" },
  {
    id: "opp-wayne",
    name: "Wayne — services",
    stage: "Negotiation",
    quote: { id: "q-wayne-1", name: "Services", expiresInDays: 25 },
    lines: [
      ["services", "Professional services", "40", "180.00"],
      ["training", "Training day", "2", "1500.00"],
    ],
    start: true,
  },
];

/** Sends the demo's events in order: event ids `pd-1`, `pd-2`, …, one second apart an hour ago. */
interface DemoSender {
  crm(type: string, data: unknown): Promise<unknown>;
  cpq(type: string, data: unknown): Promise<unknown>;
  startSync(quoteId: string): Promise<unknown>;
  /** An ISO date `days` from now. */
  days(days: number): string;
}

function demoSender(rt: Runtime, tenant: TenantConfig, now: number): DemoSender {
  let step = 0;
  const envelope = () => {
    step++;
    return { eventId: `pd-${step}`, occurredAt: new Date(now - 3_600_000 + step * 1000).toISOString() };
  };
  return {
    crm: (type, data) => rt.engine.handleCrmEvent(tenant, CrmEvent.parse({ ...envelope(), type, data })),
    cpq: (type, data) => rt.engine.handleCpqEvent(tenant, CpqEvent.parse({ ...envelope(), type, data })),
    startSync: (quoteId) =>
      rt.engine.startSync(tenant, quoteId, {
        eventId: envelope().eventId,
        actor: { userId: "alex.admin" },
      }),
    days: (days) => new Date(now + days * 86_400_000).toISOString(),
  };
}

/** A deal as the CRM and the CPQ tell it: the opportunity, its quote and lines, sync started. */
async function sendDeal(send: DemoSender, deal: DemoDeal): Promise<void> {
  await send.crm("opportunity.upserted", {
    opportunity: {
      id: deal.id,
      name: deal.name,
      stage: deal.stage,
      currency: "USD",
      fields: { Region__c: "EMEA" },
    },
  });
  const { quote } = deal;
  if (!quote) return;
  await send.cpq("quote.upserted", {
    quote: {
      id: quote.id,
      opportunityId: deal.id,
      name: quote.name,
      status: "draft",
      currency: "USD",
      expiresAt: send.days(quote.expiresInDays),
      ...(quote.syncMode ? { syncMode: quote.syncMode } : {}),
    },
  });
  await send.cpq("quote.lines.upserted", {
    quoteId: quote.id,
    lines: (deal.lines ?? []).map(([id, name, quantity, unitPrice], index) => ({
      id: `${quote.id}-${id}`,
      productId: `prod-${id}`,
      name,
      quantity,
      unitPrice,
      position: index + 1,
      ...(quote.discount && index === 0 ? { discountPercent: quote.discount } : {}),
      fields: { Color__c: index === 0 ? "blue" : "grey", Term_Months__c: 36 },
    })),
  });
  if (deal.start) await send.startSync(quote.id);
}

/** Northwind: an earlier quote the customer turned down, and a CRM edit mirrored to the CPQ. */
async function tellNorthwindHistory(send: DemoSender, rt: Runtime, tenant: TenantConfig): Promise<void> {
  await send.cpq("quote.upserted", {
    quote: {
      id: "q-northwind-1",
      opportunityId: "opp-northwind",
      name: "Renewal, 1 year",
      status: "rejected",
      currency: "USD",
      expiresAt: send.days(-10),
    },
  });
  const northwind = await rt.store.loadOpportunity(tenant.tenantId, "opp-northwind");
  const onboarding = [...(northwind?.lines.values() ?? [])].find(
    (line) => line.productId === "prod-onboarding",
  );
  if (!onboarding) return;
  await send.crm("opportunity.lines.upserted", {
    opportunityId: "opp-northwind",
    lines: [
      {
        id: onboarding.id ?? "crm-onboarding",
        syncKey: onboarding.syncKey,
        productId: "prod-onboarding",
        name: "Onboarding",
        quantity: "2",
        unitPrice: "2500.00",
        position: 3,
        fields: { Color__c: "grey" },
      },
    ],
  });
}

/** Initech reaches a milestone with a manual-mode change waiting; Umbrella's synced quote expires. */
async function tellLaterChanges(send: DemoSender): Promise<void> {
  await send.cpq("quote.lines.upserted", {
    quoteId: "q-initech-1",
    lines: [
      {
        id: "q-initech-1-analytics",
        productId: "prod-analytics",
        name: "Analytics",
        quantity: "80",
        unitPrice: "30.00",
        position: 1,
      },
    ],
  });
  await send.crm("opportunity.upserted", {
    opportunity: { id: "opp-initech", name: "Initech — analytics", stage: "Negotiation", currency: "USD" },
  });
  // The CPQ reports an expiry date in the past.
  await send.cpq("quote.upserted", {
    quote: {
      id: "q-umbrella-1",
      opportunityId: "opp-umbrella",
      name: "Security suite",
      status: "presented",
      currency: "USD",
      expiresAt: send.days(-2),
    },
  });
}

/** The opportunity's Seats line set to 250 in storage only: nothing mirrored, so the audit sees drift. */
async function divergeNorthwindSeats(rt: Runtime, tenant: TenantConfig): Promise<void> {
  const opportunity = await rt.store.loadOpportunity(tenant.tenantId, "opp-northwind");
  if (!opportunity) return;
  const seats = [...opportunity.lines.values()].find(
    (line) => line.productId === "prod-seats" && !line.deleted,
  );
  if (seats?.quantity !== "200") return;
  const lines = new Map(opportunity.lines);
  lines.set(seats.syncKey, { ...seats, quantity: "250" });
  await rt.store.commit({
    tenantId: tenant.tenantId,
    opportunity: { record: opportunity.header, lines: { all: lines, changed: new Set([seats.syncKey]) } },
    quotes: [],
    outbox: [],
    audit: [],
  });
}
