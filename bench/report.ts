import type { BundleResults } from "./scenarios/bundles.js";
import type { DeliveryResult } from "./scenarios/delivery.js";
import type { DomainDiffResult } from "./scenarios/domain-diff.js";
import type { HotPairResult } from "./scenarios/hot-pair.js";
import type { HubSpotEditResult } from "./scenarios/hubspot-edit.js";
import type { HubSpotWebhookResult } from "./scenarios/hubspot-webhook.js";
import type { OneLineResult } from "./scenarios/one-line.js";
import type { PipelinePageResult } from "./scenarios/pipeline-page.js";
import type { ReplaceResult } from "./scenarios/replace.js";
import type { ThroughputResult } from "./scenarios/throughput.js";

export interface Results {
  oneLine: OneLineResult[];
  replace: ReplaceResult[];
  domain: DomainDiffResult;
  throughput: ThroughputResult;
  hotPair: HotPairResult;
  hubspotWebhook?: HubSpotWebhookResult;
  hubspotEdit?: HubSpotEditResult;
  delivery: DeliveryResult;
  bundles: BundleResults;
  pipelinePage?: PipelinePageResult;
}

export interface Row {
  scenario: string;
  figure: string;
  value: string;
  goal: string;
  /** null: reported, no goal of its own. */
  met: boolean | null;
}

/** Adds one row: a figure of a scenario, with its goal and whether it was met when it has one. */
type AddRow = (scenario: string, figure: string, value: string, goal?: string, met?: boolean | null) => void;

/** The table of issue 5: every figure beside its goal. */
export function rowsOf(results: Results): Row[] {
  const rows: Row[] = [];
  const add: AddRow = (scenario, figure, value, goal = "", met = null) =>
    rows.push({ scenario, figure, value, goal, met });
  oneLineRows(results, add);
  replaceRows(results, add);
  domainRows(results, add);
  throughputRows(results, add);
  hotPairRows(results, add);
  deliveryRows(results, add);
  hubSpotRows(results, add);
  bundleRows(results, add);
  pipelineRows(results, add);
  return rows;
}

/** One-line changes from each side: round trips, capacity, latency, and WCU against the line count. */
function oneLineRows(results: Results, add: AddRow): void {
  const one = (lines: number, side: string) =>
    results.oneLine.find((entry) => entry.lines === lines && entry.side === side) as OneLineResult;
  for (const side of ["cpq", "crm"] as const) {
    for (const entry of results.oneLine.filter((candidate) => candidate.side === side)) {
      const scenario = `one-line change from ${side}, ${entry.lines} line(s)`;
      add(
        scenario,
        "round trips (median / max)",
        `${entry.roundTrips} / ${entry.maxRoundTrips} (${entry.calls} calls: ${formatOperations(entry.operations)})`,
        "≤ 2",
        entry.maxRoundTrips <= 2,
      );
      add(scenario, "WCU / RCU per event", `${entry.wcu} / ${entry.rcu}`);
      add(scenario, "latency p50 / p99", `${entry.p50Ms} / ${entry.p99Ms} ms`);
    }
    const ratio = one(1000, side).wcu / one(1, side).wcu;
    add(
      `one-line change from ${side}`,
      "WCU at 1,000 lines ÷ WCU at 1 line",
      ratio.toFixed(2),
      "≤ 1.2",
      ratio <= 1.2,
    );
  }
}

/** Start and replace of N lines, and what a concurrent reader saw. */
function replaceRows(results: Results, add: AddRow): void {
  for (const entry of results.replace) {
    const scenario = `start / replace, ${entry.lines} lines`;
    for (const phase of ["start", "replace"] as const) {
      const figures = entry[phase];
      add(
        scenario,
        `${phase}: round trips, calls, WCU, RCU`,
        `${figures.roundTrips}, ${figures.calls}, ${figures.wcu}, ${figures.rcu}`,
      );
      add(scenario, `${phase}: wall time p50 / max`, `${figures.p50Ms} / ${figures.maxMs} ms`);
    }
    add(
      scenario,
      "works (opportunity holds exactly the new lines)",
      String(entry.works),
      "true",
      entry.works,
    );
    add(
      scenario,
      "concurrent reader: torn reads / polls",
      `${entry.tornReads} / ${entry.readerPolls}`,
      "0 torn",
      entry.tornReads === 0 && entry.readerPolls > 0,
    );
  }
}

/** The pure engine at 500 and 5,000 lines. */
function domainRows(results: Results, add: AddRow): void {
  for (const entry of results.domain.sizes) {
    add(
      `domain diff + mirror, ${entry.lines} lines`,
      "time p50",
      `${entry.p50Ms} ms (${entry.repetitions} runs)`,
    );
  }
  const { ratio, roundRatios, ratioUncollected } = results.domain;
  add(
    "domain diff + mirror",
    "5,000 ÷ 500 lines, each run with the minor GC of its garbage (median of rounds; each round)",
    `${ratio.toFixed(2)}; ${roundRatios.map((value) => value.toFixed(1)).join(", ")}`,
    "≤ 12",
    ratio <= 12,
  );
  add(
    "domain diff + mirror",
    "5,000 ÷ 500 lines, timed to the decision (the 500-line runs' garbage uncollected)",
    ratioUncollected.toFixed(2),
  );
}

/** End to end through the handlers against the raw transactions. */
function throughputRows(results: Results, add: AddRow): void {
  const tp = results.throughput;
  const tpScenario = `end to end, ${tp.clients} clients over ${tp.pairs} pairs`;
  add(tpScenario, "events/s (handlers)", `${tp.eventsPerSecond} (${tp.events} events)`);
  add(tpScenario, "latency p50 / p99", `${tp.p50Ms} / ${tp.p99Ms} ms`);
  add(tpScenario, "raw TransactWriteItems/s", `${tp.rawPerSecond} (${tp.rawTransactions} transactions)`);
  add(
    tpScenario,
    "handlers ÷ raw (median of rounds; each round; overall)",
    `${tp.ratio.toFixed(2)}; ${tp.roundRatios.map((value) => value.toFixed(2)).join(", ")}; ${tp.overallRatio.toFixed(2)}`,
    "≥ 0.8",
    tp.ratio >= 0.8,
  );
}

/** Many writers on one pair. */
function hotPairRows(results: Results, add: AddRow): void {
  const hot = results.hotPair;
  const hotScenario = `hot pair, ${hot.writers} writers on one opportunity`;
  add(
    hotScenario,
    "applied after retries",
    `${hot.appliedPercent} % (${hot.applied}/${hot.sent}; ${hot.retried} client retries)`,
    "100 %",
    hot.applied === hot.sent,
  );
  add(hotScenario, "no lost update (final state)", String(hot.noLostUpdate), "true", hot.noLostUpdate);
  add(hotScenario, "latency p50 / p99", `${hot.p50Ms} / ${hot.p99Ms} ms`);
}

/** Mirrors delivered to a webhook receiver. */
function deliveryRows(results: Results, add: AddRow): void {
  const delivery = results.delivery;
  const deliveryScenario = `delivery to a webhook, ${delivery.writers} writers over ${delivery.pairs} pairs`;
  add(
    deliveryScenario,
    "lag from webhook answer to receiver p50 / p99",
    `${delivery.lagP50Ms} / ${delivery.lagP99Ms} ms (${delivery.mirrors} mirrors)`,
    "p50 ≤ 2 s",
    delivery.lagP50Ms <= 2_000,
  );
  add(deliveryScenario, "delivered mirrors/s", String(delivery.deliveredPerSecond));
  add(
    deliveryScenario,
    "mirrors received twice",
    String(delivery.duplicates),
    "0",
    delivery.duplicates === 0,
  );
}

/** HubSpot's webhook with a burst of line item events. */
function hubSpotRows(results: Results, add: AddRow): void {
  const hubspot = results.hubspotWebhook;
  if (hubspot) {
    const scenario = `HubSpot webhook, ${hubspot.events} line item events on one deal`;
    add(
      scenario,
      "answer time p50 / max",
      `${hubspot.p50Ms} / ${hubspot.maxMs} ms`,
      "< 5000 ms",
      hubspot.maxMs < 5000,
    );
    add(
      scenario,
      "HubSpot reads per request",
      String(hubspot.callsPerRequest),
      "≤ 3",
      hubspot.callsPerRequest <= 3,
    );
  }
  const edit = results.hubspotEdit;
  if (edit) {
    const scenario = `HubSpot deal line edit → quote line, end to end (${edit.edits} edits)`;
    add(
      scenario,
      "edit to quote line p50 / max",
      `${edit.p50Ms} / ${edit.maxMs} ms`,
      "< 2000 ms",
      edit.maxMs < 2000,
    );
    add(scenario, "HubSpot calls per edit", String(edit.callsPerEdit));
  }
}

/** The deployed bundles: size and init, beside a bare handler and the SDK floor. */
function bundleRows(results: Results, add: AddRow): void {
  const { bare, sdkFloor, sdkFloorRuntimeSdk, functions, node20, node22 } = results.bundles;
  const both = (init: { node20Ms: number; node22Ms: number }) => `${init.node20Ms} / ${init.node22Ms} ms`;
  const nodes = `Node ${node20} / ${node22}`;
  add("bundle: bare middy handler", `size; init (${nodes})`, `${bare.sizeKb} KB; ${both(bare.init)}`);
  add(
    "bundle: SDK floor (bare middy + DynamoDB document client)",
    `size; init (${nodes}) (× bare middy, Node 20)`,
    `${sdkFloor.sizeKb} KB; ${both(sdkFloor.init)} (${sdkFloor.initRatio.toFixed(2)}×)`,
  );
  add(
    "bundle: SDK floor, SDK left to the runtime",
    `size; init (${nodes})`,
    `${sdkFloorRuntimeSdk.sizeKb} KB; ${both(sdkFloorRuntimeSdk.init)}`,
  );
  for (const entry of functions) {
    const scenario = `bundle: ${entry.name}`;
    add(scenario, "size (zip)", `${entry.sizeKb} KB (${entry.zipKb} KB)`, "≤ 500 KB", entry.sizeKb <= 500);
    add(
      scenario,
      "init, Node 20 (× bare middy)",
      `${entry.init.node20Ms} ms (${entry.initRatio.toFixed(2)}×)`,
      "≤ 1.5×",
      entry.initRatio <= 1.5,
    );
    add(scenario, "init, Node 22", `${entry.init.node22Ms} ms`);
    add(scenario, "init ÷ SDK floor (Node 20)", `${entry.floorRatio.toFixed(2)}×`);
    add(
      scenario,
      "SDK left to the runtime: size; init Node 20 / 22",
      `${entry.runtimeSdk.sizeKb} KB; ${both(entry.runtimeSdk.init)}`,
    );
  }
}

/** The pipeline page of a large tenant. */
function pipelineRows(results: Results, add: AddRow): void {
  const pipeline = results.pipelinePage;
  if (pipeline) {
    const scenario = `pipeline page, ${pipeline.opportunities.toLocaleString("en")} opportunities`;
    add(
      scenario,
      "first page, function time: cold runtime / warm p50 / p95",
      `${pipeline.coldFirstPageMs} / ${pipeline.firstPageP50Ms} / ${pipeline.firstPageP95Ms} ms (${pipeline.rows} rows)`,
      "≤ 300 ms",
      Math.max(pipeline.coldFirstPageMs, pipeline.firstPageP95Ms) <= 300,
    );
    add(
      scenario,
      "first page: DynamoDB calls (round trips)",
      `${pipeline.firstPageCost.calls} (${pipeline.firstPageCost.roundTrips}): ${formatOperations(pipeline.firstPageCost.byOperation)}`,
      "no Scan",
      pipeline.scans === 0,
    );
    add(
      scenario,
      "first page sorted by amount: p50 / p95 (calls)",
      `${pipeline.sortedFirstPageP50Ms} / ${pipeline.sortedFirstPageP95Ms} ms (${pipeline.sortedFirstPageCost.calls}: ${formatOperations(pipeline.sortedFirstPageCost.byOperation)})`,
      "≤ 300 ms",
      pipeline.sortedFirstPageP95Ms <= 300,
    );
    add(
      scenario,
      "needs attention, p50 (calls)",
      `${pipeline.attentionP50Ms} ms (${pipeline.attentionCost.calls}: ${formatOperations(pipeline.attentionCost.byOperation)}); ${pipeline.attentionDeliveryRows} rows with a parked delivery (${pipeline.parkedQueues} parked of ${pipeline.deliveryQueues} queues)`,
    );
    add(scenario, "opportunity page, p50", `${pipeline.opportunityPageP50Ms} ms`);
  }
}

function formatOperations(operations: Record<string, number>): string {
  return Object.entries(operations)
    .map(([name, count]) => (count > 1 ? `${count}× ${name}` : name))
    .join(", ");
}

export function markdownTable(rows: Row[]): string {
  const lines = ["| scenario | figure | measured | goal | met |", "|---|---|---|---|---|"];
  for (const row of rows) {
    const met = row.met === null ? "" : row.met ? "yes" : "**no**";
    lines.push(`| ${row.scenario} | ${row.figure} | ${row.value} | ${row.goal} | ${met} |`);
  }
  return lines.join("\n");
}
