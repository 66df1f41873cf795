import { prettyBody, sendSigned, targetUrl } from "../http-client.js";
import { type CliIo, parseOptions, readInput, readSecret, UsageError } from "../io.js";

export const sendUsage = (
  invokedAs: string,
) => `Usage: ${invokedAs} --url <base url> --path <path[?query]> --secret <secret> [--file <file>] [--method POST|GET]

Signs the request (x-quotesync-signature) and sends it. Prints the status line and the x-quotesync-*
response headers to stderr and the response body (pretty JSON) to stdout, so the output can be piped
into jq. Exits 0 on a 2xx answer, 1 on any other answer or when the server cannot be reached, 2 on
bad usage.

Options:
  --url <base url>    where the API is served, e.g. http://127.0.0.1:3000; a path prefix of it (such as
                      an API Gateway stage: https://abc.execute-api.eu-west-1.amazonaws.com/prod) is
                      kept, and the signature covers the whole path as sent, prefix included
  --path <path>       request path with its query string, e.g. /webhooks/cpq/demo or
                      '/sync/demo/outbox?limit=10' (quote it: ? and & are special to the shell)
  --secret <secret>   shared secret, e.g. demo-cpq-secret (CRM webhooks need the CRM secret); it
                      shows in shell history and ps: prefer --secret-file or $QUOTESYNC_SECRET
  --secret-file <f>   read the secret from a file (one line)
  --file <file>       body file, sent byte for byte as signed; '-' reads stdin; required for POST
                      unless the endpoint takes an empty body (start/stop)
  --method <method>   POST (default) or GET (no body)
  -h, --help          show this help

Examples:
  ${invokedAs} --url http://127.0.0.1:3000 --path /webhooks/cpq/demo --secret demo-cpq-secret --file examples/cpq/quote.upserted.json
  ${invokedAs} --url http://127.0.0.1:3000 --method GET --path /sync/demo/opportunities/opp-1001 --secret demo-crm-secret
`;

/** `send`: signs and sends one request, printing the answer. */
export async function sendCommand(
  argv: string[],
  io: CliIo,
  invokedAs = "npx quotesync send",
): Promise<number> {
  const values = parseOptions(argv, {
    url: { type: "string" },
    path: { type: "string" },
    secret: { type: "string" },
    "secret-file": { type: "string" },
    file: { type: "string" },
    method: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(sendUsage(invokedAs));
    return 0;
  }
  const { url, path, file } = values;
  const secret = await readSecret(io, values, "secret", "QUOTESYNC_SECRET");
  const method = (values.method ?? "POST").toUpperCase();
  if (url === undefined) throw new UsageError("--url is required, e.g. --url http://127.0.0.1:3000");
  if (path === undefined) throw new UsageError("--path is required, e.g. --path /webhooks/cpq/demo");
  if (secret === undefined || secret === "") {
    throw new UsageError("--secret is required (or --secret-file, or QUOTESYNC_SECRET)");
  }
  if (method !== "POST" && method !== "GET")
    throw new UsageError(`--method must be POST or GET, got ${values.method}`);
  if (method === "GET" && file !== undefined) throw new UsageError("a GET request has no body; drop --file");
  const target = targetUrl(url, path);
  const body = file === undefined ? Buffer.alloc(0) : await readInput(io, file, "--file");

  const response = await sendSigned({ url: target, method, secret, body });
  io.stderr(`HTTP ${response.status} ${response.statusText}\n`);
  for (const [name, value] of response.headers) {
    if (name.toLowerCase().startsWith("x-quotesync")) io.stderr(`${name}: ${value}\n`);
  }
  io.stdout(prettyBody(await response.text()));
  return response.ok ? 0 : 1;
}
