/**
 * Signs a request with a tenant secret and sends it (the same as `npx quotesync send`):
 *
 *   npx tsx tools/send.ts --url http://127.0.0.1:3000 --path /webhooks/cpq/demo --secret demo-cpq-secret --file event.json
 *
 * Run with `--help` for the options.
 */
import { sendCommand } from "../cli/commands/send.js";
import { processIo } from "../cli/io.js";
import { runReporting } from "../cli/main.js";

const io = processIo();
process.exitCode = await runReporting(
  "send",
  () => sendCommand(process.argv.slice(2), io, "npx tsx tools/send.ts"),
  io,
);
