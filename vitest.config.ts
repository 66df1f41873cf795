import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";
import SlowestFirst from "./test/sequencer.js";

export default defineConfig({
  // Vitest loads globalSetup files through its internal `__vitest__` Vite environment, which resolves
  // packages by their `module` field. For the AWS SDK that is `dist-es` (not runnable by Node as is),
  // so ~300 SDK files get transformed on every run (+3.5 s here). Resolve like Node (and like Vitest's
  // own test environment) instead: `main`/`exports` with the `node` condition, loaded natively.
  environments: { __vitest__: { resolve: { mainFields: [], conditions: ["node"] } } },
  test: {
    include: ["test/**/*.test.ts"],
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
  },
});
