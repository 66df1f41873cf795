import { signRequest } from "../../functions/lib/signature.js";
import { type CliIo, parseOptions, readInput, readSecret, UsageError } from "../io.js";

export const signUsage = (
  invokedAs: string,
) => `Usage: ${invokedAs} --secret <secret> --path <path[?query]> [--method POST|GET] [--body <text> | --body-file <file>]

Prints the value of the x-quotesync-signature header (t=<unix seconds>,v1=<hex>) to stdout.

Options:
  --secret <secret>     shared secret (the tenant's CRM or CPQ secret), e.g. demo-crm-secret; it
                        shows in shell history and ps: prefer --secret-file or $QUOTESYNC_SECRET
  --secret-file <file>  read the secret from a file (one line)
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
    -H "x-quotesync-signature: $(${invokedAs} --secret demo-crm-secret --path /webhooks/crm/demo --body-file event.json)" \\
    --data-binary @event.json
`;

/** `sign`: prints a signature header for a body, method and path. */
export async function signCommand(
  argv: string[],
  io: CliIo,
  invokedAs = "npx quotesync sign",
): Promise<number> {
  const values = parseOptions(argv, {
    secret: { type: "string" },
    "secret-file": { type: "string" },
    path: { type: "string" },
    method: { type: "string" },
    body: { type: "string" },
    "body-file": { type: "string" },
    timestamp: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(signUsage(invokedAs));
    return 0;
  }
  const { path } = values;
  const secret = await readSecret(io, values, "secret", "QUOTESYNC_SECRET");
  const method = (values.method ?? "POST").toUpperCase();
  if (secret === undefined || secret === "") {
    throw new UsageError("--secret is required (or --secret-file, or QUOTESYNC_SECRET)");
  }
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
  if (values.body !== undefined && values["body-file"] !== undefined) {
    throw new UsageError("give either --body or --body-file, not both");
  }
  const body =
    values.body !== undefined
      ? Buffer.from(values.body, "utf8")
      : values["body-file"] !== undefined
        ? await readInput(io, values["body-file"], "--body-file")
        : Buffer.alloc(0);
  if ((method === "GET" || method === "HEAD") && body.length > 0) {
    throw new UsageError(`a ${method} request has no body; drop --body/--body-file`);
  }
  io.stdout(`${signRequest({ secret, method, pathWithQuery: path, body, timestamp })}\n`);
  return 0;
}
