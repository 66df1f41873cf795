import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startDynamoDbLocal } from "../infra/dynamodb-local.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Endpoint of the one DynamoDB Local the whole test run shares, e.g. `http://127.0.0.1:41234`. */
    dynamoEndpoint: string;
    /** An empty folder of the run where the first test file that needs it runs `serverless package` (test/support/package.ts). */
    packageDir: string;
  }
}

/**
 * Starts DynamoDB Local once for the whole run; each test file creates its own uniquely named table
 * (see `test/support/dynamo.ts`), so files stay isolated while sharing one java process.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  const dynamo = await startDynamoDbLocal();
  project.provide("dynamoEndpoint", dynamo.endpoint);
  const packageDir = mkdtempSync(join(tmpdir(), "quotesync-package-"));
  project.provide("packageDir", packageDir);
  return async () => {
    rmSync(packageDir, { recursive: true, force: true });
    await dynamo.stop();
  };
}
