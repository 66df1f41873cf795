import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import esbuildPlugins from "../../infra/esbuild-plugins.cjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A function bundled as serverless.yml's `custom.esbuild` bundles it (no code splitting). */
async function bundle(entry: string): Promise<string> {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: "esm",
    platform: "node",
    target: "node22",
    external: ["@aws-sdk/*"],
    plugins: esbuildPlugins,
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0]?.text ?? "";
}

describe("the Lambda bundles", () => {
  it("load the SSM client only when a tenant's secrets are read from Parameter Store, not at a cold start", async () => {
    const code = await bundle("functions/crm-webhook.ts");
    // A static import of an external is hoisted to the top of the bundle and loaded at init.
    expect(code).not.toMatch(/from\s*"@aws-sdk\/client-ssm"/);
    expect(code).toMatch(/import\(\s*"@aws-sdk\/client-ssm"\s*\)/);
  });
});
