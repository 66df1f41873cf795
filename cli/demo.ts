/**
 * `npm run demo [-- --url http://127.0.0.1:3000]`: a scripted story against a running quotesync
 * (start one with `npm start`), printed as a timeline: who sent what, what quotesync mirrored to
 * whom, and the opportunity amount. Ids carry a run suffix, so the demo can run again and again.
 */
import type { Mirror, MirrorLine, SyncResponse } from "../domain/model.js";
import { isTenantId } from "../domain/tenant.js";
import { sendSigned, targetUrl } from "./http-client.js";
import { type CliIo, CommandFailed, parseOptions, processIo, UsageError } from "./io.js";
import { runReporting } from "./main.js";

export interface DemoOptions {
  url: string;
  tenantId: string;
  secrets: { crm: string; cpq: string };
  /** Suffix of every id, so runs do not collide. */
  run: string;
}

type Line = Record<string, unknown> & { id: string };

/** The demo's story; returns the final status of the opportunity. */
export async function runDemo(options: DemoOptions, io: CliIo): Promise<Record<string, unknown>> {
  const demo = new DemoSession(options, io);
  demo.print(`quotesync demo against ${options.url} (tenant ${options.tenantId}, run ${options.run})`);
  await openDeal(demo);
  await syncAndEdit(demo);
  await lockAndReplace(demo);
  return finalStatus(demo);
}

/** The ids of one run's records. */
function idsOf(run: string): { opp: string; quoteA: string; quoteB: string } {
  return { opp: `opp-${run}`, quoteA: `q-${run}-A`, quoteB: `q-${run}-B` };
}

/** One run of the story against a server: signed requests, numbered steps, the amount as it moves. */
class DemoSession {
  readonly ids: { opp: string; quoteA: string; quoteB: string };
  private readonly startedAt = Date.now() - 60_000;
  private step = 0;
  private amount = "0";
  /** The CRM's own ids of the lines quotesync created there, by syncKey. */
  private readonly crmIds = new Map<string, string>();

  constructor(
    readonly options: DemoOptions,
    private readonly io: CliIo,
  ) {
    this.ids = idsOf(options.run);
  }

  print(text: string): void {
    this.io.stdout(`${text}\n`);
  }

  private at(): string {
    return new Date(this.startedAt + this.step * 1000).toISOString();
  }

  private async post(source: "crm" | "cpq", path: string, body: unknown): Promise<SyncResponse> {
    const response = await sendSigned({
      url: targetUrl(this.options.url, path),
      method: "POST",
      secret: this.options.secrets[source],
      body: Buffer.from(JSON.stringify(body)),
    });
    const answer = (await response.json().catch(() => ({}))) as SyncResponse & {
      error?: { code: string; message: string };
    };
    if (!response.ok) {
      throw new CommandFailed(
        `${path} answered ${response.status} ${answer.error?.code}: ${answer.error?.message}`,
      );
    }
    return answer;
  }

  async event(source: "crm" | "cpq", type: string, data: unknown, story: string): Promise<SyncResponse> {
    this.step++;
    const who = source === "crm" ? "CRM" : "CPQ";
    this.print(`\n${String(this.step).padStart(2)}. ${who} ${type} — ${story}`);
    const body = { eventId: `demo-${this.options.run}-${this.step}`, type, occurredAt: this.at(), data };
    return this.report(await this.post(source, `/webhooks/${source}/${this.options.tenantId}`, body));
  }

  async command(kind: "start" | "stop", quoteId: string, story: string): Promise<SyncResponse> {
    this.step++;
    this.print(
      `\n${String(this.step).padStart(2)}. Sales rep clicks "${kind === "start" ? "Synchronize with Opportunity" : "Stop sync"}" on ${quoteId} — ${story}`,
    );
    return this.report(
      await this.post("crm", `/sync/${this.options.tenantId}/quotes/${quoteId}/${kind}`, {
        eventId: `demo-${this.options.run}-${this.step}`,
      }),
    );
  }

  private report(answer: SyncResponse): SyncResponse {
    this.print(`    quotesync: ${answer.status}${answer.mirrors.length === 0 ? ", nothing to mirror" : ""}`);
    for (const mirror of answer.mirrors) {
      this.print(`    → ${mirror.target.toUpperCase()}: ${describe(mirror)}`);
      if (mirror.opportunity?.amount) this.amount = mirror.opportunity.amount;
    }
    this.print(`    opportunity amount: ${this.amount}`);
    return answer;
  }

  /** What the CRM does with a mirror: applies it, giving new lines its own ids, and reports the result back. */
  crmApplies(mirror: Mirror | undefined): Line[] {
    return (mirror?.lines?.upsert ?? []).map((line: MirrorLine) => {
      const id =
        line.id ?? this.crmIds.get(line.syncKey) ?? `oli-${this.options.run}-${this.crmIds.size + 1}`;
      this.crmIds.set(line.syncKey, id);
      return { ...line, id };
    });
  }
}

const toCrm = (answer: SyncResponse) => answer.mirrors.find((mirror) => mirror.target === "crm");
const toCpq = (answer: SyncResponse) => answer.mirrors.find((mirror) => mirror.target === "cpq");

/** An opportunity, two quotes for it, and two lines on quote A. */
async function openDeal(demo: DemoSession): Promise<void> {
  const { opp, quoteA, quoteB } = demo.ids;
  await demo.event(
    "crm",
    "opportunity.upserted",
    {
      opportunity: {
        id: opp,
        name: "Acme – 200 seats",
        stage: "Prospecting",
        currency: "USD",
        amount: "0",
        fields: { Region__c: "EMEA" },
      },
    },
    `a sales rep opens opportunity ${opp}`,
  );
  await demo.event(
    "cpq",
    "quote.upserted",
    {
      quote: {
        id: quoteA,
        opportunityId: opp,
        name: "Option A",
        status: "draft",
        currency: "USD",
        fields: { Region__c: "EMEA" },
      },
    },
    `quote ${quoteA} is drafted for it`,
  );
  await demo.event(
    "cpq",
    "quote.upserted",
    { quote: { id: quoteB, opportunityId: opp, name: "Option B", status: "draft", currency: "USD" } },
    `and a second quote, ${quoteB}`,
  );
  await linesOnQuoteA(demo);
}

async function linesOnQuoteA(demo: DemoSession): Promise<void> {
  const { quoteA } = demo.ids;
  await demo.event(
    "cpq",
    "quote.lines.upserted",
    {
      quoteId: quoteA,
      lines: [
        {
          id: `${quoteA}-1`,
          productId: "prod-seat",
          name: "Seat licence",
          quantity: "200",
          unitPrice: "30",
          billing: "recurring",
          billingPeriod: "month",
          fields: { Color__c: "blue" },
        },
        {
          id: `${quoteA}-2`,
          productId: "prod-onboarding",
          name: "Onboarding",
          quantity: "1",
          unitPrice: "2500",
        },
      ],
    },
    "two lines on quote A (not synced yet: stored, nothing mirrored)",
  );
}

/** cart.finalized starts sync; the CRM's echo; an edit in the CRM and the CPQ's echo; a discount. */
async function syncAndEdit(demo: DemoSession): Promise<void> {
  const { opp, quoteA } = demo.ids;
  const finalized = await demo.event(
    "cpq",
    "cart.finalized",
    { quoteId: quoteA },
    "the cart of quote A is finalized: an automatic trigger starts sync",
  );
  const created = demo.crmApplies(toCrm(finalized));
  await demo.event(
    "crm",
    "opportunity.lines.upserted",
    { opportunityId: opp, lines: created },
    "the CRM applies the mirror and reports its new lines back (an echo: no loop)",
  );
  const seat = created.find((line) => line.productId === "prod-seat");
  if (!seat) throw new CommandFailed("the CRM never received the seat line");
  const edited = await demo.event(
    "crm",
    "opportunity.lines.upserted",
    { opportunityId: opp, lines: [{ ...seat, quantity: "250" }] },
    "a sales rep raises the seats to 250 in the CRM",
  );
  const cpqLines = toCpq(edited)?.lines?.upsert ?? [];
  await demo.event(
    "cpq",
    "quote.lines.upserted",
    { quoteId: quoteA, lines: cpqLines.map((line) => ({ ...line, id: line.id ?? `${quoteA}-1` })) },
    "the CPQ applies that mirror and echoes it back",
  );
  const discounted = await demo.event(
    "cpq",
    "quote.lines.upserted",
    {
      quoteId: quoteA,
      lines: [{ ...cpqLines[0], id: cpqLines[0]?.id ?? `${quoteA}-1`, discountPercent: "25" }],
    },
    "the deal desk gives 25 % off the seats in the CPQ (over the 20 % approval rule)",
  );
  demo.crmApplies(toCrm(discounted));
}

/** A locked amount restored; quote B replaces quote A; the customer accepts quote B. */
async function lockAndReplace(demo: DemoSession): Promise<void> {
  const { opp, quoteB } = demo.ids;
  await demo.event(
    "crm",
    "opportunity.upserted",
    {
      opportunity: {
        id: opp,
        name: "Acme – 200 seats",
        stage: "Negotiation",
        currency: "USD",
        amount: "99999",
        fields: { Region__c: "EMEA" },
      },
    },
    "the rep moves the stage to Negotiation and types an amount into the CRM: the amount is locked while synced, so it is restored",
  );
  await demo.event(
    "cpq",
    "quote.lines.upserted",
    {
      quoteId: quoteB,
      lines: [
        {
          id: `${quoteB}-1`,
          productId: "prod-seat",
          name: "Seat licence",
          quantity: "300",
          unitPrice: "28",
          billing: "recurring",
          billingPeriod: "month",
        },
      ],
    },
    "quote B gets its own line: 300 seats at 28",
  );
  const replaced = await demo.command(
    "start",
    quoteB,
    "quote B replaces quote A: the opportunity's lines are replaced",
  );
  demo.crmApplies(toCrm(replaced));
  await demo.event(
    "cpq",
    "quote.accepted",
    { quoteId: quoteB },
    "the customer accepts quote B: sync re-runs and the stage moves on",
  );
}

/** Reads the opportunity's status back and prints it, with the command for its audit trail. */
async function finalStatus(demo: DemoSession): Promise<Record<string, unknown>> {
  const { url, tenantId, secrets } = demo.options;
  const { opp } = demo.ids;
  const statusUrl = targetUrl(url, `/sync/${tenantId}/opportunities/${opp}`);
  const response = await sendSigned({ url: statusUrl, method: "GET", secret: secrets.crm });
  const status = (await response.json()) as Record<string, unknown> & { lines?: unknown[] };
  demo.print(
    `\nFinal status of ${opp}: synced quote ${status.syncedQuoteId}, stage ${status.stage}, amount ${status.amount} (locked: ${status.amountLocked}), ${status.lines?.length} line${status.lines?.length === 1 ? "" : "s"}.`,
  );
  demo.print(
    `Audit trail: npx quotesync send --url ${url} --method GET --path /sync/${tenantId}/opportunities/${opp}/audit --secret <crm secret>`,
  );
  return status;
}

/** One line for a mirror: lines, amount, stage, approval, sync flag. */
export function describe(mirror: Mirror): string {
  const parts: string[] = [];
  if (mirror.lines) {
    const creates = mirror.lines.upsert.filter((line) => line.id === null).length;
    const updates = mirror.lines.upsert.length - creates;
    if (creates) parts.push(`create ${creates} line${creates > 1 ? "s" : ""}`);
    if (updates) parts.push(`update ${updates} line${updates > 1 ? "s" : ""}`);
    if (mirror.lines.delete.length) parts.push(`delete ${mirror.lines.delete.join(", ")}`);
  }
  const o = mirror.opportunity;
  if (o) {
    parts.push(`amount ${o.amount}${o.amountLocked ? " (locked)" : ""}`);
    if (o.stage) parts.push(`stage ${o.stage}`);
    if (o.approval?.required) parts.push(`approval required: ${o.approval.reasons.join("; ")}`);
    else if (o.approval) parts.push("no approval needed");
  }
  if (mirror.quote) parts.push(mirror.quote.syncing ? "quote is syncing" : "quote stopped syncing");
  return `${parts.join(", ")} (quote ${mirror.quoteId})`;
}

async function main(argv: string[], io: CliIo): Promise<number> {
  const values = parseOptions(argv, {
    url: { type: "string" },
    tenant: { type: "string" },
    crm: { type: "string" },
    cpq: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.crm === "hubspot" && values.cpq === "hubspot") {
    // The functions' request logs would bury the story; set POWERTOOLS_LOG_LEVEL=INFO to see them.
    process.env.POWERTOOLS_LOG_LEVEL ||= "WARN";
    const { runHubSpotDemo } = await import("./hubspot-demo.js");
    await runHubSpotDemo(io);
    return 0;
  }
  if (values.cpq !== undefined) {
    throw new UsageError("connector demos: --crm hubspot --cpq hubspot, or --crm salesforce");
  }
  if (values.help) {
    io.stdout(
      "Usage: npm run demo [-- --url http://127.0.0.1:3000] [--tenant demo] [--crm salesforce]\n       npm run demo -- --crm hubspot --cpq hubspot   (self-contained: a fake HubSpot, DynamoDB Local, deliver)\n\nRuns a scripted story against a running quotesync (npm start) and prints its timeline.\n--crm salesforce plays it with a fake Salesforce org as the CRM (tenant sf-<run>).\nSecrets: DEMO_CRM_SECRET / DEMO_CPQ_SECRET (default demo-crm-secret / demo-cpq-secret).\n",
    );
    return 0;
  }
  // The port `npm start` listens on (PORT, default 3000).
  const url = values.url ?? `http://127.0.0.1:${process.env.PORT ?? "3000"}`;
  targetUrl(url, "/");
  if (values.crm !== undefined && values.crm !== "salesforce" && values.crm !== "native") {
    throw new UsageError("--crm must be salesforce (or native, the default)");
  }
  if (values.crm === "salesforce") {
    const { runSalesforceDemo } = await import("./demo-salesforce.js");
    await runSalesforceDemo({ url, run: Date.now().toString(36) }, io);
    return 0;
  }
  const tenantId = values.tenant ?? "demo";
  if (!isTenantId(tenantId)) throw new UsageError("--tenant must be a tenant id such as demo");
  await runDemo(
    {
      url,
      tenantId,
      secrets: {
        crm: io.env.DEMO_CRM_SECRET || "demo-crm-secret",
        cpq: io.env.DEMO_CPQ_SECRET || "demo-cpq-secret",
      },
      run: Date.now().toString(36),
    },
    io,
  );
  return 0;
}

if (process.argv[1]?.endsWith("demo.ts")) {
  const io = processIo();
  process.exitCode = await runReporting("demo", () => main(process.argv.slice(2), io), io);
}
