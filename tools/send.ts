/**
 * Signs a request with a tenant secret and sends it to a quotesync API, e.g. the local server:
 *
 *   npx tsx tools/send.ts --url http://127.0.0.1:3000 --path /webhooks/cpq/demo --secret demo-cpq-secret --file event.json
 *
 * Run with `--help` for the options.
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { SIGNATURE_HEADER, signRequest } from "../functions/lib/signature.js";

const USAGE = `Usage: npx tsx tools/send.ts --url <base url> --path <path[?query]> --secret <secret> [--file <file>] [--method POST|GET]

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
  --secret <secret>   shared secret, e.g. demo-cpq-secret (CRM webhooks need the CRM secret)
  --file <file>       body file, sent byte for byte as signed; '-' reads stdin; required for POST
                      unless the endpoint takes an empty body (start/stop)
  --method <method>   POST (default) or GET (no body)
  -h, --help          show this help

Examples:
  npx tsx tools/send.ts --url http://127.0.0.1:3000 --path /webhooks/cpq/demo --secret demo-cpq-secret --file event.json
  npx tsx tools/send.ts --url http://127.0.0.1:3000 --method GET --path /sync/demo/opportunities/opp-1 --secret demo-crm-secret
`;

class UsageError extends Error {}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

async function readBody(file: string | undefined): Promise<Buffer> {
  if (file === undefined) return Buffer.alloc(0);
  try {
    return file === "-" ? await readStdin() : await readFile(file);
  } catch (error) {
    const reason = error instanceof Error && "code" in error ? String(error.code) : String(error);
    throw new UsageError(`cannot read --file ${file}: ${reason}`);
  }
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: "string" },
        path: { type: "string" },
        secret: { type: "string" },
        file: { type: "string" },
        method: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** Joins the base URL and the path, keeping any path prefix of the base (an API Gateway stage, say). */
function targetUrl(base: string, path: string): URL {
  let baseUrl: URL;
  try {
    baseUrl = new URL(base);
  } catch {
    throw new UsageError(
      `--url must be an absolute URL such as http://127.0.0.1:3000, got ${JSON.stringify(base)}`,
    );
  }
  if (baseUrl.protocol !== "http:" && baseUrl.protocol !== "https:") {
    throw new UsageError(`--url must be http or https, got ${JSON.stringify(base)}`);
  }
  if (baseUrl.search !== "" || baseUrl.hash !== "") {
    throw new UsageError("--url takes no query string; put it in --path");
  }
  return new URL(`${baseUrl.origin}${baseUrl.pathname.replace(/\/+$/, "")}${path}`);
}

async function main(argv: string[]): Promise<number> {
  const values = parse(argv);
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const { url, path, secret, file } = values;
  const method = (values.method ?? "POST").toUpperCase();
  if (url === undefined) throw new UsageError("--url is required, e.g. --url http://127.0.0.1:3000");
  if (path === undefined) throw new UsageError("--path is required, e.g. --path /webhooks/cpq/demo");
  if (secret === undefined || secret === "") throw new UsageError("--secret is required");
  if (!path.startsWith("/")) throw new UsageError(`--path must start with /, got ${JSON.stringify(path)}`);
  if (path.includes("#")) throw new UsageError("--path must not contain a # fragment");
  if (method !== "POST" && method !== "GET")
    throw new UsageError(`--method must be POST or GET, got ${values.method}`);
  if (method === "GET" && file !== undefined) throw new UsageError("a GET request has no body; drop --file");

  const target = targetUrl(url, path);
  // Sign what goes on the wire (fetch sends pathname + search): the URL parser may normalise the path
  // (percent-encoding, dot segments, a lone trailing "?").
  const pathWithQuery = target.pathname + target.search;
  const body = await readBody(file);
  const headers: Record<string, string> = {
    [SIGNATURE_HEADER]: signRequest({ secret, method, pathWithQuery, body }),
  };
  if (method === "POST") headers["content-type"] = "application/json";

  let response: Response;
  try {
    response = await fetch(target, { method, headers, body: method === "POST" ? body : undefined });
  } catch (error) {
    const cause =
      error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    process.stderr.write(
      `send: cannot reach ${target.origin}: ${cause} (is the server running? npm start)\n`,
    );
    return 1;
  }

  process.stderr.write(`HTTP ${response.status} ${response.statusText}\n`);
  for (const [name, value] of response.headers) {
    if (name.toLowerCase().startsWith("x-quotesync")) process.stderr.write(`${name}: ${value}\n`);
  }
  const text = await response.text();
  if (text !== "") {
    let printed = text;
    try {
      printed = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // Not JSON: print it as it came.
    }
    process.stdout.write(printed.endsWith("\n") ? printed : `${printed}\n`);
  }
  return response.ok ? 0 : 1;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`send: ${error.message.split("\n")[0]} (see --help)\n`);
  process.exitCode = 2;
}
