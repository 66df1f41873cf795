import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { DynamoDBClient, type DynamoDBClientConfig, ListTablesCommand } from "@aws-sdk/client-dynamodb";

/**
 * DynamoDB Local (AWS's own engine, shipped as a jar inside the npm package
 * `amplify-dynamodb-simulator`) run as a child `java` process, for tests, the benchmark and
 * `npm start`. It keeps everything in memory; each instance gets a fresh temp dir as its cwd
 * (DynamoDB Local writes a metadata file there) that `stop()` removes.
 */
export interface DynamoDbLocal {
  /** e.g. `http://127.0.0.1:41234` */
  endpoint: string;
  port: number;
  /** Kills java (SIGTERM, SIGKILL after 2 s), awaits its exit and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const REGION = "us-east-1";
const CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" } as const;
/** Java starts in 2–3 s on an idle machine; a loaded one (the typecheck beside the tests) takes longer. */
const READY_TIMEOUT_MS = 90_000;
const POLL_INTERVAL_MS = 100;
const KILL_GRACE_MS = 2_000;
const OUTPUT_TAIL_CHARS = 4_000;

/** The DynamoDBClient configuration every local run (tests, bench, local server) uses. */
export function localDynamoClientConfig(endpoint: string): DynamoDBClientConfig {
  return { endpoint, region: REGION, credentials: { ...CREDENTIALS } };
}

export async function startDynamoDbLocal(options: { port?: number } = {}): Promise<DynamoDbLocal> {
  const port = options.port ?? (await findFreePort());
  const endpoint = `http://127.0.0.1:${port}`;
  const workDir = await mkdtemp(path.join(tmpdir(), "quotesync-dynamodb-local-"));
  const java = new WatchedJava(spawnJava(port, workDir), workDir);
  try {
    await waitUntilReady(endpoint, port, java);
  } catch (error) {
    await java.stop();
    throw error;
  }
  return { endpoint, port, stop: () => java.stop() };
}

/** Starts DynamoDB Local's jar on `port`, in memory, with `workDir` as its cwd and temp dir. */
function spawnJava(port: number, workDir: string): ChildProcess {
  const emulatorDir = path.join(
    path.dirname(createRequire(import.meta.url).resolve("amplify-dynamodb-simulator/package.json")),
    "emulator",
  );
  return spawn(
    "java",
    [
      `-Djava.library.path=${path.join(emulatorDir, "DynamoDBLocal_lib")}`,
      // sqlite4java unpacks its native library into java.io.tmpdir: keep it in our temp dir so it goes
      // away with it, even when java is killed hard.
      `-Djava.io.tmpdir=${workDir}`,
      "-XX:TieredStopAtLevel=1",
      "-XX:+UseSerialGC",
      "-jar",
      path.join(emulatorDir, "DynamoDBLocal.jar"),
      "-inMemory",
      "-sharedDb",
      "-disableTelemetry",
      "-port",
      String(port),
    ],
    { cwd: workDir, stdio: ["ignore", "pipe", "pipe"] },
  );
}

/** A java child watched from its start: the tails of its output, how it ended, and its stop. */
class WatchedJava {
  private stdoutTail = "";
  private stderrTail = "";
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private spawnError: Error | undefined;
  private stopping: Promise<void> | undefined;
  /** Settles when java exited or could not be started. */
  readonly exited: Promise<void>;

  constructor(
    private readonly child: ChildProcess,
    private readonly workDir: string,
  ) {
    liveChildren.set(child, workDir);
    installExitHooks();
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      this.stdoutTail = (this.stdoutTail + chunk).slice(-OUTPUT_TAIL_CHARS);
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-OUTPUT_TAIL_CHARS);
    });
    this.exited = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        liveChildren.delete(child);
        resolve();
      });
      child.once("error", (error) => {
        // e.g. ENOENT when java is not installed: no "exit" event follows.
        this.spawnError = error;
        liveChildren.delete(child);
        resolve();
      });
    });
  }

  /** Why java will never serve, if that is known already. */
  failure(port: number): Error | undefined {
    if (this.spawnError) {
      return new Error(`DynamoDB Local: could not start java: ${this.spawnError.message}`, {
        cause: this.spawnError,
      });
    }
    if (this.exitInfo) {
      const { code, signal } = this.exitInfo;
      return new Error(
        `DynamoDB Local: java exited early (code ${code}, signal ${signal}) on port ${port}:${this.output()}`,
      );
    }
    if (this.stderrTail.includes('Exception in thread "main"')) {
      // e.g. "Failed to bind": the JVM keeps running without a server, so don't wait for it.
      return new Error(`DynamoDB Local: java failed to start on port ${port}:${this.output()}`);
    }
    return undefined;
  }

  output(): string {
    const parts: string[] = [];
    if (this.stderrTail.trim()) parts.push(`stderr:\n${this.stderrTail.trim()}`);
    if (this.stdoutTail.trim()) parts.push(`stdout:\n${this.stdoutTail.trim()}`);
    return parts.length ? `\n${parts.join("\n")}` : " (no output)";
  }

  /** Kills java (SIGTERM, SIGKILL after a grace), awaits its exit and removes the temp dir. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (!this.exitInfo && !this.spawnError) {
        this.child.kill("SIGTERM");
        const timer = setTimeout(() => this.child.kill("SIGKILL"), KILL_GRACE_MS);
        await this.exited;
        clearTimeout(timer);
      }
      await rm(this.workDir, { recursive: true, force: true });
    })();
    return this.stopping;
  }
}

/** Polls until DynamoDB Local answers, java fails, or READY_TIMEOUT_MS pass. */
async function waitUntilReady(endpoint: string, port: number, java: WatchedJava): Promise<void> {
  // One attempt per poll, short timeouts, so a refused connection costs ~nothing.
  const probe = new DynamoDBClient({
    ...localDynamoClientConfig(endpoint),
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true },
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    for (;;) {
      const failure = java.failure(port);
      if (failure) throw failure;
      try {
        // The abort signal bounds a probe even if something else holds the port and never answers.
        const remaining = Math.max(1, deadline - Date.now());
        await probe.send(new ListTablesCommand({ Limit: 1 }), {
          abortSignal: AbortSignal.timeout(Math.min(2_000, remaining)),
        });
        return;
      } catch {
        // not listening yet
      }
      if (Date.now() >= deadline) {
        throw new Error(
          `DynamoDB Local: not ready after ${READY_TIMEOUT_MS / 1000} s on port ${port}:${java.output()}`,
        );
      }
      await Promise.race([new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS)), java.exited]);
    }
  } finally {
    probe.destroy();
  }
}

/** Asks the OS for a free port by binding 127.0.0.1:0 (then releases it for java). */
function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : undefined;
      server.close(() => (port ? resolve(port) : reject(new Error("could not determine a free port"))));
    });
  });
}

// --- java must never outlive this node process -------------------------------------------------

/** Running java children and their temp dirs. */
const liveChildren = new Map<ChildProcess, string>();
let hooksInstalled = false;

function killAll(): void {
  for (const [child, workDir] of liveChildren) {
    try {
      child.kill("SIGKILL");
      rmSync(workDir, { recursive: true, force: true });
    } catch {
      // already gone
    }
  }
  liveChildren.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killAll();
  // Listening for a signal disables Node's default "terminate". If nobody else (e.g. the local
  // server's graceful shutdown, or the test runner) handles it, restore the default and re-raise it.
  if (process.listenerCount(signal) <= 1) {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    process.kill(process.pid, signal);
  }
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", killAll);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}
