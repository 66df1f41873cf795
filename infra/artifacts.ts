import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { inflateRawSync } from "node:zlib";

/**
 * What `serverless package` produces, read the way CloudFormation and Lambda read it: for the
 * artifact tests (`test/deploy/`) and the benchmark.
 */

const ROOT = path.resolve(import.meta.dirname, "..");

/** One function of the packaged template. */
export interface PackagedFunction {
  /** The name in serverless.yml, e.g. `crmWebhook`. */
  name: string;
  /** `functions/crm-webhook.handler` */
  handler: string;
  runtime: string;
  memorySize: number;
  timeout: number;
  /** The function's environment exactly as the template sets it. */
  environment: Record<string, string>;
  /** The zip it deploys. */
  artifact: string;
}

/**
 * Runs `serverless package --package <outDir> --stage <stage>` (osls, no AWS credentials: the
 * credential variables are removed and the instance metadata lookup is disabled).
 */
export function packageService(outDir: string, stage = "ci"): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_EC2_METADATA_DISABLED: "true" };
  for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"])
    delete env[name];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        path.join(ROOT, "node_modules/osls/bin/serverless.js"),
        "package",
        "--package",
        outDir,
        "--stage",
        stage,
      ],
      { cwd: ROOT, env, encoding: "utf8", timeout: 180_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`serverless package failed: ${error.message}\n${stdout}\n${stderr}`))
          : resolve(),
    );
  });
}

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are free-form JSON, read field by field
type Json = any;

/** The CloudFormation template `serverless package` wrote into `outDir`. */
export function packagedTemplate(outDir: string): {
  Resources: Record<string, { Type: string; Properties: Json; [key: string]: Json }>;
} {
  return JSON.parse(readFileSync(path.join(outDir, "cloudformation-template-update-stack.json"), "utf8"));
}

/** Every Lambda function of the packaged template, with the zip it deploys. */
export function packagedFunctions(outDir: string): PackagedFunction[] {
  const state = JSON.parse(readFileSync(path.join(outDir, "serverless-state.json"), "utf8"));
  const { Resources } = packagedTemplate(outDir);
  const names = Object.keys(state.service.functions as Record<string, unknown>);
  return names.map((name) => {
    const id = `${name[0]?.toUpperCase()}${name.slice(1)}LambdaFunction`;
    const resource = Resources[id];
    if (resource?.Type !== "AWS::Lambda::Function") throw new Error(`no ${id} in the template`);
    const properties = resource.Properties;
    const environment: Record<string, string> = {};
    for (const [key, value] of Object.entries(properties.Environment?.Variables ?? {})) {
      // CloudFormation resolves an attribute at deploy time; here it stands as a placeholder URL.
      const attribute = (value as { "Fn::GetAtt"?: [string, string] } | null)?.["Fn::GetAtt"];
      if (attribute) {
        environment[key] = `https://${attribute.join(".").toLowerCase()}.example.invalid`;
        continue;
      }
      if (typeof value !== "string") throw new Error(`${name}: ${key} is not a plain string in the template`);
      environment[key] = value;
    }
    const artifact = path.join(outDir, path.basename(String(properties.Code.S3Key)));
    if (!existsSync(artifact)) throw new Error(`${name}: its artifact ${artifact} was not packaged`);
    return {
      name,
      handler: String(properties.Handler),
      runtime: String(properties.Runtime),
      memorySize: Number(properties.MemorySize),
      timeout: Number(properties.Timeout),
      environment,
      artifact,
    };
  });
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/**
 * Unpacks a zip (stored or deflated entries, no zip64: what serverless writes) into `dest`, as
 * Lambda unpacks a function's code. Returns the paths it wrote, relative to `dest`.
 */
export function unzip(zipFile: string, dest: string): string[] {
  const zip = readFileSync(zipFile);
  let end = -1;
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 65_557); at--) {
    if (zip.readUInt32LE(at) === EOCD) {
      end = at;
      break;
    }
  }
  if (end < 0) throw new Error(`${zipFile} is not a zip file`);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const root = path.resolve(dest);
  const written: string[] = [];
  for (let entry = 0; entry < count; entry++) {
    if (zip.readUInt32LE(at) !== CENTRAL) throw new Error(`${zipFile}: bad central directory`);
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const mode = zip.readUInt32LE(at + 38) >>> 16;
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString("utf8", at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;

    const target = path.resolve(root, name);
    if (!target.startsWith(`${root}${path.sep}`))
      throw new Error(`${zipFile}: ${name} is outside the archive`);
    if (name.endsWith("/")) {
      mkdirSync(target, { recursive: true });
      continue;
    }
    if (zip.readUInt32LE(local) !== LOCAL) throw new Error(`${zipFile}: bad local header of ${name}`);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const stored = zip.subarray(start, start + compressedSize);
    const data = method === 0 ? stored : method === 8 ? inflateRawSync(stored) : undefined;
    if (!data) throw new Error(`${zipFile}: ${name} uses compression method ${method}`);
    if (data.length !== size) throw new Error(`${zipFile}: ${name} is ${data.length} bytes, not ${size}`);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, data, { mode: mode & 0o777 || 0o644 });
    written.push(name);
  }
  return written;
}

/** The `node_modules` folders a module in `dir` could resolve packages from (its own and its parents'). */
export function reachableNodeModules(dir: string): string[] {
  const found: string[] = [];
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    if (existsSync(path.join(current, "node_modules"))) found.push(path.join(current, "node_modules"));
    if (path.dirname(current) === current) return found;
  }
}
