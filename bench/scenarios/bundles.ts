import { spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import esbuildPlugins from "../../infra/esbuild-plugins.cjs";
import { median, round } from "../stats.js";

export interface BundleResult {
  name: string;
  sizeKb: number;
  initMs: number;
  /** Init time over the bare middy handler's, measured in the same run. */
  initRatio: number;
  /** Init time over the SDK floor's (see `sdkFloor`), measured in the same run. */
  floorRatio: number;
}

export interface BundleResults {
  bare: { sizeKb: number; initMs: number };
  /**
   * The floor any function that uses DynamoDB pays: the bare middy handler plus the DynamoDB
   * document client, imported and constructed; its init over the bare handler's.
   */
  sdkFloor: { sizeKb: number; initMs: number; initRatio: number };
  functions: BundleResult[];
}

const ROOT = path.resolve(import.meta.dirname, "../..");
const INIT_REPETITIONS = 5;
/** The banner serverless.yml gives esbuild (TOOLCHAIN.md): CommonJS `require` inside ESM bundles. */
const BANNER = 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);';
const BARE_MIDDY = `import middy from "@middy/core";
export const handler = middy().handler(async () => ({ statusCode: 200, body: "ok" }));`;
/** The bare handler plus the DynamoDB document client, created as functions/lib/runtime.ts creates it. */
const SDK_FLOOR = `import middy from "@middy/core";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
export const handler = middy().handler(async () => ({ statusCode: 200, body: typeof doc.send }));`;

/**
 * Bundles every function serverless.yml declares the way serverless-esbuild does (bundle,
 * minify, ESM, node22, the banner), and a bare middy handler and the SDK floor the same way;
 * reports each size and the time to import it in a fresh node process (module init, as a Lambda
 * cold start does).
 */
export async function bundleSizes(): Promise<BundleResults> {
  // Inside the checkout, so the bundles resolve the AWS SDK from node_modules as Lambda resolves it
  // from its runtime (serverless.yml leaves @aws-sdk/* out of the bundles).
  const cache = path.join(ROOT, "node_modules", ".cache");
  await mkdir(cache, { recursive: true });
  const outdir = await mkdtemp(path.join(cache, "quotesync-bench-bundles-"));
  try {
    const handlers = functionHandlers();
    const common = {
      bundle: true,
      minify: true,
      format: "esm" as const,
      platform: "node" as const,
      target: "node22",
      banner: { js: BANNER },
      external: ["@aws-sdk/*"],
      plugins: esbuildPlugins,
      logLevel: "silent" as const,
      absWorkingDir: ROOT,
    };
    const outputs = new Map<string, string>();
    for (const { name, file } of handlers) {
      const outfile = path.join(outdir, `${name}.mjs`);
      await build({ ...common, entryPoints: [path.join(ROOT, file)], outfile });
      outputs.set(name, outfile);
    }
    const bareFile = path.join(outdir, "bare-middy.mjs");
    const floorFile = path.join(outdir, "sdk-floor.mjs");
    for (const [contents, outfile] of [
      [BARE_MIDDY, bareFile],
      [SDK_FLOOR, floorFile],
    ] as const) {
      await build({ ...common, stdin: { contents, resolveDir: ROOT, loader: "ts" }, outfile });
    }

    // Interleaved, so every bundle sees the same machine state.
    const samples = new Map<string, number[]>([
      ["bare", []],
      ["floor", []],
      ...handlers.map(({ name }) => [name, []] as [string, number[]]),
    ]);
    for (let rep = 0; rep < INIT_REPETITIONS; rep++) {
      samples.get("bare")?.push(await importTime(bareFile));
      samples.get("floor")?.push(await importTime(floorFile));
      for (const [name, file] of outputs) samples.get(name)?.push(await importTime(file));
    }
    const bareMs = median(samples.get("bare") ?? []);
    const floorMs = median(samples.get("floor") ?? []);
    return {
      bare: { sizeKb: kb(bareFile), initMs: round(bareMs, 1) },
      sdkFloor: { sizeKb: kb(floorFile), initMs: round(floorMs, 1), initRatio: round(floorMs / bareMs, 2) },
      functions: handlers.map(({ name }) => {
        const initMs = median(samples.get(name) ?? []);
        return {
          name,
          sizeKb: kb(outputs.get(name) ?? ""),
          initMs: round(initMs, 1),
          initRatio: round(initMs / bareMs, 2),
          floorRatio: round(initMs / floorMs, 2),
        };
      }),
    };
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

/** The handlers serverless.yml deploys: `handler: functions/<file>.handler`. */
function functionHandlers(): Array<{ name: string; file: string }> {
  const yml = readFileSync(path.join(ROOT, "serverless.yml"), "utf8");
  const found = [...yml.matchAll(/handler:\s*(\S+)\.handler/g)].map((match) => match[1] as string);
  return [...new Set(found)].map((entry) => ({ name: path.basename(entry), file: `${entry}.ts` }));
}

const kb = (file: string): number => round(statSync(file).size / 1024, 1);

/** Milliseconds a fresh node process spends importing `file` (its module init). */
function importTime(file: string): Promise<number> {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      env: {
        PATH: process.env.PATH ?? "",
        TABLE_NAME: "quotesync-bench",
        AWS_REGION: "us-east-1",
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        POWERTOOLS_LOG_LEVEL: "SILENT",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.stderr.on("data", (chunk) => {
      err += chunk;
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      const ms = Number(out);
      if (code !== 0 || !Number.isFinite(ms))
        reject(new Error(`importing ${path.basename(file)} failed: ${err.slice(0, 400)}`));
      else resolve(ms);
    });
  });
}
