import { defineConfig } from "vitest/config";
import { keptThreadPool } from "./kept-thread-pool.js";
import SlowestLast from "./sequencer.js";

/**
 * The tests the mutation run of `domain/` uses: the fast in-memory ones (the engine on the
 * in-memory store, and the in-memory tests of the rest of domain/), no DynamoDB Local.
 * See docs/mutation.md.
 */
export default defineConfig({
  // One test thread kept for all of a runner's mutants (mutation/kept-thread-pool.ts).
  plugins: [keptThreadPool()],
  test: {
    root: `${import.meta.dirname}/..`,
    include: [
      "test/domain/**/*.test.ts",
      // The other in-memory tests of domain/: the SyncStore contract on the in-memory store, the
      // example events and tenant, the connectors' translations and appliers (a fake fetch).
      "test/contract/memory-store.test.ts",
      "test/examples.test.ts",
      "test/connectors/webhook-applier.test.ts",
      "test/connectors/hubspot/applier.test.ts",
      "test/connectors/salesforce/applier.test.ts",
      "test/connectors/salesforce/translation.test.ts",
    ],
    allowOnly: false,
    // One worker runs the files one after another without reloading the packages they import;
    // the setup file gives every file fresh modules of the project (see mutation/vitest-setup.ts).
    isolate: false,
    setupFiles: ["mutation/vitest-setup.ts"],
    // The slow files last: most mutants are killed by a fast one first (mutation/sequencer.ts).
    sequence: { sequencer: SlowestLast },
    testTimeout: 60_000,
    env: {
      CONVERGENCE_RUNS: "60",
      POWERTOOLS_LOG_LEVEL: "SILENT",
      POWERTOOLS_METRICS_DISABLED: "true",
    },
  },
});
