import { SIGNATURE_HEADER, signRequest } from "../functions/lib/signature.js";
import { CommandFailed, UsageError } from "./io.js";

/** Joins the base URL and the path, keeping any path prefix of the base (an API Gateway stage, say). */
export function targetUrl(base: string, path: string): URL {
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
  if (!path.startsWith("/")) throw new UsageError(`--path must start with /, got ${JSON.stringify(path)}`);
  if (path.includes("#")) throw new UsageError("--path must not contain a # fragment");
  return new URL(`${baseUrl.origin}${baseUrl.pathname.replace(/\/+$/, "")}${path}`);
}

export interface SignedRequest {
  url: URL;
  method: "GET" | "POST";
  secret: string;
  body?: Buffer;
}

/**
 * Signs a request the way quotesync verifies it and sends it. The signature covers what goes on
 * the wire (fetch sends pathname + search), since the URL parser may normalise the path.
 */
export async function sendSigned(request: SignedRequest): Promise<Response> {
  const { url, method, secret } = request;
  const body = request.body ?? Buffer.alloc(0);
  const headers: Record<string, string> = {
    [SIGNATURE_HEADER]: signRequest({ secret, method, pathWithQuery: url.pathname + url.search, body }),
  };
  if (method === "POST") headers["content-type"] = "application/json";
  try {
    return await fetch(url, { method, headers, body: method === "POST" ? body : undefined });
  } catch (error) {
    const cause =
      error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    throw new CommandFailed(`cannot reach ${url.origin}: ${cause} (is the server running? npm start)`);
  }
}

/** The body as pretty JSON when it is JSON, else as it came. */
export function prettyBody(text: string): string {
  if (text === "") return "";
  let printed = text;
  try {
    printed = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // Not JSON: print it as it came.
  }
  return printed.endsWith("\n") ? printed : `${printed}\n`;
}
