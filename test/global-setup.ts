import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { type DynamoDbLocal, startDynamoDbLocal } from "../infra/dynamodb-local.js";

declare module "vitest" {
  export interface ProvidedContext {
    /**
     * Endpoints of the DynamoDB Locals the test run shares, e.g. `http://127.0.0.1:41234`; a test
     * file uses the one of its worker (`dynamoEndpoint()` in test/support/dynamo.ts).
     */
    dynamoEndpoints: string[];
    /** An empty folder of the run where the first test file that needs it runs `serverless package` (test/support/package.ts). */
    packageDir: string;
  }
}

/**
 * DynamoDB Locals the run starts. One DynamoDB Local runs the SQL of every table on one SQLite
 * thread, so with one, the workers' load tests queued for it while a core stood idle (`npm test`
 * used 1.76 of the 2 cores on average, 1.35–1.66 while the load tests ran). Measured back to back
 * in one clone, `vitest run` took 154 s with two against 175 s with one, and used 1.94 cores.
 */
const DYNAMO_LOCALS = 2;

/** What the run's projects share: the DynamoDB Locals and one package folder, stopped by the last. */
interface RunResources {
  ready: Promise<{ dynamos: DynamoDbLocal[]; packageDir: string }>;
  users: number;
}

const resources = Symbol.for("quotesync.test.runResources");
const scope = globalThis as typeof globalThis & { [resources]?: RunResources };

/**
 * Starts the DynamoDB Locals once for the whole run; each test file creates its own uniquely named
 * tables (see `test/support/dynamo.ts`), so files stay isolated while sharing the java processes.
 * Vitest calls this once per project (vitest.config.ts has two, plus the root): the first call
 * starts what the others reuse, and the last teardown stops it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  scope[resources] ??= {
    ready: Promise.all(Array.from({ length: DYNAMO_LOCALS }, () => startDynamoDbLocal())).then((dynamos) => ({
      dynamos,
      packageDir: mkdtempSync(join(tmpdir(), "quotesync-package-")),
    })),
    users: 0,
  };
  const shared = scope[resources];
  shared.users++;
  const { dynamos, packageDir } = await shared.ready;
  project.provide(
    "dynamoEndpoints",
    dynamos.map((dynamo) => dynamo.endpoint),
  );
  project.provide("packageDir", packageDir);
  return async () => {
    shared.users--;
    if (shared.users > 0) return;
    scope[resources] = undefined;
    rmSync(packageDir, { recursive: true, force: true });
    await Promise.all(dynamos.map((dynamo) => dynamo.stop()));
  };
}
