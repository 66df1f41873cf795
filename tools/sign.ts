/**
 * Prints an `x-quotesync-signature` header value for a request, for use with curl:
 *
 *   curl -sS http://127.0.0.1:3000/webhooks/crm/demo \
 *     -H 'content-type: application/json' \
 *     -H "x-quotesync-signature: $(npx tsx tools/sign.ts --secret demo-crm-secret --method POST --path /webhooks/crm/demo --body-file event.json)" \
 *     --data-binary @event.json
 *
 * Run with `--help` for the options.
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { signRequest } from "../functions/lib/signature.js";

const USAGE = `Usage: npx tsx tools/sign.ts --secret <secret> --path <path[?query]> [--method POST|GET] [body]

Prints the value of the x-quotesync-signature header (t=<unix seconds>,v1=<hex>) to stdout.

Options:
  --secret <secret>     shared secret (the tenant's CRM or CPQ secret), e.g. demo-crm-secret
  --path <path>         request path with its query string exactly as sent, e.g. /webhooks/crm/demo
                        or '/sync/demo/outbox?limit=10' (quote it: ? and & are special to the shell)
  --method <method>     HTTP method (default POST)
  --body <text>         body text, signed as its UTF-8 bytes
  --body-file <file>    read the body bytes from a file; '-' reads stdin
  --timestamp <secs>    unix seconds to sign with (default now); the server accepts +/- 300 s
  -h, --help            show this help

Without --body or --body-file the body is empty (as for GET). The signature covers every byte of the
body, so send exactly the bytes you signed: use curl --data-binary @event.json, not -d (which strips
newlines) and not --data-raw with different text.

Example:
  curl -sS http://127.0.0.1:3000/webhooks/crm/demo -H 'content-type: application/json' \\
    -H "x-quotesync-signature: $(npx tsx tools/sign.ts --secret demo-crm-secret --path /webhooks/crm/demo --body-file event.json)" \\
    --data-binary @event.json
`;

class UsageError extends Error {}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

async function readBody(body: string | undefined, bodyFile: string | undefined): Promise<Buffer> {
  if (body !== undefined && bodyFile !== undefined)
    throw new UsageError("give either --body or --body-file, not both");
  if (body !== undefined) return Buffer.from(body, "utf8");
  if (bodyFile === undefined) return Buffer.alloc(0);
  try {
    return bodyFile === "-" ? await readStdin() : await readFile(bodyFile);
  } catch (error) {
    const reason = error instanceof Error && "code" in error ? String(error.code) : String(error);
    throw new UsageError(`cannot read --body-file ${bodyFile}: ${reason}`);
  }
}

async function main(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(argv).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const { secret, path } = values;
  const method = (values.method ?? "POST").toUpperCase();
  if (secret === undefined || secret === "") throw new UsageError("--secret is required");
  if (path === undefined) throw new UsageError("--path is required, e.g. --path /webhooks/crm/demo");
  if (!path.startsWith("/")) {
    throw new UsageError(
      `--path must start with / (path and query only, not a URL), got ${JSON.stringify(path)}`,
    );
  }
  if (!/^[A-Z]+$/.test(method))
    throw new UsageError(`--method must be an HTTP method, got ${JSON.stringify(method)}`);
  let timestamp: number | undefined;
  if (values.timestamp !== undefined) {
    if (!/^(?:0|[1-9][0-9]{0,11})$/.test(values.timestamp)) {
      throw new UsageError(`--timestamp must be unix seconds, got ${JSON.stringify(values.timestamp)}`);
    }
    timestamp = Number(values.timestamp);
  }
  const body = await readBody(values.body, values["body-file"]);
  if ((method === "GET" || method === "HEAD") && body.length > 0) {
    throw new UsageError(`a ${method} request has no body; drop --body/--body-file`);
  }
  process.stdout.write(`${signRequest({ secret, method, pathWithQuery: path, body, timestamp })}\n`);
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      secret: { type: "string" },
      path: { type: "string" },
      method: { type: "string" },
      body: { type: "string" },
      "body-file": { type: "string" },
      timestamp: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`sign: ${error.message.split("\n")[0]} (see --help)\n`);
  process.exitCode = 2;
}
