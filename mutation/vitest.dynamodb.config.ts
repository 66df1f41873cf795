import { defineConfig } from "vitest/config";
import { keptThreadPool } from "./kept-thread-pool.js";
import SlowestLast from "./sequencer.js";

/**
 * The tests the mutation run of `infra/dynamodb/` uses: the adapter's focused tests on DynamoDB
 * Local (the store, the outbox, storage faults, redeliveries, the torn-read guard), not the whole
 * suite: the long concurrency and property runs would repeat for every mutant. See docs/mutation.md.
 */
export default defineConfig({
  // One test thread kept for all of a runner's mutants (mutation/kept-thread-pool.ts).
  plugins: [keptThreadPool()],
  environments: { __vitest__: { resolve: { mainFields: [], conditions: ["node"] } } },
  test: {
    root: `${import.meta.dirname}/..`,
    include: [
      "test/infra/**/*.test.ts",
      "test/hardening/storage-faults.test.ts",
      "test/hardening/duplicates.test.ts",
      "test/integration/outbox-cursor.test.ts",
      "test/integration/scheduled-paging.test.ts",
      // The SyncStore contract on DynamoDB Local: the port's behaviour (drift reports, schedule
      // checkpoint, audit pages, ...) that the focused tests above do not all reach.
      "test/contract/dynamo-store.test.ts",
      // The only tests of infra/dynamodb/pipeline-backfill.ts (through the CLI command).
      "test/cli/pipeline-backfill.test.ts",
      // The delivery queue as delivery uses it: order, leases taken over, backoff, parking.
      "test/connectors/delivery-service.test.ts",
    ],
    globalSetup: ["test/global-setup.ts"],
    allowOnly: false,
    // One worker runs the files one after another without reloading the packages they import;
    // the setup file gives every file fresh modules of the project (see mutation/vitest-setup.ts).
    isolate: false,
    setupFiles: ["mutation/vitest-setup.ts"],
    // The slow files last: most mutants are killed by a fast one first (mutation/sequencer.ts).
    sequence: { sequencer: SlowestLast },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      POWERTOOLS_LOG_LEVEL: "SILENT",
      POWERTOOLS_METRICS_DISABLED: "true",
    },
  },
});
