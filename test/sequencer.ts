import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Test files that take longest, longest first (durations of a CI run): most of their time is spent
 * waiting (DynamoDB Local, its stream, retries with backoff, child processes), so they run
 * beside the rest rather than after it. Without this, a fresh clone (CI) has no timings of its own
 * and Vitest starts the largest files first, which leaves these short but slow files to the end,
 * on one worker, with the other workers idle.
 */
export const SLOWEST_FILES = [
  "test/integration/salesforce.test.ts",
  "test/integration/race.test.ts",
  "test/connectors/hubspot/end-to-end.test.ts",
  "test/connectors/hubspot/load.test.ts",
  "test/integration/delivery.test.ts",
  "test/hardening/storage-faults.test.ts",
  "test/integration/big-quotes.test.ts",
  "test/connectors/salesforce/end-to-end.test.ts",
  "test/integration/convergence.test.ts",
  "test/readme/walkthrough.test.ts",
  "test/deploy/lambda-node22.test.ts",
  "test/browser/pipeline-page.test.ts",
  "test/tools/sign-cli.test.ts",
];

/** Vitest's order (failed first, then by the timings of earlier runs, then by size), the slowest files first. */
export default class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (file: TestSpecification) => {
      const index = SLOWEST_FILES.indexOf(
        relative(this.ctx.config.root, file.moduleId).replaceAll("\\", "/"),
      );
      return index === -1 ? SLOWEST_FILES.length : index;
    };
    // Array.prototype.sort is stable: the other files keep Vitest's order.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}
