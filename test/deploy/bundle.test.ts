import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import esbuildPlugins from "../../infra/esbuild-plugins.cjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

let dir: string;
let bundle: string;

// crm-webhook bundled as serverless.yml's `custom.esbuild` bundles it (one file, no code splitting),
// inside the checkout so that it finds the AWS SDK in node_modules as Lambda finds the runtime's.
beforeAll(async () => {
  const cache = join(ROOT, "node_modules", ".cache");
  mkdirSync(cache, { recursive: true });
  dir = mkdtempSync(join(cache, "quotesync-bundle-test-"));
  bundle = join(dir, "crm-webhook.mjs");
  await build({
    absWorkingDir: ROOT,
    entryPoints: ["functions/crm-webhook.ts"],
    outfile: bundle,
    bundle: true,
    minify: true,
    format: "esm",
    platform: "node",
    target: "node22",
    external: ["@aws-sdk/*"],
    plugins: esbuildPlugins,
    banner: {
      js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);',
    },
    logLevel: "silent",
  });
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The AWS SDK packages a fresh node process has loaded once it has imported the bundle. */
function sdkPackagesLoadedByImport(): Promise<string[]> {
  const script = `import { createRequire } from "node:module";
await import(${JSON.stringify(pathToFileURL(bundle).href)});
const loaded = Object.keys(createRequire(import.meta.url).cache);
const names = loaded.map((file) => /[\\\\/]node_modules[\\\\/](@aws-sdk[\\\\/][^\\\\/]+)/.exec(file)?.[1]);
process.stdout.write(JSON.stringify([...new Set(names.filter(Boolean))].sort()));`;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--input-type=module", "-e", script],
      {
        cwd: dir,
        env: { PATH: process.env.PATH, TABLE_NAME: "quotesync-test", AWS_REGION: "us-east-1" },
        encoding: "utf8",
      },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
    );
  });
}

describe("a Lambda bundle", () => {
  it("loads the SSM client only when a tenant's secrets are read from Parameter Store, not at a cold start", async () => {
    const loaded = await sdkPackagesLoadedByImport();
    expect(loaded).toContain("@aws-sdk/client-dynamodb");
    expect(loaded).toContain("@aws-sdk/lib-dynamodb");
    expect(loaded).not.toContain("@aws-sdk/client-ssm");
  });

  it("requires the AWS SDK (CommonJS) instead of importing it through node's ESM loader", () => {
    const code = readFileSync(bundle, "utf8");
    expect(code).not.toMatch(/\bfrom\s*"@aws-sdk\//);
    expect(code).not.toMatch(/\bimport\(\s*"@aws-sdk\//);
    expect(code).toMatch(/\(\s*"@aws-sdk\/client-dynamodb"\s*\)/);
  });
});
