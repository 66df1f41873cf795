import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";
import SlowestFirst from "./test/sequencer.js";

/**
 * Files that need a process of their own: they set environment variables read when a module
 * loads (log level, metrics), reload modules, or mock an AWS client class for every instance.
 */
const ISOLATED = [
  "test/functions/observability.test.ts",
  "test/functions/tenant-secrets.test.ts",
  "test/functions/deliver.test.ts",
  "test/local/tenants.test.ts",
  "test/local/stream-iterators.test.ts",
  "test/cli/hubspot-setup.test.ts",
  "test/domain/read-plans.test.ts",
];

export default defineConfig({
  // Vitest loads globalSetup files through its internal `__vitest__` Vite environment, which resolves
  // packages by their `module` field. For the AWS SDK that is `dist-es` (not runnable by Node as is),
  // so ~300 SDK files get transformed on every run (+3.5 s here). Resolve like Node (and like Vitest's
  // own test environment) instead: `main`/`exports` with the `node` condition, loaded natively.
  environments: { __vitest__: { resolve: { mainFields: [], conditions: ["node"] } } },
  test: {
    // A committed `.only` must fail the run, not shrink it, with or without CI set.
    allowOnly: false,
    globalSetup: ["test/global-setup.ts"],
    pool: "forks",
    // The slowest files start first (a fresh clone has no timings for Vitest to order by).
    sequence: { sequencer: SlowestFirst },
    // Vitest's default is one worker fewer than the cores: one file at a time on the 2-core CI
    // machine, while most files spend much of their time waiting (DynamoDB Local, child processes,
    // the browser, background delivery). Four run side by side there: measured back to back on
    // that machine, vitest alone took 201–210 s with four and 222–228 s with three; with the
    // typecheck and lint beside it (`npm test`) the pairs were 259 / 228 s and 276 / 292 s.
    maxWorkers: Math.max(availableParallelism() - 1, 4),
    testTimeout: 60_000,
    hookTimeout: 60_000,
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      POWERTOOLS_LOG_LEVEL: "SILENT",
      POWERTOOLS_METRICS_DISABLED: "true",
    },
    projects: [
      {
        extends: true,
        test: {
          name: "shared",
          include: ["test/**/*.test.ts"],
          exclude: ISOLATED,
          // A worker goes from one test file to the next without a new process, so the packages
          // (the AWS SDK, middy, zod, Powertools) load once per worker instead of once per file;
          // quotesync's own modules and the environment start afresh for each file
          // (test/support/fresh-state.ts).
          isolate: false,
          setupFiles: ["test/support/fresh-state.ts"],
        },
      },
      {
        extends: true,
        test: { name: "isolated", include: ISOLATED, isolate: true },
      },
    ],
  },
});
