import { vi } from "vitest";

/**
 * Runs before each test file of the `shared` project, whose workers go from one file to the next
 * without a new process (vitest.config.ts): the packages Node loaded natively (the AWS SDK, middy,
 * zod, Powertools) stay loaded, which is what saves the time, while each file starts as in a fresh
 * process otherwise:
 * - quotesync's own modules are evaluated anew, so their module-level state (the containers'
 *   runtimes, the engine's read hints, caches) starts empty;
 * - the environment is the one the worker started with, whatever the file before changed.
 */
vi.resetModules();

const started = Symbol.for("quotesync.test.startEnvironment");
const scope = globalThis as typeof globalThis & { [started]?: NodeJS.ProcessEnv };
scope[started] ??= { ...process.env };
const environment = scope[started];
for (const name of Object.keys(process.env)) if (!(name in environment)) delete process.env[name];
Object.assign(process.env, environment);
