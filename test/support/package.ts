import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { inject } from "vitest";
import { packageService } from "../../infra/artifacts.js";

/**
 * The output folder of one `serverless package` per test run, shared by the test files that read
 * it (test/deploy/): the first to ask runs it (test files run in separate processes, so the claim
 * is a folder created atomically), the others wait for its result.
 */
export async function packagedOnce(): Promise<string> {
  const dir = inject("packageDir");
  const out = join(dir, "out");
  const done = join(dir, "done");
  const failed = join(dir, "failed");
  let claimed = true;
  try {
    mkdirSync(join(dir, "claim"));
  } catch {
    claimed = false;
  }
  if (claimed) {
    try {
      await packageService(out);
      writeFileSync(done, "");
    } catch (error) {
      writeFileSync(failed, error instanceof Error ? error.message : String(error));
      throw error;
    }
    return out;
  }
  for (;;) {
    if (existsSync(done)) return out;
    if (existsSync(failed)) throw new Error(readFileSync(failed, "utf8"));
    await sleep(200);
  }
}
