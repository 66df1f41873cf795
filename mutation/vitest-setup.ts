import fc from "fast-check";
import { vi } from "vitest";

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
 * A property that fails has found the mutant: that is all a mutation run needs to know. Shrinking
 * the counterexample (fast-check's default, hundreds of further runs) would only cost time.
 */
fc.configureGlobal({ endOnFailure: true });
