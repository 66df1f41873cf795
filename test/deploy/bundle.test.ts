import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type BuildOptions, build, type Metafile, type Plugin } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NODE22_RUNS_HERE, node22Binary } from "../../infra/lambda-container.js";
import { packagedOnce } from "../support/package.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const require = createRequire(import.meta.url);

let dir: string;
let bundle: string;
let metafile: Metafile;
let ssmClientModules = 0;

/**
 * Marks the moment the bundle evaluates the SSM client's module (a test-only addition to the very
 * build serverless.yml configures).
 */
const markSsmEvaluation: Plugin = {
  name: "mark-ssm-evaluation",
  setup(builder) {
    builder.onLoad({ filter: /[\\/]@aws-sdk[\\/]client-ssm[\\/]dist-es[\\/]SSMClient\.js$/ }, (args) => {
      ssmClientModules += 1;
      return {
        contents: `globalThis.__ssmClientEvaluated = true;\n${readFileSync(args.path, "utf8")}`,
        loader: "js",
      };
    });
  },
};

// crm-webhook built with the esbuild options serverless.yml's `custom.esbuild` resolves to (read from
// the packaged service's state), into a folder outside the repository: no node_modules to fall back on.
beforeAll(async () => {
  const packaged = await packagedOnce();
  const state = JSON.parse(readFileSync(join(packaged, "serverless-state.json"), "utf8"));
  const { exclude, outputFileExtension, plugins, ...options } = state.service.custom
    .esbuild as BuildOptions & {
    exclude: string[];
    outputFileExtension: string;
    plugins: string;
  };
  dir = mkdtempSync(join(tmpdir(), "quotesync-bundle-test-"));
  bundle = join(dir, `crm-webhook${outputFileExtension}`);
  const result = await build({
    ...options,
    absWorkingDir: ROOT,
    entryPoints: ["functions/crm-webhook.ts"],
    outfile: bundle,
    external: exclude,
    plugins: [...require(join(ROOT, plugins)), markSsmEvaluation],
    metafile: true,
    logLevel: "silent",
  });
  metafile = result.metafile;
}, 240_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Whether the SSM client's module had been evaluated once a fresh Node 22 (where it runs) process imported the bundle. */
function ssmEvaluatedByImport(): Promise<boolean> {
  const script = `await import(${JSON.stringify(pathToFileURL(bundle).href)});
process.stdout.write(JSON.stringify(globalThis.__ssmClientEvaluated === true));`;
  return new Promise((resolve, reject) => {
    execFile(
      NODE22_RUNS_HERE ? node22Binary() : process.execPath,
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
  it("carries the AWS SDK of package-lock.json and imports nothing but node's own modules", () => {
    const imports = Object.values(metafile.outputs).flatMap((output) => output.imports);
    const external = imports.filter((entry) => entry.external).map((entry) => entry.path);
    expect(external.filter((path) => !path.startsWith("node:"))).toEqual([]);
    const code = readFileSync(bundle, "utf8");
    const version = JSON.parse(
      readFileSync(join(ROOT, "node_modules/@aws-sdk/client-dynamodb/package.json"), "utf8"),
    ).version;
    // (Tested, not matched: a failing toContain would print the whole bundle.)
    expect(code.includes(`"${version}"`)).toBe(true);
  });

  it("evaluates the SSM client only when a tenant's secrets are read from Parameter Store, not at a cold start", async () => {
    expect(ssmClientModules).toBe(1);
    expect(await ssmEvaluatedByImport()).toBe(false);
  });
});
