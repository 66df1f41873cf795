/**
 * `npx quotesync <command>`: signing, sending, tenant registration and replay for integration
 * engineers and support. Exit codes: 0 done, 1 the command failed, 2 bad usage.
 */
import { fileURLToPath } from "node:url";
import { type CliIo, CommandFailed, processIo, UsageError } from "./io.js";

export const USAGE = `Usage: npx quotesync <command> [options]

Commands:
  sign         print the x-quotesync-signature header for a body, method and path
  send         sign and send a request (an event file or stdin) to a quotesync API
  tenant put   register or update a tenant from a JSON file, validated, in a quotesync table
  replay       re-send events from a file (JSON lines or an array), signed, for support
  viewer-link  print a signed, expiring link to a tenant's pipeline page
  reconcile    read a Salesforce tenant's synced pairs back from Salesforce and correct them
  pipeline backfill
               put a tenant's opportunities stored before the pipeline page's list into it
  hubspot setup-properties
               create the quotesync_* custom properties in a HubSpot portal

Run npx quotesync <command> --help for a command's options.
Exit codes: 0 done, 1 the command failed (an error answer, an unreachable server, an invalid file),
2 bad usage.
`;

type Command = (argv: string[], io: CliIo) => Promise<number>;

// Each command's module is loaded when it runs: `sign` and `send` start without loading the AWS SDK
// that `tenant put`, `reconcile` and `pipeline backfill` need.
const signCommand: Command = async (argv, io) => (await import("./commands/sign.js")).signCommand(argv, io);
const sendCommand: Command = async (argv, io) => (await import("./commands/send.js")).sendCommand(argv, io);
const replayCommand: Command = async (argv, io) =>
  (await import("./commands/replay.js")).replayCommand(argv, io);
const reconcileCommand: Command = async (argv, io) =>
  (await import("./commands/reconcile.js")).reconcileCommand(argv, io);
const viewerLinkCommand: Command = async (argv, io) =>
  (await import("./commands/viewer-link.js")).viewerLinkCommand(argv, io);
const hubSpotSetupCommand: Command = async (argv, io) =>
  (await import("./commands/hubspot-setup.js")).hubSpotSetupCommand(argv, io);
const tenantPutCommand: Command = async (argv, io) =>
  (await import("./commands/tenant-put.js")).tenantPutCommand(argv, io);
const pipelineBackfillCommand: Command = async (argv, io) =>
  (await import("./commands/pipeline-backfill.js")).pipelineBackfillCommand(argv, io);

function commandOf(argv: string[]): { name: string; run: Command; rest: string[] } | null {
  const [first, second, ...rest] = argv;
  if (first === "sign") return { name: "sign", run: signCommand, rest: argv.slice(1) };
  if (first === "send") return { name: "send", run: sendCommand, rest: argv.slice(1) };
  if (first === "replay") return { name: "replay", run: replayCommand, rest: argv.slice(1) };
  if (first === "reconcile") return { name: "reconcile", run: reconcileCommand, rest: argv.slice(1) };
  if (first === "viewer-link") return { name: "viewer-link", run: viewerLinkCommand, rest: argv.slice(1) };
  if (first === "hubspot" && second === "setup-properties") {
    return { name: "hubspot setup-properties", run: hubSpotSetupCommand, rest };
  }
  if (first === "tenant" && second === "put") return { name: "tenant put", run: tenantPutCommand, rest };
  if (first === "pipeline" && second === "backfill") {
    return { name: "pipeline backfill", run: pipelineBackfillCommand, rest };
  }
  // `tenant` has one subcommand: `tenant --help` is its help.
  if (first === "tenant" && (second === "--help" || second === "-h")) {
    return { name: "tenant put", run: tenantPutCommand, rest: ["--help"] };
  }
  return null;
}

/** Runs the CLI; returns the exit code. Failures are one line on stderr, prefixed by the command. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    io.stdout(USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  const command = commandOf(argv);
  if (!command) {
    io.stderr(`quotesync: unknown command ${JSON.stringify(argv.slice(0, 2).join(" "))} (see --help)\n`);
    return 2;
  }
  return runReporting(command.name, () => command.run(command.rest, io), io);
}

/** Runs a command and turns its failures into a one-line reason and an exit code. */
export async function runReporting(name: string, run: () => Promise<number>, io: CliIo): Promise<number> {
  try {
    return await run();
  } catch (error) {
    const firstLine = (message: string) => message.split("\n")[0];
    if (error instanceof UsageError) {
      io.stderr(`${name}: ${firstLine(error.message)} (see --help)\n`);
      return 2;
    }
    if (error instanceof CommandFailed) {
      io.stderr(`${name}: ${firstLine(error.message)}\n`);
      return 1;
    }
    io.stderr(
      `${name}: unexpected failure: ${firstLine(error instanceof Error ? error.message : String(error))}\n`,
    );
    return 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await runCli(process.argv.slice(2), processIo());
}
