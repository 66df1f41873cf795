import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * The mutation runs' test files that take longest, slowest last (property runs, many generated
 * cases, storage faults with retries): they cover most mutants, so they would run for most of them.
 */
export const SLOW_FILES = [
  "test/domain/scheduled-paging.test.ts",
  "test/integration/scheduled-paging.test.ts",
  "test/hardening/duplicates.test.ts",
  "test/domain/read-by-key.test.ts",
  "test/domain/line-limit.test.ts",
  "test/integration/outbox-cursor.test.ts",
  "test/connectors/delivery-service.test.ts",
  "test/domain/convergence.test.ts",
  "test/hardening/storage-faults.test.ts",
];

/**
 * A mutant's covering files run one after another and stop at the first failing test (Stryker's
 * bail): the focused, fast files first, so most mutants are killed before a slow file starts.
 * A surviving mutant runs them all, in any order.
 */
export default class SlowestLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) =>
      SLOW_FILES.indexOf(relative(this.ctx.config.root, file.moduleId).replaceAll("\\", "/"));
    const byName = [...files].sort((a, b) => (a.moduleId < b.moduleId ? -1 : 1));
    // The other files (rank -1) first, by name; then the slow ones, slowest last.
    return byName.sort((a, b) => rank(a) - rank(b));
  }
}
