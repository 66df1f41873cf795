// @ts-check
/** Mutation run of `domain/` against the fast in-memory tests. `npm run mutation` (docs/mutation.md). */
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: ["domain/**/*.ts"],
  testRunner: "vitest",
  vitest: { configFile: "mutation/vitest.domain.config.ts", related: false },
  coverageAnalysis: "perTest",
  ignoreStatic: true,
  incremental: true,
  incrementalFile: "reports/mutation/domain.incremental.json",
  concurrency: 2,
  // A mutant's time limit is 1.5× its covering tests' time plus this. The mutants that time out
  // wait or loop forever (a retry whose bound was mutated away); a longer allowance only made each
  // of them cost more.
  timeoutMS: 10_000,
  reporters: ["progress", "json", "html"],
  jsonReporter: { fileName: "reports/mutation/domain.json" },
  htmlReporter: { fileName: "reports/mutation/domain.html" },
  tempDirName: ".stryker-tmp/domain",
  cleanTempDir: "always",
  checkers: [],
  // Not the other run's sandbox (a run copies every file it does not ignore, and the two runs may
  // go at once), nor reports and build output.
  ignorePatterns: [".stryker-tmp", "reports", "coverage", ".serverless", ".esbuild", "dist"],
};
