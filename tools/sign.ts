/**
 * Prints an `x-quotesync-signature` header value for a request (the same as `npx quotesync sign`):
 *
 *   npx tsx tools/sign.ts --secret demo-crm-secret --path /webhooks/crm/demo --body-file event.json
 *
 * Run with `--help` for the options.
 */
import { signCommand } from "../cli/commands/sign.js";
import { processIo } from "../cli/io.js";
import { runReporting } from "../cli/main.js";

const io = processIo();
process.exitCode = await runReporting(
  "sign",
  () => signCommand(process.argv.slice(2), io, "npx tsx tools/sign.ts"),
  io,
);
