import { resolve } from "node:path";
import { Worker } from "node:worker_threads";
import type { Plugin } from "vite";
import type { PoolOptions, PoolRunnerInitializer, PoolWorker } from "vitest/node";

/**
 * A vitest pool for the mutation runs (docs/mutation.md): vitest's own thread worker, kept from one
 * test run to the next instead of started anew for each.
 *
 * Stryker tests every mutant with a run of its own, and vitest ends a run by stopping its worker:
 * every mutant paid for a new thread, vitest's runtime and every package the tests import (the
 * AWS SDK, zod, fast-check), about 0.3 s, often more than the tests themselves. Here a run's "stop"
 * is answered without stopping the thread; the next run's "start" reaches the same thread, which
 * takes the new run's configuration (Stryker's test filter) as usual. The project's own modules
 * are still evaluated anew for every test file (mutation/vitest-setup.ts), so module state does not
 * cross from one mutant's run to the next. What a mutant breaks in the thread itself can: a thread
 * that fails outside a test is replaced, and in the full run of mutation/run-notes.md each of the
 * 9 such failures (in 7,244 mutants) came with a timeout of the mutant beside it. Every
 * `RUNS_PER_THREAD` runs the thread is stopped for real and replaced: each "start" leaves a little
 * behind in the thread.
 */
const RUNS_PER_THREAD = 100;

const POOL_NAME = "kept-threads";

interface KeptThread {
  thread: Worker;
  runs: number;
}

/** The thread of this process's runs (Stryker gives each of its test runners a process of its own). */
let kept: KeptThread | undefined;

class KeptThreadWorker implements PoolWorker {
  readonly name = POOL_NAME;
  private readonly listeners: Array<[string, (arg: unknown) => void]> = [];
  /** Set once this run's stop was answered here: the thread is kept. Any other end retires it. */
  private keep = false;

  constructor(private readonly options: PoolOptions) {}

  /** The thread this run uses, once started. */
  private own: KeptThread | undefined;

  async start(): Promise<void> {
    if (kept) {
      this.own = kept;
      return;
    }
    const thread = new Worker(resolve(this.options.distPath, "workers/threads.js"), {
      env: this.options.env,
      execArgv: this.options.execArgv,
      stdout: true,
      stderr: true,
    });
    thread.stdout.pipe(this.options.project.vitest.logger.outputStream);
    thread.stderr.pipe(this.options.project.vitest.logger.errorStream);
    kept = { thread, runs: 0 };
    this.own = kept;
  }

  send(message: Parameters<PoolWorker["send"]>[0]): void {
    const current = this.current();
    if (message.type === "stop") {
      current.runs++;
      if (current.runs < RUNS_PER_THREAD) {
        // The thread stays up for the next run: the stop is answered here, not by the thread.
        this.keep = true;
        const stopped = { type: "stopped", __vitest_worker_response__: true };
        queueMicrotask(() => {
          for (const [event, callback] of [...this.listeners]) if (event === "message") callback(stopped);
        });
        return;
      }
    }
    current.thread.postMessage(message);
  }

  on(event: string, callback: (arg: unknown) => void): void {
    this.listeners.push([event, callback]);
    this.current().thread.on(event, callback);
  }

  off(event: string, callback: (arg: unknown) => void): void {
    const index = this.listeners.findIndex(([e, c]) => e === event && c === callback);
    if (index !== -1) this.listeners.splice(index, 1);
    this.current().thread.off(event, callback);
  }

  async stop(): Promise<void> {
    const current = this.own;
    if (!current) return;
    // This run's listeners go with it; the thread, unless retired, waits for the next run.
    for (const [event, callback] of this.listeners.splice(0)) current.thread.off(event, callback);
    if (this.keep) return;
    // Retired, or a run that ended without a stop (a failure): a fresh thread for the next run.
    if (kept === current) kept = undefined;
    await current.thread.terminate();
  }

  deserialize(data: unknown): unknown {
    return data;
  }

  private current(): KeptThread {
    if (!this.own) throw new Error("the kept test thread was not started");
    return this.own;
  }
}

/** Stops the kept thread, if any, when vitest closes. */
async function retireKeptThread(): Promise<void> {
  const current = kept;
  kept = undefined;
  await current?.thread.terminate();
}

const keptThreads: PoolRunnerInitializer = {
  name: POOL_NAME,
  createPoolWorker: (options) => new KeptThreadWorker(options),
};

/**
 * Puts every project on the kept-thread pool once vitest has resolved its configuration, so it
 * also replaces the `threads` pool Stryker's vitest runner asks for.
 */
export function keptThreadPool(): Plugin {
  return {
    name: "quotesync:kept-thread-pool",
    configureVitest({ project, vitest }) {
      project.config.pool = POOL_NAME;
      project.config.poolRunner = keptThreads;
      vitest.onClose(retireKeptThread);
    },
  };
}
