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
  let step = 0;
  const at = () => new Date(now - 3_600_000 + ++step * 1000).toISOString();
  const crm = (type: string, data: unknown) =>
    rt.engine.handleCrmEvent(
      tenant,
      CrmEvent.parse({ eventId: `pd-${step + 1}`, type, occurredAt: at(), data }),
    );
  const cpq = (type: string, data: unknown) =>
    rt.engine.handleCpqEvent(
      tenant,
      CpqEvent.parse({ eventId: `pd-${step + 1}`, type, occurredAt: at(), data }),
    );
  const days = (n: number) => new Date(now + n * 86_400_000).toISOString();

  const deals: Array<{
    id: string;
    name: string;
    stage: string;
    quote?: { id: string; name: string; expiresAt: string; syncMode?: string; discount?: string };
    lines?: Array<[string, string, string, string]>;
    start?: boolean;
  }> = [
    {
      id: "opp-northwind",
      name: "Northwind — platform renewal",
      stage: "Negotiation",
      quote: { id: "q-northwind-2", name: "Renewal, 3 years", expiresAt: days(30) },
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
      quote: { id: "q-globex-1", name: "Expansion", expiresAt: days(20), discount: "25" },
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
      quote: { id: "q-initech-1", name: "Analytics bundle", expiresAt: days(45), syncMode: "manual" },
      lines: [["analytics", "Analytics", "50", "30.00"]],
      start: true,
    },
    {
      id: "opp-umbrella",
      name: "Umbrella — security suite",
      stage: "Proposal",
      quote: { id: "q-umbrella-1", name: "Security suite", expiresAt: days(3) },
      lines: [["suite", "Security suite", "1", "18000.00"]],
      start: true,
    },
    {
      id: "opp-acme",
      name: "Acme — starter",
      stage: "Closed Won",
      quote: { id: "q-acme-1", name: "Starter", expiresAt: days(60) },
      lines: [["seats", "Seats", "25", "45.00"]],
      start: true,
    },
    {
      id: "opp-hooli",
      name: "Hooli — pilot",
      stage: "Prospecting",
      quote: { id: "q-hooli-1", name: "Pilot", expiresAt: days(15) },
      lines: [["seats", "Seats", "10", "45.00"]],
    },
    { id: "opp-stark", name: "Stark — new logo", stage: "Qualification" },
    {
      id: "opp-wayne",
      name: "Wayne — services",
      stage: "Negotiation",
      quote: { id: "q-wayne-1", name: "Services", expiresAt: days(25) },
      lines: [
        ["services", "Professional services", "40", "180.00"],
        ["training", "Training day", "2", "1500.00"],
      ],
      start: true,
    },
  ];

  for (const deal of deals) {
    await crm("opportunity.upserted", {
      opportunity: {
        id: deal.id,
        name: deal.name,
        stage: deal.stage,
        currency: "USD",
        fields: { Region__c: "EMEA" },
      },
    });
    if (!deal.quote) continue;
    const { quote } = deal;
    await cpq("quote.upserted", {
      quote: {
        id: quote.id,
        opportunityId: deal.id,
        name: quote.name,
        status: "draft",
        currency: "USD",
        expiresAt: quote.expiresAt,
        ...(quote.syncMode ? { syncMode: quote.syncMode } : {}),
      },
    });
    await cpq("quote.lines.upserted", {
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
    if (deal.start) {
      step++;
      await rt.engine.startSync(tenant, quote.id, { eventId: `pd-${step}`, actor: { userId: "alex.admin" } });
    }
  }

  // Northwind: an earlier quote the customer turned down, and a CRM edit mirrored to the CPQ.
  await cpq("quote.upserted", {
    quote: {
      id: "q-northwind-1",
      opportunityId: "opp-northwind",
      name: "Renewal, 1 year",
      status: "rejected",
      currency: "USD",
      expiresAt: days(-10),
    },
  });
  const northwind = await rt.store.loadOpportunity(tenant.tenantId, "opp-northwind");
  const onboarding = [...(northwind?.lines.values() ?? [])].find(
    (line) => line.productId === "prod-onboarding",
  );
  if (onboarding) {
    await crm("opportunity.lines.upserted", {
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
  // Initech reaches Negotiation with a manual-mode change not pushed yet.
  await cpq("quote.lines.upserted", {
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
  await crm("opportunity.upserted", {
    opportunity: { id: "opp-initech", name: "Initech — analytics", stage: "Negotiation", currency: "USD" },
  });
  // Umbrella's synced quote passes its expiry (the CPQ reports a date in the past).
  await cpq("quote.upserted", {
    quote: {
      id: "q-umbrella-1",
      opportunityId: "opp-umbrella",
      name: "Security suite",
      status: "presented",
      currency: "USD",
      expiresAt: days(-2),
    },
  });
  await divergeNorthwindSeats(rt, tenant);
  await rt.engine.runScheduled();
  return deals.map((deal) => deal.id);
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
