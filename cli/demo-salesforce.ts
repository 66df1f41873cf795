/**
 * `npm run demo -- --crm salesforce`: the SPEC story with Salesforce as the CRM, against a running
 * quotesync (`npm start`). A fake Salesforce starts in this process and relays its change events to
 * quotesync's `POST /local/events`; the tenant is registered with `PUT /local/tenants/{id}`;
 * quotesync's `deliver` applies mirrors to the fake through its REST API.
 */
import { FakeSalesforce } from "../connectors/salesforce/fake/server.js";
import type { Mirror } from "../domain/model.js";
import { sendSigned, targetUrl } from "./http-client.js";
import { type CliIo, CommandFailed } from "./io.js";

const SECRETS = { crm: "sf-demo-crm-secret", cpq: "sf-demo-cpq-secret" };

export async function runSalesforceDemo(options: { url: string; run: string }, io: CliIo): Promise<void> {
  const { fake, pricebookId, products } = fakeOrg(options);
  await fake.listen();
  const demo = new SalesforceDemo(options, io, fake, pricebookId);
  try {
    await demo.registerTenant();
    const ids = await createOpportunityAndQuote(demo, products);
    await startSync(demo, ids);
    await editInSalesforce(demo, ids);
    await acceptQuote(demo, ids);
    demo.print(
      `\nSalesforce API calls made by quotesync: ${fake.calls.length}; change events relayed: ${fake.relayed.length}.`,
    );
  } finally {
    await fake.close();
  }
}

/** A fake org relaying to the server, with a standard price book of three products. */
function fakeOrg(options: { url: string; run: string }): {
  fake: FakeSalesforce;
  pricebookId: string;
  products: string[];
} {
  const fake = new FakeSalesforce({
    orgId: `00D${options.run.padStart(12, "0").slice(-12)}`,
    clientId: "quotesync-demo",
    clientSecret: "demo-client-secret",
    integrationUserId: "005000000000001AAA",
    customFields: { OpportunityLineItem: ["Color__c"] },
    relay: { url: targetUrl(options.url, "/local/events").toString() },
  });
  const pricebookId = fake.org.addPricebook("Standard Price Book");
  const products = ["Seats", "Support", "Onboarding"].map((name, i) => {
    const id = fake.org.addProduct({ Name: name, ProductCode: `P${i + 1}` });
    fake.org.addPricebookEntry({ Pricebook2Id: pricebookId, Product2Id: id, UnitPrice: "100.00" });
    return id;
  });
  return { fake, pricebookId, products };
}

/** One run of the story: the tenant on the fake org, numbered steps, signed requests. */
class SalesforceDemo {
  readonly tenantId: string;
  private step = 0;

  constructor(
    readonly options: { url: string; run: string },
    private readonly io: CliIo,
    readonly fake: FakeSalesforce,
    readonly pricebookId: string,
  ) {
    this.tenantId = `sf-${options.run}`;
  }

  print(text: string): void {
    this.io.stdout(`${text}\n`);
  }

  say(who: string, text: string): void {
    this.print(`\n${String(++this.step).padStart(2)}. ${who} — ${text}`);
  }

  /** Registers the tenant on the running server: its CRM is the fake org. */
  async registerTenant(): Promise<void> {
    const { tenantId, fake } = this;
    const registered = await fetch(targetUrl(this.options.url, `/local/tenants/${tenantId}`), {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        tenantId,
        secrets: { crm: [SECRETS.crm], cpq: [SECRETS.cpq] },
        approvals: { maxDiscountPercent: "20" },
        connectors: {
          crm: {
            kind: "salesforce",
            orgId: fake.options.orgId,
            loginUrl: fake.baseUrl,
            clientId: "quotesync-demo",
            clientSecret: "demo-client-secret",
            integrationUserId: "005000000000001AAA",
            pricebookId: this.pricebookId,
          },
        },
      }),
    });
    if (!registered.ok)
      throw new CommandFailed(`PUT /local/tenants answered ${registered.status}: ${await registered.text()}`);
    this.print(`Tenant ${tenantId}: CRM = a fake Salesforce org at ${fake.baseUrl}, CPQ speaks SPEC.md.`);
  }

  async signed(source: "crm" | "cpq", path: string, body: unknown): Promise<void> {
    const response = await sendSigned({
      url: targetUrl(this.options.url, path),
      method: "POST",
      secret: SECRETS[source],
      body: Buffer.from(JSON.stringify(body)),
    });
    if (!response.ok)
      throw new CommandFailed(`${path} answered ${response.status}: ${await response.text()}`);
    const answer = (await response.json()) as { status: string };
    this.print(`    quotesync: ${answer.status}`);
  }

  lines(opportunityId: string) {
    return this.fake.org.all("OpportunityLineItem").filter((line) => line.OpportunityId === opportunityId);
  }

  opportunity(opportunityId: string) {
    return this.fake.org.get("Opportunity", opportunityId);
  }
}

interface DemoIds {
  opportunityId: string;
  quoteId: string;
}

const now = () => new Date().toISOString();

async function createOpportunityAndQuote(demo: SalesforceDemo, products: string[]): Promise<DemoIds> {
  const { fake, tenantId, pricebookId } = demo;
  demo.say(
    "Salesforce",
    'a rep creates the opportunity "Acme renewal" (its CREATE event is relayed to quotesync)',
  );
  const opportunityId = fake.userEdit({
    op: "createOpportunity",
    values: { Name: "Acme renewal", StageName: "Prospecting", Pricebook2Id: pricebookId },
  }) as string;
  await fake.relayIdle();

  const quoteId = `q-${demo.options.run}`;
  demo.say("CPQ", `quote ${quoteId} with 3 lines`);
  await demo.signed("cpq", `/webhooks/cpq/${tenantId}`, {
    eventId: `${quoteId}-u`,
    type: "quote.upserted",
    occurredAt: now(),
    data: { quote: { id: quoteId, opportunityId, currency: "USD", pricebookId } },
  });
  await demo.signed("cpq", `/webhooks/cpq/${tenantId}`, {
    eventId: `${quoteId}-l`,
    type: "quote.lines.replaced",
    occurredAt: now(),
    data: {
      quoteId,
      lines: products.map((productId, i) => ({
        id: `${quoteId}-${i + 1}`,
        productId,
        name: ["Seats", "Support", "Onboarding"][i],
        quantity: String((i + 1) * 10),
        unitPrice: "100",
        discountPercent: i === 0 ? "10" : "0",
      })),
    },
  });
  return { opportunityId, quoteId };
}

async function startSync(demo: SalesforceDemo, { opportunityId, quoteId }: DemoIds): Promise<void> {
  demo.say("Sales rep", `clicks "Synchronize with Opportunity" on ${quoteId}`);
  await demo.signed("crm", `/sync/${demo.tenantId}/quotes/${quoteId}/start`, { eventId: `${quoteId}-start` });
  await until(() => demo.lines(opportunityId).length === 3, "the products to reach Salesforce");
  for (const line of demo.lines(opportunityId))
    demo.print(
      `    Salesforce product: ${line.Description} × ${line.Quantity} at ${line.UnitPrice}, ${line.Discount}% off`,
    );
  demo.print(
    `    Salesforce Amount (its own arithmetic, never written by quotesync): ${demo.opportunity(opportunityId)?.Amount}`,
  );
}

async function editInSalesforce(demo: SalesforceDemo, { opportunityId, quoteId }: DemoIds): Promise<void> {
  const { fake, tenantId, options } = demo;
  const opportunity = () => demo.opportunity(opportunityId);
  const seats = demo.lines(opportunityId).find((line) => line.Description === "Seats") as Record<
    string,
    unknown
  >;
  demo.say("Salesforce", "the rep changes the Seats quantity to 25 (an UPDATE event carrying only Quantity)");
  fake.userEdit({ op: "updateLine", id: String(seats.Id), values: { Quantity: "25" } });
  const edited = await untilMirror(
    options.url,
    tenantId,
    (m) => m.target === "cpq" && (m.lines?.upsert ?? []).some((l) => l.quantity === "25"),
  );
  demo.print(
    `    → CPQ: ${edited.lines?.upsert.map((l) => `${l.name} × ${l.quantity}`).join(", ")} (quote ${quoteId})`,
  );
  await until(() => opportunity()?.Amount !== undefined, "Salesforce's amount");
  demo.print(`    Salesforce Amount: ${opportunity()?.Amount}`);

  const support = demo.lines(opportunityId).find((line) => line.Description === "Support") as Record<
    string,
    unknown
  >;
  demo.say("Salesforce", "the rep deletes the Support product");
  fake.userEdit({ op: "deleteLine", id: String(support.Id) });
  await untilMirror(options.url, tenantId, (m) => m.target === "cpq" && (m.lines?.delete.length ?? 0) > 0);
  demo.print(`    → CPQ: delete line ${quoteId}-2`);
}

async function acceptQuote(demo: SalesforceDemo, { opportunityId, quoteId }: DemoIds): Promise<void> {
  demo.say("CPQ", "the customer accepts the quote (quote.accepted)");
  await demo.signed("cpq", `/webhooks/cpq/${demo.tenantId}`, {
    eventId: `${quoteId}-acc`,
    type: "quote.accepted",
    occurredAt: now(),
    data: { quoteId },
  });
  await until(
    () => demo.opportunity(opportunityId)?.StageName === "Closed Won",
    "the stage to reach Salesforce",
  );
  demo.print(`    Salesforce StageName: ${demo.opportunity(opportunityId)?.StageName}`);
}

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new CommandFailed(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Polls the tenant's outbox for a mirror (the CPQ side is native: its mirrors wait there). */
async function untilMirror(
  url: string,
  tenantId: string,
  wanted: (mirror: Mirror) => boolean,
): Promise<Mirror> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    let after: string | null = null;
    do {
      const path: string = `/sync/${tenantId}/outbox${after ? `?after=${encodeURIComponent(after)}` : ""}`;
      const response = await sendSigned({
        url: targetUrl(url, path),
        method: "GET",
        secret: SECRETS.crm,
        body: Buffer.alloc(0),
      });
      const page = (await response.json()) as { entries: Array<{ mirror: Mirror }>; next: string | null };
      const found = page.entries.find((entry) => wanted(entry.mirror));
      if (found) return found.mirror;
      after = page.next;
    } while (after);
    if (Date.now() > deadline) throw new CommandFailed("timed out waiting for the mirror");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
