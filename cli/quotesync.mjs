#!/usr/bin/env node
// The `quotesync` command (package.json "bin"): runs the TypeScript CLI through tsx.
import { register } from "tsx/esm/api";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
register();
const { runCli } = await import("./main.ts");
const { processIo } = await import("./io.ts");
process.exitCode = await runCli(process.argv.slice(2), processIo());
