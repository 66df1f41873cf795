import "./env.js";
import { startBench } from "./harness.js";
import { endToEndThroughput } from "./scenarios/throughput.js";

/**
 * `npm run bench:throughput`: the end-to-end scenario of `npm run bench` alone (events through the
 * handlers against the raw TransactWriteItems they committed, six alternating rounds), printed and
 * not recorded: a change to the write path is tried in about a minute instead of the whole bench.
 */
const bench = await startBench();
try {
  console.log(JSON.stringify(await endToEndThroughput(bench), null, 2));
} finally {
  await bench.close();
}
