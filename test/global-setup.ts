import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { type DynamoDbLocal, startDynamoDbLocal } from "../infra/dynamodb-local.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Endpoint of the one DynamoDB Local the whole test run shares, e.g. `http://127.0.0.1:41234`. */
    dynamoEndpoint: string;
    /** An empty folder of the run where the first test file that needs it runs `serverless package` (test/support/package.ts). */
    packageDir: string;
  }
}

/** What the run's projects share: one DynamoDB Local and one package folder, stopped by the last. */
interface RunResources {
  ready: Promise<{ dynamo: DynamoDbLocal; packageDir: string }>;
  users: number;
}

const resources = Symbol.for("quotesync.test.runResources");
const scope = globalThis as typeof globalThis & { [resources]?: RunResources };

/**
 * Starts DynamoDB Local once for the whole run; each test file creates its own uniquely named table
 * (see `test/support/dynamo.ts`), so files stay isolated while sharing one java process. Vitest
 * calls this once per project (vitest.config.ts has two, plus the root): the first call starts
 * what the others reuse, and the last teardown stops it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  scope[resources] ??= {
    ready: startDynamoDbLocal().then((dynamo) => ({
      dynamo,
      packageDir: mkdtempSync(join(tmpdir(), "quotesync-package-")),
    })),
    users: 0,
  };
  const shared = scope[resources];
  shared.users++;
  const { dynamo, packageDir } = await shared.ready;
  project.provide("dynamoEndpoint", dynamo.endpoint);
  project.provide("packageDir", packageDir);
  return async () => {
    shared.users--;
    if (shared.users > 0) return;
    scope[resources] = undefined;
    rmSync(packageDir, { recursive: true, force: true });
    await dynamo.stop();
  };
}
