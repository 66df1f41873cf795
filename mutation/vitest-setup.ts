import fc from "fast-check";
import { vi } from "vitest";

/**
 * Setup file of the mutation runs' vitest configs (docs/mutation.md).
 *
 * They run with `isolate: false`: one worker runs the files one after another and keeps the packages
 * Node loaded natively (the AWS SDK, zod, fast-check, ...) between files and between mutants;
 * re-importing those in a fresh worker for every test file was most of a mutant's cost. Each file
 * still gets the project's own modules evaluated anew, so module-level state (caches, hints)
 * starts empty as with isolation, and no mutant's run leaves state behind for the next.
 */
vi.resetModules();

/**
 * A property that fails has found the mutant: that is all a mutation run needs to know. Shrinking
 * the counterexample (fast-check's default, hundreds of further runs) would only cost time.
 */
fc.configureGlobal({ endOnFailure: true });
