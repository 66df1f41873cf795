// @ts-check
/** Mutation run of `infra/dynamodb/` against the adapter's focused DynamoDB Local tests. `npm run mutation`. */
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: ["infra/dynamodb/**/*.ts"],
  testRunner: "vitest",
  vitest: { configFile: "mutation/vitest.dynamodb.config.ts", related: false },
  coverageAnalysis: "perTest",
  ignoreStatic: true,
  incremental: true,
  incrementalFile: "reports/mutation/dynamodb.incremental.json",
  concurrency: 2,
  // A mutant's time limit is 1.5× its covering tests' time plus this. The mutants that time out
  // wait or loop forever (a retry whose bound was mutated away); a longer allowance only made each
  // of them cost more.
  timeoutMS: 10_000,
  reporters: ["progress", "json", "html"],
  jsonReporter: { fileName: "reports/mutation/dynamodb.json" },
  htmlReporter: { fileName: "reports/mutation/dynamodb.html" },
  tempDirName: ".stryker-tmp/dynamodb",
  cleanTempDir: "always",
  checkers: [],
  // Not the other run's sandbox (a run copies every file it does not ignore, and the two runs may
  // go at once), nor reports and build output.
  ignorePatterns: [".stryker-tmp", "reports", "coverage", ".serverless", ".esbuild", "dist"],
};
