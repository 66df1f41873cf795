import { vi } from "vitest";

/**
 * Setup file of the mutation runs' vitest configs (`isolate: false`). Each test file gets the
 * project's own modules evaluated anew (module-level state such as caches starts empty, as with
 * isolation), while packages loaded natively by Node (the AWS SDK, zod, ...) stay loaded between
 * files and between mutants. Re-importing those in a fresh worker for every test file was most of a
 * mutant's cost (docs/mutation.md).
 */
vi.resetModules();
