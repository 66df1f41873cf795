import fc from "fast-check";
import { inject, vi } from "vitest";

/**
 * Setup file of the mutation runs' vitest configs (docs/mutation.md).
 *
 * They run with `isolate: false` on one kept thread (mutation/kept-thread-pool.ts): the packages
 * Node loaded natively (the AWS SDK, zod, fast-check, ...) stay loaded between files and between
 * mutants. Each file still gets the project's own modules evaluated anew, so module-level state
 * (caches, hints) starts empty as with isolation, and no mutant's run leaves state behind for the
 * next.
 */
vi.resetModules();

/**
 * Every file imports the project with the mutant inactive, as the first file of a fresh worker
 * does: Stryker activates a mutant in its `beforeAll`, after the imports (a mutant only run at
 * module load, a static one, is activated by Stryker before them instead, and left so). Otherwise
 * the import would run with whatever the thread last had active: the mutant of the previous file
 * of this run, or of the previous run on a kept thread. (`mode` and the rest are what Stryker's
 * vitest runner provides; plain vitest runs have none.)
 */
const mode = inject("mode" as never) as unknown as string | undefined;
if (mode === "mutant" && inject("mutantActivation" as never) !== "static") {
  const namespace = inject("globalNamespace" as never) as unknown as string;
  const state = (globalThis as unknown as Record<string, Record<string, unknown> | undefined>)[namespace];
  if (state) state.activeMutant = undefined;
}

/**
 * A property that fails has found the mutant: that is all a mutation run needs to know. Shrinking
 * the counterexample (fast-check's default, hundreds of further runs) would only cost time.
 */
fc.configureGlobal({ endOnFailure: true });
